// The emulated GICv3 distributor of a partition: the machine's 64 KiB GICD frame as its vCPUs
// see it through trapped MMIO (GICv3 architecture specification, 12.9). Affinity routing is
// always on and there is one security state (GICD_CTLR.ARE and DS read as one), every interrupt
// is Group 1, and only the partition's own SPIs exist: its physical SPIs and its virtual UART's
// 33; every other INTID's bits read as zero and ignore writes. Unimplemented and reserved
// registers read as zero and ignore writes; a size a register does not have is the partition's
// fault (docs/vgic.md lists every register).
#include <arch/arch.hpp>
#include <arch/vgic_hw.hpp>
#include <irq/interrupts.hpp>
#include <vgic/vgic.hpp>
#include <vgic/vgic_internal.hpp>

namespace bh::vgic {

using namespace detail;

namespace {

enum : u64 {
    kCtlr = 0x0000,
    kTyper = 0x0004,
    kIidr = 0x0008,
    kIgroupr = 0x0080,
    kIsenabler = 0x0100,
    kIcenabler = 0x0180,
    kIspendr = 0x0200,
    kIcpendr = 0x0280,
    kIsactiver = 0x0300,
    kIcactiver = 0x0380,
    kIpriorityr = 0x0400,
    kIcfgr = 0x0C00,
    kCpendsgir = 0x0F10,
    kIrouter = 0x6000,
    kIrouterEnd = 0x8000,
    kPidr2 = 0xFFE8,
};

constexpr u32 kCtlrAre = 1u << 4;
constexpr u32 kCtlrDs = 1u << 6;
// ITLinesNumber 1 (INTIDs 0-63), IDbits 9 (10-bit INTIDs), No1N (no 1-of-N SPI routing).
constexpr u32 kTyperFixed = 1u | (9u << 19) | (1u << 25);
constexpr u32 kPidr2ArchRev3 = 0x3b;

// The SPIs of one 32-bit register of a one-bit-per-INTID family: only register 1 (INTIDs 32-63)
// holds any; register 0 (SGIs and PPIs) is the redistributors' with affinity routing on.
bool spi_word(u64 offset, u64 base) { return offset - base == 4; }

u32 own_lr_spis(const Vcpu& v, u64 state) { return static_cast<u32>(list_register_intids(v, state) >> kSpiBase); }

// The physical SPIs follow their virtual enable and route: on, at the core of the vCPU the route
// names, or off.
void sync_physical(Partition& p, InterruptTable& irqs, u32 spis) {
    for (u32 bits = spis & p.vgic.hardware; bits != 0; bits &= bits - 1) {
        const u32 intid = kSpiBase + lowest(bits);
        const Vcpu* target = route_target(p, p.vgic.route[intid - kSpiBase].load());
        const bool on = (p.vgic.enabled.load() & spi_bit(intid)) != 0 && target != nullptr;
        irqs.virtual_update(intid, p.index, on, on ? target->core : CoreId(0));
    }
}

// SPIs just enabled may be waiting for a vCPU on another core: it must look again.
void wake_waiting(Partition& p, u32 spis) {
    for (u32 i = 0; i < p.vcpu_count; ++i)
        if (const u32 waiting = p.vcpus[i].vgic.pending_spi.load() & spis; waiting != 0)
            raise(p.vcpus[i], kSpiBase + lowest(waiting));
}

void set_pending(Partition& p, u32 spis) {
    for (u32 bits = spis; bits != 0; bits &= bits - 1) {
        const u32 intid = kSpiBase + lowest(bits);
        if ((p.vgic.hardware & spi_bit(intid)) != 0) {
            arch::irq_set_pending(intid);  // the physical distributor delivers it as it fired
        } else if (Vcpu* target = route_target(p, p.vgic.route[intid - kSpiBase].load()); target != nullptr) {
            raise(*target, intid);
        }
    }
}

void clear_pending(Partition& p, u32 spis) {
    for (u32 bits = spis & p.vgic.hardware; bits != 0; bits &= bits - 1) arch::irq_clear_pending(kSpiBase + lowest(bits));
    for (u32 i = 0; i < p.vcpu_count; ++i) {
        Vcpu& v = p.vcpus[i];
        const u32 held = v.vgic.pending_spi.fetch_and(~spis) & spis & p.vgic.hardware;
        // Taken from the physical distributor and held for this vCPU: no longer pending, so no
        // longer held active either.
        for (u32 bits = held; bits != 0; bits &= bits - 1) arch::irq_deactivate(kSpiBase + lowest(bits), v.core.raw());
    }
}

u32 pending_spis(const Partition& p, const Vcpu& v) {
    u32 bits = own_lr_spis(v, arch::lr::kPending);
    for (u32 i = 0; i < p.vcpu_count; ++i) bits |= p.vcpus[i].vgic.pending_spi.load();
    return bits & p.vgic.visible;
}

// GICD_IPRIORITYR: one byte per INTID, byte or word access.
void priority_access(Partition& p, u64 offset, unsigned size, bool write, u64& value) {
    for (unsigned k = 0; k < size; ++k) {
        const u64 intid = offset - kIpriorityr + k;
        if (intid < kSpiBase || intid >= kInterrupts || (p.vgic.visible & spi_bit(static_cast<u32>(intid))) == 0) continue;
        Atomic<u8>& slot = p.vgic.priority[intid - kSpiBase];
        if (write) {
            slot.store(static_cast<u8>(value >> (8 * k)));
        } else {
            value |= static_cast<u64>(slot.load()) << (8 * k);
        }
    }
}

// GICD_IROUTER<n>: 64 bits per INTID, doubleword or either word.
void route_access(Partition& p, InterruptTable& irqs, u64 offset, unsigned size, bool write, u64& value) {
    const u64 intid = (offset - kIrouter) / 8;
    if (intid < kSpiBase || intid >= kInterrupts || (p.vgic.visible & spi_bit(static_cast<u32>(intid))) == 0) return;
    Atomic<u64>& route = p.vgic.route[intid - kSpiBase];
    const unsigned shift = size == 8 ? 0 : 8 * static_cast<unsigned>(offset & 4);
    const u64 mask = size == 8 ? ~0ull : 0xffff'ffffull << shift;
    if (!write) {
        value = (route.load() & mask) >> shift;
        return;
    }
    route.store(((route.load() & ~mask) | ((value << shift) & mask)) & kRouteAffinityMask);
    sync_physical(p, irqs, spi_bit(static_cast<u32>(intid)));
}

// GICD_ICFGR<n>: two bits per INTID, the upper one set for edge-triggered; registers 2 and 3 hold
// INTIDs 32-63. Kept for reads: the assignable devices' lines are levels and the kernel programs
// the physical ones so; the virtual UART is a level.
void config_access(Partition& p, u64 offset, bool write, u64& value) {
    const u64 first = (offset - kIcfgr) / 4 * 16;
    if (first < kSpiBase || first >= kInterrupts) return;
    for (u32 k = 0; k < 16; ++k) {
        const u32 bit = spi_bit(static_cast<u32>(first) + k);
        if ((p.vgic.visible & bit) == 0) continue;
        if (!write) {
            value |= (p.vgic.edge.load() & bit) != 0 ? 2ull << (2 * k) : 0;
        } else if ((value >> (2 * k + 1) & 1) != 0) {
            p.vgic.edge.fetch_or(bit);
        } else {
            p.vgic.edge.fetch_and(~bit);
        }
    }
}

const char* size_refusal(u64 offset, unsigned size) {
    if (in_range(offset, kIpriorityr, 0x800) || in_range(offset, kCpendsgir, 0x20))  // IPRIORITYR and ITARGETSR, C/SPENDSGIR
        return size == 1 || size == 4 ? nullptr : "the register is accessed by bytes or words";
    if (in_range(offset, kIrouter, kIrouterEnd - kIrouter)) return size == 4 || size == 8 ? nullptr : "GICD_IROUTER is accessed by words or doublewords";
    return size == 4 ? nullptr : "the register is accessed by words only";
}

}  // namespace

void reset_distributor(Partition& p, u32 hardware, bool uart, u32 forwarded_spi) {
    VgicDistributor& d = p.vgic;
    LockGuard guard(d.lock);
    d.ctlr.store(0);
    d.enabled.store(0);
    d.edge.store(0);
    d.hardware = hardware;
    d.visible = hardware | (uart ? spi_bit(kUartSpi) : 0) | (forwarded_spi != 0 ? spi_bit(forwarded_spi) : 0);
    for (Atomic<u8>& b : d.priority) b.store(0);
    for (Atomic<u64>& r : d.route) r.store(0);
}

const char* distributor_access(Vcpu& v, InterruptTable& irqs, u64 offset, unsigned size, bool write, u64& value) {
    if (const char* why = size_refusal(offset, size); why != nullptr) return why;
    Partition& p = *v.partition;
    VgicDistributor& d = p.vgic;
    if (!write) value = 0;
    LockGuard guard(d.lock);  // one register access at a time: read-modify-writes and their effects
    const u32 word = static_cast<u32>(value);
    if (offset == kCtlr) {
        if (write) d.ctlr.store(word & kCtlrEnableGrp1);
        else value = d.ctlr.load() | kCtlrAre | kCtlrDs;
        if (write && (word & kCtlrEnableGrp1) != 0) wake_waiting(p, d.visible);
    } else if (offset == kTyper) {
        if (!write) value = kTyperFixed | ((p.vcpu_count - 1) & 7) << 5;
    } else if (offset == kIidr || offset == kPidr2) {
        if (!write && offset == kPidr2) value = kPidr2ArchRev3;
    } else if (in_range(offset, kIgroupr, 0x80)) {
        if (!write && spi_word(offset, kIgroupr)) value = d.visible;  // all Group 1
    } else if (in_range(offset, kIsenabler, 0x80) || in_range(offset, kIcenabler, 0x80)) {
        const bool set = offset < kIcenabler;
        const u64 base = set ? kIsenabler : kIcenabler;
        if (!spi_word(offset, base)) return nullptr;
        if (!write) {
            value = d.enabled.load() & d.visible;
        } else {
            const u32 bits = word & d.visible;
            if (set) d.enabled.fetch_or(bits);
            else d.enabled.fetch_and(~bits);
            sync_physical(p, irqs, bits);
            if (set) wake_waiting(p, bits);
        }
    } else if (in_range(offset, kIspendr, 0x80) || in_range(offset, kIcpendr, 0x80)) {
        const bool set = offset < kIcpendr;
        if (!spi_word(offset, set ? kIspendr : kIcpendr)) return nullptr;
        if (!write) value = pending_spis(p, v);
        else if (set) set_pending(p, word & d.visible);
        else clear_pending(p, word & d.visible);
    } else if (in_range(offset, kIsactiver, 0x80) || in_range(offset, kIcactiver, 0x80)) {
        // The active state lives in list registers, ended by the guest's own deactivation: reads
        // see the calling vCPU's, writes are ignored.
        const bool set = offset < kIcactiver;
        if (!write && spi_word(offset, set ? kIsactiver : kIcactiver)) value = own_lr_spis(v, arch::lr::kActive) & d.visible;
    } else if (in_range(offset, kIpriorityr, 0x400)) {
        priority_access(p, offset, size, write, value);
    } else if (in_range(offset, kIcfgr, 0x100)) {
        config_access(p, offset, write, value);
    } else if (in_range(offset, kIrouter, kIrouterEnd - kIrouter)) {
        route_access(p, irqs, offset, size, write, value);
    }
    // Everything else — STATUSR, the message-based SPI registers, ITARGETSR and GICD_SGIR (legacy
    // routing), IGRPMODR and NSACR (one security state), the SPENDSGIR/CPENDSGIR pairs, reserved
    // space and the other ID registers — reads as zero and ignores writes.
    return nullptr;
}

}  // namespace bh::vgic

// The emulated GICv3 redistributors of a partition: one 128 KiB pair of frames per vCPU (RD_base
// and SGI_base, GICv3 architecture specification, 12.10-12.11) at the machine's GICR base +
// vCPU index x 0x20000. An access always acts on the vCPU whose frame it falls in, whichever
// vCPU makes it (Bao's #394: a write to another vCPU's redistributor landed on vCPU 0's). No
// LPIs: GICR_CTLR, PROPBASER, PENDBASER read as zero.
#include <arch/vgic_hw.hpp>
#include <vgic/vgic.hpp>
#include <vgic/vgic_internal.hpp>

namespace bh::vgic {

using namespace detail;

namespace {

enum : u64 {
    kTyper = 0x0008,
    kWaker = 0x0014,
    kPropbaser = 0x0070,
    kPendbaser = 0x0078,
    kPidr2 = 0xFFE8,
    kSgiBase = 0x1'0000,
    kIgroupr0 = kSgiBase + 0x0080,
    kIsenabler0 = kSgiBase + 0x0100,
    kIcenabler0 = kSgiBase + 0x0180,
    kIspendr0 = kSgiBase + 0x0200,
    kIcpendr0 = kSgiBase + 0x0280,
    kIsactiver0 = kSgiBase + 0x0300,
    kIcactiver0 = kSgiBase + 0x0380,
    kIpriorityr = kSgiBase + 0x0400,
    kIcfgr0 = kSgiBase + 0x0C00,
    kIcfgr1 = kSgiBase + 0x0C04,
};

constexpr u32 kWakerProcessorSleep = 1u << 1;
constexpr u32 kWakerChildrenAsleep = 1u << 2;
constexpr u64 kTyperLast = 1u << 4;
constexpr u32 kSgisEdge = 0xaaaa'aaaa;  // GICR_ICFGR0: every SGI is edge-triggered, read-only
constexpr u32 kPidr2ArchRev3 = 0x3b;
// The private interrupts a write may make pending or not: all but the timer, whose pending state
// is the physical timer's.
constexpr u32 kSoftwarePrivate = ~(1u << kTimerPpi);

u32 own_lr_private(const Vcpu& v, u64 state) { return static_cast<u32>(list_register_intids(v, state)); }

const char* size_refusal(u64 offset, unsigned size) {
    if (in_range(offset, kIpriorityr, 0x20)) return size == 1 || size == 4 ? nullptr : "GICR_IPRIORITYR is accessed by bytes or words";
    if (offset == kTyper || offset == kPropbaser || offset == kPendbaser)
        return size == 4 || size == 8 ? nullptr : "the register is accessed by words or doublewords";
    if (offset == kTyper + 4 || offset == kPropbaser + 4 || offset == kPendbaser + 4)
        return size == 4 ? nullptr : "the register is accessed by words or doublewords";
    return size == 4 ? nullptr : "the register is accessed by words only";
}

}  // namespace

const char* redistributor_access(Vcpu& caller, u64 offset, unsigned size, bool write, u64& value) {
    if (!write) value = 0;
    Partition& p = *caller.partition;
    const u32 index = static_cast<u32>(offset / kRedistributorStride);
    if (index >= p.vcpu_count || !p.vcpus.bound(index)) return "no redistributor for that vCPU";
    Vcpu& v = p.vcpus[index];  // the frame's vCPU, not necessarily the caller
    VgicCpu& c = v.vgic;
    offset %= kRedistributorStride;
    if (const char* why = size_refusal(offset, size); why != nullptr) return why;
    const u32 word = static_cast<u32>(value);
    const bool self = &v == &caller;
    if (offset == kTyper || offset == kTyper + 4) {
        // Affinity 0.0.0.index (the virtual MPIDR), processor number = index, Last on the last.
        const u64 typer = static_cast<u64>(index) << 32 | static_cast<u64>(index) << 8 |
                          (index + 1 == p.vcpu_count ? kTyperLast : 0);
        if (!write) value = offset == kTyper ? (size == 8 ? typer : typer & 0xffff'ffff) : typer >> 32;
    } else if (offset == kWaker) {
        if (write) c.sleep.store((word & kWakerProcessorSleep) != 0 ? 1 : 0);
        else value = c.sleep.load() != 0 ? kWakerProcessorSleep | kWakerChildrenAsleep : 0;
    } else if (offset == kPidr2) {
        if (!write) value = kPidr2ArchRev3;
    } else if (offset == kIgroupr0) {
        if (!write) value = 0xffff'ffff;  // all Group 1
    } else if (offset == kIsenabler0 || offset == kIcenabler0) {
        if (!write) {
            value = c.enabled.load();
        } else if (offset == kIsenabler0) {
            const u32 newly = word & ~c.enabled.fetch_or(word);
            // Something that waited for this enable may be pending: its core must look.
            if ((c.pending.load() & newly) != 0) raise(v, lowest(c.pending.load() & newly));
        } else {
            c.enabled.fetch_and(~word);
        }
    } else if (offset == kIspendr0 || offset == kIcpendr0) {
        if (!write) {
            value = c.pending.load() | (self ? own_lr_private(v, arch::lr::kPending) : 0);
        } else if (offset == kIspendr0) {
            for (u32 bits = word & kSoftwarePrivate; bits != 0; bits &= bits - 1) raise(v, lowest(bits));
        } else {
            c.pending.fetch_and(~(word & kSoftwarePrivate));
        }
    } else if (offset == kIsactiver0 || offset == kIcactiver0) {
        // As at the distributor: readable for the calling vCPU's own list registers, not writable.
        if (!write && self) value = own_lr_private(v, arch::lr::kActive);
    } else if (in_range(offset, kIpriorityr, 0x20)) {
        for (unsigned k = 0; k < size; ++k) {
            Atomic<u8>& slot = c.priority[offset - kIpriorityr + k];
            if (write) slot.store(static_cast<u8>(value >> (8 * k)));
            else value |= static_cast<u64>(slot.load()) << (8 * k);
        }
    } else if (offset == kIcfgr0) {
        if (!write) value = kSgisEdge;
    } else if (offset == kIcfgr1) {
        if (write) c.ppi_config.store(word);
        else value = c.ppi_config.load();
    }
    // GICR_CTLR, IIDR, STATUSR, the LPI registers, IGRPMODR0, NSACR, reserved space and the other
    // ID registers read as zero and ignore writes.
    return nullptr;
}

}  // namespace bh::vgic

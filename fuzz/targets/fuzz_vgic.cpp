// The virtual devices against a guest that does anything: trapped loads and stores with any
// syndrome into and around the emulated GIC and UART windows, SGI register writes of any value,
// physical interrupts arriving, the guest acknowledging and ending interrupts, vCPUs switched
// off and on, partition resets, console input. The system (kernel/vgic, kernel/devices,
// kernel/arch/aarch64/trapped_access; docs/vgic.md): partition `guest` (virtual GIC, UART, console input; vCPUs 0 and
// 1 on cores 1 and 2; the RTC's SPI 34 by IrqHandler cap), `other` (virtual GIC, core 3) and
// `plain` (no virtual device, core 0). Only guest's vCPUs act; other and plain idle.
//
// Input: a sequence of steps; a step's first byte picks the action (low 4 bits) and guest's
// vCPU (bit 4), the next bytes its operands (fuzz/tools/make-seeds writes examples):
//   0, 1  load/store: IPA (index into kIpas, + low 3 bits), syndrome bytes a, b (size a[1:0],
//         SSE a[2], SF a[3], WnR a[4], fault level a[6:5], register b[4:0]), register seed (8)
//   2     the same with 4 raw ISS bytes instead of a, b
//   3     SGI register write: register, value (8), which register (SGI1R, ASGI1R, SGI0R)
//   4     physical interrupt: INTID (index into kInterrupts), core (of 0..2)
//   5, 6  the guest acknowledges / ends INTID (byte)
//   7, 8  PSCI: function (CPU_ON, CPU_OFF, SYSTEM_RESET, CPU_SUSPEND), target, entry offset
//   9     console input: count, byte
//   10    any trapped system register access: ISS (4 bytes), register seed (8)
//   else  an IRQ exit (a kick)
// Physical interrupts arrive at the cores of guest and plain; other's core stays quiet, so
// anything other ever has pending came from guest.
// Oracles, after every step:
//   * a system register access the kernel emulated advanced ELR by 4 and changed at most its Rt,
//     to zero (a read of a debug or PMU register);
//   * the decode: an access the kernel emulated advanced ELR by 4 and changed no register but a
//     load's destination (and a W destination's upper half is zero); a refused one stopped the
//     partition, never resumed it; ISV = 0 is never emulated;
//   * isolation: nothing is ever pending for, or in a list register of, `other` (its own cores
//     never raise anything), and plain's interface stays off;
//   * the physical GIC: the only SPIs enabled are guest's 34 and the console's 33, and the only
//     physical interrupts ever deactivated are guest's (34, and PPI 27 on guest's cores);
//   * the invariant checker (INV-5 with virtual delivery among them) holds.
// covers: T-43 T-75 T-76 T-80 INV-5
#include <arch/aarch64/sgi_trap.hpp>
#include <arch/arch.hpp>
#include <arch/guest.hpp>
#include <arch/host/host_memory.hpp>
#include <arch/host/host_vgic.hpp>
#include <arch/vgic_hw.hpp>
#include <bulkhead/hypercall.hpp>
#include <calls/guest_exit.hpp>
#include <devices/virtual_devices.hpp>
#include <invariants/invariants.hpp>
#include <kernel.hpp>
#include <memory/frame_mapping.hpp>
#include <policy/seal.hpp>

#include <string>

#include "fuzz_common.hpp"

using namespace bh;

namespace {

constexpr u64 kRam = platform::kGuestRamIpa;
constexpr u32 kRtc = 34;
namespace flag = manifest::partition_flag;

// Where a trapped access lands: the windows' registers, their edges and the space around.
constexpr u64 kIpas[] = {
    platform::kGicdBase, platform::kGicdBase + 0x100, platform::kGicdBase + 0x104, platform::kGicdBase + 0x204,
    platform::kGicdBase + 0x420, platform::kGicdBase + 0x6110, platform::kGicdBase + 0xc08,
    platform::kGicdBase + 0xfffc, platform::kGicdBase + 0x1'0000, platform::kGicrBase - 4, platform::kGicrBase,
    platform::kGicrBase + 0x8, platform::kGicrBase + 0x14, platform::kGicrBase + 0x1'0100,
    platform::kGicrBase + 0x2'0008, platform::kGicrBase + 0x3'0100, platform::kGicrBase + 0x3'fffc,
    platform::kGicrBase + 0x4'0000, platform::kUartBase, platform::kUartBase + 0x18, platform::kUartBase + 0x38,
    platform::kUartBase + 0x44, platform::kUartBase + 0xfe0, platform::kUartBase + 0x1000, 0x0901'0000,
};
constexpr u32 kInterrupts[] = {0, 25, 27, 33, 34, 35, 39, 1, 23};
constexpr u64 kIsv = 1ull << 24;

// A data abort syndrome with ISV set: a load or store of 1 to 8 bytes through any register, the
// sign-extension, width and direction bits from the input, a translation fault at any level.
u64 access_syndrome(fuzz::Bytes& in) {
    const u64 a = in.u8(), b = in.u8();
    return kIsv | (a & 3) << 22 | (a >> 2 & 1) << 21 | (b & 31) << 16 | (a >> 3 & 1) << 15 | (a >> 4 & 1) << 6 |
           (0x04 + (a >> 5 & 3));
}

// MSR S3_0_C12_C11_<op2> from register `rt`: ICC_SGI1R_EL1 (5), ICC_ASGI1R_EL1 (6), ICC_SGI0R_EL1 (7).
constexpr u64 sgi_register_write(u64 op2, u64 rt) {
    return (0x18ull << 26) | (1ull << 25) | (3ull << 20) | op2 << 17 | (12ull << 10) | rt << 5 | (11ull << 1);
}

// `f(held)` with the capability lock held for its duration only (setup runs alone; seal and
// the kernel's own paths take the lock themselves).
template <class F>
Outcome locked(F&& f) {
    CapLockGuard guard(cap_lock);
    return f(guard.held());
}

struct World {
    Kernel kernel;
    Partition* guest = nullptr;
    Partition* other = nullptr;
    Partition* plain = nullptr;
    u32 next = manifest::kFirstFreeBootSlot;

    u32 slot() { return next++; }
    Outcome retype(u32 untyped, ObjectType type, unsigned bits, u32 first) {
        return locked([&](const CapLockHeld& held) {
            return kernel.boot.retype(BootSlot(untyped), type, bits, BootSlot(first), 1, kernel, held);
        });
    }
    Partition& make(const char* name, u64 pa, u32 core, u32 vcpus, u64 flags) {
        const u32 ps = slot(), cs = slot(), us = slot(), fs = slot();
        must(retype(manifest::kKernelUntypedSlot, ObjectType::Partition, 16, ps));
        must(retype(manifest::kKernelUntypedSlot, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs));
        must(locked([&](const CapLockHeld& held) {
            return kernel.partitions.create(kernel.boot, BootSlot(ps), BootSlot(cs), name,
                                            manifest::RestartPolicy::Restart, vcpus, flags, held);
        }));
        Partition& p = *kernel.partitions.in_slot(kernel.boot, BootSlot(ps));
        must(kernel.boot.create_untyped(BootSlot(us), PhysAddr(pa), 12, false));  // one page: cheap to scrub
        must(retype(us, ObjectType::Frame, 12, fs));
        must(map_frame(p, *kernel.boot.slot(BootSlot(fs)), Ipa(kRam),
                       MapAttributes::from_bits(manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute)));
        for (u32 v = 0; v < vcpus; ++v) {
            const u32 vs = slot();
            must(retype(manifest::kKernelUntypedSlot, ObjectType::Vcpu, 0, vs));
            must(kernel.cores.bind(kernel.boot, p, BootSlot(vs), VcpuIndex(v), CoreId(core + v)));
        }
        must(kernel.partitions.set_entry(p, VcpuIndex(0), kRam, 0));
        return p;
    }
    static void must(const Outcome& o) {
        if (!o.ok()) fuzz::finding("setup refused");
    }
    World() {
        host::reset_all();
        must(kernel.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores));
        guest = &make("guest", 0x4800'0000, 1, 2, flag::kAll & ~flag::kInjectFaults);
        other = &make("other", 0x4840'0000, 3, 1, flag::kVirtualGic);
        plain = &make("plain", 0x4880'0000, 0, 1, 0);
        const u32 rtc = slot();
        must(kernel.boot.create_irq_handler(BootSlot(rtc), kRtc, kernel.interrupts));
        must(locked([&](const CapLockHeld& held) {
            return kernel.boot.grant_cap(BootSlot(rtc), *guest, 2, Rights::control(), 0, held);
        }));
        must(seal(kernel));
        for (Partition* p : {guest, other, plain}) enter(p->vcpus[0]);
    }
    // Whether each core has its vCPU entered (its virtual CPU interface live), by core.
    bool entered[platform::kMaxCores] = {};

    // As on the host generally (fuzz_hypercall.cpp): vCPUs wait Runnable between steps and only
    // the one taking an exit is Running, so that a stop, which waits for Running vCPUs to leave
    // their cores, finds the others cancelable.
    void enter(Vcpu& v) {
        const u32 core = v.core.raw();
        if (entered[core] || v.load_state() != VcpuState::Runnable) return;
        host::set_current_core(core);
        const bool reset = v.reset_on_entry;
        v.reset_on_entry = false;
        virtual_devices_enter(v, reset);
        entered[core] = true;
    }
    void leave(Vcpu& v) {
        const u32 core = v.core.raw();
        if (!entered[core]) return;
        host::set_current_core(core);
        virtual_devices_leave(v);
        entered[core] = false;
    }
    // `v` takes an exit on its core: resumed (back to waiting, Runnable) or parked.
    bool exit(Vcpu& v, arch::ExitVector vector, u64 esr = 0, u64 ipa = 0) {
        enter(v);
        if (!entered[v.core.raw()] || v.load_state() != VcpuState::Runnable) return false;
        if (v.partition->load_state() != PartitionState::Running) return false;
        host::set_current_core(v.core.raw());
        v.store_state(VcpuState::Running);
        // As the vectors do: an SGI register write is offered to the fast path first
        // (arch/aarch64/sgi_trap.hpp), which writes list register 0 and steps past the MSR.
        const u64 lr = vector == arch::ExitVector::Sync ? arch::sgi_fast_list_register(v, esr, v.regs, arch::vgic_empty_lrs()) : 0;
        if (lr != 0) {
            arch::vgic_write_first_lr(lr);
            v.regs.elr += 4;
        }
        const bool resumed = lr != 0 ||
            handle_guest_exit(kernel, v, arch::decode_exit(vector, arch::Syndrome{esr, ipa, (ipa >> 12) << 4}));
        if (resumed) {
            if (v.load_state() != VcpuState::Running) fuzz::finding("a resumed vCPU is not Running");
            v.store_state(VcpuState::Runnable);
        } else {
            leave(v);
        }
        return resumed;
    }
    // Cores whose vCPU another core switched off park it; runnable ones enter.
    void settle() {
        for (Partition* p : {guest, other, plain}) {
            for (u32 i = 0; i < p->vcpu_count; ++i) {
                Vcpu& v = p->vcpus[i];
                if (v.load_state() == VcpuState::Runnable) enter(v);
                else leave(v);
            }
        }
    }
};

void check_access(const Vcpu& v, const arch::GuestRegs& before, u64 esr, u64 ipa, bool resumed) {
    const arch::DecodedMmio d = arch::decode_mmio(esr, Ipa(ipa));
    if (!resumed) return;
    if (!d.ok()) fuzz::finding("an access the decoder refuses was resumed");
    if ((esr & kIsv) == 0) fuzz::finding("ISV = 0 emulated");
    if (v.regs.elr != before.elr + 4) fuzz::finding("an emulated access did not advance ELR by 4");
    for (unsigned r = 0; r < 31; ++r) {
        if (v.regs.x[r] == before.x[r]) continue;
        if (d.access.write || r != d.access.reg) fuzz::finding("an emulated access changed another register");
        if (!d.access.wide && (v.regs.x[r] >> 32) != 0) fuzz::finding("a W register load left its upper half");
    }
}

void check_isolation(World& w) {
    const Vcpu& o = w.other->vcpus[0];
    if (o.vgic.pending.load() != 0 || o.vgic.pending_spi.load() != 0) fuzz::finding("an interrupt is pending for another partition");
    for (unsigned i = 0; i < host::kHostListRegisters; ++i)
        if ((host::list_register(o.core.raw(), i) & arch::lr::kStateMask) != 0) fuzz::finding("another partition's list register filled");
    if (host::ich_control(w.plain->vcpus[0].core.raw()) != 0) fuzz::finding("a partition without a virtual GIC has its interface on");
    for (u32 intid = platform::kFirstSpi; intid < platform::kSpiLimit; ++intid)
        if (host::irq_enabled(intid) && intid != kRtc && intid != platform::kUartSpi) fuzz::finding("an SPI not the guest's is on");
    for (const host::Deactivation& d : host::deactivations()) {
        const bool timer = d.intid == 27 && (d.core == 1 || d.core == 2);
        if (d.intid != kRtc && !timer) fuzz::finding("a physical interrupt not the guest's was deactivated");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Bytes in(data, size);
    static World* world = nullptr;
    delete world;  // a fresh machine per input
    world = new World();
    World& w = *world;
    unsigned steps = 0;
    while (!in.done() && steps++ < 200) {
        const u8 op = in.u8();
        Vcpu& v = w.guest->vcpus[(op >> 4) & 1];
        switch (op & 0xf) {
            case 0:
            case 1:
            case 2: {  // a trapped load or store: raw syndrome bits over a well-formed base
                const u64 ipa = in.pick(kIpas) + (in.u8() & 7);
                const u64 esr = (0x24ull << 26) | (1ull << 25) | ((op & 0xf) == 2 ? in.u32() & 0x1ff'ffff : access_syndrome(in));
                // Distinct register values from one input word: a change to any of them shows.
                const u64 seed = in.u64();
                for (unsigned r = 0; r < 31; ++r) v.regs.x[r] = seed ^ (0x9e37'79b9'7f4a'7c15ull * (r + 1));
                const arch::GuestRegs before = v.regs;
                const bool resumed = w.exit(v, arch::ExitVector::Sync, esr, ipa);
                check_access(v, before, esr, ipa, resumed);
                break;
            }
            case 3: {  // an SGI register write, any value, any Rt, any of the three registers
                const u8 rt = in.u8() & 31;
                if (rt < 31) v.regs.x[rt] = in.u64();
                (void)w.exit(v, arch::ExitVector::Sync, sgi_register_write(5 + in.u8() % 3, rt));
                break;
            }
            case 4: {  // a physical interrupt at a core of guest or plain (other's stays quiet)
                const u32 intid = in.pick(kInterrupts);
                const unsigned core = in.u8() % 3;
                host::set_current_core(core);
                Vcpu* on = w.kernel.cores.on(CoreId(core));
                // In an exit of the core's vCPU when it runs there, else in the core's idle loop.
                const bool in_exit = on != nullptr && w.entered[core] && on->load_state() == VcpuState::Runnable;
                if (in_exit) on->store_state(VcpuState::Running);
                const bool forwarded = physical_interrupt(w.kernel, CoreId(core), intid, in_exit);
                if (in_exit) {
                    on->store_state(VcpuState::Runnable);
                    (void)w.exit(*on, arch::ExitVector::Irq);
                }
                (void)forwarded;
                break;
            }
            case 5: (void)host::guest_acknowledge(v.core.raw()); break;
            case 6: {
                const u32 intid = in.u8() & 63;
                (void)host::guest_end_of_interrupt(v.core.raw(), intid);
                break;
            }
            case 7:  // PSCI: CPU_ON the other vCPU, CPU_OFF, SYSTEM_RESET
            case 8: {
                const u64 fns[] = {hvc::psci::kCpuOn, hvc::psci::kCpuOff, hvc::psci::kSystemReset, hvc::psci::kCpuSuspend};
                v.regs.x[0] = in.pick(fns);
                v.regs.x[1] = in.u8() & 3;
                v.regs.x[2] = kRam + (in.u8() & 0x7c);
                (void)w.exit(v, arch::ExitVector::Sync, (0x16ull << 26) | (1ull << 25));
                break;
            }
            case 9: host::console_receive(std::string(1 + in.u8() % 40, static_cast<char>(in.u8()))); break;
            case 10: {  // any trapped system register access: emulated ones change Rt to 0 at most
                const u64 esr = (0x18ull << 26) | (1ull << 25) | (in.u32() & 0x1ff'ffff);
                const u64 seed = in.u64();
                for (unsigned r = 0; r < 31; ++r) v.regs.x[r] = seed ^ (0x9e37'79b9'7f4a'7c15ull * (r + 1));
                const arch::GuestRegs before = v.regs;
                if (!w.exit(v, arch::ExitVector::Sync, esr)) break;
                const unsigned rt = (esr >> 5) & 31;
                if (v.regs.elr != before.elr + 4) fuzz::finding("an emulated system register did not advance ELR by 4");
                for (unsigned r = 0; r < 31; ++r)
                    if (v.regs.x[r] != before.x[r] && (r != rt || (esr & 1) == 0 || v.regs.x[r] != 0))
                        fuzz::finding("an emulated system register access changed a register but its Rt to zero");
                break;
            }
            default: (void)w.exit(v, arch::ExitVector::Irq); break;  // a kick: fills its list registers
        }
        w.settle();
        check_isolation(w);
    }
    const InvariantReport report = check_invariants(w.kernel);
    if (!report.ok()) fuzz::finding("invariant violated");
    return 0;
}

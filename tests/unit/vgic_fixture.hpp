// A host Kernel with partitions that have the kernel's virtual devices (virtual GIC, UART), and
// the guest's side of them: its vCPUs entering their cores as the core loop does, loads and
// stores that trap in the emulated windows, SGI register writes, physical interrupts arriving
// at a vCPU's core, and (through host_vgic.hpp) the guest acknowledging and ending interrupts.
#pragma once

#include <arch/host/host_vgic.hpp>
#include <arch/vgic_hw.hpp>
#include <bulkhead/hypercall.hpp>
#include <devices/virtual_devices.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"
#include "mmio_syndrome.hpp"

namespace bh::test {

namespace flag = manifest::partition_flag;

inline constexpr u64 kGicd = platform::kGicdBase;
inline constexpr u64 kGicr = platform::kGicrBase;
inline constexpr u64 kSgiFrame = 0x1'0000;  // SGI_base within a redistributor's pair of frames
inline constexpr u64 kUart = platform::kUartBase;

constexpr u32 lr_intid(u64 lr) { return static_cast<u32>(lr & 0xffff'ffff); }
constexpr u64 lr_state(u64 lr) { return lr >> 62; }  // 1 pending, 2 active, 3 both
constexpr bool lr_hw(u64 lr) { return (lr >> 61 & 1) != 0; }
constexpr u32 lr_physical(u64 lr) { return static_cast<u32>(lr >> 32 & 0x1fff); }

// ICC_SGI1R_EL1 values: `intid` to TargetList `list` (Aff0 = RS * 16 + bit) at Aff3.Aff2.Aff1.
constexpr u64 sgir(u32 intid, u32 list, u32 rs = 0, u32 aff1 = 0, u32 aff2 = 0, u32 aff3 = 0) {
    return u64{list} | u64{aff1} << 16 | u64{intid} << 24 | u64{aff2} << 32 | u64{rs} << 44 | u64{aff3} << 48;
}
constexpr u64 sgir_all_but_self(u32 intid) { return u64{intid} << 24 | 1ull << 40; }

struct VgicFixture : KernelFixture {
    // The guest runs on `v`'s core (the host arch's current core: its list registers).
    void on_core(const Vcpu& v) { host::set_current_core(v.core.raw()); }

    // The core loop's entry of a runnable vCPU (kernel_entry::next_guest).
    void enter(Vcpu& v) {
        on_core(v);
        REQUIRE(kernel.cores.claim(v.core) == &v);
        const bool reset = v.reset_on_entry;
        v.reset_on_entry = false;
        virtual_devices_enter(v, reset);
    }
    // The core's exit path when the vCPU does not resume.
    void leave(Vcpu& v) {
        on_core(v);
        virtual_devices_leave(v);
    }

    bool exit(Vcpu& v, ExitVector vector, u64 esr = 0, u64 ipa = 0) {
        on_core(v);
        return exit_with(kernel, v, vector, esr, ipa, (ipa >> 12) << 4);
    }
    // A load from `ipa` into x1: what the guest reads (it must resume after the instruction).
    u64 read(Vcpu& v, u64 ipa, unsigned size = 4) {
        const u64 elr = v.regs.elr;
        v.regs.x[1] = 0xbad;
        REQUIRE(exit(v, ExitVector::Sync, data_abort(size, false, 1, size == 8), ipa));
        CHECK(v.regs.elr == elr + 4);
        return v.regs.x[1];
    }
    void write(Vcpu& v, u64 ipa, u64 value, unsigned size = 4) {
        const u64 elr = v.regs.elr;
        v.regs.x[2] = value;
        REQUIRE(exit(v, ExitVector::Sync, data_abort(size, true, 2, size == 8), ipa));
        CHECK(v.regs.elr == elr + 4);
    }
    // msr icc_sgi1r_el1, x3
    void sgi(Vcpu& v, u64 value) {
        v.regs.x[3] = value;
        REQUIRE(exit(v, ExitVector::Sync, msr_sgi1r(3)));
    }
    // Physical `intid` arrives at `v`'s core while it runs: the arch IRQ path, then the exit.
    // Returns whether the kernel left it active (forwarded with HW = 1).
    bool interrupt(Vcpu& v, u32 intid) {
        on_core(v);
        const bool forwarded = physical_interrupt(kernel, v.core, intid, true);
        REQUIRE(exit(v, ExitVector::Irq));
        return forwarded;
    }
    // The guest takes and ends the interrupt it is offered (ICC_IAR1_EL1, ICC_EOIR1_EL1).
    u32 acknowledge(const Vcpu& v) { return host::guest_acknowledge(v.core.raw()); }
    bool end(const Vcpu& v, u32 intid) { return host::guest_end_of_interrupt(v.core.raw(), intid); }
    u64 lr(const Vcpu& v, unsigned i) { return host::list_register(v.core.raw(), i); }
    // The vINTIDs in `v`'s list registers that are in any state, lowest register first.
    std::vector<u32> in_lrs(const Vcpu& v) {
        std::vector<u32> ids;
        for (unsigned i = 0; i < host::kHostListRegisters; ++i)
            if (lr_state(lr(v, i)) != 0) ids.push_back(lr_intid(lr(v, i)));
        return ids;
    }
    // The partition's vCPU `index` started by PSCI CPU_ON from `from`, then entered.
    void start(Vcpu& from, Partition& p, u32 index) {
        REQUIRE(hypercall(kernel, from, hvc::psci::kCpuOn, {index, kGuestRam, 0}));
        REQUIRE(status_of(from) == hvc::psci::kSuccess);
        enter(p.vcpus[index]);
    }
    void enable_private(Vcpu& by, u32 frame, u32 intid) { write(by, kGicr + frame * 0x2'0000 + kSgiFrame + 0x100, 1u << intid); }
};

}  // namespace bh::test

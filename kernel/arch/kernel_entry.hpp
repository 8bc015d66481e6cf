// What the arch layer calls in the generic kernel: the only way up. The arch layer brings the
// machine up, enters and leaves guests and acknowledges interrupts; every decision (what runs
// on a core, what an exit means, who gets an interrupt, how the system is built) is made behind
// these functions, which own the kernel's one instance (kernel/entry.cpp).
#pragma once

#include <arch/guest.hpp>
#include <lib/ids.hpp>

namespace bh {
struct Vcpu;
}

namespace bh::kernel_entry {

// Core 0, once the machine is up and `cores_online` cores (0 .. cores_online - 1) wait: builds
// the system from the boot manifest in the payload area and starts the partitions. Returns only
// when they run; a refused manifest powers the machine off.
void boot(unsigned cores_online);

// What a core needs to enter a vCPU; the Vcpu itself is opaque to the arch layer, which only
// hands it back on the vCPU's next exit.
struct GuestEntry {
    Vcpu* vcpu = nullptr;
    arch::GuestRegs* regs = nullptr;
    u64 vttbr = 0;           // its partition's stage-2 root and VMID
    u64 counter_offset = 0;  // CNTVOFF_EL2: the guest's virtual time starts at its launch
    u32 vcpu_index = 0;      // its virtual MPIDR's Aff0
    bool reset_el1 = false;  // a (re)start: reset every EL1 register and FP/SIMD first
};

// The vCPU `core` should run now, claimed for it (Runnable -> Running); false: nothing to run.
[[nodiscard]] bool next_guest(CoreId core, GuestEntry& out);

// After next_guest found nothing: whether `core` may sleep until an interrupt. Only a vCPU
// that is runnable but waits for its restart back-off (a time, which sends no interrupt) keeps
// its core polling; a vCPU made runnable by another core is woken by arch::wake_core.
[[nodiscard]] bool idle_until_interrupt(CoreId core);

// One exit of `vcpu` (the vCPU this core runs); true: resume it, false: it no longer runs.
// Entering a vCPU and leaving it also switch its virtual CPU interface in and out (a partition
// with a virtual GIC), so the arch layer does nothing more for it.
[[nodiscard]] bool guest_exit(Vcpu& vcpu, const arch::GuestExit& exit);

// The exit of `vcpu` is a write of `value` to an SGI generation register (arch::
// sgi_register_write; `group1`: ICC_SGI1R_EL1), recognised before anything else is decoded: a
// multi-core guest's most frequent trap. True: emulated, resume the guest. False: its partition
// has no virtual GIC; the exit goes the usual way (guest_exit), where it is a fault.
[[nodiscard]] bool sgi_register_write(Vcpu& vcpu, u64 value, bool group1);
// The same write taken by the vectors with only x0..x18 and x30 saved (ELR_EL2 and SPSR_EL2
// still in the hardware; arch/aarch64/sgi_trap.hpp): a self-IPI that goes straight into list
// register 0 of the core (`empty_lrs`: its ICH_ELRSR_EL2) with nothing else to deliver
// (vgic::self_sgi_at_once). Returns the value the caller writes into ICH_LR0_EL2 at once, then
// steps the guest past the MSR and resumes it; 0: nothing was done, the full path decides.
[[nodiscard]] u64 sgi_register_write_fast(Vcpu& vcpu, u64 value, bool group1, u32 empty_lrs);

// An HVC #0 of `vcpu` that the vectors took with only x0..x18 and x30 saved in its frame
// (x19..x29 still in the core's registers, ELR_EL2 and SPSR_EL2 in the hardware):
// calls/fast_call.hpp. The vectors then resume the guest (Resume), save the rest of the frame
// and take the full path as for any exit (Slow: nothing was done), or save the rest and call
// fast_call_parked before the core leaves the vCPU (Park: done, but the partition stopped, or
// a NotificationWait that waited on the core ended without a signal).
// The vectors call these two directly (C linkage, below): `frame` comes back for them to find
// it again on the kernel stack.
enum class FastOutcome : u64 { Resume = 0, Slow = 1, Park = 2 };
struct FastExit {
    FastOutcome outcome;
    arch::GuestRegs* frame;
};

// A physical interrupt was acknowledged at EL2 on `core` (before its priority drop), in an exit
// of the core's vCPU (`in_exit`: its virtual CPU interface is live) or while the core waits.
// True: it was forwarded to a vCPU through a list register with HW = 1, whose guest deactivates
// it; the caller must leave it active. False: the caller deactivates it.
[[nodiscard]] bool interrupt(CoreId core, u32 intid, bool in_exit);

}  // namespace bh::kernel_entry

extern "C" bh::kernel_entry::FastExit bh_fast_call(bh::Vcpu* vcpu);
extern "C" void bh_fast_call_parked(bh::Vcpu* vcpu);
// CapIdentify, which the vectors take before any other vendor function with only x0..x9 and
// x30 saved, passing the frame (the first member of its Vcpu): 0, answered in the frame's
// x0..x6; 1, nothing done, the full path decides. It uses no stack and no register beyond x9
// (calls/fast_identify.cpp).
extern "C" bh::u64 bh_fast_identify(bh::Vcpu* vcpu);

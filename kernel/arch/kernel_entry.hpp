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

// One exit of `vcpu` (the vCPU this core runs); true: resume it, false: it no longer runs.
[[nodiscard]] bool guest_exit(Vcpu& vcpu, const arch::GuestExit& exit);

// A physical SPI was acknowledged at EL2 (before its EOI).
void interrupt(u32 intid);

}  // namespace bh::kernel_entry

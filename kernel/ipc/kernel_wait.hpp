// A NotificationWait that blocks, waited out on the waiter's own core in the kernel instead of
// parking the vCPU (docs/capabilities.md, "Waiting in the kernel"). One vCPU is bound to each
// core for good (partition/core_map.hpp), so a core whose vCPU waits has nothing else to run:
// it may as well wait at EL2 for the one thing that ends the wait, and resume the guest straight
// from there when it comes, without leaving the vCPU, choosing it again and re-entering it.
//
// The vCPU stays Running throughout (registered as the notification's waiter with
// Vcpu::waits_in_kernel set), so every other core treats it as a vCPU in a long call: a stop
// kicks its core and waits for that core to take it off, as for any running vCPU; a signal
// writes its results and clears the flag. Its core leaves the loop for anything a parked vCPU
// would have to honour: its partition stopping, or a physical interrupt pending for the core
// (the vCPU then becomes an ordinary Blocked waiter and the interrupt goes the idle core's way).
#pragma once

#include <arch/arch.hpp>
#include <partition/partition.hpp>
#include <partition/vcpu.hpp>

namespace bh {

enum class KernelWaitEnd {
    Signalled,    // x0/x1 hold the results: resume the guest
    Stopping,     // its partition is being taken down
    Interrupted,  // a physical interrupt is pending on this core
    Sleeps,       // kSpinPasses events came and went without a signal: it parks, its core sleeps
};

// Events a core waits out in the kernel before it parks its vCPU and sleeps in its idle loop (WFI,
// woken by arch::wake_core's kick): a partner on another core answers within one or two (the
// ping-pong: one), a device or a partner that computes first takes longer, and a core that keeps
// passing WFE would retire instructions for as long as that lasts (under QEMU, where WFE is a
// yield, host-dependent ones: the block benchmark's waits are a device's). docs/capabilities.md,
// "Waiting in the kernel".
inline constexpr unsigned kSpinPasses = 4;

// Own core: waits until a signal ends `v`'s wait in the kernel (notification_wait_in_kernel),
// its partition stops running, a physical interrupt is pending, or kSpinPasses events passed
// without either. Holds no lock.
[[nodiscard]] inline KernelWaitEnd wait_in_kernel(const Vcpu& v) {
    for (unsigned pass = 0;; ++pass) {
        if (!v.waits_in_kernel.load()) return KernelWaitEnd::Signalled;  // acquire: its results
        // A take-down sets the state first, then kicks this core: seen at the next wake-up.
        if (v.partition->load_state() != PartitionState::Running) return KernelWaitEnd::Stopping;
        if (arch::interrupt_pending()) return KernelWaitEnd::Interrupted;
        if (pass == kSpinPasses) return KernelWaitEnd::Sleeps;
        // The signaller's wake_cores (or a kick) ends it; an event sent since the flag was read
        // is latched, so none is lost.
        arch::wait_for_event();
    }
}

// Own core, after a wait in the kernel ended other than Signalled (or a fast call found its
// partition stopped), once the vCPU's whole register frame is saved, under the capability lock:
// where the vCPU goes. A stop: it is Off and registered nowhere. An interrupt: it waits as a
// parked vCPU (Blocked, still registered), or, when a signal came meanwhile, it is Runnable
// with its results, and its core's loop enters it again.
void leave_core_after_call(Vcpu& v);

}  // namespace bh

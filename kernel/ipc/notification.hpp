// Notifications (docs/capabilities.md "Notifications", docs/abi.md NotificationSignal/Wait/Poll):
// seL4's notification, simplified. An object holds a 64-bit word and at most one waiting vCPU.
// A signal ORs the cap's badge (1 if unbadged) into the word, or hands the word to the waiter
// and makes it runnable; wait and poll take the word and clear it; wait blocks while it is 0.
//
// Locking: every field here (Notification::word, Notification::waiter, Vcpu::waiting_on) is
// guarded by the capability lock (caps/cap_lock.hpp): the functions that touch them take its
// witness, except notification_cancel_wait, which takes the lock itself.
//
// vCPU states (vcpu.hpp): a waiter goes Running -> Blocked on its own core (which then parks).
// Exactly one of these takes it out of Blocked, by compare-and-swap:
//   - a signal or the destroy hook: Blocked -> Starting, write x0/x1, -> Runnable, wake cores
//     (Starting, as for PSCI CPU_ON, makes a concurrent stop wait until the results are in);
//   - a stop of its partition (settle_off): Blocked -> Off, then notification_cancel_wait.
// Whoever loses the race only clears the registration (the word then stays in the object).
// A vCPU may instead wait on its own core in the kernel (ipc/kernel_wait.hpp): it stays Running,
// registered with Vcpu::waits_in_kernel set; a signal (or the destroy hook) then writes x0/x1,
// clears the flag (release) and sends an event, and nothing else changes its state.
#pragma once

#include <arch/arch.hpp>
#include <bulkhead/status.hpp>
#include <caps/cap_lock.hpp>
#include <caps/capability.hpp>
#include <partition/vcpu.hpp>

namespace bh {

struct Notification {
    u64 word = 0;             // pending badges, ORed
    Vcpu* waiter = nullptr;   // the vCPU blocked in NotificationWait on this object, if any
};
static_assert(sizeof(Notification) <= (1u << caps::kNotificationBits),
              "a Notification must fit the memory retype gives it");

// --- capability calls: decode, then invoke
// The Notification an invoked cap names: InvalidArgument for another type, Denied without
// `need` (Write to signal, Read to wait or poll).
Result<Notification*> notification_invoked(const Capability& cap, Rights need);
// The same object where notification_invoked finds one, nullptr where it refuses: for the
// hypercall fast path, which leaves every refusal to the full path.
inline Notification* notification_granting(const Capability& cap, Rights need) {
    if (cap.type != ObjectType::Notification || !cap.rights.has(need)) return nullptr;
    return static_cast<Notification*>(arch::phys_to_virt(PhysAddr(cap.object)));
}
// What a signal through `cap` ORs in: its badge, 1 if unbadged.
inline u64 signal_badge(const Capability& cap) { return cap.badge != 0 ? cap.badge : 1; }
// Hands the word to the waiter of `n` (x0 = Ok, x1 = the word) and clears it; the word stays
// when a stop took the waiter first.
void notification_hand_over(Notification& n, const CapLockHeld&);
// ORs `badge` into the word, or hands the word to the waiter.
inline void notification_signal(Notification& n, u64 badge, const CapLockHeld& held) {
    n.word |= badge;
    if (n.waiter != nullptr) notification_hand_over(n, held);
}
// Takes the word (cleared) into the caller's x1.
void notification_poll(Notification& n, Vcpu& caller, const CapLockHeld&);
// Wait: Busy when another vCPU waits already (the decode half)...
inline Outcome notification_check_wait(const Notification& n, const CapLockHeld&) {
    return n.word == 0 && n.waiter != nullptr ? Outcome(Status::Busy) : Outcome();
}
// ... then as poll when the word is not 0; else `caller` (Running on this core) becomes Blocked
// on the object and must not resume: its x0/x1 are written by whoever wakes it.
void notification_wait(Notification& n, Vcpu& caller, const CapLockHeld&);
// As notification_wait, but `caller` stays Running and waits on its own core in the kernel
// (ipc/kernel_wait.hpp): false when the word was not 0 (answered as poll, nothing registered).
[[nodiscard]] bool notification_wait_in_kernel(Notification& n, Vcpu& caller, const CapLockHeld&);
// Ends a wait in the kernel that no signal ended: forgets the registration, clears the flag.
void notification_end_kernel_wait(Vcpu& v, const CapLockHeld&);
// True while `v` is registered as a notification's waiter.
inline bool notification_waiting(const Vcpu& v, const CapLockHeld&) { return v.waiting_on != nullptr; }

// --- object life cycle (the kernel's hooks)
// Construct the object in freshly retyped (zeroed) memory.
Status notification_create(PhysAddr base);
// The last cap is gone: a waiter resumes with x0 = NotFound, x1 = 0.
void notification_destroyed(const Capability& final_cap, const CapLockHeld&);
// A stop moved `v` from Blocked to Off: forget its registration. Takes the capability lock.
void notification_cancel_wait(Vcpu& v);

// `v`'s partition is to stop (its device faulted, dma/dma_streams.hpp): if `v` is parked in a
// wait, end the wait (x0 = Busy, word not taken) and make it runnable, so that its core takes
// the partition down at its next look (a parked vCPU has no exit of its own to do it at).
void notification_end_wait_for_stop(Vcpu& v, const CapLockHeld&);

}  // namespace bh

// Notifications (docs/capabilities.md "Notifications", docs/abi.md NotificationSignal/Wait/Poll):
// seL4's notification, simplified. An object holds a 64-bit word and at most one waiting vCPU.
// A signal ORs the cap's badge (1 if unbadged) into the word, or hands the word to the waiter
// and makes it runnable; wait and poll take the word and clear it; wait blocks while it is 0.
//
// Locking: every field here (Notification::word, Notification::waiter, Vcpu::waiting_on) is
// guarded by cap_lock, the capability calls' lock (kernel/cap_calls.cpp). Signal, wait and poll
// run as capability calls under it; the destroy hook runs inside a capability operation (under
// it, or at boot with nothing concurrent); only notification_cancel_wait takes it itself.
//
// vCPU states (vcpu.hpp): a waiter goes Running -> Blocked on its own core (which then parks).
// Exactly one of these takes it out of Blocked, by compare-and-swap:
//   - a signal or the destroy hook: Blocked -> Starting, write x0/x1, -> Runnable, wake cores
//     (Starting, as for PSCI CPU_ON, makes a concurrent stop wait until the results are in);
//   - a stop of its partition (settle_off): Blocked -> Off, then notification_cancel_wait.
// Whoever loses the race only clears the registration (the word then stays in the object).
#pragma once

#include <bulkhead/status.hpp>
#include <caps/capability.hpp>
#include <lib/spinlock.hpp>
#include <vcpu.hpp>

namespace bh {

struct Notification {
    u64 word = 0;             // pending badges, ORed
    Vcpu* waiter = nullptr;   // the vCPU blocked in NotificationWait on this object, if any
};
static_assert(sizeof(Notification) <= (1u << caps::kNotificationBits),
              "a Notification must fit the memory retype gives it");

// The lock of every capability call (defined in cap_calls.cpp).
extern SpinLock cap_lock;

// --- capability calls: `cap` is the invoked slot's cap; called with cap_lock held.
// Signal: needs Write. Wakes the waiter, if any, with x0 = Ok and x1 = the word.
Status notification_signal(const Capability& cap);
// A signal by the kernel on behalf of a bound interrupt (kernel/interrupts.hpp): `object` is
// the Notification's physical address, kept alive by the binding's owner (the destroy hook
// unbinds). cap_lock held.
void notification_signal_object(u64 object, u64 badge);
// Poll: needs Read. caller's x1 = the word, which is cleared.
Status notification_poll(const Capability& cap, Vcpu& caller);
// Wait: needs Read. As poll when the word is not 0. Otherwise Busy if another vCPU waits, else
// `caller` becomes Blocked on the object (notification_waiting(caller) turns true): it must not
// resume; its x0/x1 are written by whoever wakes it.
Status notification_wait(const Capability& cap, Vcpu& caller);
// True while `v` is registered as a notification's waiter (cap_lock held).
inline bool notification_waiting(const Vcpu& v) { return v.waiting_on != nullptr; }

// --- object life cycle (System's hooks)
// Construct the object in freshly retyped (zeroed) memory.
Status notification_create(PhysAddr base);
// The last cap is gone: a waiter resumes with x0 = NotFound, x1 = 0. cap_lock held (or boot).
void notification_destroyed(const Capability& final_cap);
// A stop moved `v` from Blocked to Off: forget its registration. Takes cap_lock.
void notification_cancel_wait(Vcpu& v);

}  // namespace bh

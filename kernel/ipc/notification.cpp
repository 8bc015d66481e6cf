#include <arch/arch.hpp>
#include <ipc/notification.hpp>
#include <new>

namespace bh {

namespace {

Notification* object_of(const Capability& cap) {
    return static_cast<Notification*>(arch::phys_to_virt(PhysAddr(cap.object)));
}

void unregister(Notification& n) {
    if (n.waiter != nullptr) n.waiter->waiting_on = nullptr;
    n.waiter = nullptr;
}

// Resumes the waiter of `n` with x0 = `status`, x1 = `value`. False when a stop of its partition
// took it first (it is Off; only the registration is cleared).
[[gnu::always_inline]] inline bool wake_waiter(Notification& n, Status status, u64 value) {
    Vcpu& w = *n.waiter;
    unregister(n);
    if (w.waits_in_kernel.load_relaxed()) {
        // Its core waits for this flag (kernel_wait.hpp); it is Running and owns its state.
        w.regs.x[0] = static_cast<u64>(static_cast<i64>(status));
        w.regs.x[1] = value;
        w.waits_in_kernel.store(false);  // release: the waiting core sees the results
        arch::wake_cores();
        return true;
    }
    if (!w.transition(VcpuState::Blocked, VcpuState::Starting)) return false;
    w.regs.x[0] = static_cast<u64>(static_cast<i64>(status));
    w.regs.x[1] = value;
    w.store_state(VcpuState::Runnable);  // release: its core sees the results
    arch::wake_core(w.core.raw());
    return true;
}

}  // namespace

Result<Notification*> notification_invoked(const Capability& cap, Rights need) {
    if (cap.type != ObjectType::Notification) return Status::InvalidArgument;
    if (!cap.rights.has(need)) return Status::Denied;
    Notification* n = object_of(cap);
    if (n == nullptr) return Status::NotFound;  // unreachable memory: corrupt cap
    return n;
}

void notification_hand_over(Notification& n, const CapLockHeld&) {
    if (wake_waiter(n, Status::Ok, n.word)) n.word = 0;
}

void notification_poll(Notification& n, Vcpu& caller, const CapLockHeld&) {
    caller.regs.x[1] = n.word;
    n.word = 0;
}

void notification_wait(Notification& n, Vcpu& caller, const CapLockHeld& held) {
    if (n.word != 0) return notification_poll(n, caller, held);
    // Only the caller's own core moves it out of Running, so this cannot fail; a stop that
    // begins meanwhile finds it Blocked and settles it to Off (settle_off).
    caller.store_state(VcpuState::Blocked);
    n.waiter = &caller;
    caller.waiting_on = &n;
}

bool notification_wait_in_kernel(Notification& n, Vcpu& caller, const CapLockHeld& held) {
    if (n.word != 0) {
        notification_poll(n, caller, held);
        return false;
    }
    n.waiter = &caller;
    caller.waiting_on = &n;
    caller.waits_in_kernel.store_relaxed(true);  // read by its own core only, or under the lock
    return true;
}

void notification_end_kernel_wait(Vcpu& v, const CapLockHeld&) {
    if (v.waiting_on != nullptr) unregister(*v.waiting_on);
    v.waits_in_kernel.store_relaxed(false);
}

Status notification_create(PhysAddr base) {
    void* memory = arch::phys_to_virt(base);
    if (memory == nullptr) return Status::OutOfRange;
    new (memory) Notification();
    return Status::Ok;
}

void notification_destroyed(const Capability& final_cap, const CapLockHeld&) {
    Notification* n = object_of(final_cap);
    // Its memory may be retyped into something else next: nothing may point into it.
    if (n != nullptr && n->waiter != nullptr) wake_waiter(*n, Status::NotFound, 0);
}

void notification_end_wait_for_stop(Vcpu& v, const CapLockHeld&) {
    if (v.waiting_on == nullptr || !v.transition(VcpuState::Blocked, VcpuState::Starting)) return;
    unregister(*v.waiting_on);
    v.regs.x[0] = static_cast<u64>(static_cast<i64>(Status::Busy));
    v.regs.x[1] = 0;
    v.store_state(VcpuState::Runnable);
    arch::wake_core(v.core.raw());
}

void notification_cancel_wait(Vcpu& v) {
    CapLockGuard guard(cap_lock);
    if (v.waiting_on != nullptr) unregister(*v.waiting_on);
}

}  // namespace bh

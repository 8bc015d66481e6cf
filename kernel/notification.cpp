#include <arch/arch.hpp>
#include <new>
#include <notification.hpp>

namespace bh {

namespace {

Notification* object_of(const Capability& cap) {
    return static_cast<Notification*>(arch::phys_to_virt(PhysAddr(cap.object)));
}

// The Notification a call invokes: InvalidArgument for an empty slot or another type, Denied
// without `need`.
Result<Notification*> invoked(const Capability& cap, Rights need) {
    if (cap.type != ObjectType::Notification) return Status::InvalidArgument;
    if (!cap.rights.has(need)) return Status::Denied;
    Notification* n = object_of(cap);
    if (n == nullptr) return Status::NotFound;  // unreachable memory: corrupt cap
    return n;
}

void unregister(Notification& n) {
    if (n.waiter != nullptr) n.waiter->waiting_on = nullptr;
    n.waiter = nullptr;
}

// Resumes the waiter of `n` with x0 = `status`, x1 = `value`. False when a stop of its partition
// took it first (it is Off; only the registration is cleared).
bool wake_waiter(Notification& n, Status status, u64 value) {
    Vcpu& w = *n.waiter;
    unregister(n);
    if (!w.transition(VcpuState::Blocked, VcpuState::Starting)) return false;
    w.regs.x[0] = static_cast<u64>(static_cast<i64>(status));
    w.regs.x[1] = value;
    w.store_state(VcpuState::Runnable);  // release: its core sees the results
    arch::wake_cores();
    return true;
}

}  // namespace

namespace {

void signal(Notification& obj, u64 badge) {
    obj.word |= badge;
    if (obj.waiter != nullptr && wake_waiter(obj, Status::Ok, obj.word)) obj.word = 0;
}

}  // namespace

Status notification_signal(const Capability& cap) {
    auto n = invoked(cap, Rights::write());
    if (!n.ok()) return n.status();
    signal(*n.value(), cap.badge != 0 ? cap.badge : 1);
    return Status::Ok;
}

void notification_signal_object(u64 object, u64 badge) {
    Notification* n = static_cast<Notification*>(arch::phys_to_virt(PhysAddr(object)));
    if (n != nullptr) signal(*n, badge);
}

Status notification_poll(const Capability& cap, Vcpu& caller) {
    auto n = invoked(cap, Rights::read());
    if (!n.ok()) return n.status();
    caller.regs.x[1] = n.value()->word;
    n.value()->word = 0;
    return Status::Ok;
}

Status notification_wait(const Capability& cap, Vcpu& caller) {
    auto n = invoked(cap, Rights::read());
    if (!n.ok()) return n.status();
    Notification& obj = *n.value();
    if (obj.word != 0) return notification_poll(cap, caller);
    if (obj.waiter != nullptr) return Status::Busy;
    // Only the caller's own core moves it out of Running, so this cannot fail; a stop that
    // begins meanwhile finds it Blocked and settles it to Off (settle_off).
    if (!caller.transition(VcpuState::Running, VcpuState::Blocked)) return Status::Busy;
    obj.waiter = &caller;
    caller.waiting_on = &obj;
    return Status::Ok;
}

Status notification_create(PhysAddr base) {
    void* memory = arch::phys_to_virt(base);
    if (memory == nullptr) return Status::OutOfRange;
    new (memory) Notification();
    return Status::Ok;
}

void notification_destroyed(const Capability& final_cap) {
    Notification* n = object_of(final_cap);
    // Its memory may be retyped into something else next: nothing may point into it.
    if (n != nullptr && n->waiter != nullptr) wake_waiter(*n, Status::NotFound, 0);
}

void notification_cancel_wait(Vcpu& v) {
    LockGuard guard(cap_lock);
    if (v.waiting_on != nullptr) unregister(*v.waiting_on);
}

}  // namespace bh

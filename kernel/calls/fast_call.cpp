#include <calls/cap_invoke.hpp>
#include <calls/fast_call.hpp>
#include <devices/virtual_devices.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>

namespace bh::fast_path {

// The vectors read this table (vectors.S): the list of hvc::kFunctions as bits.
extern "C" constinit const KnownCalls bh_known_vendor_calls = known_vendor_calls();
static_assert(sizeof(KnownCalls) == 16, "vectors.S reads two words");

namespace {

using F = hvc::Function;

// The slot `cptr` names, as caps::lookup finds it in the one-level CSpace every partition has
// (hvc.hpp: a cptr is a slot index of the root CNode); nullptr where lookup would refuse: no
// root (a root is always a CNode cap with Read and Write, Partition::set_cspace_root), or cptr
// beyond it. The full path then gives the refusal. Under the capability lock, which every
// change of the root holds.
[[gnu::always_inline]] inline CapSlot* slot_of(const Partition& p, u64 cptr) {
    return Partition::root_slot(p.root_slots_and_mask.load_relaxed(), cptr);
}

// The Notification behind the slot's cap when it grants `need`.
Notification* notification_of(const CapSlot* slot, Rights need) {
    if (slot == nullptr) return nullptr;
    const Result<Notification*> n = notification_invoked(slot->cap, need);
    return n.ok() ? n.value() : nullptr;
}

// The call's answer in x0..x7; false: not one this path takes (nothing changed).
bool answer(Vcpu& vcpu) {
    arch::GuestRegs& r = vcpu.regs;
    const Partition& p = *vcpu.partition;
    const F function = static_cast<F>(r.x[0]);
    // Tested before the others, which take the lock: the cheapest call is the first decided.
    if (function == F::AbiVersion) {
        if (r.x[1] != 0) return false;
        r.x[1] = hvc::kAbiVersion;
        r.x[0] = status_value(Status::Ok);
        return true;
    }
    switch (function) {
        case F::NotificationSignal: {
            CapLockGuard guard(cap_lock);
            const CapSlot* slot = slot_of(p, r.x[1]);
            Notification* n = notification_of(slot, Rights::write());
            if (n == nullptr) return false;
            notification_signal(*n, signal_badge(slot->cap), guard.held());
            break;
        }
        case F::NotificationPoll: {
            CapLockGuard guard(cap_lock);
            Notification* n = notification_of(slot_of(p, r.x[1]), Rights::read());
            if (n == nullptr) return false;
            notification_poll(*n, vcpu, guard.held());
            break;
        }
        default: return false;
    }
    r.x[0] = status_value(Status::Ok);
    return true;
}

}  // namespace

Outcome fast_call(Kernel&, Vcpu& vcpu) {
    if (!answer(vcpu)) return Outcome::Slow;
    // As handle_guest_exit: another core may have stopped the partition meanwhile.
    if (vcpu.partition->load_state() != PartitionState::Running || vcpu.load_state() != VcpuState::Running)
        return Outcome::Park;
    virtual_devices_resume(vcpu);
    return Outcome::Resume;
}

void parked(Vcpu& vcpu) {
    vcpu.transition(VcpuState::Running, VcpuState::Off);
    virtual_devices_leave(vcpu);
}

}  // namespace bh::fast_path

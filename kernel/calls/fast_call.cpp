#include <calls/cap_invoke.hpp>
#include <calls/fast_call.hpp>
#include <devices/virtual_devices.hpp>
#include <ipc/kernel_wait.hpp>
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
[[gnu::always_inline]] inline Notification* notification_of(const CapSlot* slot, Rights need) {
    return slot != nullptr ? notification_granting(slot->cap, need) : nullptr;
}

enum class Answer {
    NotTaken,  // not one this path takes: nothing changed
    Answered,  // the results are in x0..x7
    Waits,     // a NotificationWait that blocks: the vCPU waits in the kernel (ipc/kernel_wait.hpp)
};

Answer answer(Vcpu& vcpu) {
    arch::GuestRegs& r = vcpu.regs;
    const Partition& p = *vcpu.partition;
    const F function = static_cast<F>(r.x[0]);
    // Tested before the others, which take the lock: the cheapest call is the first decided.
    if (function == F::AbiVersion) {
        if (r.x[1] != 0) return Answer::NotTaken;
        r.x[1] = hvc::kAbiVersion;
        r.x[0] = status_value(Status::Ok);
        return Answer::Answered;
    }
    switch (function) {
        case F::NotificationSignal: {
            CapLockGuard guard(cap_lock);
            const CapSlot* slot = slot_of(p, r.x[1]);
            Notification* n = notification_of(slot, Rights::write());
            if (n == nullptr) return Answer::NotTaken;
            notification_signal(*n, signal_badge(slot->cap), guard.held());
            break;
        }
        case F::NotificationPoll: {
            CapLockGuard guard(cap_lock);
            Notification* n = notification_of(slot_of(p, r.x[1]), Rights::read());
            if (n == nullptr) return Answer::NotTaken;
            notification_poll(*n, vcpu, guard.held());
            break;
        }
        case F::NotificationWait: {
            CapLockGuard guard(cap_lock);
            Notification* n = notification_of(slot_of(p, r.x[1]), Rights::read());
            if (n == nullptr || !ok(notification_check_wait(*n, guard.held()).status())) return Answer::NotTaken;
            // The signaller writes x0 and x1.
            if (notification_wait_in_kernel(*n, vcpu, guard.held())) return Answer::Waits;
            break;  // the word was not 0: answered as poll
        }
        default: return Answer::NotTaken;
    }
    r.x[0] = status_value(Status::Ok);
    return Answer::Answered;
}

}  // namespace

kernel_entry::FastExit fast_call_exit(Vcpu& vcpu) {
    const Answer a = answer(vcpu);
    if (a == Answer::NotTaken) return {Outcome::Slow, &vcpu.regs};
    // Not signalled: leave_core_after_call decides, once the vectors saved the whole frame.
    if (a == Answer::Waits && wait_in_kernel(vcpu) != KernelWaitEnd::Signalled) return {Outcome::Park, &vcpu.regs};
    // No look at the partition's state or the vCPU's pending virtual interrupts before the
    // resume, as bh_fast_identify (calls/fast_identify.cpp): whoever stopped the partition or
    // raised an interrupt for the vCPU meanwhile has kicked this core, and the guest leaves again
    // on that interrupt before its next instruction, through the full path, which sees both.
    return {Outcome::Resume, &vcpu.regs};
}

Outcome fast_call(Kernel&, Vcpu& vcpu) { return fast_call_exit(vcpu).outcome; }

void parked(Vcpu& vcpu) {
    // Before anyone may take the vCPU over: nothing of its interface stays live on the core.
    virtual_devices_leave(vcpu);
    leave_core_after_call(vcpu);
}

}  // namespace bh::fast_path

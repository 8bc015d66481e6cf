#include <calls/cap_invoke.hpp>
#include <calls/fast_call.hpp>
#include <caps/cnode.hpp>
#include <devices/virtual_devices.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>
#include <lib/nospec.hpp>

namespace bh::fast_path {

// The vectors read this table (vectors.S): the list of hvc::kFunctions as bits.
extern "C" constinit const KnownCalls bh_known_vendor_calls = known_vendor_calls();
static_assert(sizeof(KnownCalls) == 16, "vectors.S reads two words");

namespace {

using F = hvc::Function;

// The slot `cptr` names, as caps::lookup finds it in the one-level CSpace every partition has
// (hvc.hpp: a cptr is a slot index of the root CNode); nullptr where lookup would refuse or
// the root is not that simple: the full path then gives the refusal.
[[gnu::always_inline]] inline CapSlot* slot_of(const Partition& p, u64 cptr) {
    const Capability& root = p.cspace_root;
    if (root.type != ObjectType::CNode || !root.rights.has(Rights::read())) return nullptr;
    const unsigned radix = root.size_bits;
    if (radix < caps::kMinCNodeRadix || radix > caps::kMaxCNodeRadix || (cptr >> radix) != 0) return nullptr;
    CapSlot* const slots = caps::cnode_slots(root);
    return slots != nullptr ? &slots[index_nospec(cptr, 1ull << radix)] : nullptr;
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
    switch (static_cast<F>(r.x[0])) {
        case F::AbiVersion:
            if (r.x[1] != 0) return false;
            r.x[1] = hvc::kAbiVersion;
            break;
        case F::CapIdentify: {
            CapLockGuard guard(cap_lock);
            const CapSlot* slot = slot_of(p, r.x[1]);
            if (slot == nullptr) return false;
            identify(slot->cap, p, r);
            break;
        }
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

// Capability invocations from partitions (docs/abi.md). Each call resolves its capability
// addresses in the caller's own CSpace, then hands the slots to the same operations the boot
// program uses. One lock serialises every capability operation: the derivation tree links caps
// of different partitions (all descend from the boot CNode's), and the calls are short
// (revoke does a bounded amount of work per call).
#include <bulkhead/hypercall.hpp>
#include <caps/cspace.hpp>
#include <guest_exit.hpp>
#include <lib/spinlock.hpp>
#include <notification.hpp>

namespace bh {

SpinLock cap_lock;  // also guards notifications' waiters (notification.hpp)

namespace {

void set_status(Vcpu& vcpu, Status s) { vcpu.regs.x[0] = static_cast<u64>(static_cast<i64>(s)); }

// The slot `cptr` names in `p`'s CSpace, with `need` on the CNode (Read to use a cap,
// Read|Write to change the slot).
Result<CapSlot*> resolve(const Partition& p, u64 cptr, Rights need) {
    if (p.cspace_root.type != ObjectType::CNode) return Status::NotFound;
    CapSlot root{};
    root.cap = p.cspace_root;
    return caps::lookup(root, cptr, p.cspace_root.size_bits, need);
}

Status identify(const Partition& p, GuestRegs& r) {
    auto slot = resolve(p, r.x[1], Rights::read());
    if (!slot.ok()) return slot.status();
    const Capability& c = slot.value()->cap;
    r.x[1] = static_cast<u64>(c.type);
    r.x[2] = c.rights.bits();
    r.x[3] = c.badge;
    r.x[4] = c.size_bits;
    // The physical address is not revealed: a partition has no use for the machine's layout.
    r.x[5] = c.mapped() && c.mapped_partition_plus1() == p.index + 1 ? 1 : 0;  // mapped, or bound (DmaStream)
    r.x[6] = r.x[5] != 0 ? c.mapped_ipa() : 0;
    return Status::Ok;
}

Status two_slots(const Partition& p, u64 src, u64 dest, Rights src_need, CapSlot*& s, CapSlot*& d) {
    auto a = resolve(p, src, src_need);
    if (!a.ok()) return a.status();
    auto b = resolve(p, dest, Rights::read() | Rights::write());
    if (!b.ok()) return b.status();
    s = a.value();
    d = b.value();
    return Status::Ok;
}

Status invoke(System& system, Vcpu& vcpu, Partition** target_out, int* restart_out) {
    GuestRegs& r = vcpu.regs;
    Partition& p = *vcpu.partition;
    CapSlot* src = nullptr;
    CapSlot* dest = nullptr;
    switch (static_cast<hvc::Function>(r.x[0])) {
        case hvc::Function::CapIdentify: return identify(p, r);
        case hvc::Function::CapCopy: {
            Status s = two_slots(p, r.x[1], r.x[2], Rights::read(), src, dest);
            return ok(s) ? caps::copy(*src, *dest) : s;
        }
        case hvc::Function::CapMint: {
            Status s = two_slots(p, r.x[1], r.x[2], Rights::read(), src, dest);
            if (!ok(s)) return s;
            if ((r.x[3] & ~static_cast<u64>(Rights::kAllBits)) != 0) return Status::InvalidArgument;
            return caps::mint(*src, *dest, Rights::from_bits(r.x[3]), r.x[4]);
        }
        case hvc::Function::CapMove: {
            Status s = two_slots(p, r.x[1], r.x[2], Rights::read() | Rights::write(), src, dest);
            return ok(s) ? caps::move(*src, *dest) : s;
        }
        case hvc::Function::CapDelete: {
            auto slot = resolve(p, r.x[1], Rights::read() | Rights::write());
            return slot.ok() ? caps::delete_cap(*slot.value(), system) : slot.status();
        }
        case hvc::Function::CapRevoke: {
            auto slot = resolve(p, r.x[1], Rights::read() | Rights::write());
            if (!slot.ok()) return slot.status();
            caps::RevokeProgress progress = caps::revoke(*slot.value(), hvc::kRevokeBudget, system);
            r.x[1] = progress.deleted;
            if (!ok(progress.status)) return progress.status;
            return progress.done ? Status::Ok : Status::Busy;
        }
        case hvc::Function::FrameMap: {
            auto slot = resolve(p, r.x[1], Rights::read());
            if (!slot.ok()) return slot.status();
            if (!range_inside(r.x[2], 1, 0, 1ull << platform::kIpaBits)) return Status::OutOfRange;
            return system.map_frame(p, *slot.value(), Ipa(r.x[2]), r.x[3]);
        }
        case hvc::Function::FrameUnmap: {
            auto slot = resolve(p, r.x[1], Rights::read());
            return slot.ok() ? system.unmap_frame(p, *slot.value()) : slot.status();
        }
        case hvc::Function::PartitionStop:
        case hvc::Function::PartitionRestart: {
            auto slot = resolve(p, r.x[1], Rights::read());
            if (!slot.ok()) return slot.status();
            const Capability& c = slot.value()->cap;
            if (c.type != ObjectType::Partition) return Status::InvalidArgument;
            if (!c.rights.has(Rights::control())) return Status::Denied;
            Partition* target = system.partition_at(PhysAddr(c.object));
            if (target == nullptr) return Status::NotFound;
            *restart_out = static_cast<hvc::Function>(r.x[0]) == hvc::Function::PartitionRestart ? 1 : 0;
            *target_out = target;
            return Status::Ok;  // acted on by handle_cap_call, after the capability lock
        }
        // --- notifications (kernel/notification.cpp)
        case hvc::Function::NotificationSignal: {
            auto slot = resolve(p, r.x[1], Rights::read());
            return slot.ok() ? notification_signal(slot.value()->cap) : slot.status();
        }
        case hvc::Function::NotificationWait: {
            auto slot = resolve(p, r.x[1], Rights::read());
            return slot.ok() ? notification_wait(slot.value()->cap, vcpu) : slot.status();
        }
        case hvc::Function::NotificationPoll: {
            auto slot = resolve(p, r.x[1], Rights::read());
            return slot.ok() ? notification_poll(slot.value()->cap, vcpu) : slot.status();
        }
        // --- interrupts (kernel/interrupts.cpp)
        case hvc::Function::IrqBind: {
            auto irq = resolve(p, r.x[1], Rights::read());
            if (!irq.ok()) return irq.status();
            auto notification = resolve(p, r.x[2], Rights::read());
            if (!notification.ok()) return notification.status();
            return system.interrupts().bind(irq.value()->cap, notification.value()->cap, r.x[3], p.index, vcpu.core);
        }
        case hvc::Function::IrqAck:
        case hvc::Function::IrqUnbind: {
            auto slot = resolve(p, r.x[1], Rights::read());
            if (!slot.ok()) return slot.status();
            return static_cast<hvc::Function>(r.x[0]) == hvc::Function::IrqAck
                       ? system.interrupts().ack(slot.value()->cap)
                       : system.interrupts().unbind(slot.value()->cap);
        }
        // --- DMA streams (kernel/dma_streams.cpp)
        case hvc::Function::DmaStreamBind:
        case hvc::Function::DmaStreamUnbind: {
            auto slot = resolve(p, r.x[1], Rights::read());
            if (!slot.ok()) return slot.status();
            return static_cast<hvc::Function>(r.x[0]) == hvc::Function::DmaStreamBind
                       ? system.dma_streams().bind(*slot.value(), p, system)
                       : system.dma_streams().unbind(*slot.value(), p, system.pci());
        }
        default: return Status::NotSupported;
    }
}

}  // namespace

bool is_cap_call(u64 function_id) {
    return function_id >= static_cast<u64>(hvc::Function::CapIdentify) &&
           function_id <= static_cast<u64>(hvc::Function::DmaStreamUnbind);
}

bool handle_cap_call(System& system, Vcpu& vcpu) {
    Partition* target = nullptr;
    int restart = 0;
    Status s;
    {
        LockGuard guard(cap_lock);
        s = invoke(system, vcpu, &target, &restart);
        // NotificationWait blocked the caller: it parks; whoever wakes it writes x0 and x1.
        if (notification_waiting(vcpu)) return false;
    }
    if (ok(s) && target != nullptr) {
        // Taking a partition down waits for its cores; that must not hold up every other
        // partition's capability calls.
        s = system.control(*target, restart != 0, vcpu);
        set_status(vcpu, s);
        // The caller may have stopped or restarted its own partition: then it does not resume.
        return vcpu.load_state() == VcpuState::Running;
    }
    set_status(vcpu, s);
    return true;
}

}  // namespace bh

#include <audit/audit_cap.hpp>
#include <calls/cap_invoke.hpp>
#include <calls/identify.hpp>
#include <caps/cspace.hpp>
#include <devices/mmio_forward.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>
#include <memory/frame_mapping.hpp>

namespace bh {

CapabilityLock cap_lock;

namespace {

// A call whose every argument has been resolved and checked.
struct Invocation {
    const GuestCall* call;
    CapSlot* slot = nullptr;   // the invoked cap (the source of copy, mint and move)
    CapSlot* other = nullptr;  // the destination of copy, mint and move; IrqBind's notification
    Notification* notification = nullptr;
    Partition* target = nullptr;  // PartitionStop/Restart, acted on after the lock
    Partition* client = nullptr;  // MmioReply/MmioRaise: the client of the caller's forward
    Vcpu* parked = nullptr;       // MmioReply: the client's vCPU waiting for this answer
    bool audit_read = false;      // AuditRead: the log is read after the lock (it needs none)
};

// The slot `cptr` names in `p`'s CSpace, with `need` on the CNode (Read to use a cap,
// Read|Write to change the slot). One level: a cptr is a slot index of the root CNode.
Result<CapSlot*> resolve(const Partition& p, u64 cptr, Rights need) {
    if (p.cspace_root.type != ObjectType::CNode) return Status::NotFound;
    CapSlot root{};
    root.cap = p.cspace_root;
    return caps::lookup(root, cptr, p.cspace_root.size_bits, need);
}

constexpr Rights kUse = Rights::read();
constexpr Rights kChange = Rights::read() | Rights::write();

// The decode half: resolves and checks everything, changes nothing.
Status decode(const Kernel& k, const Vcpu& vcpu, Invocation& inv, const CapLockHeld& held) {
    const Partition& p = *vcpu.partition;
    const GuestCall& c = *inv.call;
    const auto one = [&](u64 cptr, Rights need) {
        const Result<CapSlot*> r = resolve(p, cptr, need);
        inv.slot = r.ok() ? r.value() : nullptr;
        return r.status();
    };
    const auto two = [&](u64 source, Rights source_need, u64 destination) {
        if (const Status s = one(source, source_need); !ok(s)) return s;
        const Result<CapSlot*> r = resolve(p, destination, kChange);
        inv.other = r.ok() ? r.value() : nullptr;
        return r.status();
    };
    const auto notification = [&](Rights need) {
        const Result<Notification*> n = notification_invoked(inv.slot->cap, need);
        inv.notification = n.ok() ? n.value() : nullptr;
        return n.status();
    };
    Status s = Status::Ok;
    switch (c.id) {
        case CallId::CapIdentify: return one(c.one.cap, kUse);
        case CallId::CapCopy:
            s = two(c.two.source, kUse, c.two.destination);
            return ok(s) ? caps::check_copy(*inv.slot, *inv.other) : s;
        case CallId::CapMint:
            s = two(c.mint.source, kUse, c.mint.destination);
            return ok(s) ? caps::check_mint(*inv.slot, *inv.other, c.mint.badge) : s;
        case CallId::CapMove:
            s = two(c.two.source, kChange, c.two.destination);
            return ok(s) ? caps::check_move(*inv.slot, *inv.other) : s;
        case CallId::CapDelete:
            s = one(c.one.cap, kChange);
            return ok(s) ? caps::check_delete(*inv.slot, k) : s;
        case CallId::CapRevoke:
            s = one(c.one.cap, kChange);
            return ok(s) && inv.slot->empty() ? Status::NotFound : s;
        case CallId::FrameMap:
            s = one(c.map.frame, kUse);
            return ok(s) ? check_map_frame(p, *inv.slot, c.map.ipa, c.map.attrs).status() : s;
        case CallId::FrameUnmap:
            s = one(c.one.cap, kUse);
            return ok(s) ? check_unmap_frame(p, *inv.slot).status() : s;
        case CallId::NotificationSignal:
            s = one(c.one.cap, kUse);
            return ok(s) ? notification(Rights::write()) : s;
        case CallId::NotificationPoll:
            s = one(c.one.cap, kUse);
            return ok(s) ? notification(Rights::read()) : s;
        case CallId::NotificationWait:
            s = one(c.one.cap, kUse);
            if (ok(s)) s = notification(Rights::read());
            return ok(s) ? notification_check_wait(*inv.notification, held).status() : s;
        case CallId::PartitionStop:
        case CallId::PartitionRestart: {
            if (s = one(c.one.cap, kUse); !ok(s)) return s;
            const Capability& cap = inv.slot->cap;
            if (cap.type != ObjectType::Partition) return Status::InvalidArgument;
            if (!cap.rights.has(Rights::control())) return Status::Denied;
            inv.target = k.partitions.at(PhysAddr(cap.object));
            return inv.target != nullptr ? Status::Ok : Status::NotFound;
        }
        case CallId::IrqBind: {
            // A binding outlives the call: one made while the partition is being taken down (by a
            // vCPU still in the kernel after the take-down ended its bindings) would survive into
            // the next run or past the stop.
            if (p.load_state() != PartitionState::Running) return Status::Busy;
            if (s = one(c.bind.irq, kUse); !ok(s)) return s;
            const Result<CapSlot*> n = resolve(p, c.bind.notification, kUse);
            if (!n.ok()) return n.status();
            inv.other = n.value();
            return k.interrupts.check_bind(inv.slot->cap, inv.other->cap, c.bind.badge, vcpu.core, held);
        }
        case CallId::IrqAck:
        case CallId::IrqUnbind:
            s = one(c.one.cap, kUse);
            return ok(s) ? k.interrupts.check_bound(inv.slot->cap, held) : s;
        case CallId::AuditRead:
            if (s = one(c.audit.log, kUse); !ok(s)) return s;
            if (inv.slot->cap.type != ObjectType::AuditLog) return Status::InvalidArgument;
            if (!inv.slot->cap.rights.has(Rights::read())) return Status::Denied;
            inv.audit_read = true;
            return Status::Ok;
        case CallId::DmaStreamBind:
            s = one(c.one.cap, kUse);
            return ok(s) ? k.dma.check_bind(inv.slot->cap, p, held).status() : s;
        case CallId::DmaStreamUnbind:
            s = one(c.one.cap, kUse);
            return ok(s) ? k.dma.check_unbind(inv.slot->cap, p, held).status() : s;
        case CallId::MmioReply:
        case CallId::MmioRaise: {
            if (s = one(c.id == CallId::MmioReply ? c.reply.client : c.one.cap, kUse); !ok(s)) return s;
            const Result<Partition*> client = forward_client_of(k.partitions, inv.slot->cap, p);
            if (!client.ok()) return client.status();
            inv.client = client.value();
            if (c.id == CallId::MmioRaise) return forward_check_raise(*inv.client);
            const Result<Vcpu*> parked = forward_check_reply(*inv.client, c.reply.vcpu, c.reply.sequence, held);
            inv.parked = parked.ok() ? parked.value() : nullptr;
            return parked.status();
        }
        default: return Status::NotSupported;
    }
}

// The invoke half: every check has passed.
void invoke(Kernel& k, Vcpu& vcpu, const Invocation& inv, const CapLockHeld& held) {
    arch::GuestRegs& r = vcpu.regs;
    const GuestCall& c = *inv.call;
    const Partition& p = *vcpu.partition;
    Status s = Status::Ok;
    switch (c.id) {
        case CallId::CapIdentify: identify(inv.slot->cap, p, r); break;
        case CallId::CapCopy: s = caps::copy(*inv.slot, *inv.other, held); break;
        case CallId::CapMint: s = caps::mint(*inv.slot, *inv.other, c.mint.mask, c.mint.badge, held); break;
        case CallId::CapMove: s = caps::move(*inv.slot, *inv.other, held); break;
        case CallId::CapDelete: s = caps::delete_cap(*inv.slot, k, held); break;
        case CallId::CapRevoke: {
            const caps::RevokeProgress progress = caps::revoke(*inv.slot, hvc::kRevokeBudget, k, held);
            r.x[1] = progress.deleted;
            // Busy is the call's answer while descendants remain (the caller calls again), or
            // when CNodes hold each other's last caps (docs/capabilities.md).
            s = !ok(progress.status) ? progress.status : progress.done ? Status::Ok : Status::Busy;
            break;
        }
        case CallId::FrameMap: map_frame_checked(*vcpu.partition, *inv.slot, c.map.ipa, c.map.attrs); break;
        case CallId::FrameUnmap:
            unmap_frame(k.partitions, inv.slot->cap);
            inv.slot->cap.set_mapping(PartitionId::none(), 0);
            break;
        case CallId::NotificationSignal: notification_signal(*inv.notification, signal_badge(inv.slot->cap), held); break;
        case CallId::NotificationPoll: notification_poll(*inv.notification, vcpu, held); break;
        case CallId::NotificationWait:
            notification_wait(*inv.notification, vcpu, held);
            if (notification_waiting(vcpu, held)) return;  // parked: whoever wakes it writes x0 and x1
            break;
        case CallId::IrqBind:
            k.interrupts.bind(inv.slot->cap, inv.other->cap, c.bind.badge, p.index, vcpu.core, held);
            break;
        case CallId::IrqAck: k.interrupts.ack(inv.slot->cap, held); break;
        case CallId::IrqUnbind: k.interrupts.unbind(inv.slot->cap, held); break;
        case CallId::DmaStreamBind: k.dma.bind(*inv.slot, *vcpu.partition, held); break;
        case CallId::DmaStreamUnbind: k.dma.unbind(*inv.slot, held); break;
        case CallId::MmioReply: forward_reply(*inv.parked, c.reply.value, held); break;
        case CallId::MmioRaise: forward_raise(*inv.client); break;
        default: break;  // PartitionStop/Restart: after the lock
    }
    r.x[0] = status_value(s);
}

}  // namespace

bool handle_cap_call(Kernel& k, Vcpu& vcpu, const GuestCall& call) {
    Invocation inv{&call};
    {
        CapLockGuard guard(cap_lock);
        const Status s = decode(k, vcpu, inv, guard.held());
        if (!ok(s)) {
            vcpu.regs.x[0] = status_value(s);
            return true;
        }
        invoke(k, vcpu, inv, guard.held());
        // NotificationWait blocked the caller: it parks; whoever wakes it writes x0 and x1.
        if (notification_waiting(vcpu, guard.held())) return false;
    }
    if (inv.audit_read) audit_read(vcpu.regs, call.audit.cursor);
    if (inv.target == nullptr) return true;
    const Outcome o = k.lifecycle.control(*inv.target, call.id == CallId::PartitionRestart, vcpu);
    // The caller may have stopped or restarted its own partition: then it does not resume, and
    // its registers belong to the next run (vCPU 0's carry the boot argument; another vCPU's
    // may already be filled in by that run's CPU_ON).
    if (vcpu.load_state() != VcpuState::Running) return false;
    vcpu.regs.x[0] = status_value(o.status());
    return true;
}

}  // namespace bh

#include <audit_cap.hpp>
#include <audit_log.hpp>
#include <bulkhead/hypercall.hpp>
#include <caps/cspace.hpp>
#include <lib/spinlock.hpp>
#include <notification.hpp>

namespace bh {

namespace {

bool holds_audit_read(const Partition& p) {
    const CapSlot* slots = caps::cnode_slots(p.cspace_root);
    const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
    for (u64 k = 0; k < count; ++k)
        if (slots[k].cap.type == ObjectType::AuditLog && slots[k].cap.rights.has(Rights::read())) return true;
    return false;
}

void set_status(GuestRegs& r, Status s) { r.x[0] = static_cast<u64>(static_cast<i64>(s)); }

}  // namespace

Status create_audit_log(System& system, u32 slot) {
    if (system.sealed()) return Status::Denied;
    CapSlot* dest = system.boot_slot(slot);
    if (dest == nullptr) return Status::OutOfRange;
    // Once: a second original cap would be a second root for the same object.
    for (u32 i = 0; i < manifest::kBootSlots; ++i) {
        const CapSlot* s = system.boot_slot(i);
        if (s != nullptr && s->cap.type == ObjectType::AuditLog) return Status::Exists;
    }
    Capability c{};
    c.type = ObjectType::AuditLog;
    c.rights = caps::full_rights(ObjectType::AuditLog);
    return caps::create_root(*dest, c);
}

void audit_flows(const System& system, FlowGraph& out) {
    const unsigned k = FlowGraph::index(manifest::FlowKind::Audit);
    for (u32 d = 0; d < system.partition_count(); ++d) {
        if (!holds_audit_read(*system.partition(d))) continue;
        for (u32 s = 0; s < system.partition_count(); ++s)
            if (s != d) out.edge[s][d][k] = true;
    }
}

bool handle_audit_read(Vcpu& vcpu) {
    GuestRegs& r = vcpu.regs;
    const Partition& p = *vcpu.partition;
    Status s = Status::Ok;
    {
        // The cap is looked up under the capability lock (another vCPU of the caller may be
        // changing its CSpace); the log itself needs no lock, so it is read after.
        LockGuard guard(cap_lock);
        if (p.cspace_root.type != ObjectType::CNode) {
            s = Status::NotFound;
        } else {
            CapSlot root{};
            root.cap = p.cspace_root;
            auto slot = caps::lookup(root, r.x[1], p.cspace_root.size_bits, Rights::read());
            if (!slot.ok()) s = slot.status();
            else if (slot.value()->cap.type != ObjectType::AuditLog) s = Status::InvalidArgument;
            else if (!slot.value()->cap.rights.has(Rights::read())) s = Status::Denied;
        }
    }
    if (!ok(s)) {
        set_status(r, s);
        return true;
    }
    const audit::ReadResult got = audit::log().read(r.x[2]);
    set_status(r, got.status);
    const bool found = ok(got.status);
    r.x[1] = found ? got.entry.sequence : got.next;
    r.x[2] = found ? audit::pack_header(got.entry) : 0;
    r.x[3] = found ? got.entry.a : 0;
    r.x[4] = found ? got.entry.b : 0;
    r.x[5] = found ? got.entry.time : 0;
    r.x[6] = got.lost;
    r.x[7] = got.overwritten;
    return true;
}

}  // namespace bh

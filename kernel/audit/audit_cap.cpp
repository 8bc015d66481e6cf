#include <audit/audit_cap.hpp>
#include <audit/audit_log.hpp>
#include <calls/guest_call.hpp>
#include <partition/partition_table.hpp>

namespace bh {

namespace {

bool holds_audit_read(const Partition& p) {
    bool holds = false;
    for_each_cspace_cap(p, [&holds](const Capability& c) {
        holds = holds || (c.type == ObjectType::AuditLog && c.rights.has(Rights::read()));
    });
    return holds;
}

}  // namespace

Outcome create_audit_log(BootSpace& boot, BootSlot slot) {
    if (boot.closed()) return kSealed;
    CapSlot* dest = boot.slot(slot);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    // Once: a second original cap would be a second root for the same object.
    for (u32 i = 1; i < manifest::kBootSlots; ++i)
        if (boot.slot(BootSlot(i))->cap.type == ObjectType::AuditLog)
            return refuse(Status::Exists, "the audit log's cap already exists");
    Capability c{};
    c.type = ObjectType::AuditLog;
    c.rights = caps::full_rights(ObjectType::AuditLog);
    const Status s = caps::create_root(*dest, c);
    return ok(s) ? Outcome() : refuse(s, "boot slot occupied");
}

void audit_flows(const PartitionTable& partitions, FlowGraph& out) {
    const unsigned k = FlowGraph::index(manifest::FlowKind::Audit);
    const u32 n = partitions.count();
    for (u32 d = 0; d < n; ++d) {
        if (!holds_audit_read(*partitions[PartitionId(d)])) continue;
        for (u32 s = 0; s < n; ++s)
            if (s != d) out.edge[s][d][k] = true;
    }
}

void audit_read(arch::GuestRegs& r, u64 cursor) {
    const audit::ReadResult got = audit::log().read(cursor);
    const bool found = ok(got.status);
    r.x[0] = status_value(got.status);
    r.x[1] = found ? got.entry.sequence : got.next;
    r.x[2] = found ? audit::pack_header(got.entry) : 0;
    r.x[3] = found ? got.entry.a : 0;
    r.x[4] = found ? got.entry.b : 0;
    r.x[5] = found ? got.entry.time : 0;
    r.x[6] = got.lost;
    r.x[7] = got.overwritten;
}

}  // namespace bh

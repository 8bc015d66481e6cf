#include <arch/arch.hpp>
#include <audit/audit_log.hpp>
#include <kernel.hpp>
#include <lib/format.hpp>
#include <policy/seal.hpp>

namespace bh {

Outcome partitions_complete(const Kernel& k) {
    Outcome result;
    k.partitions.for_each([&result](const Partition& p) {
        if (!result.ok()) return;
        if (p.region_count == 0) result = refuse(Status::NotFound, "a partition has no memory");
        else if (!p.has_entry) result = refuse(Status::NotFound, "a partition has no entry point");
        for (u32 v = 0; v < p.vcpu_count && result.ok(); ++v)
            if (!p.vcpus.bound(v)) result = refuse(Status::NotFound, "a vCPU is not bound to a core");
    });
    return result;
}

Outcome control_graph_acyclic(const Kernel& k) {
    const u32 n = k.partitions.count();
    // Edge p -> q: p holds a Partition cap with Control for q.
    bool edge[manifest::kMaxPartitions][manifest::kMaxPartitions] = {};
    k.partitions.for_each([&](const Partition& p) {
        for_each_cspace_cap(p, [&](const Capability& c) {
            if (c.type != ObjectType::Partition || !c.rights.has(Rights::control())) return;
            const Partition* q = k.partitions.at(PhysAddr(c.object));
            if (q != nullptr && q != &p) edge[p.index.raw()][q->index.raw()] = true;
        });
    });
    // Kahn's algorithm: the graph is acyclic exactly when every node can be removed.
    u32 indegree[manifest::kMaxPartitions] = {};
    for (u32 i = 0; i < n; ++i)
        for (u32 j = 0; j < n; ++j) indegree[j] += edge[i][j] ? 1 : 0;
    bool removed[manifest::kMaxPartitions] = {};
    for (u32 round = 0; round < n; ++round) {
        u32 next = n;
        for (u32 j = 0; j < n && next == n; ++j)
            if (!removed[j] && indegree[j] == 0) next = j;
        if (next == n) return refuse(Status::Denied, "partitions control each other in a cycle");
        removed[next] = true;
        for (u32 j = 0; j < n; ++j) indegree[j] -= edge[next][j] ? 1 : 0;
    }
    return Status::Ok;
}

Outcome interrupts_unshared(const Kernel& k) {
    PartitionId holder[InterruptTable::kLines];
    bool shared = false;
    k.partitions.for_each([&](const Partition& p) {
        for_each_cspace_cap(p, [&](const Capability& c) {
            const u32 n = platform::assignable_spi_number(c.irq());
            if (c.type != ObjectType::IrqHandler || n >= InterruptTable::kLines) return;
            shared = shared || (!holder[n].is_none() && holder[n] != p.index);
            holder[n] = p.index;
        });
    });
    return shared ? refuse(Status::Denied, "an interrupt is given to two partitions") : Outcome();
}

Outcome notifications_single_waiter(const Kernel& k) {
    const auto waits_on = [](const Capability& c, u64 object) {
        return c.type == ObjectType::Notification && c.object == object && c.rights.has(Rights::read());
    };
    bool shared = false;
    const u32 n = k.partitions.count();
    for (u32 i = 0; i < n && !shared; ++i) {
        for_each_cspace_cap(*k.partitions[PartitionId(i)], [&](const Capability& mine) {
            if (shared || !waits_on(mine, mine.object)) return;
            for (u32 j = i + 1; j < n && !shared; ++j)
                for_each_cspace_cap(*k.partitions[PartitionId(j)],
                                    [&](const Capability& c) { shared = shared || waits_on(c, mine.object); });
        });
    }
    return shared ? refuse(Status::Denied, "a notification can be waited on by two partitions") : Outcome();
}

Outcome frames_unshared(const Kernel& k) {
    const auto frame = [](const Capability& c) { return c.type == ObjectType::Frame || c.type == ObjectType::DeviceMmio; };
    bool shared = false;
    const u32 n = k.partitions.count();
    for (u32 i = 0; i < n && !shared; ++i) {
        for_each_cspace_cap(*k.partitions[PartitionId(i)], [&](const Capability& mine) {
            if (shared || !frame(mine)) return;
            for (u32 j = i + 1; j < n && !shared; ++j)
                for_each_cspace_cap(*k.partitions[PartitionId(j)], [&](const Capability& c) {
                    shared = shared || (frame(c) && ranges_overlap(c.object, c.object_size(), mine.object, mine.object_size()));
                });
        });
    }
    return shared ? refuse(Status::Denied, "a frame is held by two partitions") : Outcome();
}

Outcome flows_as_declared(const Kernel& k) {
    FlowGraph live;
    live_flows(k.partitions, live);
    const FlowGraph& declared = k.flows.declared();
    const u32 n = k.partitions.count();
    for (int pass = 0; pass < 2; ++pass) {
        for (u32 a = 0; a < n; ++a) {
            for (u32 b = 0; b < n; ++b) {
                for (unsigned kind = 0; kind < FlowGraph::kKinds; ++kind) {
                    const bool in_live = live.edge[a][b][kind], in_declared = declared.edge[a][b][kind];
                    const char* from = k.partitions[PartitionId(a)]->name;
                    const char* to = k.partitions[PartitionId(b)]->name;
                    const char* what = flow_kind_name(FlowGraph::kind(kind));
                    if (pass == 0 && in_live && !in_declared) {
                        log("seal: undeclared ", what, " flow from '", from, "' to '", to, "'");
                        return refuse(Status::Denied, "capabilities allow an undeclared information flow");
                    }
                    if (pass == 1 && in_declared && !in_live) {
                        log("seal: declared ", what, " flow from '", from, "' to '", to, "' has no capability behind it");
                        return refuse(Status::Denied, "a declared flow has no capability behind it");
                    }
                }
            }
        }
    }
    return Status::Ok;
}

Outcome seal(Kernel& k) {
    if (k.sealed()) return kSealed;
    if (k.partitions.count() == 0) return refuse(Status::NotFound, "no partitions");
    for (const SealCheck& c : kSealChecks)
        if (const Outcome o = c.check(k); !o.ok()) return o;
    k.mark_sealed();
    audit::sealed(arch::current_core(), k.partitions.count());
    k.lifecycle.start_all(k.partitions);
    return Status::Ok;
}

}  // namespace bh

// Information flows between partitions (invariant INV-6, docs/threat-model/README.md "Invariants"): a graph indexed by partition,
// edge[s][d][kind] when partition s can pass information to partition d by `kind`. The boot
// program declares the allowed graph (manifest op DeclareFlow); live_flows computes the graph
// the partitions' capabilities and mappings make possible; seal requires the two to be equal and
// the invariant checker that the live graph stays within the declared one. The rule that makes
// an edge (access_of, reaches) is defined once, here, for the kernel and the checker alike.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/status.hpp>
#include <caps/capability.hpp>
#include <lib/ids.hpp>

namespace bh {

class Partition;
class PartitionTable;
struct MemoryRegion;

struct FlowGraph {
    static constexpr unsigned kKinds = 3;  // manifest::FlowKind::Memory, ::Signal, ::Audit
    bool edge[manifest::kMaxPartitions][manifest::kMaxPartitions][kKinds] = {};

    static constexpr bool kind_valid(manifest::FlowKind k) {
        return k == manifest::FlowKind::Memory || k == manifest::FlowKind::Signal || k == manifest::FlowKind::Audit;
    }
    static constexpr unsigned index(manifest::FlowKind k) { return static_cast<unsigned>(k) - 1; }
    static constexpr manifest::FlowKind kind(unsigned index) { return static_cast<manifest::FlowKind>(index + 1); }
    bool has(u32 source, u32 destination, manifest::FlowKind k) const {
        return source < manifest::kMaxPartitions && destination < manifest::kMaxPartitions && kind_valid(k) &&
               edge[source][destination][index(k)];
    }
};
const char* flow_kind_name(manifest::FlowKind kind);  // "memory", "signal", "audit"

// What a partition can do to one piece of memory or one notification.
struct Access {
    manifest::FlowKind kind;
    u64 base;  // Memory: physical range; Signal: the Notification object
    u64 size;
    bool read;
    bool write;
};
// Through a cap in its CSpace: Frame, DeviceMmio and Channel caps give Memory access,
// Notification caps Signal access, with the cap's Read and Write rights; other caps none (false).
bool access_of(const Capability& cap, Access& out);
// Through one of its recorded mappings (those made with caps it does not hold: the boot program's).
Access access_of(const MemoryRegion& region);
// `writer` passes information to `reader`: one writes what the other reads (the same
// notification, or overlapping physical memory).
bool reaches(const Access& writer, const Access& reader);

// The flows the boot program declares.
class FlowPolicy {
public:
    // Declaring an edge twice is accepted (the graph is a set).
    Outcome declare(const PartitionTable& partitions, const Partition& source, const Partition& destination,
                    manifest::FlowKind kind);
    const FlowGraph& declared() const { return declared_; }
    void close() { closed_ = true; }

private:
    FlowGraph declared_{};
    bool closed_ = false;
};

// THE flow rule (INV-6), over any listing of the partitions' accesses: s -> d by kind k when an
// access of s that writes reaches an access of d (`reaches`). Never s == d. `for_each_access(i, f)`
// calls f(const Access&) for every access of partition i. One definition for every user: the
// kernel (live_flows, seal), the invariant checker (its gathered CSpaces) and the proofs'
// concrete check (accesses read from the stage-2 tables a host run of the boot program built).
template <class ForEachAccess>
void flows_between(u32 partitions, ForEachAccess&& for_each_access, FlowGraph& out) {
    for (u32 s = 0; s < partitions; ++s)
        for_each_access(s, [&](const Access& w) {
            if (!w.write) return;
            const unsigned k = FlowGraph::index(w.kind);
            for (u32 d = 0; d < partitions; ++d) {
                if (d == s || out.edge[s][d][k]) continue;
                for_each_access(d, [&](const Access& r) {
                    if (reaches(w, r)) out.edge[s][d][k] = true;
                });
            }
        });
}

// The flows the partitions' capabilities and mappings make possible now: flows_between over each
// partition's caps (access_of) and recorded mappings, and Audit s -> d for every s when d holds
// an AuditLog cap with Read (audit/audit_cap.hpp: it reads the events s causes), and both ways
// between a forwarded window's client and server (devices/mmio_forward.hpp). Never s == d.
void live_flows(const PartitionTable& partitions, FlowGraph& out);

// Every cap in `p`'s CSpace root, empty slots included (none without a CNode root).
template <class F>
void for_each_cspace_cap(const Partition& p, F&& f);

}  // namespace bh

#include <caps/cnode.hpp>
#include <partition/partition.hpp>

namespace bh {

template <class F>
void for_each_cspace_cap(const Partition& p, F&& f) {
    const CapSlot* slots = caps::cnode_slots(p.cspace_root);
    const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
    for (u64 k = 0; k < count; ++k) f(slots[k].cap);
}

}  // namespace bh

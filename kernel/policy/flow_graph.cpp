#include <audit/audit_cap.hpp>
#include <boot/boot_space.hpp>
#include <devices/mmio_forward.hpp>
#include <partition/partition_table.hpp>
#include <policy/flow_graph.hpp>

namespace bh {

const char* flow_kind_name(manifest::FlowKind kind) {
    switch (kind) {
        case manifest::FlowKind::Memory: return "memory";
        case manifest::FlowKind::Signal: return "signal";
        case manifest::FlowKind::Audit: return "audit";
    }
    return "unknown";
}

bool access_of(const Capability& c, Access& out) {
    const bool r = c.rights.has(Rights::read()), w = c.rights.has(Rights::write());
    switch (c.type) {
        case ObjectType::Frame:
        case ObjectType::DeviceMmio:
        case ObjectType::Channel: out = Access{manifest::FlowKind::Memory, c.object, c.object_size(), r, w}; return true;
        case ObjectType::Notification:
            out = Access{manifest::FlowKind::Signal, c.object, c.object_size(), r, w};
            return true;
        default: return false;
    }
}

Access access_of(const MemoryRegion& m) {
    return Access{manifest::FlowKind::Memory, m.pa.raw(), m.size, m.attrs.readable(), m.attrs.writable()};
}

bool reaches(const Access& writer, const Access& reader) {
    if (!writer.write || !reader.read || writer.kind != reader.kind) return false;
    if (writer.kind == manifest::FlowKind::Signal) return writer.base == reader.base;
    return writer.size != 0 && reader.size != 0 && ranges_overlap(writer.base, writer.size, reader.base, reader.size);
}

Outcome FlowPolicy::declare(const PartitionTable& partitions, const Partition& source, const Partition& destination,
                            manifest::FlowKind kind) {
    if (closed_) return kSealed;
    if (!FlowGraph::kind_valid(kind)) return refuse(Status::InvalidArgument, "unknown flow kind");
    if (&source == &destination) return refuse(Status::InvalidArgument, "a flow from a partition to itself");
    if (partitions[source.index] != &source || partitions[destination.index] != &destination)
        return refuse(Status::NotFound, "not a configured partition");
    declared_.edge[source.index.raw()][destination.index.raw()][FlowGraph::index(kind)] = true;
    return Status::Ok;
}

namespace {

template <class F>
void for_each_access(const Partition& p, F&& f) {
    for_each_cspace_cap(p, [&f](const Capability& c) {
        Access a;
        if (access_of(c, a)) f(a);
    });
    const u32 regions = p.region_count <= Partition::kMaxRegions ? p.region_count : Partition::kMaxRegions;
    for (u32 i = 0; i < regions; ++i) f(access_of(p.regions[i]));
}

}  // namespace

void live_flows(const PartitionTable& partitions, FlowGraph& out) {
    out = FlowGraph{};
    flows_between(
        partitions.count(), [&](u32 i, auto&& f) { for_each_access(*partitions[PartitionId(i)], f); }, out);
    audit_flows(partitions, out);
    forward_flows(partitions, out);
}

}  // namespace bh

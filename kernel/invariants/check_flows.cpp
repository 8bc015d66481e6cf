// INV-6 information flow: the live graph within the declared one.
#include <audit/audit_cap.hpp>
#include <devices/mmio_forward.hpp>
#include <invariants/checker.hpp>

namespace bh::checker {

// ---- INV-6: every flow the capabilities allow is declared. Before seal the boot program is
// still granting and declaring (in any order), and nothing runs; seal refuses a system whose
// live graph differs from the declared one. After seal caps move only within a CSpace, so
// edges can only disappear (a holder deletes its own cap): live must stay within declared.
void Checker::flows() {
    const FlowGraph& declared = s_.flows.declared();
    // The graph is mostly empty: eight edges at a time are skipped when none is set.
    static_assert(sizeof declared.edge % 8 == 0 && sizeof(bool) == 1);
    const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&declared.edge[0][0][0]);
    for (usize w = 0; w < sizeof declared.edge; w += 8) {
        u64 word;
        __builtin_memcpy(&word, bytes + w, 8);
        if (word == 0) continue;
        for (usize e = w; e < w + 8; ++e) {
            const u32 a = static_cast<u32>(e / (manifest::kMaxPartitions * FlowGraph::kKinds));
            const u32 b = static_cast<u32>(e / FlowGraph::kKinds % manifest::kMaxPartitions);
            if (bytes[e] != 0 && (a == b || a >= count_ || b >= count_))
                value(add(InvariantId::InformationFlow, "a declared flow names no partition, or one partition twice"),
                      a * manifest::kMaxPartitions + b);
        }
    }
    if (!s_.sealed()) return;
    for (u32 i = 0; i < count_; ++i)
        if (!live_[i]) return;  // reported (STATE-2/INV-2): the graph would read a bad object
    frames_unshared();
    FlowGraph live;
    if (!live_flows(live)) bh::live_flows(s_.partitions, live);
    for (u32 a = 0; a < count_; ++a)
        for (u32 b = 0; b < count_; ++b)
            for (unsigned k = 0; k < FlowGraph::kKinds; ++k)
                if (live.edge[a][b][k] && !declared.edge[a][b][k])
                    value(other(about(add(InvariantId::InformationFlow,
                                          FlowGraph::kind(k) == manifest::FlowKind::Memory
                                              ? "undeclared memory flow: it can write memory the other can read"
                                              : "undeclared signal flow: it can signal a notification the other waits on"),
                                      part(a)),
                                part(b)),
                          static_cast<u64>(FlowGraph::kind(k)));
}

// Seal's frames_unshared, kept: two holders of one frame signal each other through FrameMap's
// answer, whatever their rights.
void Checker::frames_unshared() {
    const auto frame = [](const Capability& c, Access& a) {
        return (c.type == ObjectType::Frame || c.type == ObjectType::DeviceMmio) && access_of(c, a);
    };
    for (u32 a = 0; a < count_; ++a) {
        if (cspace_view_[a] == 0) continue;
        for_each_occupied(views_[cspace_view_[a]], [&](const CapSlot& mine) {
            Access x;
            if (!frame(mine.cap, x)) return;
            for (u32 b = a + 1; b < count_; ++b) {
                if (cspace_view_[b] == 0) continue;
                bool shared = false;
                for_each_occupied(views_[cspace_view_[b]], [&](const CapSlot& theirs) {
                    Access y;
                    shared = shared || (frame(theirs.cap, y) && ranges_overlap(x.base, x.size, y.base, y.size));
                });
                if (shared)
                    value(other(about(add(InvariantId::InformationFlow,
                                          "a frame is held by two partitions: FrameMap's answer signals between them"),
                                      part(a)),
                                part(b)),
                          x.base);
            }
        });
    }
}

bool Checker::live_flows(FlowGraph& out) {
    out = FlowGraph{};
    if (scratch_ == nullptr) return false;
    u32 first[manifest::kMaxPartitions + 1] = {};
    u32 n = 0;
    bool fits = true;
    const auto note = [&](const Access& a) {
        if (n == Scratch::kAccesses) fits = false;
        if (fits) scratch_->accesses[n++] = a;
    };
    for (u32 i = 0; i < count_; ++i) {
        first[i] = n;
        const Partition& p = part(i);
        if (cspace_view_[i] != 0)
            for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
                Access a;
                if (access_of(slot.cap, a)) note(a);
            });
        // Mappings made through caps the partition does not hold (the boot program's).
        for (u32 k = 0; k < region_count(p); ++k) note(access_of(p.regions[k]));
    }
    first[count_] = n;
    if (!fits) return false;
    const Access* acc = scratch_->accesses;
    flows_between(
        count_,
        [&](u32 i, auto&& f) {
            for (u32 k = first[i]; k < first[i + 1]; ++k) f(acc[k]);
        },
        out);
    audit_flows(s_.partitions, out);
    forward_flows(s_.partitions, out);
    return true;
}

}  // namespace bh::checker

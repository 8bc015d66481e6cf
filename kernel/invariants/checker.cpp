// The checker's run: the order of the checks, one gathering pass over every CNode, and the
// entry points of invariants.hpp.
#include <invariants/checker.hpp>

namespace bh::checker {

constinit Scratch g_scratch;
constinit Atomic<bool> g_scratch_taken;

InvariantReport Checker::run() {
    identity();
    gather_cnodes();
    for (u32 i = 0; i < count_; ++i)
        if (live_[i]) table_placement(i);
    for (u32 i = 0; i < count_; ++i)
        if (live_[i]) leaves_of(i);
    for (u32 i = 0; i < count_; ++i)
        if (live_[i]) regions_of(i);
    for (u32 i = 0; i < count_; ++i)
        if (live_[i]) channel_regions(i);
    shared_regions();
    shared_leaves();
    for (u32 i = 0; i < count_; ++i)
        if (live_[i]) tables_match_regions(i);
    gather_mapping_caps();
    for (u32 i = 0; i < count_; ++i)
        if (live_[i]) leaves_have_caps(i);
    cores();
    capabilities();
    interrupts();
    dma();
    flows();
    return report_;
}

// ---- one pass over every CNode the checks read: the boot CNode (view 0) and each live
// partition's CSpace (view cspace_view_[i]), noting the occupied slots and the first empty
// slot that still has a link (caps::validate_cdt's check of empty slots).
void Checker::gather_cnodes() {
    view_count_ = 0;
    const CapSlot* boot = caps::cnode_slots(s_.boot.cnode().cap);
    const u64 boot_count = caps::cnode_slot_count(s_.boot.cnode().cap);
    if (since_ != nullptr && boot != nullptr && since_->boot_slots == boot && since_->boot_count == boot_count)
        gather(boot, boot_count, since_->occupied, since_->occupied_count);
    else
        gather(boot, boot_count);
    if (record_ != nullptr) record_boot();
    for (u32 i = 0; i < count_; ++i) {
        cspace_view_[i] = 0;
        if (!live_[i] || part(i).cspace_root.type != ObjectType::CNode) continue;
        const CapSlot* slots = caps::cnode_slots(part(i).cspace_root);
        if (slots == nullptr) continue;
        cspace_view_[i] = view_count_;
        gather(slots, caps::cnode_slot_count(part(i).cspace_root));
    }
}

// `only`: read just these slot indices (ascending), the rest taken as empty and unlinked.
void Checker::gather(const CapSlot* slots, u64 count, const u32* only, u32 only_count) {
    CNodeView& v = views_[view_count_++];
    v = CNodeView{slots, count};
    if (slots == nullptr) return;
    const CapSlot** out = scratch_ != nullptr ? scratch_->occupied + occupied_used_ : nullptr;
    const u32 room = scratch_ != nullptr ? Scratch::kOccupied - occupied_used_ : 0;
    u32 n = 0;
    bool fits = out != nullptr;
    if (only != nullptr && !fits) {
        // No scratch to hold the list: read every slot instead.
        only = nullptr;
    }
    const u64 visits = only != nullptr ? only_count : count;
    for (u64 j = 0; j < visits; ++j) {
        const u64 k = only != nullptr ? only[j] : j;
        if (k >= count) continue;
        const CapSlot& s = slots[k];
        if (s.empty()) {
            if ((s.parent != nullptr || s.first_child != nullptr || s.next_sibling != nullptr ||
                 s.prev_sibling != nullptr) &&
                v.first_linked_empty == ~0ull)
                v.first_linked_empty = k;
            continue;
        }
        if (fits && n == room) fits = false;
        if (fits) out[n++] = &s;
    }
    if (!fits) {
        // Scanned again by every use: slower, the same checks (a step check then reads
        // every slot, which is a full check of this CNode).
        return;
    }
    v.occupied = out;
    v.occupied_count = n;
    occupied_used_ += n;
}

}  // namespace bh::checker

namespace bh {

using checker::Checker;



InvariantReport check_invariants(const Kernel& kernel) {
    Checker checker(kernel, nullptr, nullptr);
    return checker.run();
}

InvariantReport check_invariants(const Kernel& kernel, InvariantBaseline& baseline) {
    Checker checker(kernel, &baseline, nullptr);
    return checker.run();
}

InvariantReport check_invariants_since(const Kernel& kernel, const InvariantBaseline& baseline) {
    Checker checker(kernel, nullptr, &baseline);
    return checker.run();
}

}  // namespace bh

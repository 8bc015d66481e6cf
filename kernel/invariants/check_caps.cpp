// INV-4 capability soundness: the derivation tree over every CNode the kernel and partitions hold.
#include <invariants/checker.hpp>

namespace bh::checker {

// ---- INV-4: the derivation tree, over every CNode the kernel and the partitions hold
void Checker::capabilities() {
    const CNodeView& boot = boot_view();
    if (boot.slots == nullptr) {
        add(InvariantId::CapabilitySoundness, "boot CNode unreachable");
        return;
    }
    const CapSlot* roots[kMaxRoots];
    usize root_count = 0;
    bool too_many = false;
    for_each_occupied(boot, [&](const CapSlot& slot) {
        if (slot.parent != nullptr || too_many) return;
        if (root_count == kMaxRoots) {
            too_many = true;
            return;
        }
        roots[root_count++] = &slot;
    });
    if (too_many) {
        add(InvariantId::CapabilitySoundness, "more root caps than the checker can hold");
        return;
    }
    // What caps::validate_cdt(roots, slots) checks for each CNode, with the tree walked
    // once instead of once per CNode, and only the occupied slots visited again. A
    // violation in the tree is reported once (validate_cdt would return it for every
    // CNode), otherwise each CNode's first violation in slot order, as validate_cdt does.
    caps::CdtReport tree{nullptr, nullptr};
    u64 budget = kMaxCdtNodes;
    for (usize r = 0; r < root_count && tree.ok(); ++r) tree = subtree(*roots[r], budget);
    if (!tree.ok()) {
        report_cdt(tree);
    } else {
        for (u32 v = 0; v < view_count_; ++v)
            if (views_[v].slots != nullptr) report_cdt(slots_in_tree(views_[v], roots, root_count));
    }
    // Every mapped cap's mapping is one the partition records (the tables are compared with
    // the records by STATE-1).
    for (u32 v = 0; v < view_count_; ++v) for_each_occupied(views_[v], [&](const CapSlot& slot) { mapped_cap(slot); });
}

// validate_cdt's per-slot part over one CNode, in slot order: an empty slot has no links;
// an occupied one is among its parent's children and reaches a root of the boot CNode.
caps::CdtReport Checker::slots_in_tree(const CNodeView& v, const CapSlot* const* roots, usize root_count) {
    constexpr u64 kMaxNodes = kMaxCdtNodes;
    const auto linked_empty = [&v] {
        return caps::CdtReport{&v.slots[v.first_linked_empty], "empty slot linked into the tree"};
    };
    caps::CdtReport found{nullptr, nullptr};
    for_each_occupied(v, [&](const CapSlot& s) {
        if (!found.ok()) return;
        if (static_cast<u64>(&s - v.slots) > v.first_linked_empty) {
            found = linked_empty();
            return;
        }
        if (s.parent != nullptr) {
            const CapSlot* c = s.parent->first_child;
            for (u64 steps = 0; c != nullptr && c != &s && steps < kMaxNodes; ++steps) c = c->next_sibling;
            if (c != &s) {
                found = caps::CdtReport{&s, "slot missing from its parent's children"};
                return;
            }
        }
        // Roots are exactly the parentless slots, so only the top of the parent chain can
        // be one: the same answer as comparing every ancestor with every root.
        const CapSlot* a = &s;
        for (u64 steps = 0; a->parent != nullptr && steps < kMaxNodes; ++steps) a = a->parent;
        bool reached = false;
        for (usize r = 0; r < root_count && !reached && a->parent == nullptr; ++r) reached = a == roots[r];
        if (!reached) found = caps::CdtReport{&s, "slot not reachable from any root"};
    });
    if (found.ok() && v.first_linked_empty != ~0ull) found = linked_empty();
    return found;
}

// A violation is reported once, however many CNodes lead to it, and located by the CNode
// that holds the slot (the boot CNode or a partition's CSpace).
void Checker::report_cdt(const caps::CdtReport& r) {
    if (r.ok()) return;
    for (u32 k = 0; k < cdt_reported_; ++k)
        if (cdt_seen_[k].slot == r.slot && cdt_seen_[k].violation == r.violation) return;
    if (cdt_reported_ < kMaxCdtReports) cdt_seen_[cdt_reported_++] = r;
    locate(add(InvariantId::CapabilitySoundness, r.violation), r.slot);
}

// Names the partition whose CSpace holds `slot` (none for the boot CNode) and its index.
void Checker::locate(InvariantViolation& v, const CapSlot* slot) {
    if (slot == nullptr) return;
    const auto index_in = [slot](const CapSlot* base, u64 count, u64& index) {
        const usize at = reinterpret_cast<usize>(slot), lo = reinterpret_cast<usize>(base);
        if (base == nullptr || at < lo || (at - lo) / sizeof(CapSlot) >= count) return false;
        index = (at - lo) / sizeof(CapSlot);
        return true;
    };
    u64 index = 0;
    if (index_in(caps::cnode_slots(s_.boot.cnode().cap), caps::cnode_slot_count(s_.boot.cnode().cap), index)) {
        value(v, index);
        return;
    }
    for (u32 i = 0; i < count_; ++i) {
        if (!live_[i] || part(i).cspace_root.type != ObjectType::CNode) continue;
        const Partition& p = part(i);
        if (index_in(caps::cnode_slots(p.cspace_root), caps::cnode_slot_count(p.cspace_root), index)) {
            value(about(v, p), index);
            return;
        }
    }
}

void Checker::mapped_cap(const CapSlot& slot) {
    const Capability& c = slot.cap;
    if (!caps::mappable(c.type) || !c.mapped()) return;
    const u32 owner = c.mapped_partition().raw();
    if (owner >= count_ || !live_[owner]) {
        value(add(InvariantId::CapabilitySoundness, "a cap is mapped into no live partition"), owner);
        return;
    }
    const Partition& p = part(owner);
    const u64 size = 1ull << c.size_bits;
    for (u32 k = 0; k < region_count(p); ++k) {
        const MemoryRegion& r = p.regions[k];
        if (r.ipa.raw() == c.mapped_ipa() && r.pa.raw() == c.object && r.size == size) {
            // A Channel mapping recorded as private RAM would be scrubbed by a restart of
            // this partition (erasing what the others see); a Frame recorded as a channel
            // would escape the exclusivity check.
            if (r.channel != (c.type == ObjectType::Channel))
                at(about(add(InvariantId::MemoryExclusivity,
                             r.channel ? "a private frame's mapping is recorded as a channel mapping"
                                       : "a channel's mapping is recorded as private memory"),
                         p),
                   r.ipa, r.pa, r.size);
            return;
        }
    }
    at(about(add(InvariantId::CapabilitySoundness, "a cap's mapping is not recorded by its partition"), p),
       Ipa(c.mapped_ipa()), PhysAddr(c.object), size);
}

}  // namespace bh::checker

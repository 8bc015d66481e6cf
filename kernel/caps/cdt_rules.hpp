// The derivation tree's rules for one root's subtree: link symmetry, no cycle, every cap well
// formed, and each child against its parent (cdt_check.hpp, validate_cdt). One implementation
// for the two users: validate_cdt (cdt_check.cpp) and the invariant checker
// (kernel/invariants/check_caps.cpp). Always inlined, so that each user has its own build of
// it: the checker, the fuzzers' oracle, must stay uninstrumented (fuzz/CMakeLists.txt).
#pragma once

#include <bulkhead/types.hpp>

#include "caps/cap_slot.hpp"
#include "caps/cdt_check.hpp"

namespace bh::caps::cdt_rules {

// Checks one child `c` of `n` against its parent; the links were checked by the caller.
[[gnu::always_inline]] inline const char* check_child(const CapSlot& n, const CapSlot& c) {
    if (n.cap.type == ObjectType::Untyped) {
        const Capability& u = n.cap;
        const u64 size = c.cap.object_size();
        if (size == 0) return "child of an untyped names no memory";
        if (!range_inside(c.cap.object, size, u.object, u.watermark()))
            return "child of an untyped lies outside its allocated range";
        const bool device_kind = c.cap.type == ObjectType::DeviceMmio ||
                                 (c.cap.type == ObjectType::Untyped && c.cap.device());
        if (device_kind != u.device()) return "object type does not match device/RAM untyped";
        for (const CapSlot* d = c.next_sibling; d != nullptr; d = d->next_sibling) {
            if (same_object(c.cap, d->cap)) continue;
            if (ranges_overlap(c.cap.object, size, d->cap.object, d->cap.object_size()))
                return "children of an untyped overlap";
        }
        return nullptr;
    }
    if (!same_object(c.cap, n.cap)) return "child names another object than its parent";
    if (!subset(c.cap.rights, n.cap.rights)) return "child has rights its parent lacks";
    if (n.cap.badge != 0 && c.cap.badge != n.cap.badge) return "child of a badged cap has another badge";
    return nullptr;
}

[[gnu::always_inline]] inline CdtReport check_subtree(const CapSlot& root, u64& budget) {
    const auto violation = [](const CapSlot* slot, const char* what) { return CdtReport{slot, what}; };
    if (root.empty()) return violation(&root, "root slot is empty");
    if (!well_formed(root.cap)) return violation(&root, "malformed capability");
    const CapSlot* n = &root;
    for (;;) {
        if (budget == 0) return violation(n, "too many nodes (cycle?)");
        --budget;
        const CapSlot* prev = nullptr;
        u64 children = 0;
        for (const CapSlot* c = n->first_child; c != nullptr; prev = c, c = c->next_sibling) {
            if (++children > budget) return violation(c, "too many nodes (cycle?)");
            if (c == &root) return violation(c, "cycle through the root");
            if (c->empty()) return violation(c, "empty slot linked into the tree");
            if (c->parent != n) return violation(c, "child's parent link does not match");
            if (c->prev_sibling != prev) return violation(c, "sibling links are not symmetric");
            if (!well_formed(c->cap)) return violation(c, "malformed capability");
            if (const char* what = check_child(*n, *c)) return violation(c, what);
        }
        // Pre-order step: the links used below were all checked above.
        if (n->first_child != nullptr) {
            n = n->first_child;
            continue;
        }
        while (n != &root && n->next_sibling == nullptr) n = n->parent;
        if (n == &root) return CdtReport{nullptr, nullptr};
        n = n->next_sibling;
    }
}

}  // namespace bh::caps::cdt_rules

#include "caps/cdt_check.hpp"
#include "caps/cdt_rules.hpp"

namespace bh::caps {

namespace {

CdtReport violation(const CapSlot* slot, const char* what) { return CdtReport{slot, what}; }

}  // namespace

CdtReport validate_cdt(const CapSlot* const* roots, usize root_count, const CapSlot* slots, usize slot_count,
                       u64 max_nodes) {
    u64 budget = max_nodes;
    for (usize r = 0; r < root_count; ++r) {
        const CdtReport report = cdt_rules::check_subtree(*roots[r], budget);
        if (!report.ok()) return report;
    }
    for (usize i = 0; i < slot_count; ++i) {
        const CapSlot& s = slots[i];
        if (s.empty()) {
            if (s.parent != nullptr || s.first_child != nullptr || s.next_sibling != nullptr ||
                s.prev_sibling != nullptr)
                return violation(&s, "empty slot linked into the tree");
            continue;
        }
        if (s.parent != nullptr) {
            const CapSlot* c = s.parent->first_child;
            for (u64 steps = 0; c != nullptr && c != &s && steps < max_nodes; ++steps) c = c->next_sibling;
            if (c != &s) return violation(&s, "slot missing from its parent's children");
        }
        bool reached = false;
        const CapSlot* a = &s;
        for (u64 steps = 0; a != nullptr && !reached && steps <= max_nodes; ++steps, a = a->parent)
            for (usize r = 0; r < root_count; ++r) reached = reached || a == roots[r];
        if (!reached) return violation(&s, "slot not reachable from any root");
    }
    return CdtReport{nullptr, nullptr};
}

}  // namespace bh::caps

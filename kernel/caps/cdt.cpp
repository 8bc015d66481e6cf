#include "caps/cdt.hpp"
#include "caps/cdt_rules.hpp"

namespace bh::caps {

void cdt_insert_child(CapSlot& parent, CapSlot& child) {
    child.parent = &parent;
    child.prev_sibling = nullptr;
    child.next_sibling = parent.first_child;
    child.first_child = nullptr;
    if (parent.first_child != nullptr) parent.first_child->prev_sibling = &child;
    parent.first_child = &child;
}

void cdt_unlink(CapSlot& slot) {
    CapSlot* const parent = slot.parent;
    CapSlot* const prev = slot.prev_sibling;
    CapSlot* const next = slot.next_sibling;
    CapSlot* first = slot.first_child;
    CapSlot* last = next;  // what follows the spliced-in run
    if (first != nullptr) {
        CapSlot* c = first;
        for (;; c = c->next_sibling) {
            c->parent = parent;
            if (c->next_sibling == nullptr) break;
        }
        first->prev_sibling = prev;
        c->next_sibling = next;
        if (next != nullptr) next->prev_sibling = c;
        last = first;  // prev (or the parent) now points at the children
    } else if (next != nullptr) {
        next->prev_sibling = prev;
    }
    if (prev != nullptr) {
        prev->next_sibling = last;
    } else if (parent != nullptr) {
        parent->first_child = last;
    }
    slot.parent = slot.first_child = slot.next_sibling = slot.prev_sibling = nullptr;
}

void cdt_relocate(CapSlot& from, CapSlot& to) {
    to = from;
    if (to.prev_sibling != nullptr) {
        to.prev_sibling->next_sibling = &to;
    } else if (to.parent != nullptr) {
        to.parent->first_child = &to;
    }
    if (to.next_sibling != nullptr) to.next_sibling->prev_sibling = &to;
    for (CapSlot* c = to.first_child; c != nullptr; c = c->next_sibling) c->parent = &to;
    from = CapSlot{};
}

bool cdt_is_final(const CapSlot& slot) {
    const Capability& cap = slot.cap;
    if (slot.parent != nullptr && same_object(slot.parent->cap, cap)) return false;
    for (const CapSlot* c = slot.first_child; c != nullptr; c = c->next_sibling)
        if (same_object(c->cap, cap)) return false;
    for (const CapSlot* s = slot.prev_sibling; s != nullptr; s = s->prev_sibling)
        if (same_object(s->cap, cap)) return false;
    for (const CapSlot* s = slot.next_sibling; s != nullptr; s = s->next_sibling)
        if (same_object(s->cap, cap)) return false;
    return true;
}

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

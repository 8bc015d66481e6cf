#include "caps/cdt.hpp"

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

}  // namespace bh::caps

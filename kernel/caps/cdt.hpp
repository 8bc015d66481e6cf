// The capability derivation tree: link primitives used by the operations in cspace.hpp, the
// finality test, and the debug checker. The primitives do no validation: callers (cspace.cpp,
// untyped.cpp) validate first, then link.
#pragma once

#include <bulkhead/types.hpp>

#include "caps/cap_slot.hpp"

namespace bh::caps {

// Links the (non-empty, unlinked) `child` as the first child of `parent`. O(1).
void cdt_insert_child(CapSlot& parent, CapSlot& child);

// Removes `slot` from the tree: its children take its place among its siblings, in their
// order, with its parent as their parent (roots if it had none). Leaves slot's links null and
// its cap untouched. O(number of children).
void cdt_unlink(CapSlot& slot);

// Moves the cap and every link from `from` to the empty `to`, so that the tree is the same
// with `to` where `from` was; `from` becomes empty. O(number of children).
void cdt_relocate(CapSlot& from, CapSlot& to);

// True when no other slot in the tree holds a cap to the same object as `slot`. Relies on the
// CDT invariant (docs/capabilities.md, "Finality"): all caps to one object are the original's
// copies, so they hang together: the others would be a parent, a child or a sibling.
bool cdt_is_final(const CapSlot& slot);

}  // namespace bh::caps

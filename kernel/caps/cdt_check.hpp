// The derivation tree's debug checker (also the invariant checker's CDT part): in host tests,
// fuzz targets and debug kernels, never in a release kernel image.
#pragma once

#include "caps/cdt.hpp"

namespace bh::caps {

struct CdtReport {
    const CapSlot* slot;    // where the first violation was seen (nullptr when valid)
    const char* violation;  // what is wrong (nullptr when valid)
    bool ok() const { return violation == nullptr; }
};

// Debug checker (also the invariant checker's CDT part). Walks the subtree of each of `roots`
// and checks: every cap well formed; link symmetry (child.parent, sibling prev/next, first
// child has no previous sibling); no empty slot linked; no cycle; a child of a non-Untyped cap
// names the same object with rights ⊆ its parent's and the parent's badge if it has one; every
// child of an Untyped lies inside the untyped's allocated range [base, base + watermark), and
// the children of one Untyped are pairwise disjoint or the same object (untyped regions nested
// or disjoint). Then every non-empty slot of `slots` (e.g. every slot of every CNode) must be
// in one of the walked subtrees. At most `max_nodes` nodes are visited (a corrupt tree cannot
// make it loop); more is reported as a violation.
CdtReport validate_cdt(const CapSlot* const* roots, usize root_count, const CapSlot* slots, usize slot_count,
                       u64 max_nodes = 1u << 20);

}  // namespace bh::caps

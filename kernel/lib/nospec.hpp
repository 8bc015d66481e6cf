// Bounds checks that also hold under speculation (Spectre variant 1). An out-of-order core may
// run past `index < size` with the guess "true" and load through an index a guest chose; the
// result can leave a trace in the cache even though the load is never retired. `index_nospec`
// turns the check into a data dependency (CSEL) followed by CSDB, so that no later instruction
// uses a speculated out-of-range index. The in-order Cortex-A53 does not speculate this way; the
// cost is three instructions. Indices masked by a power of two (a CNode slot: `& (2^radix - 1)`)
// need none: the mask is data, not a branch. docs/threat-model (T-53) lists what else an
// out-of-order core needs.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

// `index` when index < size, else 0; the caller still checks `index < size` to decide.
inline u64 index_nospec(u64 index, u64 size) {
#if defined(__aarch64__)
    u64 out;
    asm volatile(
        "cmp %1, %2\n"
        "csel %0, %1, xzr, lo\n"
        "hint #20"  // CSDB: no speculative use of `out` computed from a mispredicted condition
        : "=r"(out)
        : "r"(index), "r"(size)
        : "cc");
    return out;
#else
    return index < size ? index : 0;
#endif
}

}  // namespace bh

// Debug kernels (BH_DEBUG_INVARIANTS; the aarch64 build's bulkhead-debug.elf, or any build
// configured with -DBH_DEBUG_INVARIANTS=ON): the invariant checker run on the live EL2 state
// after every boot-manifest op and after every hypercall a guest makes, counted, and the count
// reported when the machine powers off. Release kernels contain none of this (the callers'
// #ifdef keeps the calls out and the file is not linked into them).
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

class Kernel;
class Partition;

namespace debug_invariants {

// A full check_invariants under the capability lock (other cores' capability operations, which
// change caps, mappings and bindings, wait; the checker reads a state no operation is half-way
// through). A violation is logged with where it was found and the report; the result says
// whether the state was clean.
//   after_boot_op: op `op_index` of the boot program has just run.
//   after_call:    `caller` has just made hypercall `function` (x0 as it was on entry).
bool after_boot_op(const Kernel& k, u32 op_index);
bool after_call(const Kernel& k, const Partition& caller, u64 function);

// "[bulkhead] invariants: checked N times (B after boot ops, H after hypercalls), V failed":
// logged once, when the last partition stops and the machine powers off.
void log_summary();

}  // namespace debug_invariants
}  // namespace bh

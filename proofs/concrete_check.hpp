// The concrete-state check (design.md "Verification harness" (2)) on a compiled manifest: the
// kernel's boot program runs it on a host Kernel (concrete_world.hpp); then, over what each
// partition can reach — the leaves of the stage-2 tables the kernel built, for ALL 40-bit IPAs
// (a symbolic bit-vector, not samples), and the whole object of every Frame, DeviceMmio or
// Channel cap it holds (it can FrameMap those anywhere at run time) — Z3 must answer `unsat` to:
//   INV-1  a PA reachable from two partitions that is not Channel memory;
//   INV-2  a reachable PA in [kKernelRegionBase, +kKernelRegionSize); device memory outside
//          platform::kAssignableMmio or executable; normal memory inside an MMIO window;
// and INV-6: the flows the kernel's own rule (flows_between) derives from the leaves and the
// held caps equal the DeclareFlow ops. `sat` is a violation with its witness; `unknown` (the
// resource limit ran out) is a failure too: nothing counts as holding without an explicit unsat.
// Used by bhcc on every description it packs, and by bulkhead-proofs --manifest.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace bh::proofs {

struct ConcreteReport {
    bool ok = false;            // every property proved
    std::string summary;        // one line
    std::string details;        // counterexamples / replay errors, one per line
    double seconds = 0;         // solver time
    std::uint64_t rlimit = 0;   // the most Z3 resource units one query used (limit: kConcreteRlimit)
    unsigned partitions = 0, mappings = 0, held = 0, queries = 0;  // mappings: stage-2 leaves
};

struct World;

ConcreteReport check_manifest(std::span<const std::uint8_t> bytes);
// The Z3 part alone, on an extracted world (tests build worlds the boot program would refuse).
ConcreteReport check_world(const World& world);

}  // namespace bh::proofs

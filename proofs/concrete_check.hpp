// The concrete-state check (design.md "Verification harness" (2)) on a compiled manifest: the
// boot program is replayed abstractly (CreateUntyped, Retype carving, CreatePartition, MapFrame,
// GrantCap, DeclareFlow, AssignPciFunction, PlacePciBar) and Z3 proves, for ALL 40-bit IPAs (a symbolic bit-vector, not samples):
//   INV-1  no PA is reachable from two partitions unless both map the same Channel object;
//   INV-2  no IPA of any partition translates into [kKernelRegionBase, +kKernelRegionSize);
//          device mappings only inside platform::kAssignableMmio, never executable; normal
//          memory never inside an MMIO window;
//   INV-3  every DmaStream cap is held by its function's owner, the owner's stage 2 (which its
//          bound streams walk) reaches neither the kernel region nor another partition's memory,
//          and no other partition reaches a placed BAR;
//   INV-6  the flows the partitions' mappings and capabilities make possible (shared writable
//          memory, Channel/Notification caps with Write in one CSpace and Read in another)
//          equal the DeclareFlow ops.
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
    unsigned partitions = 0, mappings = 0, queries = 0;
};

ConcreteReport check_manifest(std::span<const std::uint8_t> bytes);

}  // namespace bh::proofs

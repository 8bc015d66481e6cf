// The executable invariant checker: the invariants of docs/threat-model/README.md "Invariants",
// checked over the kernel's live state.
//
// It reads what the hardware uses — every partition's stage-2 tables, walked descriptor by
// descriptor — and cross-checks it against what the kernel believes — the recorded regions, the
// VMIDs, the vCPU/core bindings. It changes nothing, allocates nothing and needs no lock
// beyond the caller's guarantee that no operation runs concurrently (boot program, a test, a
// fuzz target's oracle after each operation, a debug kernel after each manifest op).
//
// IDs are stable. INV-n are the threat model's invariants (numbered as there); STATE-n are the kernel's
// own consistency rules that the INV checks rest on:
//   INV-1  memory exclusivity     RAM frame in at most one partition, except a Channel's pages,
//                                 mapped through Channel caps recorded as channel mappings;
//                                 normal memory only in RAM
//   INV-2  kernel integrity       nothing reaches the kernel region or object memory; MMIO only
//                                 from the assignable windows; device never executable; stage-2
//                                 tables and partition objects live in object memory
//   INV-3  DMA containment        every STE aborts, or translates through the tables and VMID of
//                                 the partition its stream is bound to: its function's owner,
//                                 which records the binding on one DmaStream cap it holds; bus
//                                 mastering only while bound; no one else maps its BARs
//                                 (check_dma.cpp)
//   INV-4  capability soundness   checked: the derivation tree over the boot CNode and every CSpace;
//                                 every mapped cap's mapping recorded, every stage-2 leaf
//                                 justified by a live cap that maps it with the leaf's rights
//   INV-5  interrupt ownership    IrqHandler caps only for SPIs the kernel made handlers for, the
//                                 caps of one SPI in one partition; bindings by a live partition
//                                 that alone holds the SPI, to a live Notification, on a real core
//   INV-6  information flow       after seal, every memory/signal edge the CSpaces and mappings
//                                 allow (live_flows, policy/flow_graph.hpp) is declared (seal demands equality);
//                                 no MMIO page is shared by two partitions
//   INV-7  temporal isolation     core part only: vCPU <-> core bindings are consistent
//                                 (a core runs at most one vCPU, a vCPU is on at most one core)
//   STATE-1  stage-2 tables == recorded regions, both ways; every descriptor one the kernel's
//            policy allows, read by the checker's own decoder (vmsa_descriptor.hpp, written
//            from the Arm ARM's field tables, not the kernel's encoder)
//   STATE-2  partition identity: index, VMID non-zero, unique, in range, equal to the table's
//
// Use: tests call check_invariants() after every operation (see checked() in
// tests/unit/test_invariants_*.cpp) and print format_violation() lines on failure; fuzz targets
// use report.ok() as their oracle. A debug kernel runs it after every boot-manifest op and refuses to boot on a
// violation, logging the report:
//     cmake -S . -B build-debug -G Ninja -DBH_DEBUG_INVARIANTS=ON && cmake --build build-debug
// (the option reaches the aarch64 ExternalProject and bh_generic; without it the kernel image
// does not contain this file at all).
//
// Cost: one pass over each CNode (the boot CNode and every CSpace) noting its occupied slots,
// which every later check reads instead of the CNode; the derivation tree walked once; per
// partition one table walk, which also records its runs (a run = adjacent leaves contiguous in
// IPA and PA) for the later checks, regions looked up in them; across partitions
// O(runs x runs), with leaves counted against kPairwiseLeafBudget, past which the report says it
// is incomplete rather than running on. The lists live in a static scratch
// area (a second, concurrent call reads the state directly: slower, the same checks).
#pragma once

#include <bulkhead/manifest.hpp>
#include <lib/ids.hpp>
#include <bulkhead/types.hpp>
#include <lib/format.hpp>

namespace bh {

class Kernel;

enum class InvariantId : u8 {
    MemoryExclusivity = 1,    // INV-1
    KernelIntegrity = 2,      // INV-2
    DmaContainment = 3,       // INV-3
    CapabilitySoundness = 4,  // INV-4
    InterruptOwnership = 5,   // INV-5
    InformationFlow = 6,      // INV-6
    TemporalIsolation = 7,    // INV-7
    TablesMatchRegions = 101,  // STATE-1
    PartitionIdentity = 102,   // STATE-2
};

enum class InvariantCoverage : u8 { NotChecked = 0, Partial = 1, Checked = 2 };

inline constexpr InvariantId kAllInvariantIds[] = {
    InvariantId::MemoryExclusivity,  InvariantId::KernelIntegrity,   InvariantId::DmaContainment,
    InvariantId::CapabilitySoundness, InvariantId::InterruptOwnership, InvariantId::InformationFlow,
    InvariantId::TemporalIsolation,  InvariantId::TablesMatchRegions, InvariantId::PartitionIdentity,
};

const char* invariant_code(InvariantId id);   // "INV-1", "STATE-2"
const char* invariant_title(InvariantId id);  // "memory exclusivity"
// How much of the invariant check_invariants covers today, and what is left out.
InvariantCoverage invariant_coverage(InvariantId id);
const char* invariant_scope(InvariantId id);

struct InvariantViolation {
    // Which fields below carry a value.
    enum Field : u32 {
        kPartition = 1u << 0,
        kIpa = 1u << 1,
        kPa = 1u << 2,
        kSize = 1u << 3,
        kOther = 1u << 4,      // another partition involved (other_name, other_index)
        kOtherIpa = 1u << 5,   // where the other partition maps the same PA
        kValue = 1u << 6,      // a number the message names (VMID, core, count, descriptor)
    };

    InvariantId id = InvariantId::MemoryExclusivity;
    const char* message = "";  // static text: what is wrong
    u32 fields = 0;
    u32 partition_index = 0;
    char partition_name[manifest::kNameLength] = {};
    Ipa ipa{};
    PhysAddr pa{};
    u64 size = 0;
    u32 other_index = 0;
    char other_name[manifest::kNameLength] = {};
    Ipa other_ipa{};
    u64 value = 0;

    bool has(Field f) const { return (fields & f) != 0; }
};

struct InvariantReport {
    static constexpr unsigned kMaxViolations = 8;

    InvariantViolation violations[kMaxViolations];
    u32 stored = 0;  // violations[0, stored) in the order they were found
    u32 total = 0;   // every violation found, also those that did not fit
    // False when a work bound stopped a check early (see kPairwiseLeafBudget): absence of
    // violations then proves nothing for INV-1/INV-6 across partitions.
    bool complete = true;

    bool ok() const { return total == 0 && complete; }
    const InvariantViolation* first() const { return stored != 0 ? &violations[0] : nullptr; }
    // Violations of `id` among the stored ones.
    u32 count(InvariantId id) const;
    const InvariantViolation* find(InvariantId id) const;
};

// Leaf visits allowed to the cross-partition comparison (INV-1, INV-6) of one check. A real
// system maps a few regions per partition and needs a few thousand.
inline constexpr u64 kPairwiseLeafBudget = 1ull << 22;

// Every check above, in this order: partition identity (STATE-2), table placement (INV-2),
// each partition's leaves (INV-2, INV-1), recorded regions (INV-2, INV-1), channel mappings
// (INV-1), cross-partition sharing (INV-1, INV-6), tables against regions (STATE-1), vCPU/core
// bindings (INV-7), the derivation tree (INV-4), IrqHandler caps (INV-5), DMA streams (INV-3),
// the flow graph (INV-6).
InvariantReport check_invariants(const Kernel& system);

// The step check, for callers that check after every operation (the hypercall fuzz target): a
// full check reads all 4096 slots of the boot CNode, almost all empty, and that scan is most of
// its cost.
// After the boot program seals the system no operation addresses the boot CNode, so a check
// between two full checks may read only the boot slots that the last full check found
// occupied (every other check is made as in full, CSpaces and stage-2 tables read entirely).
// What such a check cannot see, a cap written into a boot slot that was empty, the next full
// check reports: callers must end every sequence of step checks with a full one.
struct InvariantBaseline {
    const void* boot_slots = nullptr;  // the boot CNode it describes (nullptr: no baseline)
    u64 boot_count = 0;
    u32 occupied_count = 0;
    u32 occupied[manifest::kBootSlots] = {};  // indices of its occupied slots, in slot order
};
// The full check, recording in `baseline` the boot CNode's occupied slots.
[[nodiscard]] InvariantReport check_invariants(const Kernel& system, InvariantBaseline& baseline);
// Every check of check_invariants, with the boot CNode read only at the slots `baseline` lists
// (a baseline of another boot CNode, or none, gives the full check).
[[nodiscard]] InvariantReport check_invariants_since(const Kernel& system, const InvariantBaseline& baseline);

// "INV-1 memory exclusivity: partition 'beta' IPA 0x40000000 PA 0x48000000 size 0x1000: <message>
//  (partition 'alpha' IPA 0x40000000)"
void format_violation(LineBuffer& line, const InvariantViolation& v);
// "invariants: ok|N violations; checked INV-1 INV-2(partial) ...; not checked INV-3 ..."
void format_report_summary(LineBuffer& line, const InvariantReport& report);
// The summary and every stored violation, one console line each.
void log_invariant_report(const InvariantReport& report);

}  // namespace bh

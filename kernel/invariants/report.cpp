// The invariant IDs, what each check covers, and the report's formatting.
#include <invariants/invariants.hpp>

namespace bh {

// ---------------------------------------------------------------- IDs and their scope

const char* invariant_code(InvariantId id) {
    switch (id) {
        case InvariantId::MemoryExclusivity: return "INV-1";
        case InvariantId::KernelIntegrity: return "INV-2";
        case InvariantId::DmaContainment: return "INV-3";
        case InvariantId::CapabilitySoundness: return "INV-4";
        case InvariantId::InterruptOwnership: return "INV-5";
        case InvariantId::InformationFlow: return "INV-6";
        case InvariantId::TemporalIsolation: return "INV-7";
        case InvariantId::TablesMatchRegions: return "STATE-1";
        case InvariantId::PartitionIdentity: return "STATE-2";
    }
    return "INV-?";
}

const char* invariant_title(InvariantId id) {
    switch (id) {
        case InvariantId::MemoryExclusivity: return "memory exclusivity";
        case InvariantId::KernelIntegrity: return "kernel integrity";
        case InvariantId::DmaContainment: return "DMA containment";
        case InvariantId::CapabilitySoundness: return "capability soundness";
        case InvariantId::InterruptOwnership: return "interrupt ownership";
        case InvariantId::InformationFlow: return "information flow";
        case InvariantId::TemporalIsolation: return "temporal isolation";
        case InvariantId::TablesMatchRegions: return "stage-2 tables match recorded regions";
        case InvariantId::PartitionIdentity: return "partition identity";
    }
    return "unknown invariant";
}

InvariantCoverage invariant_coverage(InvariantId id) {
    switch (id) {
        case InvariantId::MemoryExclusivity:
        case InvariantId::TablesMatchRegions:
        case InvariantId::PartitionIdentity:
        case InvariantId::CapabilitySoundness:
        case InvariantId::InterruptOwnership:
        case InvariantId::InformationFlow: return InvariantCoverage::Checked;
        case InvariantId::DmaContainment: return InvariantCoverage::Checked;
        case InvariantId::KernelIntegrity:
        case InvariantId::TemporalIsolation: return InvariantCoverage::Partial;
    }
    return InvariantCoverage::NotChecked;
}

const char* invariant_scope(InvariantId id) {
    switch (id) {
        case InvariantId::MemoryExclusivity:
            return "every RAM frame in a stage-2 leaf or recorded region is in RAM and in at most one "
                   "partition, unless it belongs to a Channel object that every partition sharing it maps "
                   "through a Channel cap recorded as a channel mapping (its own or the boot program's); "
                   "channel mappings never executable; every mapping recorded with its cap's kind";
        case InvariantId::KernelIntegrity:
            return "CPU stage 2 (which bound DMA streams share, INV-3): no leaf reaches the kernel region or object "
                   "memory; MMIO only from the assignable windows (no device capabilities yet); no "
                   "executable device leaf; stage-2 tables and partition objects in object memory";
        case InvariantId::DmaContainment:
            return "every stream table entry (as the SMMU reads it) aborts, or translates through exactly the "
                   "stage-2 tables and VMID of the partition its stream is bound to; that partition is its "
                   "function's owner and records the binding on exactly one DmaStream cap it holds; no cap "
                   "records a binding its stream does not have; after seal, DmaStream caps only in the owner's "
                   "CSpace; a function masters the bus only while its stream is bound; no other partition maps "
                   "device memory over a placed BAR. What a bound stream reaches is its partition's stage 2, "
                   "which INV-1 and INV-2 check";
        case InvariantId::CapabilitySoundness:
            return "the derivation tree from every root cap of the boot CNode: caps well formed, links "
                   "symmetric, no cycle, derived rights within their parent's, retyped objects inside "
                   "their untyped's allocated range and nested or disjoint, every cap of the boot CNode "
                   "and of each partition's CSpace reachable; every mapped cap's mapping recorded";
        case InvariantId::InterruptOwnership:
            return "every IrqHandler cap names an SPI the kernel made a handler for; the IrqHandler caps of "
                   "an SPI are in at most one partition's CSpace; every binding is made by a live partition "
                   "that no other partition shares the SPI with, to a Notification some cap names and no "
                   "other partition can wait on, routed to a core of the machine; unbound SPIs keep no "
                   "state; after seal, the Read caps of a notification are in one partition. Not checked: the distributor's own "
                   "enable and routing registers (they are the arch layer's; host tests read them). "
                   "Cross-partition signals are notifications, covered by INV-6";
        case InvariantId::InformationFlow:
            return "after seal, every memory and signal edge the CSpaces and mappings allow (live_flows: "
                   "Write cap or writable mapping -> Read cap or readable mapping of the same memory; Write -> "
                   "Read cap of one Notification) is declared (seal refuses unless live == declared; after it "
                   "edges only disappear); no MMIO page is shared by two partitions";
        case InvariantId::TemporalIsolation:
            return "core part: each core runs at most one vCPU and each vCPU sits on at most one core, "
                   "consistently both ways; no schedule windows exist yet";
        case InvariantId::TablesMatchRegions:
            return "every stage-2 leaf lies in a recorded region with the same attributes and PA offset, "
                   "every recorded region is mapped throughout, descriptors are as the kernel writes them";
        case InvariantId::PartitionIdentity:
            return "partition objects in place, index as created, VMID non-zero, unique, within VMID bits "
                   "and equal to its table's, stage-2 roots distinct, vCPUs name their partition";
    }
    return "";
}

u32 InvariantReport::count(InvariantId id) const {
    u32 n = 0;
    for (u32 i = 0; i < stored; ++i) n += violations[i].id == id ? 1 : 0;
    return n;
}

const InvariantViolation* InvariantReport::find(InvariantId id) const {
    for (u32 i = 0; i < stored; ++i)
        if (violations[i].id == id) return &violations[i];
    return nullptr;
}

// ---------------------------------------------------------------- formatting

void format_violation(LineBuffer& line, const InvariantViolation& v) {
    using F = InvariantViolation;
    line.put(invariant_code(v.id));
    line.put(' ');
    line.put(invariant_title(v.id));
    line.put(": ");
    if (v.has(F::kPartition)) {
        line.put("partition '");
        line.put(v.partition_name);
        line.put("' ");
    }
    if (v.has(F::kIpa)) {
        line.put("IPA ");
        line.put(Hex{v.ipa.raw()});
        line.put(' ');
    }
    if (v.has(F::kPa)) {
        line.put("PA ");
        line.put(Hex{v.pa.raw()});
        line.put(' ');
    }
    if (v.has(F::kSize) && v.size != 0) {
        line.put("size ");
        line.put(Hex{v.size});
        line.put(' ');
    }
    line.put("- ");
    line.put(v.message);
    if (v.has(F::kValue)) {
        line.put(" [");
        line.put(Hex{v.value});
        line.put(']');
    }
    if (v.has(F::kOther)) {
        line.put(" (partition '");
        line.put(v.other_name);
        line.put('\'');
        if (v.has(F::kOtherIpa)) {
            line.put(" IPA ");
            line.put(Hex{v.other_ipa.raw()});
        }
        line.put(')');
    }
}

void format_report_summary(LineBuffer& line, const InvariantReport& report) {
    line.put("invariants: ");
    if (report.total == 0) {
        line.put("ok");
    } else {
        line.put(report.total);
        line.put(report.total == 1 ? " violation" : " violations");
        if (report.stored < report.total) {
            line.put(" (first ");
            line.put(report.stored);
            line.put(" kept)");
        }
    }
    if (!report.complete) line.put(", INCOMPLETE (work bound reached)");
    line.put("; checked");
    for (InvariantId id : kAllInvariantIds) {
        const InvariantCoverage c = invariant_coverage(id);
        if (c == InvariantCoverage::NotChecked) continue;
        line.put(' ');
        line.put(invariant_code(id));
        if (c == InvariantCoverage::Partial) line.put("(partial)");
    }
    bool heading = false;  // "; not checked ..." only when something is not
    for (InvariantId id : kAllInvariantIds) {
        if (invariant_coverage(id) != InvariantCoverage::NotChecked) continue;
        if (!heading) line.put("; not checked");
        heading = true;
        line.put(' ');
        line.put(invariant_code(id));
    }
}

void log_invariant_report(const InvariantReport& report) {
    LineBuffer line;
    format_report_summary(line, report);
    log_line(line);
    for (u32 i = 0; i < report.stored; ++i) {
        line.clear();
        format_violation(line, report.violations[i]);
        log_line(line);
    }
}

}  // namespace bh

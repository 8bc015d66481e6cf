// The invariant checker's machinery, shared by the files that each check one invariant
// (check_*.cpp): the views of the state it gathers once per check and the report it fills.
// Internal to kernel/invariants/: the interface is invariants.hpp.
#pragma once

#include <arch/arch.hpp>
#include <caps/cdt_check.hpp>
#include <caps/cdt_rules.hpp>
#include <invariants/invariants.hpp>
#include <kernel.hpp>
#include <lib/atomic.hpp>
#include <policy/flow_graph.hpp>

namespace bh::checker {


// Adjacent leaves contiguous in IPA and PA with the same attributes: what a recorded region
// looks like in the tables. Comparing runs rather than leaves keeps reports and the
// cross-partition comparison small.
struct Run {
    Ipa ipa;
    PhysAddr pa;
    u64 size;
    MapAttributes attrs;
};

template <class F>
inline void for_each_run(const Stage2Table& table, u64& leaves, F&& f) {
    Run cur{};
    bool have = false;
    table.for_each_mapping([&](Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
        ++leaves;
        if (have && cur.ipa.raw() + cur.size == ipa.raw() && cur.pa.raw() + cur.size == pa.raw() &&
            cur.attrs == attrs) {
            cur.size += size;
            return;
        }
        if (have) f(cur);
        cur = Run{ipa, pa, size, attrs};
        have = true;
    });
    if (have) f(cur);
}

// Every byte of [base, base + size) lies in some assignable MMIO window.
inline bool in_assignable_mmio(u64 base, u64 size) {
    const u64 end = base + size;
    u64 cur = base;
    while (cur < end) {
        const platform::MmioWindow* hit = nullptr;
        for (const platform::MmioWindow& w : platform::kAssignableMmio)
            if (cur >= w.base && cur - w.base < w.size) hit = &w;
        if (hit == nullptr) return false;
        cur = hit->base + hit->size;
    }
    return true;
}

// What the checker reuses between calls: the occupied slots of every CNode it reads and every
// partition's runs, gathered in one pass each so that the later checks touch neither the 4096
// empty slots of a boot CNode again nor the stage-2 descriptors. Static rather than on the
// stack, which is small in a debug EL2 kernel; check_invariants runs one at a time by contract,
// and a second, overlapping call (two host test threads) finds it taken and reads the state
// directly instead: the same checks, only slower. Overflow falls back the same way.
struct Scratch {
    static constexpr u32 kOccupied = 2048;  // non-empty slots over the boot CNode and all CSpaces
    static constexpr u32 kRuns = 1024;      // stage-2 runs over all partitions
    static constexpr u32 kAccesses = 1024;  // memory/signal accesses over all partitions (INV-6)
    static constexpr u32 kMappingCaps = 1024;  // mapped Frame/DeviceMmio/Channel caps over all CNodes
    // Zero-initialised, so that the object is constant-initialised (constinit): a debug EL2
    // kernel has no dynamic initialisers.
    const CapSlot* occupied[kOccupied] = {};
    const Capability* mapping_caps[kMappingCaps] = {};
    Run runs[kRuns] = {};
    Access accesses[kAccesses] = {};
};
extern Scratch g_scratch;
extern Atomic<bool> g_scratch_taken;

// A partition's runs as the checker's table walk found them: Scratch::runs[first, first + count).
struct RunCache {
    u32 first = 0;
    u32 count = 0;
    u64 leaves = 0;
    bool valid = false;  // false: walk the tables again (no scratch, or too many runs)
};

// One CNode as the checker reads it.
struct CNodeView {
    const CapSlot* slots = nullptr;
    u64 count = 0;
    const CapSlot* const* occupied = nullptr;  // its non-empty slots in slot order; nullptr: scan `slots`
    u32 occupied_count = 0;
    u64 first_linked_empty = ~0ull;  // index of the first empty slot that still has a link
};

template <class F>
inline void for_each_occupied(const CNodeView& v, F&& f) {
    if (v.occupied != nullptr) {
        for (u32 k = 0; k < v.occupied_count; ++k) f(*v.occupied[k]);
        return;
    }
    for (u64 k = 0; v.slots != nullptr && k < v.count; ++k)
        if (!v.slots[k].empty()) f(v.slots[k]);
}
class Checker {
public:
    Checker(const Kernel& kernel, InvariantBaseline* record, const InvariantBaseline* since)
        : s_(kernel), om_(kernel.boot.object_memory()), record_(record), since_(since) {
        if (!g_scratch_taken.exchange(true)) scratch_ = &g_scratch;
    }
    ~Checker() {
        if (scratch_ != nullptr) g_scratch_taken.store(false);
    }
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    InvariantReport run();

private:
    // ---- INV-4: the derivation tree, over every CNode the kernel and the partitions hold
    void capabilities();
    static constexpr u64 kMaxCdtNodes = 1u << 20;  // validate_cdt's default bound on every walk
    // caps/cdt_rules.hpp's walk, inlined here with the capability helpers it calls, so that the
    // checker's build of them is used (uninstrumented in fuzz builds; the out-of-line copy the
    // linker keeps may be an instrumented one).
    [[nodiscard, gnu::flatten]] static caps::CdtReport subtree(const CapSlot& root, u64& budget) {
        return caps::cdt_rules::check_subtree(root, budget);
    }

    // validate_cdt's per-slot part over one CNode, in slot order: an empty slot has no links;
    // an occupied one is among its parent's children and reaches a root of the boot CNode.
    [[nodiscard]] static caps::CdtReport slots_in_tree(const CNodeView& v, const CapSlot* const* roots, usize root_count);
    // A violation is reported once, however many CNodes lead to it, and located by the CNode
    // that holds the slot (the boot CNode or a partition's CSpace).
    void report_cdt(const caps::CdtReport& r);
    // Names the partition whose CSpace holds `slot` (none for the boot CNode) and its index.
    void locate(InvariantViolation& v, const CapSlot* slot);
    void mapped_cap(const CapSlot& slot);
    static constexpr usize kMaxRoots = BootSpace::kMaxRootUntypeds + 2;
    static constexpr u32 kMaxCdtReports = manifest::kMaxPartitions + 1;  // one validate_cdt per CNode
    caps::CdtReport cdt_seen_[kMaxCdtReports] = {};
    u32 cdt_reported_ = 0;

    // ---- INV-5: every IrqHandler cap names an SPI the kernel made one for; the caps of one SPI
    // are in at most one partition's CSpace; a binding is made by a live partition no other
    // partition shares the SPI with, to a live Notification, routed to one of the machine's cores.
    void interrupts();
    // Some cap in the boot CNode or a CSpace names the object of `type` that the kernel reaches
    // at `object` (arch::phys_to_virt of its physical address).
    bool names_object(ObjectType type, const void* object) const;

    // ---- INV-3 (check_dma.cpp): every stream table entry, as the SMMU reads it, aborts or
    // translates through exactly the tables and VMID of the partition its stream is bound to,
    // which is its function's owner and records the binding on one DmaStream cap it holds; DMA
    // stream caps name streams the kernel made and, after seal, are their owner's; a function
    // masters the bus only while bound; no other partition maps device memory over its BARs.
    void dma();
    void dma_stream(u32 sid);
    void dma_caps(u32 i);
    void dma_function(const PciFunctions::Function& f);

    // ---- INV-6: every flow the capabilities allow is declared. Before seal the boot program is
    // still granting and declaring (in any order), and nothing runs; seal refuses a system whose
    // live graph differs from the declared one. After seal caps move only within a CSpace, so
    // edges can only disappear (a holder deletes its own cap): live must stay within declared.
    void flows();
    // After seal no Frame or DeviceMmio object is in two partitions' CSpaces (seal's frames_unshared).
    void frames_unshared();

    // The kernel's flow rule (policy/flow_graph.hpp: flows_between, access_of), applied to the gathered
    // CSpaces: each partition's accesses are listed once instead of once per writer of every
    // other partition, and this code is not the fuzzers' instrumented kernel. False (too many
    // accesses for the scratch): the caller asks the kernel's live_flows.
    [[nodiscard]] bool live_flows(FlowGraph& out);

    // ---- INV-1 (shared-region exception): each channel mapping is made through a Channel cap
    // that records exactly this mapping — one in the partition's own CSpace, or the boot
    // program's in the boot CNode — and is never executable or device memory.
    void channel_regions(u32 i);
    [[nodiscard]] static bool channel_cap_maps(const CNodeView& v, const Partition& p, const MemoryRegion& r);

    // ---- INV-4 (mappings): every stage-2 leaf is justified by a live capability that records
    // that mapping: a Frame, DeviceMmio or Channel cap, in the partition's CSpace or the boot
    // CNode, mapped into this partition at this IPA, naming this physical page, with the rights
    // the leaf grants and the memory type its object calls for. A delete or revoke that forgot to
    // unmap leaves a leaf of freed, re-typeable memory: no live cap records it.
    void leaves_have_caps(u32 i);
    // The mapped caps of every CNode read, gathered once per check (scratch), or none.
    void gather_mapping_caps();
    [[nodiscard]] const Capability* cap_for_leaf(u32 i, u64 ipa, u64 pa, MapAttributes attrs) const;
    [[nodiscard]] static bool cap_justifies(const Capability& c, u32 i, u64 ipa, u64 pa, MapAttributes attrs);
    u32 mapping_caps_ = 0;
    bool mapping_caps_valid_ = false;  // false: scan the views for every leaf

    // ---- one pass over every CNode the checks read: the boot CNode (view 0) and each live
    // partition's CSpace (view cspace_view_[i]), noting the occupied slots and the first empty
    // slot that still has a link (caps::validate_cdt's check of empty slots).
    void gather_cnodes();
    // `only`: read just these slot indices (ascending), the rest taken as empty and unlinked.
    void gather(const CapSlot* slots, u64 count, const u32* only = nullptr, u32 only_count = 0);
    const CNodeView& boot_view() const { return views_[0]; }
    // The boot CNode's occupied slots, for step checks after this one.
    void record_boot() {
        InvariantBaseline& b = *record_;
        b = InvariantBaseline{};
        const CNodeView& v = boot_view();
        if (v.slots == nullptr || v.count > manifest::kBootSlots) return;  // none: step checks are full
        for (u64 k = 0; k < v.count; ++k)
            if (!v.slots[k].empty()) b.occupied[b.occupied_count++] = static_cast<u32>(k);
        b.boot_slots = v.slots;
        b.boot_count = v.count;
    }
    // Both records are channel mappings of one Channel object (each checked by channel_regions).
    static bool same_channel(const MemoryRegion* x, const MemoryRegion* y) {
        return x != nullptr && y != nullptr && x->channel && y->channel && x->pa == y->pa && x->size == y->size;
    }

    // ---- recording
    InvariantViolation& add(InvariantId id, const char* message) {
        ++report_.total;
        InvariantViolation& v =
            report_.stored < InvariantReport::kMaxViolations ? report_.violations[report_.stored++] : overflow_;
        v = InvariantViolation{};
        v.id = id;
        v.message = message;
        return v;
    }
    static InvariantViolation& about(InvariantViolation& v, const Partition& p) {
        v.fields |= InvariantViolation::kPartition;
        v.partition_index = p.index.raw();
        copy_name(v.partition_name, p.name);
        return v;
    }
    static InvariantViolation& other(InvariantViolation& v, const Partition& q) {
        v.fields |= InvariantViolation::kOther;
        v.other_index = q.index.raw();
        copy_name(v.other_name, q.name);
        return v;
    }
    static InvariantViolation& at(InvariantViolation& v, Ipa ipa, PhysAddr pa, u64 size) {
        v.fields |= InvariantViolation::kIpa | InvariantViolation::kPa | InvariantViolation::kSize;
        v.ipa = ipa;
        v.pa = pa;
        v.size = size;
        return v;
    }
    static InvariantViolation& value(InvariantViolation& v, u64 value) {
        v.fields |= InvariantViolation::kValue;
        v.value = value;
        return v;
    }

    const Partition& part(u32 i) const { return *s_.partitions[PartitionId(i)]; }
    static u32 region_count(const Partition& p) {
        return p.region_count <= Partition::kMaxRegions ? p.region_count : Partition::kMaxRegions;
    }
    u32 vcpu_count(const Partition& p) const {
        return p.vcpu_count <= manifest::kMaxVcpusPerPartition ? p.vcpu_count : manifest::kMaxVcpusPerPartition;
    }
    // Allocated object memory: where partition objects and table pages must be.
    bool in_objects(u64 pa, u64 size) const {
        const BootSpace::ObjectMemoryView& m = om_;
        return range_valid(pa, size) && range_inside(pa, size, m.base.raw(), m.used);
    }
    bool region_sane(const MemoryRegion& r) const {
        return range_valid(r.pa.raw(), r.size) && range_valid(r.ipa.raw(), r.size) && r.pa.aligned(kPageSize) &&
               r.ipa.aligned(kPageSize) && is_aligned(r.size, kPageSize) && r.attrs.encodable();
    }

    // ---- STATE-2: the partition objects, their indices, VMIDs and roots
    void identity();

    // ---- INV-2: the tables the hardware walks are kernel objects in object memory; STATE-1:
    // every descriptor is exactly what the table builder writes.
    void table_placement(u32 i);

    [[gnu::flatten]] void walk_tables(const Partition& p, RunCache& rc, unsigned level, PhysAddr table, u64 base);

    // for_each_run's coalescing, one leaf at a time.
    void note_leaf(RunCache& rc, Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
        if (!rc.valid) return;
        ++rc.leaves;
        if (rc.count != 0) {
            Run& cur = scratch_->runs[rc.first + rc.count - 1];
            if (cur.ipa.raw() + cur.size == ipa.raw() && cur.pa.raw() + cur.size == pa.raw() && cur.attrs == attrs) {
                cur.size += size;
                return;
            }
        }
        if (rc.first + rc.count == Scratch::kRuns) {
            rc.valid = false;
            return;
        }
        scratch_->runs[rc.first + rc.count++] = Run{ipa, pa, size, attrs};
    }
    // The run that maps `ipa`: runs are recorded in ascending, disjoint IPA order.
    [[nodiscard]] const Run* run_at(const RunCache& rc, u64 ipa) const {
        u32 lo = 0, hi = rc.count;
        while (lo < hi) {
            const u32 mid = lo + (hi - lo) / 2;
            const Run& r = scratch_->runs[rc.first + mid];
            if (ipa < r.ipa.raw()) {
                hi = mid;
            } else if (ipa - r.ipa.raw() >= r.size) {
                lo = mid + 1;
            } else {
                return &r;
            }
        }
        return nullptr;
    }
    // for_each_run over partition i's tables, from the runs recorded by table_placement.
    template <class F>
    void for_runs(u32 i, u64& leaves, F&& f) {
        const RunCache& rc = runs_of_[i];
        if (!rc.valid) {
            for_each_run(part(i).stage2, leaves, f);
            return;
        }
        leaves += rc.leaves;
        for (u32 k = 0; k < rc.count; ++k) f(scratch_->runs[rc.first + k]);
    }

    // ---- INV-2 and INV-1 for each partition's own leaves (what the hardware uses)
    void leaves_of(u32 i);

    // The same rules for what the kernel believes: it scrubs and loads recorded regions on every
    // (re)start, so a wrong region is a wrong write by the kernel even if it is not mapped.
    void regions_of(u32 i);

    void placement(const Partition& p, Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs, const char* in_kernel,
                   const char* in_objects_msg, const char* bad_mmio, const char* exec_device, const char* outside_ram);

    // Two partitions' ranges share [lo, hi): a RAM frame (INV-1) or, outside RAM, an MMIO page
    // (INV-6: a channel nobody declared). `b` is the later partition, reported first.
    void shared(const Partition& b, Ipa b_ipa, PhysAddr b_pa, u64 b_size, const Partition& a, Ipa a_ipa, PhysAddr a_pa,
                u64 a_size, const char* ram_msg, const char* mmio_msg);

    void shared_regions();

    // Two runs (one per partition) share physical memory: allowed exactly where, page by page,
    // both map it through channel mappings of the same Channel object; the rest is reported.
    void shared_runs(const Partition& b, const Run& x, const Partition& a, const Run& y);

    void shared_leaves();

    // ---- STATE-1: tables -> regions (every leaf recorded) and regions -> tables (mapped throughout)
    const MemoryRegion* region_at(const Partition& p, u64 ipa) const {
        for (u32 k = 0; k < region_count(p); ++k) {
            const MemoryRegion& r = p.regions[k];
            if (region_sane(r) && ipa >= r.ipa.raw() && ipa - r.ipa.raw() < r.size) return &r;
        }
        return nullptr;
    }

    void tables_match_regions(u32 i);

    // ---- INV-7 (core part): core -> vCPU -> same core, and every binding is to a real core
    void cores();

    const Kernel& s_;
    const BootSpace::ObjectMemoryView om_;  // read once: the checker runs with nothing else running
    InvariantBaseline* const record_;     // a full check that records the boot CNode's occupied slots
    const InvariantBaseline* const since_;  // a check that reads only those
    Scratch* scratch_ = nullptr;  // nullptr: another check holds it, read the state directly
    CNodeView views_[1 + manifest::kMaxPartitions];
    u32 view_count_ = 0;
    u32 cspace_view_[manifest::kMaxPartitions] = {};  // 0: the partition has no CSpace view
    u32 occupied_used_ = 0;
    RunCache runs_of_[manifest::kMaxPartitions] = {};
    u32 runs_used_ = 0;
    InvariantReport report_{};
    InvariantViolation overflow_{};
    bool live_[manifest::kMaxPartitions] = {};
    u32 count_ = 0;
};

}  // namespace bh::checker

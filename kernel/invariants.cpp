#include <arch/arch.hpp>
#include <invariants.hpp>
#include <system.hpp>

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
        case InvariantId::KernelIntegrity:
        case InvariantId::TemporalIsolation: return InvariantCoverage::Partial;
        case InvariantId::DmaContainment: return InvariantCoverage::NotChecked;
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
            return "CPU stage 2 only (no SMMU tables yet): no leaf reaches the kernel region or object "
                   "memory; MMIO only from the assignable windows (no device capabilities yet); no "
                   "executable device leaf; stage-2 tables and partition objects in object memory";
        case InvariantId::DmaContainment: return "not checked: the kernel builds no SMMU stream tables yet";
        case InvariantId::CapabilitySoundness:
            return "the derivation tree from every root cap of the boot CNode: caps well formed, links "
                   "symmetric, no cycle, derived rights within their parent's, retyped objects inside "
                   "their untyped's allocated range and nested or disjoint, every cap of the boot CNode "
                   "and of each partition's CSpace reachable; every mapped cap's mapping recorded";
        case InvariantId::InterruptOwnership:
            return "checked: no interrupt is routed (no IrqHandler capability exists); any IrqHandler cap in "
                   "the boot CNode or a CSpace is a violation until IRQ routing exists; cross-partition "
                   "signals are notifications, covered by INV-6";
        case InvariantId::InformationFlow:
            return "after seal, every memory and signal edge the CSpaces and mappings allow (System::live_flows: "
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

// ---------------------------------------------------------------- the checker

namespace {

using namespace manifest::attr;

// Adjacent leaves contiguous in IPA and PA with the same attributes: what a recorded region
// looks like in the tables. Comparing runs rather than leaves keeps reports and the
// cross-partition comparison small.
struct Run {
    Ipa ipa;
    PhysAddr pa;
    u64 size;
    u64 attrs;
};

template <class F>
void for_each_run(const Stage2Table& table, u64& leaves, F&& f) {
    Run cur{};
    bool have = false;
    table.for_each_mapping([&](Ipa ipa, PhysAddr pa, u64 size, u64 attrs) {
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
bool in_assignable_mmio(u64 base, u64 size) {
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

void copy_name(char* dst, const char* src) {
    unsigned i = 0;
    for (; i + 1 < manifest::kNameLength && src[i] != '\0'; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

class Checker {
public:
    explicit Checker(const System& system) : s_(system) {}

    InvariantReport run() {
        identity();
        for (u32 i = 0; i < count_; ++i)
            if (live_[i]) table_placement(i);
        for (u32 i = 0; i < count_; ++i)
            if (live_[i]) leaves_of(i);
        for (u32 i = 0; i < count_; ++i)
            if (live_[i]) regions_of(i);
        for (u32 i = 0; i < count_; ++i)
            if (live_[i]) channel_regions(i);
        shared_regions();
        shared_leaves();
        for (u32 i = 0; i < count_; ++i)
            if (live_[i]) tables_match_regions(i);
        cores();
        capabilities();
        interrupts();
        flows();
        // TODO: INV-5 — once IRQ capabilities route SPIs to partitions, check that each SPI is
        // routed to at most one partition and that it is the holder of its IRQ capability (today:
        // no IrqHandler cap may exist). INV-3 follows the SMMU stream tables. Until then
        // invariant_coverage() says "not checked", never "ok".
        return report_;
    }

private:
    // ---- INV-4: the derivation tree, over every CNode the kernel and the partitions hold
    void capabilities() {
        const CapSlot* boot = caps::cnode_slots(s_.boot_cnode().cap);
        if (boot == nullptr) {
            add(InvariantId::CapabilitySoundness, "boot CNode unreachable");
            return;
        }
        const u64 boot_slots = caps::cnode_slot_count(s_.boot_cnode().cap);
        const CapSlot* roots[kMaxRoots];
        usize root_count = 0;
        for (u64 i = 0; i < boot_slots; ++i) {
            const CapSlot& slot = boot[i];
            if (slot.empty() || slot.parent != nullptr) continue;
            if (root_count == kMaxRoots) {
                add(InvariantId::CapabilitySoundness, "more root caps than the checker can hold");
                return;
            }
            roots[root_count++] = &slot;
        }
        check_cdt(roots, root_count, boot, boot_slots);
        for (u32 i = 0; i < count_; ++i) {
            if (!live_[i]) continue;
            const Partition& p = part(i);
            if (p.cspace_root.type != ObjectType::CNode) continue;
            check_cdt(roots, root_count, caps::cnode_slots(p.cspace_root), caps::cnode_slot_count(p.cspace_root));
        }
        // Every mapped cap's mapping is one the partition records (the tables are compared with
        // the records by STATE-1).
        for (u64 i = 0; i < boot_slots; ++i) mapped_cap(boot[i]);
        for (u32 i = 0; i < count_; ++i) {
            if (!live_[i] || part(i).cspace_root.type != ObjectType::CNode) continue;
            const CapSlot* slots = caps::cnode_slots(part(i).cspace_root);
            for (u64 k = 0; slots != nullptr && k < caps::cnode_slot_count(part(i).cspace_root); ++k) mapped_cap(slots[k]);
        }
    }
    // validate_cdt walks every root's subtree before it looks at `slots`, so a violation in the
    // tree comes back from every call: it is reported once, located by the CNode that holds the
    // slot (the boot CNode or a partition's CSpace), not by the CNode being checked.
    void check_cdt(const CapSlot* const* roots, usize root_count, const CapSlot* slots, u64 count) {
        if (slots == nullptr) return;
        const caps::CdtReport r = caps::validate_cdt(roots, root_count, slots, count);
        if (r.ok()) return;
        for (u32 k = 0; k < cdt_reported_; ++k)
            if (cdt_seen_[k].slot == r.slot && cdt_seen_[k].violation == r.violation) return;
        if (cdt_reported_ < kMaxCdtReports) cdt_seen_[cdt_reported_++] = r;
        locate(add(InvariantId::CapabilitySoundness, r.violation), r.slot);
    }
    // Names the partition whose CSpace holds `slot` (none for the boot CNode) and its index.
    void locate(InvariantViolation& v, const CapSlot* slot) {
        if (slot == nullptr) return;
        const auto index_in = [slot](const CapSlot* base, u64 count, u64& index) {
            const usize at = reinterpret_cast<usize>(slot), lo = reinterpret_cast<usize>(base);
            if (base == nullptr || at < lo || (at - lo) / sizeof(CapSlot) >= count) return false;
            index = (at - lo) / sizeof(CapSlot);
            return true;
        };
        u64 index = 0;
        if (index_in(caps::cnode_slots(s_.boot_cnode().cap), caps::cnode_slot_count(s_.boot_cnode().cap), index)) {
            value(v, index);
            return;
        }
        for (u32 i = 0; i < count_; ++i) {
            if (!live_[i] || part(i).cspace_root.type != ObjectType::CNode) continue;
            const Partition& p = part(i);
            if (index_in(caps::cnode_slots(p.cspace_root), caps::cnode_slot_count(p.cspace_root), index)) {
                value(about(v, p), index);
                return;
            }
        }
    }
    void mapped_cap(const CapSlot& slot) {
        const Capability& c = slot.cap;
        if (!caps::mappable(c.type) || !c.mapped()) return;
        const u32 owner = c.mapped_partition_plus1() - 1;
        if (owner >= count_ || !live_[owner]) {
            value(add(InvariantId::CapabilitySoundness, "a cap is mapped into no live partition"), owner);
            return;
        }
        const Partition& p = part(owner);
        const u64 size = 1ull << c.size_bits;
        for (u32 k = 0; k < region_count(p); ++k) {
            const MemoryRegion& r = p.regions[k];
            if (r.ipa.raw() == c.mapped_ipa() && r.pa.raw() == c.object && r.size == size) {
                // A Channel mapping recorded as private RAM would be scrubbed by a restart of
                // this partition (erasing what the others see); a Frame recorded as a channel
                // would escape the exclusivity check.
                if (r.channel != (c.type == ObjectType::Channel))
                    at(about(add(InvariantId::MemoryExclusivity,
                                 r.channel ? "a private frame's mapping is recorded as a channel mapping"
                                           : "a channel's mapping is recorded as private memory"),
                             p),
                       r.ipa, r.pa, r.size);
                return;
            }
        }
        at(about(add(InvariantId::CapabilitySoundness, "a cap's mapping is not recorded by its partition"), p),
           Ipa(c.mapped_ipa()), PhysAddr(c.object), size);
    }
    static constexpr usize kMaxRoots = System::kMaxRootUntypeds + 2;
    static constexpr u32 kMaxCdtReports = manifest::kMaxPartitions + 1;  // one validate_cdt per CNode
    caps::CdtReport cdt_seen_[kMaxCdtReports] = {};
    u32 cdt_reported_ = 0;

    // ---- INV-5: no interrupt is routed yet, so no IrqHandler capability may exist
    void interrupts() {
        const auto scan = [&](const CapSlot* slots, u64 count) {
            for (u64 k = 0; slots != nullptr && k < count; ++k)
                if (slots[k].cap.type == ObjectType::IrqHandler)
                    locate(value(add(InvariantId::InterruptOwnership,
                                     "an IrqHandler capability exists, but the kernel routes no interrupt"),
                                 slots[k].cap.irq()),
                           &slots[k]);
        };
        scan(caps::cnode_slots(s_.boot_cnode().cap), caps::cnode_slot_count(s_.boot_cnode().cap));
        for (u32 i = 0; i < count_; ++i)
            if (live_[i] && part(i).cspace_root.type == ObjectType::CNode)
                scan(caps::cnode_slots(part(i).cspace_root), caps::cnode_slot_count(part(i).cspace_root));
    }

    // ---- INV-6: every flow the capabilities allow is declared. Before seal the boot program is
    // still granting and declaring (in any order), and nothing runs; seal refuses a system whose
    // live graph differs from the declared one. After seal caps move only within a CSpace, so
    // edges can only disappear (a holder deletes its own cap): live must stay within declared.
    void flows() {
        const FlowGraph& declared = s_.declared_flows();
        for (u32 a = 0; a < manifest::kMaxPartitions; ++a)
            for (u32 b = 0; b < manifest::kMaxPartitions; ++b)
                for (unsigned k = 0; k < FlowGraph::kKinds; ++k)
                    if (declared.edge[a][b][k] && (a == b || a >= count_ || b >= count_))
                        value(add(InvariantId::InformationFlow, "a declared flow names no partition, or one partition twice"),
                              a * manifest::kMaxPartitions + b);
        if (!s_.sealed()) return;
        for (u32 i = 0; i < count_; ++i)
            if (!live_[i]) return;  // reported (STATE-2/INV-2): the graph would read a bad object
        FlowGraph live;
        s_.live_flows(live);
        for (u32 a = 0; a < count_; ++a)
            for (u32 b = 0; b < count_; ++b)
                for (unsigned k = 0; k < FlowGraph::kKinds; ++k)
                    if (live.edge[a][b][k] && !declared.edge[a][b][k])
                        value(other(about(add(InvariantId::InformationFlow,
                                              FlowGraph::kind(k) == manifest::FlowKind::Memory
                                                  ? "undeclared memory flow: it can write memory the other can read"
                                                  : "undeclared signal flow: it can signal a notification the other waits on"),
                                          part(a)),
                                    part(b)),
                              static_cast<u64>(FlowGraph::kind(k)));
    }

    // ---- INV-1 (shared-region exception): each channel mapping is made through a Channel cap
    // that records exactly this mapping — one in the partition's own CSpace, or the boot
    // program's in the boot CNode — and is never executable or device memory.
    void channel_regions(u32 i) {
        const Partition& p = part(i);
        for (u32 k = 0; k < region_count(p); ++k) {
            const MemoryRegion& r = p.regions[k];
            if (!r.channel || !region_sane(r)) continue;
            if ((r.attrs & (kExecute | kDevice)) != 0)
                value(at(about(add(InvariantId::MemoryExclusivity, "channel mapping executable or device memory"), p), r.ipa,
                         r.pa, r.size),
                      r.attrs);
            if (!channel_cap_maps(caps::cnode_slots(s_.boot_cnode().cap), caps::cnode_slot_count(s_.boot_cnode().cap),
                                  p, r) &&
                !(p.cspace_root.type == ObjectType::CNode &&
                  channel_cap_maps(caps::cnode_slots(p.cspace_root), caps::cnode_slot_count(p.cspace_root), p, r)))
                at(about(add(InvariantId::MemoryExclusivity, "channel mapping without a Channel cap that records it"), p),
                   r.ipa, r.pa, r.size);
        }
    }
    static bool channel_cap_maps(const CapSlot* slots, u64 count, const Partition& p, const MemoryRegion& r) {
        for (u64 k = 0; slots != nullptr && k < count; ++k) {
            const Capability& c = slots[k].cap;
            if (c.type == ObjectType::Channel && c.mapped() && c.mapped_partition_plus1() == p.index + 1 &&
                c.mapped_ipa() == r.ipa.raw() && c.object == r.pa.raw() && c.object_size() == r.size)
                return true;
        }
        return false;
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
        v.partition_index = p.index;
        copy_name(v.partition_name, p.name);
        return v;
    }
    static InvariantViolation& other(InvariantViolation& v, const Partition& q) {
        v.fields |= InvariantViolation::kOther;
        v.other_index = q.index;
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

    const Partition& part(u32 i) const { return *s_.partition(i); }
    u32 region_count(const Partition& p) const {
        return p.region_count <= Partition::kMaxRegions ? p.region_count : Partition::kMaxRegions;
    }
    u32 vcpu_count(const Partition& p) const {
        return p.vcpu_count <= manifest::kMaxVcpusPerPartition ? p.vcpu_count : manifest::kMaxVcpusPerPartition;
    }
    // Allocated object memory: where partition objects and table pages must be.
    bool in_objects(u64 pa, u64 size) const {
        const System::ObjectMemoryView m = s_.object_memory();
        return range_valid(pa, size) && range_inside(pa, size, m.base().raw(), m.used());
    }
    bool region_sane(const MemoryRegion& r) const {
        return range_valid(r.pa.raw(), r.size) && range_valid(r.ipa.raw(), r.size) && r.pa.aligned(kPageSize) &&
               r.ipa.aligned(kPageSize) && is_aligned(r.size, kPageSize) && stage2::attrs_valid(r.attrs);
    }

    // ---- STATE-2: the partition objects, their indices, VMIDs and roots
    void identity() {
        count_ = s_.partition_count();
        if (count_ > manifest::kMaxPartitions) {
            value(add(InvariantId::PartitionIdentity, "partition count beyond the system's capacity"), count_);
            count_ = manifest::kMaxPartitions;
        }
        const System::ObjectMemoryView m = s_.object_memory();
        const u8* lo = static_cast<const u8*>(arch::phys_to_virt(m.base()));
        for (u32 i = 0; i < count_; ++i) {
            const Partition* p = s_.partition(i);
            live_[i] = false;
            const u8* at = reinterpret_cast<const u8*>(p);
            // Compared as addresses in the kernel's view of object memory; nothing outside it
            // is dereferenced.
            if (p == nullptr || lo == nullptr || at < lo || m.used() < sizeof(Partition) ||
                static_cast<u64>(at - lo) > m.used() - sizeof(Partition)) {
                value(add(InvariantId::KernelIntegrity, "partition object missing or outside object memory"), i);
                continue;
            }
            live_[i] = true;
            if (p->index != i) value(about(add(InvariantId::PartitionIdentity, "partition index differs from its slot"), *p), i);
            if (p->vmid == 0) about(add(InvariantId::PartitionIdentity, "VMID 0 (reserved, never a partition's)"), *p);
            if (p->vmid >= (1u << stage2::kVmidBits))
                value(about(add(InvariantId::PartitionIdentity, "VMID beyond the implemented VMID bits"), *p), p->vmid);
            if (!p->stage2.initialized()) {
                about(add(InvariantId::PartitionIdentity, "partition has no stage-2 table"), *p);
            } else if (p->stage2.vmid() != p->vmid) {
                value(about(add(InvariantId::PartitionIdentity, "stage-2 table tagged with another VMID"), *p),
                      p->stage2.vmid());
            }
            if (p->vcpu_count == 0 || p->vcpu_count > manifest::kMaxVcpusPerPartition)
                value(about(add(InvariantId::PartitionIdentity, "vCPU count out of range"), *p), p->vcpu_count);
            for (u32 v = 0; v < vcpu_count(*p); ++v)
                if (p->vcpus[v].partition != p || p->vcpus[v].index != v)
                    value(about(add(InvariantId::PartitionIdentity, "vCPU does not name its partition and index"), *p), v);
            if (p->region_count > Partition::kMaxRegions)
                value(about(add(InvariantId::TablesMatchRegions, "region count beyond capacity"), *p), p->region_count);
        }
        for (u32 j = 0; j < count_; ++j) {
            if (!live_[j]) continue;
            for (u32 i = 0; i < j; ++i) {
                if (!live_[i]) continue;
                const Partition& a = part(i);
                const Partition& b = part(j);
                if (a.vmid == b.vmid)
                    value(other(about(add(InvariantId::PartitionIdentity, "VMID shared with another partition"), b), a),
                          b.vmid);
                if (a.stage2.initialized() && b.stage2.initialized() && a.stage2.root() == b.stage2.root())
                    other(about(add(InvariantId::PartitionIdentity, "stage-2 root shared with another partition"), b), a);
            }
        }
    }

    // ---- INV-2: the tables the hardware walks are kernel objects in object memory; STATE-1:
    // every descriptor is exactly what the table builder writes.
    void table_placement(u32 i) {
        const Partition& p = part(i);
        if (!p.stage2.initialized()) return;
        const PhysAddr root = p.stage2.root();
        if (!root.aligned(stage2::kRootSize) || !in_objects(root.raw(), stage2::kRootSize)) {
            InvariantViolation& v = about(add(InvariantId::KernelIntegrity, "stage-2 root outside object memory"), p);
            v.fields |= InvariantViolation::kPa;
            v.pa = root;
        }
        walk_tables(p, stage2::kFirstLevel, root, 0);
    }

    void walk_tables(const Partition& p, unsigned level, PhysAddr table, u64 base) {
        const u64* t = static_cast<const u64*>(arch::phys_to_virt(table));
        if (t == nullptr) return;  // reported by the caller: not in object memory
        for (unsigned e = 0; e < stage2::entry_count(level); ++e) {
            const u64 d = __atomic_load_n(&t[e], __ATOMIC_RELAXED);
            const u64 ipa = base + (static_cast<u64>(e) << stage2::level_shift(level));
            if (stage2::is_table(level, d)) {
                const PhysAddr next(d & stage2::kAddressMask);
                if (d != stage2::make_table(next.raw()))
                    value(at(about(add(InvariantId::TablesMatchRegions, "table descriptor with bits the kernel never sets"), p),
                             Ipa(ipa), next, stage2::level_size(level)),
                          d);
                if (!in_objects(next.raw(), kPageSize))
                    at(about(add(InvariantId::KernelIntegrity, "stage-2 table page outside object memory"), p), Ipa(ipa),
                       next, stage2::level_size(level));
                walk_tables(p, level + 1, next, ipa);
            } else if (stage2::is_leaf(level, d)) {
                const u64 out = stage2::leaf_output(level, d);
                if (d != stage2::make_leaf(level, out, stage2::decode_leaf_attrs(d)))
                    value(at(about(add(InvariantId::TablesMatchRegions, "leaf descriptor with bits the kernel never sets"), p),
                             Ipa(ipa), PhysAddr(out), stage2::level_size(level)),
                          d);
            }
        }
    }

    // ---- INV-2 and INV-1 for each partition's own leaves (what the hardware uses)
    void leaves_of(u32 i) {
        const Partition& p = part(i);
        u64 leaves = 0;
        for_each_run(p.stage2, leaves, [&](const Run& r) {
            placement(p, r.ipa, r.pa, r.size, r.attrs, "stage-2 leaf reaches the kernel region",
                      "stage-2 leaf reaches kernel object memory", "device leaf outside the assignable MMIO windows",
                      "device leaf is executable", "normal-memory leaf outside RAM");
        });
    }

    // The same rules for what the kernel believes: it scrubs and loads recorded regions on every
    // (re)start, so a wrong region is a wrong write by the kernel even if it is not mapped.
    void regions_of(u32 i) {
        const Partition& p = part(i);
        for (u32 k = 0; k < region_count(p); ++k) {
            const MemoryRegion& r = p.regions[k];
            if (!region_sane(r)) {
                value(at(about(add(InvariantId::TablesMatchRegions, "recorded region malformed"), p), r.ipa, r.pa, r.size),
                      r.attrs);
                continue;
            }
            placement(p, r.ipa, r.pa, r.size, r.attrs, "recorded region in the kernel region",
                      "recorded region in kernel object memory", "recorded device region outside the assignable MMIO windows",
                      "recorded device region is executable", "recorded normal-memory region outside RAM");
            for (u32 k2 = 0; k2 < k; ++k2) {
                const MemoryRegion& o = p.regions[k2];
                if (region_sane(o) && ranges_overlap(r.ipa.raw(), r.size, o.ipa.raw(), o.size))
                    at(about(add(InvariantId::TablesMatchRegions, "recorded regions overlap in IPA"), p), r.ipa, r.pa, r.size);
            }
        }
    }

    void placement(const Partition& p, Ipa ipa, PhysAddr pa, u64 size, u64 attrs, const char* in_kernel,
                   const char* in_objects_msg, const char* bad_mmio, const char* exec_device, const char* outside_ram) {
        const System::ObjectMemoryView m = s_.object_memory();
        if (ranges_overlap(pa.raw(), size, platform::kKernelRegionBase, platform::kKernelRegionSize))
            at(about(add(InvariantId::KernelIntegrity, in_kernel), p), ipa, pa, size);
        else if (ranges_overlap(pa.raw(), size, m.base().raw(), m.size()))
            at(about(add(InvariantId::KernelIntegrity, in_objects_msg), p), ipa, pa, size);
        if (attrs & kDevice) {
            if (!in_assignable_mmio(pa.raw(), size)) at(about(add(InvariantId::KernelIntegrity, bad_mmio), p), ipa, pa, size);
            if (attrs & kExecute) at(about(add(InvariantId::KernelIntegrity, exec_device), p), ipa, pa, size);
        } else if (!range_inside(pa.raw(), size, s_.ram_base(), s_.ram_size())) {
            at(about(add(InvariantId::MemoryExclusivity, outside_ram), p), ipa, pa, size);
        }
    }

    // Two partitions' ranges share [lo, hi): a RAM frame (INV-1) or, outside RAM, an MMIO page
    // (INV-6: a channel nobody declared). `b` is the later partition, reported first.
    void shared(const Partition& b, Ipa b_ipa, PhysAddr b_pa, u64 b_size, const Partition& a, Ipa a_ipa, PhysAddr a_pa,
                u64 a_size, const char* ram_msg, const char* mmio_msg) {
        if (!ranges_overlap(b_pa.raw(), b_size, a_pa.raw(), a_size)) return;
        const u64 lo = b_pa.raw() > a_pa.raw() ? b_pa.raw() : a_pa.raw();
        const u64 b_end = b_pa.raw() + b_size;
        const u64 a_end = a_pa.raw() + a_size;
        const u64 hi = b_end < a_end ? b_end : a_end;
        const bool ram = ranges_overlap(lo, hi - lo, s_.ram_base(), s_.ram_size());
        InvariantViolation& v = other(
            about(add(ram ? InvariantId::MemoryExclusivity : InvariantId::InformationFlow, ram ? ram_msg : mmio_msg), b), a);
        at(v, b_ipa + (lo - b_pa.raw()), PhysAddr(lo), hi - lo);
        v.fields |= InvariantViolation::kOtherIpa;
        v.other_ipa = a_ipa + (lo - a_pa.raw());
    }

    void shared_regions() {
        for (u32 j = 0; j < count_; ++j) {
            if (!live_[j]) continue;
            const Partition& b = part(j);
            for (u32 i = 0; i < j; ++i) {
                if (!live_[i]) continue;
                const Partition& a = part(i);
                for (u32 rb = 0; rb < region_count(b); ++rb) {
                    const MemoryRegion& x = b.regions[rb];
                    if (!region_sane(x)) continue;
                    for (u32 ra = 0; ra < region_count(a); ++ra) {
                        const MemoryRegion& y = a.regions[ra];
                        if (!region_sane(y)) continue;
                        if (same_channel(&x, &y)) continue;  // INV-1's shared-region exception
                        shared(b, x.ipa, x.pa, x.size, a, y.ipa, y.pa, y.size,
                               "recorded RAM region overlaps another partition's",
                               "recorded MMIO region shared with another partition");
                    }
                }
            }
        }
    }

    // Two runs (one per partition) share physical memory: allowed exactly where, page by page,
    // both map it through channel mappings of the same Channel object; the rest is reported.
    void shared_runs(const Partition& b, const Run& x, const Partition& a, const Run& y) {
        if (!ranges_overlap(x.pa.raw(), x.size, y.pa.raw(), y.size)) return;
        const u64 lo = x.pa.raw() > y.pa.raw() ? x.pa.raw() : y.pa.raw();
        const u64 hi = x.pa.raw() + x.size < y.pa.raw() + y.size ? x.pa.raw() + x.size : y.pa.raw() + y.size;
        u64 cur = lo;
        while (cur < hi) {
            const MemoryRegion* rb = region_at(b, x.ipa.raw() + (cur - x.pa.raw()));
            const MemoryRegion* ra = region_at(a, y.ipa.raw() + (cur - y.pa.raw()));
            // The PA must lie in the records too (STATE-1 reports tables that disagree with them).
            if (!same_channel(rb, ra) || cur < rb->pa.raw() || cur - rb->pa.raw() >= rb->size) break;
            cur = rb->pa.raw() + rb->size;
        }
        if (cur >= hi) return;
        shared(b, x.ipa + (cur - x.pa.raw()), PhysAddr(cur), hi - cur, a, y.ipa + (cur - y.pa.raw()), PhysAddr(cur),
               hi - cur, "RAM frame mapped by another partition too", "MMIO page mapped by another partition too");
    }

    void shared_leaves() {
        u64 budget_used = 0;
        for (u32 j = 0; j < count_; ++j) {
            if (!live_[j]) continue;
            const Partition& b = part(j);
            u64 outer_leaves = 0;
            for_each_run(b.stage2, outer_leaves, [&](const Run& x) {
                for (u32 i = 0; i < j; ++i) {
                    if (!live_[i]) continue;
                    if (budget_used > kPairwiseLeafBudget) {
                        report_.complete = false;
                        return;
                    }
                    const Partition& a = part(i);
                    for_each_run(a.stage2, budget_used, [&](const Run& y) { shared_runs(b, x, a, y); });
                }
            });
        }
    }

    // ---- STATE-1: tables -> regions (every leaf recorded) and regions -> tables (mapped throughout)
    const MemoryRegion* region_at(const Partition& p, u64 ipa) const {
        for (u32 k = 0; k < region_count(p); ++k) {
            const MemoryRegion& r = p.regions[k];
            if (region_sane(r) && ipa >= r.ipa.raw() && ipa - r.ipa.raw() < r.size) return &r;
        }
        return nullptr;
    }

    void tables_match_regions(u32 i) {
        const Partition& p = part(i);
        u64 leaves = 0;
        for_each_run(p.stage2, leaves, [&](const Run& run) {
            const u64 end = run.ipa.raw() + run.size;
            for (u64 cur = run.ipa.raw(); cur < end;) {
                const PhysAddr pa = run.pa + (cur - run.ipa.raw());
                const MemoryRegion* r = region_at(p, cur);
                if (r == nullptr) {
                    at(about(add(InvariantId::TablesMatchRegions, "stage-2 leaf not in any recorded region"), p), Ipa(cur),
                       pa, end - cur);
                    return;
                }
                const u64 r_end = r->ipa.raw() + r->size;
                const u64 step_end = r_end < end ? r_end : end;
                if (run.attrs != r->attrs) {
                    value(at(about(add(InvariantId::TablesMatchRegions, "leaf attributes differ from the recorded region's"), p),
                             Ipa(cur), pa, step_end - cur),
                          run.attrs);
                } else if (pa.raw() - cur != r->pa.raw() - r->ipa.raw()) {
                    value(at(about(add(InvariantId::TablesMatchRegions, "leaf PA differs from the recorded region's"), p),
                             Ipa(cur), pa, step_end - cur),
                          r->pa.raw() + (cur - r->ipa.raw()));
                }
                cur = step_end;
            }
        });
        for (u32 k = 0; k < region_count(p); ++k) {
            const MemoryRegion& r = p.regions[k];
            if (!region_sane(r)) continue;
            const u64 end = r.ipa.raw() + r.size;
            for (u64 cur = r.ipa.raw(); cur < end;) {
                const Result<Stage2Table::Translation> t = p.stage2.translate(Ipa(cur));
                const PhysAddr want = r.pa + (cur - r.ipa.raw());
                if (!t.ok()) {
                    at(about(add(InvariantId::TablesMatchRegions, "recorded region not mapped here"), p), Ipa(cur), want, 0);
                    break;
                }
                // The leaf-side pass above has reported a leaf that disagrees; here only the gap.
                cur = align_down(cur, t.value().block_size) + t.value().block_size;
            }
        }
    }

    // ---- INV-7 (core part): core -> vCPU -> same core, and every binding is to a real core
    void cores() {
        const unsigned ncores = s_.core_count();
        for (u32 i = 0; i < count_; ++i) {
            if (!live_[i]) continue;
            const Partition& p = part(i);
            for (u32 k = 0; k < vcpu_count(p); ++k) {
                const Vcpu& v = p.vcpus[k];
                if (v.core == ~0u) continue;
                if (v.core >= ncores) {
                    value(about(add(InvariantId::TemporalIsolation, "vCPU bound to a core the system does not have"), p),
                          v.core);
                } else if (s_.vcpu_on_core(v.core) != &v) {
                    value(about(add(InvariantId::TemporalIsolation, "vCPU bound to a core that does not run it"), p), v.core);
                }
            }
        }
        for (unsigned c = 0; c < ncores; ++c) {
            const Vcpu* v = s_.vcpu_on_core(c);
            if (v == nullptr) continue;
            const Partition* owner = nullptr;
            for (u32 i = 0; i < count_ && owner == nullptr; ++i) {
                if (!live_[i]) continue;
                const Partition& p = part(i);
                for (u32 k = 0; k < vcpu_count(p); ++k)
                    if (&p.vcpus[k] == v) owner = &p;
            }
            if (owner == nullptr) {
                value(add(InvariantId::TemporalIsolation, "core runs a vCPU of no partition"), c);
            } else if (v->core != c) {
                value(about(add(InvariantId::TemporalIsolation, "core runs a vCPU bound to another core"), *owner), c);
            }
        }
    }

    const System& s_;
    InvariantReport report_{};
    InvariantViolation overflow_{};
    bool live_[manifest::kMaxPartitions] = {};
    u32 count_ = 0;
};

}  // namespace

InvariantReport check_invariants(const System& system) {
    Checker checker(system);
    return checker.run();
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
    line.put("; not checked");
    for (InvariantId id : kAllInvariantIds) {
        if (invariant_coverage(id) != InvariantCoverage::NotChecked) continue;
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

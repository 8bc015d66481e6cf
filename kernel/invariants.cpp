#include <arch/arch.hpp>
#include <caps/cdt_rules.hpp>
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
        case InvariantId::DmaContainment:
        case InvariantId::InformationFlow: return InvariantCoverage::Checked;
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

// One thing a partition can reach for INV-6: memory or a notification, with read/write.
struct Access {
    manifest::FlowKind kind;
    u64 base;
    u64 size;
    bool read;
    bool write;
};

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
    const CapSlot* occupied[kOccupied];
    Run runs[kRuns];
    Access accesses[kAccesses];
};
Scratch g_scratch;
bool g_scratch_taken = false;

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
void for_each_occupied(const CNodeView& v, F&& f) {
    if (v.occupied != nullptr) {
        for (u32 k = 0; k < v.occupied_count; ++k) f(*v.occupied[k]);
        return;
    }
    for (u64 k = 0; v.slots != nullptr && k < v.count; ++k)
        if (!v.slots[k].empty()) f(v.slots[k]);
}

class Checker {
public:
    Checker(const System& system, InvariantBaseline* record, const InvariantBaseline* since)
        : s_(system), om_(system.object_memory()), record_(record), since_(since) {
        if (!__atomic_exchange_n(&g_scratch_taken, true, __ATOMIC_ACQUIRE)) scratch_ = &g_scratch;
    }
    ~Checker() {
        if (scratch_ != nullptr) __atomic_store_n(&g_scratch_taken, false, __ATOMIC_RELEASE);
    }
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    InvariantReport run() {
        identity();
        gather_cnodes();
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
        check_dma_containment(s_, report_);
        flows();
        return report_;
    }

private:
    // ---- INV-4: the derivation tree, over every CNode the kernel and the partitions hold
    void capabilities() {
        const CNodeView& boot = boot_view();
        if (boot.slots == nullptr) {
            add(InvariantId::CapabilitySoundness, "boot CNode unreachable");
            return;
        }
        const CapSlot* roots[kMaxRoots];
        usize root_count = 0;
        bool too_many = false;
        for_each_occupied(boot, [&](const CapSlot& slot) {
            if (slot.parent != nullptr || too_many) return;
            if (root_count == kMaxRoots) {
                too_many = true;
                return;
            }
            roots[root_count++] = &slot;
        });
        if (too_many) {
            add(InvariantId::CapabilitySoundness, "more root caps than the checker can hold");
            return;
        }
        // What caps::validate_cdt(roots, slots) checks for each CNode, with the tree walked
        // once instead of once per CNode, and only the occupied slots visited again. A
        // violation in the tree is reported once (validate_cdt would return it for every
        // CNode), otherwise each CNode's first violation in slot order, as validate_cdt does.
        caps::CdtReport tree{nullptr, nullptr};
        u64 budget = kMaxCdtNodes;
        for (usize r = 0; r < root_count && tree.ok(); ++r) tree = subtree(*roots[r], budget);
        if (!tree.ok()) {
            report_cdt(tree);
        } else {
            for (u32 v = 0; v < view_count_; ++v)
                if (views_[v].slots != nullptr) report_cdt(slots_in_tree(views_[v], roots, root_count));
        }
        // Every mapped cap's mapping is one the partition records (the tables are compared with
        // the records by STATE-1).
        for (u32 v = 0; v < view_count_; ++v) for_each_occupied(views_[v], [&](const CapSlot& slot) { mapped_cap(slot); });
    }
    static constexpr u64 kMaxCdtNodes = 1u << 20;  // validate_cdt's default bound on every walk
    // caps/cdt_rules.hpp's walk, inlined here with the capability helpers it calls, so that the
    // checker's build of them is used (uninstrumented in fuzz builds; the out-of-line copy the
    // linker keeps may be an instrumented one).
    [[nodiscard, gnu::flatten]] static caps::CdtReport subtree(const CapSlot& root, u64& budget) {
        return caps::cdt_rules::check_subtree(root, budget);
    }

    // validate_cdt's per-slot part over one CNode, in slot order: an empty slot has no links;
    // an occupied one is among its parent's children and reaches a root of the boot CNode.
    [[nodiscard]] static caps::CdtReport slots_in_tree(const CNodeView& v, const CapSlot* const* roots, usize root_count) {
        constexpr u64 kMaxNodes = kMaxCdtNodes;
        const auto linked_empty = [&v] {
            return caps::CdtReport{&v.slots[v.first_linked_empty], "empty slot linked into the tree"};
        };
        caps::CdtReport found{nullptr, nullptr};
        for_each_occupied(v, [&](const CapSlot& s) {
            if (!found.ok()) return;
            if (static_cast<u64>(&s - v.slots) > v.first_linked_empty) {
                found = linked_empty();
                return;
            }
            if (s.parent != nullptr) {
                const CapSlot* c = s.parent->first_child;
                for (u64 steps = 0; c != nullptr && c != &s && steps < kMaxNodes; ++steps) c = c->next_sibling;
                if (c != &s) {
                    found = caps::CdtReport{&s, "slot missing from its parent's children"};
                    return;
                }
            }
            // Roots are exactly the parentless slots, so only the top of the parent chain can
            // be one: the same answer as comparing every ancestor with every root.
            const CapSlot* a = &s;
            for (u64 steps = 0; a->parent != nullptr && steps < kMaxNodes; ++steps) a = a->parent;
            bool reached = false;
            for (usize r = 0; r < root_count && !reached && a->parent == nullptr; ++r) reached = a == roots[r];
            if (!reached) found = caps::CdtReport{&s, "slot not reachable from any root"};
        });
        if (found.ok() && v.first_linked_empty != ~0ull) found = linked_empty();
        return found;
    }
    // A violation is reported once, however many CNodes lead to it, and located by the CNode
    // that holds the slot (the boot CNode or a partition's CSpace).
    void report_cdt(const caps::CdtReport& r) {
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

    // ---- INV-5: every IrqHandler cap names an SPI the kernel made one for; the caps of one SPI
    // are in at most one partition's CSpace; a binding is made by a live partition no other
    // partition shares the SPI with, to a live Notification, routed to one of the machine's cores.
    void interrupts() {
        const InterruptTable& table = s_.interrupts();
        u8 holder_plus1[InterruptTable::kLines] = {};
        for (u32 v = 0; v < view_count_; ++v) {
            u32 partition_plus1 = 0;  // view 0 is the boot CNode (the kernel's)
            for (u32 i = 0; i < count_ && v != 0; ++i)
                if (cspace_view_[i] == v) partition_plus1 = i + 1;
            for_each_occupied(views_[v], [&](const CapSlot& slot) {
                if (slot.cap.type != ObjectType::IrqHandler) return;
                const u32 intid = slot.cap.irq();
                const InterruptTable::Binding* b = table.binding(intid);
                if (b == nullptr || !b->created) {
                    locate(value(add(InvariantId::InterruptOwnership,
                                     "an IrqHandler cap names an SPI the kernel made no handler for"),
                                 intid),
                           &slot);
                    return;
                }
                if (partition_plus1 == 0) return;
                u8& h = holder_plus1[platform::assignable_spi_number(intid)];
                if (h != 0 && h != partition_plus1)
                    locate(value(add(InvariantId::InterruptOwnership, "an SPI's IrqHandler caps are in two partitions"),
                                 intid),
                           &slot);
                h = static_cast<u8>(partition_plus1);
            });
        }
        // After seal (seal refuses otherwise): the Read caps of a notification are in one
        // partition, so an interrupt bound to it reaches its owner only.
        if (s_.sealed()) {
            for (u32 i = 0; i < count_; ++i) {
                if (cspace_view_[i] == 0) continue;
                for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
                    const Capability& c = slot.cap;
                    if (c.type != ObjectType::Notification || !c.rights.has(Rights::read())) return;
                    for (u32 j = i + 1; j < count_; ++j) {
                        if (cspace_view_[j] == 0) continue;
                        bool shared = false;
                        for_each_occupied(views_[cspace_view_[j]], [&](const CapSlot& other) {
                            shared = shared || (other.cap.type == ObjectType::Notification &&
                                                other.cap.object == c.object && other.cap.rights.has(Rights::read()));
                        });
                        if (shared)
                            locate(add(InvariantId::InterruptOwnership, "a notification can be waited on by two partitions"),
                                   &slot);
                    }
                });
            }
        }
        for (u32 k = 0; k < InterruptTable::kLines; ++k) {
            const u32 intid = platform::assignable_spi_intid(k);
            const InterruptTable::Binding& b = *table.binding(intid);
            if (!b.bound()) {
                if (b.masked || b.owner_plus1 != 0)
                    value(add(InvariantId::InterruptOwnership, "an unbound SPI keeps binding state"), intid);
                continue;
            }
            if (!b.created || b.owner_plus1 == 0 || b.owner_plus1 > count_ || !live_[b.owner_plus1 - 1])
                value(add(InvariantId::InterruptOwnership, "an SPI is bound for no live partition"), intid);
            else if (holder_plus1[k] != 0 && holder_plus1[k] != b.owner_plus1)
                value(add(InvariantId::InterruptOwnership, "an SPI is bound by one partition and held by another"), intid);
            if (b.core >= s_.core_count())
                value(add(InvariantId::InterruptOwnership, "an SPI is routed to no core of the machine"), intid);
            if (!names_object(ObjectType::Notification, arch::phys_to_virt(PhysAddr(b.notification))))
                value(add(InvariantId::InterruptOwnership, "an SPI is bound to a notification no cap names"), intid);
            // The interrupt reaches its owner or nobody: no other partition can wait on it.
            for (u32 i = 0; i < count_; ++i) {
                if (i + 1 == b.owner_plus1 || cspace_view_[i] == 0) continue;
                bool waits = false;
                for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
                    waits = waits || (slot.cap.type == ObjectType::Notification && slot.cap.object == b.notification &&
                                      slot.cap.rights.has(Rights::read()));
                });
                if (waits)
                    value(about(add(InvariantId::InterruptOwnership,
                                    "an SPI is bound to a notification another partition can wait on"),
                                part(i)),
                          intid);
            }
        }
    }
    // Some cap in the boot CNode or a CSpace names the object of `type` that the kernel reaches
    // at `object` (arch::phys_to_virt of its physical address).
    bool names_object(ObjectType type, const void* object) const {
        if (object == nullptr) return false;
        bool found = false;
        for (u32 v = 0; v < view_count_ && !found; ++v)
            for_each_occupied(views_[v], [&](const CapSlot& slot) {
                found = found || (slot.cap.type == type &&
                                  arch::phys_to_virt(PhysAddr(slot.cap.object)) == object);
            });
        return found;
    }

    // ---- INV-6: every flow the capabilities allow is declared. Before seal the boot program is
    // still granting and declaring (in any order), and nothing runs; seal refuses a system whose
    // live graph differs from the declared one. After seal caps move only within a CSpace, so
    // edges can only disappear (a holder deletes its own cap): live must stay within declared.
    void flows() {
        const FlowGraph& declared = s_.declared_flows();
        // The graph is mostly empty: eight edges at a time are skipped when none is set.
        static_assert(sizeof declared.edge % 8 == 0 && sizeof(bool) == 1);
        const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&declared.edge[0][0][0]);
        for (usize w = 0; w < sizeof declared.edge; w += 8) {
            u64 word;
            __builtin_memcpy(&word, bytes + w, 8);
            if (word == 0) continue;
            for (usize e = w; e < w + 8; ++e) {
                const u32 a = static_cast<u32>(e / (manifest::kMaxPartitions * FlowGraph::kKinds));
                const u32 b = static_cast<u32>(e / FlowGraph::kKinds % manifest::kMaxPartitions);
                if (bytes[e] != 0 && (a == b || a >= count_ || b >= count_))
                    value(add(InvariantId::InformationFlow, "a declared flow names no partition, or one partition twice"),
                          a * manifest::kMaxPartitions + b);
            }
        }
        if (!s_.sealed()) return;
        for (u32 i = 0; i < count_; ++i)
            if (!live_[i]) return;  // reported (STATE-2/INV-2): the graph would read a bad object
        FlowGraph live;
        if (!live_flows(live)) s_.live_flows(live);
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

    // System::live_flows' rule, read from the gathered CSpaces: what partition s can write (a
    // Frame/DeviceMmio/Channel or Notification cap with Write, a writable mapping) reaching what
    // partition d can read. Each partition's accesses are listed once instead of once per
    // writer of every other partition, and this code is not the fuzzers' instrumented kernel.
    // False (too many accesses for the scratch): the caller asks System::live_flows.
    [[nodiscard]] bool live_flows(FlowGraph& out) {
        out = FlowGraph{};
        if (scratch_ == nullptr) return false;
        u32 first[manifest::kMaxPartitions + 1] = {};
        u32 n = 0;
        bool fits = true;
        const auto note = [&](manifest::FlowKind kind, u64 base, u64 size, bool r, bool w) {
            if (n == Scratch::kAccesses) fits = false;
            if (fits) scratch_->accesses[n++] = Access{kind, base, size, r, w};
        };
        for (u32 i = 0; i < count_; ++i) {
            first[i] = n;
            const Partition& p = part(i);
            if (cspace_view_[i] != 0)
                for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
                    const Capability& c = slot.cap;
                    const bool r = c.rights.has(Rights::read()), w = c.rights.has(Rights::write());
                    switch (c.type) {
                        case ObjectType::Frame:
                        case ObjectType::DeviceMmio:
                        case ObjectType::Channel: note(manifest::FlowKind::Memory, c.object, c.object_size(), r, w); break;
                        case ObjectType::Notification: note(manifest::FlowKind::Signal, c.object, c.object_size(), r, w); break;
                        default: break;
                    }
                });
            // Mappings made through caps the partition does not hold (the boot program's).
            for (u32 k = 0; k < region_count(p); ++k) {
                const MemoryRegion& m = p.regions[k];
                note(manifest::FlowKind::Memory, m.pa.raw(), m.size, (m.attrs & kRead) != 0, (m.attrs & kWrite) != 0);
            }
        }
        first[count_] = n;
        if (!fits) return false;
        const Access* acc = scratch_->accesses;
        for (u32 src = 0; src < count_; ++src)
            for (u32 w = first[src]; w < first[src + 1]; ++w) {
                if (!acc[w].write) continue;
                const unsigned k = FlowGraph::index(acc[w].kind);
                for (u32 d = 0; d < count_; ++d) {
                    if (d == src || out.edge[src][d][k]) continue;
                    for (u32 r = first[d]; r < first[d + 1] && !out.edge[src][d][k]; ++r)
                        out.edge[src][d][k] = reaches(acc[w], acc[r]);
                }
            }
        return true;
    }
    [[nodiscard]] static bool reaches(const Access& writer, const Access& reader) {
        if (!writer.write || !reader.read || writer.kind != reader.kind) return false;
        if (writer.kind == manifest::FlowKind::Signal) return writer.base == reader.base;
        return writer.size != 0 && reader.size != 0 && ranges_overlap(writer.base, writer.size, reader.base, reader.size);
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
            if (!channel_cap_maps(boot_view(), p, r) && !(cspace_view_[i] != 0 && channel_cap_maps(views_[cspace_view_[i]], p, r)))
                at(about(add(InvariantId::MemoryExclusivity, "channel mapping without a Channel cap that records it"), p),
                   r.ipa, r.pa, r.size);
        }
    }
    [[nodiscard]] static bool channel_cap_maps(const CNodeView& v, const Partition& p, const MemoryRegion& r) {
        bool found = false;
        for_each_occupied(v, [&](const CapSlot& slot) {
            const Capability& c = slot.cap;
            found = found || (c.type == ObjectType::Channel && c.mapped() && c.mapped_partition_plus1() == p.index + 1 &&
                              c.mapped_ipa() == r.ipa.raw() && c.object == r.pa.raw() && c.object_size() == r.size);
        });
        return found;
    }

    // ---- one pass over every CNode the checks read: the boot CNode (view 0) and each live
    // partition's CSpace (view cspace_view_[i]), noting the occupied slots and the first empty
    // slot that still has a link (caps::validate_cdt's check of empty slots).
    void gather_cnodes() {
        view_count_ = 0;
        const CapSlot* boot = caps::cnode_slots(s_.boot_cnode().cap);
        const u64 boot_count = caps::cnode_slot_count(s_.boot_cnode().cap);
        if (since_ != nullptr && boot != nullptr && since_->boot_slots == boot && since_->boot_count == boot_count)
            gather(boot, boot_count, since_->occupied, since_->occupied_count);
        else
            gather(boot, boot_count);
        if (record_ != nullptr) record_boot();
        for (u32 i = 0; i < count_; ++i) {
            cspace_view_[i] = 0;
            if (!live_[i] || part(i).cspace_root.type != ObjectType::CNode) continue;
            const CapSlot* slots = caps::cnode_slots(part(i).cspace_root);
            if (slots == nullptr) continue;
            cspace_view_[i] = view_count_;
            gather(slots, caps::cnode_slot_count(part(i).cspace_root));
        }
    }
    // `only`: read just these slot indices (ascending), the rest taken as empty and unlinked.
    void gather(const CapSlot* slots, u64 count, const u32* only = nullptr, u32 only_count = 0) {
        CNodeView& v = views_[view_count_++];
        v = CNodeView{slots, count};
        if (slots == nullptr) return;
        const CapSlot** out = scratch_ != nullptr ? scratch_->occupied + occupied_used_ : nullptr;
        const u32 room = scratch_ != nullptr ? Scratch::kOccupied - occupied_used_ : 0;
        u32 n = 0;
        bool fits = out != nullptr;
        if (only != nullptr && !fits) {
            // No scratch to hold the list: read every slot instead.
            only = nullptr;
        }
        const u64 visits = only != nullptr ? only_count : count;
        for (u64 j = 0; j < visits; ++j) {
            const u64 k = only != nullptr ? only[j] : j;
            if (k >= count) continue;
            const CapSlot& s = slots[k];
            if (s.empty()) {
                if ((s.parent != nullptr || s.first_child != nullptr || s.next_sibling != nullptr ||
                     s.prev_sibling != nullptr) &&
                    v.first_linked_empty == ~0ull)
                    v.first_linked_empty = k;
                continue;
            }
            if (fits && n == room) fits = false;
            if (fits) out[n++] = &s;
        }
        if (!fits) {
            // Scanned again by every use: slower, the same checks (a step check then reads
            // every slot, which is a full check of this CNode).
            return;
        }
        v.occupied = out;
        v.occupied_count = n;
        occupied_used_ += n;
    }
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
        const System::ObjectMemoryView& m = om_;
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
                if (p->vcpus.bound(v) && (p->vcpus[v].partition != p || p->vcpus[v].index != v))
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
        // The walk below visits every descriptor in the order for_each_mapping does, so it also
        // records the partition's runs for the later checks (see for_runs).
        RunCache& rc = runs_of_[i];
        rc = RunCache{runs_used_, 0, 0, scratch_ != nullptr};
        if (!p.stage2.initialized()) return;
        const PhysAddr root = p.stage2.root();
        if (!root.aligned(stage2::kRootSize) || !in_objects(root.raw(), stage2::kRootSize)) {
            InvariantViolation& v = about(add(InvariantId::KernelIntegrity, "stage-2 root outside object memory"), p);
            v.fields |= InvariantViolation::kPa;
            v.pa = root;
        }
        walk_tables(p, rc, stage2::kFirstLevel, root, 0);
        if (rc.valid) runs_used_ += rc.count;
    }

    [[gnu::flatten]] void walk_tables(const Partition& p, RunCache& rc, unsigned level, PhysAddr table, u64 base) {
        const u64* t = static_cast<const u64*>(arch::phys_to_virt(table));
        if (t == nullptr) return;  // reported by the caller: not in object memory
        const unsigned entries = stage2::entry_count(level);
        for (unsigned e = 0; e < entries; ++e) {
            // Most entries are invalid (bit 0 clear: neither a table nor a leaf at any level);
            // 32 at a time are skipped with one test.
            if ((e & 31) == 0 && e + 32 <= entries) {
                u64 any = 0;
                for (unsigned k = 0; k < 32; ++k) any |= t[e + k];
                if ((any & 1) == 0) {
                    e += 31;
                    continue;
                }
            }
            const u64 d = __atomic_load_n(&t[e], __ATOMIC_RELAXED);
            if ((d & 1) == 0) continue;
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
                walk_tables(p, rc, level + 1, next, ipa);
            } else if (stage2::is_leaf(level, d)) {
                const u64 out = stage2::leaf_output(level, d);
                note_leaf(rc, Ipa(ipa), PhysAddr(out), stage2::level_size(level),
                          stage2::decode_leaf_attrs(d));
                if (d != stage2::make_leaf(level, out, stage2::decode_leaf_attrs(d)))
                    value(at(about(add(InvariantId::TablesMatchRegions, "leaf descriptor with bits the kernel never sets"), p),
                             Ipa(ipa), PhysAddr(out), stage2::level_size(level)),
                          d);
            }
        }
    }

    // for_each_run's coalescing, one leaf at a time.
    void note_leaf(RunCache& rc, Ipa ipa, PhysAddr pa, u64 size, u64 attrs) {
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
    void leaves_of(u32 i) {
        const Partition& p = part(i);
        u64 leaves = 0;
        for_runs(i, leaves, [&](const Run& r) {
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
        const System::ObjectMemoryView& m = om_;
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
            for_runs(j, outer_leaves, [&](const Run& x) {
                for (u32 i = 0; i < j; ++i) {
                    if (!live_[i]) continue;
                    if (budget_used > kPairwiseLeafBudget) {
                        report_.complete = false;
                        return;
                    }
                    const Partition& a = part(i);
                    for_runs(i, budget_used, [&](const Run& y) { shared_runs(b, x, a, y); });
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
        for_runs(i, leaves, [&](const Run& run) {
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
                // The end of the leaf that maps cur (0: none), from the runs the table walk
                // recorded (they cover exactly the IPAs a translate finds mapped), else a walk.
                u64 next = 0;
                if (runs_of_[i].valid) {
                    if (const Run* run = run_at(runs_of_[i], cur)) next = run->ipa.raw() + run->size;
                } else if (const Result<Stage2Table::Translation> t = p.stage2.translate(Ipa(cur)); t.ok()) {
                    next = align_down(cur, t.value().block_size) + t.value().block_size;
                }
                if (next == 0) {
                    at(about(add(InvariantId::TablesMatchRegions, "recorded region not mapped here"), p), Ipa(cur),
                       r.pa + (cur - r.ipa.raw()), 0);
                    break;
                }
                // The leaf-side pass above has reported a leaf that disagrees; here only the gap.
                cur = next;
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
                if (!p.vcpus.bound(k)) continue;
                const Vcpu& v = p.vcpus[k];
                // A Vcpu is a kernel object of its own: one no cap names is freed memory (INV-4).
                if (!names_object(ObjectType::Vcpu, &v))
                    value(about(add(InvariantId::CapabilitySoundness, "a bound vCPU is no Vcpu object any cap names"), p), k);
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
                    if (p.vcpus.bound(k) && &p.vcpus[k] == v) owner = &p;
            }
            if (owner == nullptr) {
                value(add(InvariantId::TemporalIsolation, "core runs a vCPU of no partition"), c);
            } else if (v->core != c) {
                value(about(add(InvariantId::TemporalIsolation, "core runs a vCPU bound to another core"), *owner), c);
            }
        }
    }

    const System& s_;
    const System::ObjectMemoryView om_;  // read once: the checker runs with nothing else running
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

}  // namespace

InvariantReport check_invariants(const System& system) {
    Checker checker(system, nullptr, nullptr);
    return checker.run();
}

InvariantReport check_invariants(const System& system, InvariantBaseline& baseline) {
    Checker checker(system, &baseline, nullptr);
    return checker.run();
}

InvariantReport check_invariants_since(const System& system, const InvariantBaseline& baseline) {
    Checker checker(system, nullptr, &baseline);
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

// INV-3 DMA containment, the invariant checker's part for the SMMU (invariants.hpp): read what
// the SMMU uses (every stream table entry, through arch::smmu_stream_state) and what the devices
// do (their command registers), and compare it with the kernel's bindings and capabilities.
#include <arch/arch.hpp>
#include <invariants.hpp>
#include <system.hpp>

namespace bh {

namespace {

constexpr u32 kBusMaster = 1u << 2;

class DmaChecker {
public:
    DmaChecker(const System& s, InvariantReport& r) : s_(s), r_(r) {}

    void run() {
        for (u32 sid = 0; sid < platform::kStreamCount; ++sid) stream(sid);
        for (u32 i = 0; i < s_.partition_count(); ++i) caps_of(i);
        for (u32 f = 0; f < s_.pci().count(); ++f) function(s_.pci().at(f));
    }

private:
    void add(const char* message, const Partition* p, u64 value) {
        ++r_.total;
        if (r_.stored == InvariantReport::kMaxViolations) return;
        InvariantViolation& v = r_.violations[r_.stored++];
        v = InvariantViolation{};
        v.id = InvariantId::DmaContainment;
        v.message = message;
        v.fields = InvariantViolation::kValue;
        v.value = value;
        if (p == nullptr) return;
        v.fields |= InvariantViolation::kPartition;
        v.partition_index = p->index;
        for (unsigned k = 0; k + 1 < manifest::kNameLength && p->name[k] != '\0'; ++k) v.partition_name[k] = p->name[k];
    }

    const Partition* live(u32 plus1) const {
        const Partition* p = plus1 != 0 ? s_.partition(plus1 - 1) : nullptr;
        return p != nullptr && p->load_state() != PartitionState::Unconfigured ? p : nullptr;
    }

    // The caps of `p`'s CSpace that record a binding of `sid`.
    u32 binding_caps(const Partition& p, u32 sid) const {
        const CapSlot* slots = caps::cnode_slots(p.cspace_root);
        const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
        u32 n = 0;
        for (u64 k = 0; k < count; ++k) {
            const Capability& c = slots[k].cap;
            n += c.type == ObjectType::DmaStream && c.stream() == sid && c.mapped() ? 1 : 0;
        }
        return n;
    }

    // Every STE aborts, or translates through exactly the tables and VMID of the partition the
    // stream is bound to, which is its function's owner and binds it through one cap it holds.
    void stream(u32 sid) {
        const arch::DmaStreamState state = arch::smmu_stream_state(sid);
        const DmaStreamTable::Stream& s = s_.dma_streams().stream(sid);
        if (s.bound_plus1 == 0) {
            if (state.kind != arch::DmaStreamState::Kind::Abort) add("an unbound stream does not abort", nullptr, sid);
            return;
        }
        const Partition* p = live(s.bound_plus1);
        if (p == nullptr) {
            add("a stream is bound to no live partition", nullptr, sid);
            return;
        }
        if (state.kind != arch::DmaStreamState::Kind::Translate || state.vmid != p->vmid || state.root != p->stage2.root())
            add("a bound stream does not translate through its partition's tables and VMID", p, sid);
        if (s.vmid != p->vmid) add("a bound stream's recorded VMID is not its partition's", p, sid);
        if (s.owner_plus1 != s.bound_plus1) add("a stream is bound to a partition its function is not assigned to", p, sid);
        const u32 n = binding_caps(*p, sid);
        if (n != 1) add(n == 0 ? "a bound stream's binding is recorded by no cap of its partition"
                               : "a bound stream's binding is recorded by two caps",
                        p, sid);
    }

    // Every DmaStream cap names a stream the kernel made; after seal it is in its function's
    // owner's CSpace; a cap that records a binding matches the stream's.
    void caps_of(u32 i) {
        const Partition& p = *s_.partition(i);
        const CapSlot* slots = caps::cnode_slots(p.cspace_root);
        const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
        for (u64 k = 0; k < count; ++k) {
            const Capability& c = slots[k].cap;
            if (c.type != ObjectType::DmaStream) continue;
            if (c.stream() >= platform::kStreamCount || !s_.dma_streams().stream(c.stream()).created) {
                add("a DmaStream cap names a stream the kernel made no cap for", &p, c.stream());
                continue;
            }
            const DmaStreamTable::Stream& s = s_.dma_streams().stream(c.stream());
            if (s_.sealed() && s.owner_plus1 != p.index + 1)
                add("a DmaStream cap is held by a partition its function is not assigned to", &p, c.stream());
            if (c.mapped() && (c.mapped_partition_plus1() != p.index + 1 || s.bound_plus1 != p.index + 1))
                add("a DmaStream cap records a binding its stream does not have", &p, c.stream());
        }
    }

    // A function masters the bus only while its stream is bound; no partition but its owner maps
    // device memory over its BARs.
    void function(const PciFunctions::Function& f) {
        const DmaStreamTable::Stream& s = s_.dma_streams().stream(f.bdf);
        const Partition* owner = s_.partition(f.owner);
        if (s.bound_plus1 == 0 && (arch::pci_config_read(f.bdf, 0x04, 2) & kBusMaster) != 0)
            add("a function masters the bus while its stream is unbound", owner, f.bdf);
        for (u32 i = 0; i < s_.partition_count(); ++i) {
            if (i == f.owner) continue;
            const Partition& p = *s_.partition(i);
            for (u32 r = 0; r < p.region_count && r < Partition::kMaxRegions; ++r) {
                const MemoryRegion& m = p.regions[r];
                if (!m.is_device()) continue;
                for (const PciFunctions::Bar& b : f.bars)
                    if (b.placed && ranges_overlap(m.pa.raw(), m.size, b.address, b.size))
                        add("a partition maps device memory over another partition's BAR", &p, b.address);
            }
        }
    }

    const System& s_;
    InvariantReport& r_;
};

}  // namespace

void check_dma_containment(const System& system, InvariantReport& report) { DmaChecker(system, report).run(); }

}  // namespace bh

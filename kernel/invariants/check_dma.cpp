// INV-3 DMA containment: read what the SMMU uses (every stream table entry, through
// arch::smmu_stream_state) and what the devices do (their command registers), and compare it with
// the kernel's bindings and capabilities.
#include <arch/pci.hpp>
#include <arch/smmu.hpp>
#include <invariants/checker.hpp>

namespace bh::checker {

namespace {
constexpr u32 kCommandRegister = 0x04;
constexpr u32 kBusMaster = 1u << 2;
}  // namespace

void Checker::dma() {
    for (u32 sid = 0; sid < DmaStreamTable::kStreams; ++sid) dma_stream(sid);
    for (u32 i = 0; i < count_; ++i)
        if (cspace_view_[i] != 0) dma_caps(i);
    for (u32 f = 0; f < s_.pci.count(); ++f) dma_function(s_.pci.at(f));
}

// Every STE aborts, or translates through exactly the tables and VMID of the partition the
// stream is bound to, which is its function's owner and binds it through one cap it holds.
void Checker::dma_stream(u32 sid) {
    const arch::DmaStreamState state = arch::smmu_stream_state(sid);
    const DmaStreamTable::Stream& s = s_.dma.stream(sid);
    if (s.bound.is_none()) {
        if (state.kind != arch::DmaStreamState::Kind::Abort)
            value(add(InvariantId::DmaContainment, "an unbound stream does not abort"), sid);
        return;
    }
    const u32 i = s.bound.raw();
    if (i >= count_ || !live_[i]) {
        value(add(InvariantId::DmaContainment, "a stream is bound to no live partition"), sid);
        return;
    }
    const Partition& p = part(i);
    const auto report = [&](const char* message) { value(about(add(InvariantId::DmaContainment, message), p), sid); };
    if (state.kind != arch::DmaStreamState::Kind::Translate || state.vmid != p.vmid || state.root != p.stage2.root())
        report("a bound stream does not translate through its partition's tables and VMID");
    if (s.vmid != p.vmid) report("a bound stream's recorded VMID is not its partition's");
    if (s.owner != s.bound) report("a stream is bound to a partition its function is not assigned to");
    u32 n = 0;
    if (cspace_view_[i] != 0)
        for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
            const Capability& c = slot.cap;
            n += c.type == ObjectType::DmaStream && c.stream() == sid && c.mapped() ? 1 : 0;
        });
    if (n != 1)
        report(n == 0 ? "a bound stream's binding is recorded by no cap of its partition"
                      : "a bound stream's binding is recorded by two caps");
}

// Every DmaStream cap names a stream the kernel made; after seal it is in its function's owner's
// CSpace; a cap that records a binding matches the stream's.
void Checker::dma_caps(u32 i) {
    const Partition& p = part(i);
    for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
        const Capability& c = slot.cap;
        if (c.type != ObjectType::DmaStream) return;
        const auto report = [&](const char* message) {
            locate(value(add(InvariantId::DmaContainment, message), c.stream()), &slot);
        };
        if (c.stream() >= DmaStreamTable::kStreams || !s_.dma.stream(c.stream()).created) {
            report("a DmaStream cap names a stream the kernel made no cap for");
            return;
        }
        const DmaStreamTable::Stream& s = s_.dma.stream(c.stream());
        if (s_.sealed() && s.owner != p.index) report("a DmaStream cap is held by a partition its function is not assigned to");
        if (c.mapped() && (c.mapped_partition() != p.index || s.bound != p.index))
            report("a DmaStream cap records a binding its stream does not have");
    });
}

// A function masters the bus only while its stream is bound; no partition but its owner maps
// device memory over its BARs.
void Checker::dma_function(const PciFunctions::Function& f) {
    const bool bound = !s_.dma.stream(f.bdf).bound.is_none();
    if (!bound && (arch::pci_config_read(f.bdf, kCommandRegister, 2) & kBusMaster) != 0) {
        InvariantViolation& v = value(add(InvariantId::DmaContainment, "a function masters the bus while its stream is unbound"), f.bdf);
        if (f.owner.raw() < count_) about(v, part(f.owner.raw()));
    }
    for (u32 i = 0; i < count_; ++i) {
        if (!live_[i] || PartitionId(i) == f.owner) continue;
        const Partition& p = part(i);
        for (u32 r = 0; r < region_count(p); ++r) {
            const MemoryRegion& m = p.regions[r];
            if (!m.is_device()) continue;
            for (const PciFunctions::Bar& b : f.bars)
                if (b.placed && ranges_overlap(m.pa.raw(), m.size, b.address, b.size))
                    value(about(add(InvariantId::DmaContainment, "a partition maps device memory over another partition's BAR"), p),
                          b.address);
        }
    }
}

}  // namespace bh::checker

#include <kernel.hpp>
#include <policy/flow_graph.hpp>
#include <policy/seal.hpp>

namespace bh {

Outcome pcie_assignment_sound(const Kernel& k) {
    if (k.pci.unplaced_bar() != nullptr) return refuse(Status::Denied, "a memory BAR of an assigned PCIe function is not placed");
    Outcome result;
    k.partitions.for_each([&](const Partition& p) {
        for_each_cspace_cap(p, [&](const Capability& c) {
            if (!result.ok()) return;
            if (c.type == ObjectType::DmaStream &&
                (c.stream() >= DmaStreamTable::kStreams || k.dma.stream(c.stream()).owner != p.index))
                result = refuse(Status::Denied, "a DmaStream cap is held by a partition its function is not assigned to");
            if (c.type == ObjectType::DeviceMmio && k.pci.bar_of_other(p.index, c.object, c.object_size()) != nullptr)
                result = refuse(Status::Denied, "a partition holds device memory over another partition's PCIe BAR");
        });
        for (u32 r = 0; r < p.region_count && r < Partition::kMaxRegions && result.ok(); ++r)
            if (p.regions[r].is_device() && k.pci.bar_of_other(p.index, p.regions[r].pa.raw(), p.regions[r].size) != nullptr)
                result = refuse(Status::Denied, "a partition maps device memory over another partition's PCIe BAR");
    });
    return result;
}

}  // namespace bh

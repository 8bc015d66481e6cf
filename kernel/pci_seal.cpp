#include <system.hpp>

namespace bh {

const char* pci_seal_refusal(const System& system) {
    const PciFunctions& pci = system.pci();
    if (pci.unplaced_bar() != nullptr) return "a memory BAR of an assigned PCIe function is not placed";
    for (u32 i = 0; i < system.partition_count(); ++i) {
        const Partition& p = *system.partition(i);
        const CapSlot* slots = caps::cnode_slots(p.cspace_root);
        const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
        for (u64 k = 0; k < count; ++k) {
            const Capability& c = slots[k].cap;
            if (c.type == ObjectType::DmaStream &&
                (c.stream() >= platform::kStreamCount || system.dma_streams().stream(c.stream()).owner_plus1 != i + 1))
                return "a DmaStream cap is held by a partition its function is not assigned to";
            if (c.type == ObjectType::DeviceMmio && pci.bar_of_other(i, c.object, c.object_size()) != nullptr)
                return "a partition holds device memory over another partition's PCIe BAR";
        }
        for (u32 r = 0; r < p.region_count && r < Partition::kMaxRegions; ++r)
            if (p.regions[r].is_device() && pci.bar_of_other(i, p.regions[r].pa.raw(), p.regions[r].size) != nullptr)
                return "a partition maps device memory over another partition's PCIe BAR";
    }
    return nullptr;
}

}  // namespace bh

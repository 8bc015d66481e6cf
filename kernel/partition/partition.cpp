#include <arch/arch.hpp>
#include <caps/cnode.hpp>
#include <partition/partition.hpp>

namespace bh {

const MemoryRegion* Partition::ram_region_containing(Ipa ipa, u64 size) const {
    for (u32 i = 0; i < region_count; ++i) {
        const MemoryRegion& r = regions[i];
        if (!r.is_device() && range_inside(ipa.raw(), size, r.ipa.raw(), r.size)) return &r;
    }
    return nullptr;
}

MemoryRegion* Partition::region_at(Ipa ipa, u64 size) {
    for (u32 i = 0; i < region_count; ++i)
        if (regions[i].ipa == ipa && regions[i].size == size) return &regions[i];
    return nullptr;
}

void Partition::set_cspace_root(const Capability& root, const CapLockHeld&) {
    cspace_root = root;
    const CapSlot* slots = caps::cnode_slots(root);
    const u64 address = reinterpret_cast<u64>(slots);
    if ((address & kRootMaskBits) != 0) arch::panic("a CNode's slots are not page-aligned");
    root_slots_and_mask.store_relaxed(slots != nullptr ? address | (caps::cnode_slot_count(root) - 1) : 0);
}

}  // namespace bh

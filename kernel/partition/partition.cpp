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

}  // namespace bh

#include <bhcc/cap_layout.hpp>

#include <bhcc/platform_devices.hpp>

#include "caps/capability.hpp"

#include <bit>

namespace bhcc {

std::vector<UntypedBlock> split_into_blocks(u64 phys, u64 size, u64 ipa, bool mapped) {
    std::vector<UntypedBlock> blocks;
    const u64 end = phys + size;
    for (u64 pa = phys; pa < end;) {
        unsigned bits = pa == 0 ? bh::caps::kMaxUntypedBits : static_cast<unsigned>(std::countr_zero(pa));
        if (bits > bh::caps::kMaxUntypedBits) bits = bh::caps::kMaxUntypedBits;
        while ((1ull << bits) > end - pa) --bits;
        UntypedBlock block;
        block.pa = pa;
        block.bits = bits;
        block.ipa = ipa + (pa - phys);
        const bool large = bits >= kLargeFrameBits && (!mapped || bh::is_aligned(block.ipa, 1ull << kLargeFrameBits));
        block.frame_bits = large ? kLargeFrameBits : kSmallFrameBits;
        blocks.push_back(block);
        pa += 1ull << bits;
    }
    return blocks;
}

std::vector<UntypedBlock> region_blocks(const MemoryRegion& region) {
    return split_into_blocks(region.phys, region.size, region.ipa, region.mapped);
}

std::vector<UntypedBlock> device_blocks(u64 base, u64 size) { return split_into_blocks(base, size, base, true); }

namespace {

[[nodiscard]] bool countable(const MemoryRegion& region) {
    return region.well_formed && region.size != 0 && bh::is_aligned(region.phys | region.size, bh::kPageSize) &&
           bh::range_valid(region.phys, region.size) && (!region.mapped || bh::is_aligned(region.ipa, bh::kPageSize));
}

[[nodiscard]] u64 frames(const std::vector<UntypedBlock>& blocks) {
    u64 count = 0;
    for (const UntypedBlock& block : blocks) count += block.frame_count();
    return count;
}

[[nodiscard]] u64 device_pages(const Partition& partition) {
    u64 count = 0;
    for (const std::string& name : partition.devices) {
        const PlatformDevice* device = find_platform_device(name);
        if (device != nullptr && device->assignable) count += frames(device_blocks(device->base, device->size));
    }
    return count;
}

}  // namespace

namespace {

// Index 1 (its CNode), then frames and device pages.
[[nodiscard]] u64 memory_capabilities(const Partition& partition) {
    u64 count = 1;  // its own CNode
    for (const MemoryRegion& region : partition.regions) {
        if (countable(region)) count += frames(region_blocks(region));
    }
    return count + device_pages(partition);
}

}  // namespace

u64 capabilities_needed(const Partition& partition) {
    return memory_capabilities(partition) + partition.controls.size();
}

u64 first_control_index(const Partition& partition) {
    return kCSpaceOwnCNodeIndex + memory_capabilities(partition);
}

u64 boot_mappings(const Partition& partition) {
    u64 count = 0;
    for (const MemoryRegion& region : partition.regions) {
        if (countable(region) && region.mapped) count += frames(region_blocks(region));
    }
    return count + device_pages(partition);
}

}  // namespace bhcc

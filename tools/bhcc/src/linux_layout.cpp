#include <bhcc/linux_layout.hpp>

#include <bhcc/hex.hpp>

namespace bhcc {

LinuxPlacement place_linux(const Partition& partition, const LinuxImage& kernel, bh::u64 initramfs_size) {
    const MemoryRegion* region = nullptr;
    for (const MemoryRegion& candidate : partition.regions) {
        if (candidate.mapped) {
            region = &candidate;
            break;
        }
    }
    if (region == nullptr) return {std::nullopt, "a Linux partition needs a mapped memory region"};

    LinuxLayout layout;
    layout.region = region;
    layout.device_tree_ipa = region->ipa;
    layout.kernel_size = kernel.image_size;
    layout.initramfs_size = initramfs_size;
    // Every sum below is checked against the region's end, which is far below 2^64 (rule M9):
    // a huge image_size or initramfs cannot wrap around unnoticed.
    const bh::u64 limit = region->ipa + region->size;
    const bh::u64 kernel_base = bh::align_up(region->ipa + kDeviceTreeSlot, kLinuxImageAlignment);
    layout.kernel_ipa = kernel_base + kernel.text_offset;
    const bool kernel_fits = layout.kernel_ipa < limit && kernel.image_size <= limit - layout.kernel_ipa;
    bh::u64 end = limit + 1;  // "does not fit" unless shown otherwise
    if (kernel_fits) {
        layout.initramfs_ipa = bh::align_up(layout.kernel_ipa + kernel.image_size, bh::kPageSize);
        if (layout.initramfs_ipa <= limit && initramfs_size <= limit - layout.initramfs_ipa)
            end = layout.initramfs_ipa + initramfs_size;
    }
    if (end > limit) {
        return {std::nullopt, "the device tree (a 2 MiB slot), the kernel (image_size " + hex(kernel.image_size) +
                                  ") and the initramfs (" + std::to_string(initramfs_size) +
                                  " bytes) do not fit in " + region->node + " " + hex_range(region->ipa, region->size)};
    }
    if (initramfs_size == 0) layout.initramfs_ipa = 0;
    return {layout, {}};
}

}  // namespace bhcc

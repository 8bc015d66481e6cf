// Where a Linux partition's boot files lie in its RAM, following Documentation/arm64/booting.rst:
// the device tree at the start of the partition's first memory region (8-byte aligned, in a
// 2 MiB slot of its own: a device tree may be at most 2 MiB), the Image text_offset bytes past
// the next 2 MiB boundary, the initramfs on the first page after the Image's image_size (which
// covers its bss, so nothing of the kernel's own memory is given to the initramfs).
//
// The slot of the device tree has a fixed size so that the layout does not depend on the tree,
// which itself names where the initramfs lies. booting.rst also asks that the initramfs and the
// Image lie within one 1 GiB aligned window of at most 32 GiB: one region of a partition is far
// smaller than that (rules M14/M17 bound it to 254 frames of 2 MiB), so it always holds.
#pragma once

#include <bhcc/linux_image.hpp>
#include <bhcc/system_description.hpp>

#include <optional>
#include <string>

namespace bhcc {

inline constexpr bh::u64 kDeviceTreeSlot = 2ull << 20;  // booting.rst: a device tree is at most 2 MiB

struct LinuxLayout {
    const MemoryRegion* region = nullptr;  // the partition's first memory region, which holds them all
    bh::u64 device_tree_ipa = 0;           // x0 of vCPU 0
    bh::u64 kernel_ipa = 0;                // the Image's first byte and the entry point
    bh::u64 kernel_size = 0;               // image_size
    bh::u64 initramfs_ipa = 0;             // meaningful when initramfs_size > 0
    bh::u64 initramfs_size = 0;
};

struct LinuxPlacement {
    std::optional<LinuxLayout> layout;
    std::string error;  // why the files do not fit
};

// `partition` has passed validation (its regions are well formed and "rwx", rule LX5).
[[nodiscard]] LinuxPlacement place_linux(const Partition& partition, const LinuxImage& kernel,
                                         bh::u64 initramfs_size);

}  // namespace bhcc

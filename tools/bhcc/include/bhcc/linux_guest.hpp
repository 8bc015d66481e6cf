// A Linux partition's boot files, made ready for the manifest: the kernel Image and the
// initramfs read from the image directories, the device tree generated for the partition, all
// three placed in its RAM (linux_layout.hpp) and presented as the segments of one ElfImage, so
// that the manifest builder emits their LoadImage ops exactly as it does for a bare-metal ELF.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/elf_image.hpp>
#include <bhcc/guest_device_tree.hpp>
#include <bhcc/guest_image_check.hpp>
#include <bhcc/linux_layout.hpp>
#include <bhcc/system_description.hpp>

#include <optional>
#include <vector>

namespace bhcc {

struct LinuxGuest {
    ElfImage image;  // segments: device tree, kernel Image, initramfs (when given); entry = the Image
    LinuxLayout layout;
    std::vector<u8> device_tree;
};

// nullopt (with one diagnostic on the partition's node) when a file is missing or unusable, or
// the three do not fit the partition's first memory region.
[[nodiscard]] std::optional<LinuxGuest> load_linux_guest(const Partition& partition, const ImageDirs& dirs,
                                                         Diagnostics& diagnostics,
                                                         const std::vector<GuestVirtioDevice>& devices = {});

// The same from files already read (`initramfs` empty: none): placement, device tree, segments.
// nullopt (with one diagnostic) when they do not fit. The fuzz target drives this directly.
[[nodiscard]] std::optional<LinuxGuest> make_linux_guest(const Partition& partition, const LinuxImage& kernel,
                                                         const std::vector<u8>& initramfs, Diagnostics& diagnostics,
                                                         const std::vector<GuestVirtioDevice>& devices = {});

}  // namespace bhcc

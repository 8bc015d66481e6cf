// Loads each partition's guest image from --image-dir and checks that it fits the partition:
// every PT_LOAD inside one memory region, executable segments only in executable regions, the
// entry point in an executable region.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/elf_image.hpp>
#include <bhcc/system_description.hpp>

#include <filesystem>

namespace bhcc {

// nullopt (with one diagnostic on the partition's node) when the image is unusable.
[[nodiscard]] std::optional<ElfImage> load_guest_image(const Partition& partition,
                                                       const std::filesystem::path& image_dir,
                                                       Diagnostics& diagnostics);

}  // namespace bhcc

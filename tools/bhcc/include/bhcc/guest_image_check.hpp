// Loads each partition's guest image from the image directories and checks that it fits the partition:
// every PT_LOAD inside one memory region, executable segments only in executable regions, the
// entry point in an executable region.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/elf_image.hpp>
#include <bhcc/system_description.hpp>

#include <filesystem>

namespace bhcc {

// The directories guest files are looked up in, first match wins (--image-dir, in order).
using ImageDirs = std::vector<std::filesystem::path>;

// The bytes of file `name` from the first directory holding it; nullopt when none does or
// when `name` is not a plain file name (a name may not climb out of the image directories).
[[nodiscard]] std::optional<std::vector<u8>> read_guest_file(const std::string& name, const ImageDirs& dirs);
// "dir1, dir2" for messages.
[[nodiscard]] std::string describe_dirs(const ImageDirs& dirs);

// nullopt (with one diagnostic on the partition's node) when the image is unusable.
[[nodiscard]] std::optional<ElfImage> load_guest_image(const Partition& partition, const ImageDirs& dirs,
                                                       Diagnostics& diagnostics);

}  // namespace bhcc

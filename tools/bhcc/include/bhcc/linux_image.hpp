// An arm64 Linux kernel Image, as Documentation/arm64/booting.rst describes its 64-byte header:
// code0/code1, text_offset, image_size, flags, reserved, magic "ARM\x64" at offset 56. bhcc
// reads only what placing the Image needs; it never looks at the code.
#pragma once

#include <bulkhead/types.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bhcc {

inline constexpr bh::u64 kLinuxHeaderSize = 64;
inline constexpr bh::u32 kLinuxImageMagic = 0x644d'5241;  // "ARM\x64", little endian
// The Image is placed text_offset bytes past a 2 MiB aligned base (booting.rst).
inline constexpr bh::u64 kLinuxImageAlignment = 2ull << 20;

struct LinuxImage {
    bh::u64 text_offset = 0;
    bh::u64 image_size = 0;  // bytes the kernel occupies from its load address, bss included
    bh::u64 flags = 0;
    std::vector<bh::u8> bytes;  // the whole file
};

struct LinuxImageParse {
    std::optional<LinuxImage> image;
    std::string error;  // why the bytes are not a bootable arm64 Image
};

// Accepts a little-endian Image (flags bit 0 clear) of kernel 3.17 or later (image_size set),
// whose image_size covers the file and whose text_offset is below 2 MiB.
[[nodiscard]] LinuxImageParse parse_linux_image(std::vector<bh::u8> bytes);

}  // namespace bhcc

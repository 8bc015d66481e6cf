// A synthesized arm64 Linux Image for the bhcc tests: the 64-byte header of
// Documentation/arm64/booting.rst around filler bytes, so that no test needs the cached kernel.
#pragma once

#include <bhcc/linux_image.hpp>

#include <cstring>
#include <vector>

namespace bh::test {

inline std::vector<u8> make_linux_image(u64 text_offset, u64 image_size, u64 flags = 0xa,
                                        u64 file_size = 1ull << 20, u32 magic = bhcc::kLinuxImageMagic,
                                        u8 fill = 0x5a) {
    std::vector<u8> bytes(file_size, fill);
    auto put64 = [&](std::size_t at, u64 value) { std::memcpy(bytes.data() + at, &value, 8); };
    put64(8, text_offset);
    put64(16, image_size);
    put64(24, flags);
    std::memcpy(bytes.data() + 56, &magic, 4);
    return bytes;
}

}  // namespace bh::test

#include <bhcc/linux_image.hpp>

#include <bhcc/hex.hpp>

#include <cstring>

namespace bhcc {
namespace {

constexpr std::size_t kTextOffsetAt = 8;
constexpr std::size_t kImageSizeAt = 16;
constexpr std::size_t kFlagsAt = 24;
constexpr std::size_t kMagicAt = 56;
constexpr bh::u64 kFlagBigEndian = 1;

template <typename T>
[[nodiscard]] T read_le(const std::vector<bh::u8>& bytes, std::size_t offset) {
    T value{};
    std::memcpy(&value, bytes.data() + offset, sizeof(T));  // host and Image are little endian
    return value;
}

[[nodiscard]] LinuxImageParse refuse(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

LinuxImageParse parse_linux_image(std::vector<bh::u8> bytes) {
    if (bytes.size() < kLinuxHeaderSize) return refuse("shorter than the 64-byte Image header");
    if (read_le<bh::u32>(bytes, kMagicAt) != kLinuxImageMagic) {
        return refuse("no \"ARM\\x64\" magic at offset 56 (a compressed vmlinuz or an ELF vmlinux is not an Image)");
    }
    LinuxImage image;
    image.text_offset = read_le<bh::u64>(bytes, kTextOffsetAt);
    image.image_size = read_le<bh::u64>(bytes, kImageSizeAt);
    image.flags = read_le<bh::u64>(bytes, kFlagsAt);
    if (image.flags & kFlagBigEndian) return refuse("a big-endian kernel (flags bit 0 set)");
    // Before 3.17 image_size was 0 and the size of the kernel's memory unknown to a loader.
    if (image.image_size == 0) return refuse("image_size is 0 (kernels before 3.17 are not supported)");
    if (image.image_size < bytes.size()) {
        return refuse("image_size " + hex(image.image_size) + " is smaller than the file (" +
                      std::to_string(bytes.size()) + " bytes)");
    }
    if (image.text_offset >= kLinuxImageAlignment) {
        return refuse("text_offset " + hex(image.text_offset) + " is not below 2 MiB");
    }
    image.bytes = std::move(bytes);
    return {std::move(image), {}};
}

}  // namespace bhcc

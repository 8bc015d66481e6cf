#include <bhcc/guest_image_check.hpp>

#include <bhcc/hex.hpp>
#include <bhcc/kernel_limits.hpp>

namespace bhcc {
namespace {

namespace attr = bh::manifest::attr;

// Only mapped regions hold image bytes or an entry point: an unmapped region has no IPA at boot.
[[nodiscard]] const MemoryRegion* region_holding(const Partition& partition, u64 ipa, u64 size) {
    for (const MemoryRegion& region : partition.regions) {
        if (region.mapped && bh::range_inside(ipa, size, region.ipa, region.size)) return &region;
    }
    return nullptr;
}

// Guests start with their MMU off, so a segment lands at IPA == p_paddr.
[[nodiscard]] bool segments_fit(const Partition& partition, const ElfImage& image, const std::string& label,
                                Diagnostics& diagnostics) {
    for (const ElfSegment& segment : image.loads) {
        const MemoryRegion* region = region_holding(partition, segment.paddr, segment.memsz);
        if (region == nullptr) {
            diagnostics.error(partition.node, label + ": PT_LOAD " + hex_range(segment.paddr, segment.memsz) +
                                                  " is not inside one memory region of the partition");
            return false;
        }
        if ((segment.flags & kSegmentExecute) && !(region->attrs & attr::kExecute)) {
            diagnostics.error(partition.node, label + ": executable PT_LOAD " +
                                                  hex_range(segment.paddr, segment.memsz) + " lies in " +
                                                  region->node + ", which lacks x access");
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::vector<u8>> read_guest_file(const std::string& name, const ImageDirs& dirs) {
    // A name is a file name, never a path: it may not climb out of the image directories.
    if (name.empty() || std::filesystem::path(name).filename() != name) return std::nullopt;
    for (const std::filesystem::path& dir : dirs) {
        std::error_code error;
        if (std::filesystem::is_regular_file(dir / name, error)) return read_file_bytes(dir / name);
    }
    return std::nullopt;
}

std::string describe_dirs(const ImageDirs& dirs) {
    std::string text;
    for (const std::filesystem::path& dir : dirs) text += (text.empty() ? "" : ", ") + dir.string();
    return text;
}

std::optional<ElfImage> load_guest_image(const Partition& partition, const ImageDirs& dirs, Diagnostics& diagnostics) {
    const std::string label = "image \"" + partition.image + "\"";
    auto bytes = read_guest_file(partition.image, dirs);
    if (!bytes) {
        diagnostics.error(partition.node, label + " not found in " + describe_dirs(dirs));
        return std::nullopt;
    }
    ElfParse parsed = parse_aarch64_elf(std::move(*bytes));
    if (!parsed.image) {
        diagnostics.error(partition.node, label + " is not an AArch64 ELF64 executable: " + parsed.error);
        return std::nullopt;
    }
    if (!segments_fit(partition, *parsed.image, label, diagnostics)) return std::nullopt;
    std::size_t carried = 0;
    for (const ElfSegment& segment : parsed.image->loads) carried += segment.filesz > 0 ? 1 : 0;
    if (carried > kMaxImageSegmentsPerPartition) {
        diagnostics.error(partition.node, label + " has " + std::to_string(carried) +
                                              " PT_LOAD segments with file data, at most " +
                                              std::to_string(kMaxImageSegmentsPerPartition));
        return std::nullopt;
    }
    const MemoryRegion* entry_region = region_holding(partition, parsed.image->entry, 4);
    if (entry_region == nullptr || !(entry_region->attrs & attr::kExecute)) {
        diagnostics.error(partition.node, label + ": entry point " + hex(parsed.image->entry) +
                                              " is not in an executable memory region of the partition");
        return std::nullopt;
    }
    if (!bh::is_aligned(parsed.image->entry, 4)) {  // the kernel's StartVcpu refuses it (A64 code is 4-byte aligned)
        diagnostics.error(partition.node, label + ": entry point " + hex(parsed.image->entry) + " is not 4-byte aligned");
        return std::nullopt;
    }
    return std::move(parsed.image);
}

}  // namespace bhcc

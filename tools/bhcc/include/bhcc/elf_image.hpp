// A checked, in-memory ELF64 little-endian executable: only what bhcc needs (entry point and
// PT_LOAD segments). Used for both the kernel and the guest images.
#pragma once

#include <bulkhead/types.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bhcc {

using bh::u16;
using bh::u32;
using bh::u64;
using bh::u8;

inline constexpr u16 kElfMachineAarch64 = 183;
inline constexpr u32 kSegmentExecute = 1;  // PF_X
inline constexpr u32 kSegmentWrite = 2;    // PF_W
inline constexpr u32 kSegmentRead = 4;     // PF_R

struct ElfSegment {
    u32 flags = 0;
    u64 offset = 0;
    u64 vaddr = 0;
    u64 paddr = 0;
    u64 filesz = 0;
    u64 memsz = 0;
    u64 align = 0;
};

struct ElfImage {
    u64 entry = 0;
    std::vector<ElfSegment> loads;  // PT_LOAD with p_memsz > 0, in file order
    std::vector<u8> bytes;          // the whole file; segment data is bytes[offset, +filesz)

    [[nodiscard]] std::vector<u8> segment_data(const ElfSegment& segment) const {
        return {bytes.begin() + static_cast<long>(segment.offset),
                bytes.begin() + static_cast<long>(segment.offset + segment.filesz)};
    }
};

struct ElfParse {
    std::optional<ElfImage> image;
    std::string error;  // why the bytes are not an AArch64 ELF64 executable
};

// Accepts only ELFCLASS64, ELFDATA2LSB, EM_AARCH64, ET_EXEC, with every PT_LOAD inside the
// file and p_filesz <= p_memsz, so later stages never re-check bounds.
[[nodiscard]] ElfParse parse_aarch64_elf(std::vector<u8> bytes);

[[nodiscard]] std::optional<std::vector<u8>> read_file_bytes(const std::filesystem::path& path);

}  // namespace bhcc

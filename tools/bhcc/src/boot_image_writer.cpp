#include <bhcc/boot_image_writer.hpp>

#include <bulkhead/platform.hpp>

#include <bit>
#include <cstring>

namespace bhcc {
namespace {

constexpr std::size_t kEhdrSize = 64;
constexpr std::size_t kPhdrSize = 56;
constexpr u64 kPayloadAlignment = bh::kPageSize;

struct OutputSegment {
    ElfSegment header;
    std::span<const u8> data;
};

template <typename T>
void put(std::vector<u8>& bytes, std::size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// The ELF rule p_offset ≡ p_vaddr (mod p_align) lets loaders map segments directly; keep it.
[[nodiscard]] u64 place(u64 cursor, const ElfSegment& segment) {
    const u64 alignment = segment.align > 1 && std::has_single_bit(segment.align) ? segment.align : 8;
    const u64 start = bh::align_up(cursor, alignment) + (segment.vaddr & (alignment - 1));
    return start >= cursor ? start : start + alignment;
}

void write_headers(std::vector<u8>& out, u64 entry, const std::vector<OutputSegment>& segments) {
    std::memcpy(out.data(), "\x7f" "ELF", 4);
    out[4] = 2;  // ELFCLASS64
    out[5] = 1;  // ELFDATA2LSB
    out[6] = 1;  // EV_CURRENT
    put<u16>(out, 16, 2);                   // ET_EXEC
    put<u16>(out, 18, kElfMachineAarch64);  // EM_AARCH64
    put<u32>(out, 20, 1);                   // e_version
    put<u64>(out, 24, entry);
    put<u64>(out, 32, kEhdrSize);  // e_phoff: right after the header; no section headers
    put<u16>(out, 52, kEhdrSize);
    put<u16>(out, 54, kPhdrSize);
    put<u16>(out, 56, static_cast<u16>(segments.size()));
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const ElfSegment& s = segments[i].header;
        const std::size_t at = kEhdrSize + i * kPhdrSize;
        put<u32>(out, at, 1);  // PT_LOAD
        put<u32>(out, at + 4, s.flags);
        put<u64>(out, at + 8, s.offset);
        put<u64>(out, at + 16, s.vaddr);
        put<u64>(out, at + 24, s.paddr);
        put<u64>(out, at + 32, s.filesz);
        put<u64>(out, at + 40, s.memsz);
        put<u64>(out, at + 48, s.align);
    }
}

}  // namespace

std::vector<u8> write_boot_image(const ElfImage& kernel, std::span<const u8> payload) {
    std::vector<OutputSegment> segments;
    for (const ElfSegment& segment : kernel.loads) {
        segments.push_back({segment, std::span(kernel.bytes).subspan(segment.offset, segment.filesz)});
    }
    const u64 base = bh::platform::kPayloadBase;
    segments.push_back({ElfSegment{kSegmentRead, 0, base, base, payload.size(), payload.size(), kPayloadAlignment},
                        payload});

    u64 cursor = kEhdrSize + segments.size() * kPhdrSize;
    for (OutputSegment& segment : segments) {
        segment.header.offset = place(cursor, segment.header);
        cursor = segment.header.offset + segment.header.filesz;
    }
    std::vector<u8> out(cursor, 0);
    write_headers(out, kernel.entry, segments);
    for (const OutputSegment& segment : segments) {
        std::memcpy(out.data() + segment.header.offset, segment.data.data(), segment.data.size());
    }
    return out;
}

}  // namespace bhcc

#include <bulkhead/crc32.hpp>

namespace bh {
namespace {

struct Crc32Table {
    u32 entry[256];
};

// Built at compile time so that the kernel carries the table in .rodata and needs no init step.
constexpr Crc32Table make_table() {
    Crc32Table table{};
    for (u32 i = 0; i < 256; ++i) {
        u32 c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ 0xEDB8'8320u : c >> 1;
        table.entry[i] = c;
    }
    return table;
}

constexpr Crc32Table kTable = make_table();
static_assert(kTable.entry[1] == 0x7707'3096u && kTable.entry[255] == 0x2D02'EF8Du);

}  // namespace

u32 crc32(const void* data, usize length, u32 crc) {
    const u8* bytes = static_cast<const u8*>(data);
    crc = ~crc;
    for (usize i = 0; i < length; ++i) crc = kTable.entry[(crc ^ bytes[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

}  // namespace bh

// CRC-32 on the host: the portable table code (slicing by 8). The host has no business with
// Armv8's CRC32 instructions; the unit tests hold this and the bitwise definition equal, and
// the aarch64 version (arch/aarch64/crc32.cpp) is checked at every boot against what bhcc
// computed here.
#include "arch/arch.hpp"

namespace bh::arch {
namespace {

// entry[0] is the classic byte table; entry[k][b] is the CRC of byte b followed by k zero
// bytes. Built at compile time: 8 KiB of .rodata, no init step.
struct Crc32Tables {
    u32 entry[8][256];
};

constexpr Crc32Tables make_tables() {
    Crc32Tables t{};
    for (u32 i = 0; i < 256; ++i) {
        u32 c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ 0xEDB8'8320u : c >> 1;
        t.entry[0][i] = c;
    }
    for (u32 i = 0; i < 256; ++i)
        for (int k = 1; k < 8; ++k) t.entry[k][i] = (t.entry[k - 1][i] >> 8) ^ t.entry[0][t.entry[k - 1][i] & 0xFFu];
    return t;
}

constexpr Crc32Tables kTables = make_tables();
static_assert(kTables.entry[0][1] == 0x7707'3096u && kTables.entry[0][255] == 0x2D02'EF8Du);

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the words below are read little-endian");

u32 byte_step(u32 crc, u8 byte) { return kTables.entry[0][(crc ^ byte) & 0xFFu] ^ (crc >> 8); }

}  // namespace

u32 crc32_update(u32 state, const u8* bytes, usize length) {
    for (; length > 0 && (reinterpret_cast<usize>(bytes) & 7) != 0; --length) state = byte_step(state, *bytes++);
    for (; length >= 8; length -= 8, bytes += 8) {
        u64 word;
        __builtin_memcpy(&word, __builtin_assume_aligned(bytes, 8), sizeof word);
        const u32 lo = state ^ static_cast<u32>(word);
        const u32 hi = static_cast<u32>(word >> 32);
        state = kTables.entry[7][lo & 0xFFu] ^ kTables.entry[6][(lo >> 8) & 0xFFu] ^
                kTables.entry[5][(lo >> 16) & 0xFFu] ^ kTables.entry[4][lo >> 24] ^ kTables.entry[3][hi & 0xFFu] ^
                kTables.entry[2][(hi >> 8) & 0xFFu] ^ kTables.entry[1][(hi >> 16) & 0xFFu] ^ kTables.entry[0][hi >> 24];
    }
    for (; length > 0; --length) state = byte_step(state, *bytes++);
    return state;
}

}  // namespace bh::arch

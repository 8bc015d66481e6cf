#include <catch2/catch_test_macros.hpp>

#include <cstring>

#include <bulkhead/crc32.hpp>

using bh::crc32;

TEST_CASE("crc32: standard check value", "[crc32][T-27]") {
    const char* check = "123456789";
    REQUIRE(crc32(check, 9) == 0xCBF43926u);
}

TEST_CASE("crc32: known vectors", "[crc32][T-27]") {
    REQUIRE(crc32("", 0) == 0u);
    REQUIRE(crc32(nullptr, 0) == 0u);
    REQUIRE(crc32("a", 1) == 0xE8B7BE43u);
    const char* fox = "The quick brown fox jumps over the lazy dog";
    REQUIRE(crc32(fox, std::strlen(fox)) == 0x414FA339u);
    const unsigned char zeros[32] = {};
    REQUIRE(crc32(zeros, sizeof zeros) == 0x190A55ADu);
}

TEST_CASE("crc32: chaining equals one pass at every split", "[crc32][T-27]") {
    const char* text = "Bulkhead separation kernel manifest checksum";
    const std::size_t n = std::strlen(text);
    const bh::u32 whole = crc32(text, n);
    for (std::size_t split = 0; split <= n; ++split) {
        const bh::u32 first = crc32(text, split);
        REQUIRE(crc32(text + split, n - split, first) == whole);
    }
}

TEST_CASE("crc32: detects a single flipped bit", "[crc32][T-27]") {
    unsigned char buffer[64];
    for (unsigned i = 0; i < sizeof buffer; ++i) buffer[i] = static_cast<unsigned char>(i * 7);
    const bh::u32 reference = crc32(buffer, sizeof buffer);
    for (unsigned bit = 0; bit < sizeof buffer * 8; ++bit) {
        buffer[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
        REQUIRE(crc32(buffer, sizeof buffer) != reference);
        buffer[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
    }
}

// bh::crc32 runs the arch's crc32_update: the table code here (kernel/arch/host/crc32_host.cpp);
// the aarch64 one (CRC32X, 64 bytes a step) is held to the same checksums by every boot, which
// checks the manifest bhcc wrote with the host's.
TEST_CASE("crc32: the arch's CRC-32 equals the bitwise definition at every alignment and length", "[crc32][T-27]") {
    // The definition, one bit at a time (reflected polynomial 0xEDB88320).
    const auto reference = [](const unsigned char* p, std::size_t n) {
        bh::u32 c = 0xFFFF'FFFFu;
        for (std::size_t i = 0; i < n; ++i) {
            c ^= p[i];
            for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ 0xEDB8'8320u : c >> 1;
        }
        return ~c;
    };
    alignas(8) unsigned char buffer[200];  // several 64-byte steps, and every tail
    for (unsigned i = 0; i < sizeof buffer; ++i) buffer[i] = static_cast<unsigned char>(i * 37 + 11);
    for (std::size_t offset = 0; offset < 8; ++offset)
        for (std::size_t length = 0; offset + length <= sizeof buffer; ++length)
            REQUIRE(crc32(buffer + offset, length) == reference(buffer + offset, length));
}

#include <bhcc/hex.hpp>

#include <cstdio>

namespace bhcc {

std::string hex(bh::u64 value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

// The end is printed modulo 2^64 on purpose: ranges that wrap are reported before this is used.
std::string hex_range(bh::u64 base, bh::u64 size) {
    return "[" + hex(base) + ", " + hex(base + size) + ")";
}

}  // namespace bhcc

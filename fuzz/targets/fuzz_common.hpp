// Shared by the fuzz targets: a small bounds-checked byte reader (the inputs are structured
// programs, not opaque blobs) and the oracle's failure path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace bh::fuzz {

// Reads the input front to back; past the end every read yields 0 and done() is true, so a
// truncated input is still a valid (shorter) program.
class Bytes {
public:
    Bytes(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
    bool done() const { return p_ >= end_; }
    size_t left() const { return static_cast<size_t>(end_ - p_); }
    uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
    uint32_t u32() { return static_cast<uint32_t>(u16()) | (static_cast<uint32_t>(u16()) << 16); }
    uint64_t u64() { return static_cast<uint64_t>(u32()) | (static_cast<uint64_t>(u32()) << 32); }
    template <class T, size_t N>
    const T& pick(const T (&table)[N]) { return table[u8() % N]; }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

// A finding: say what broke on stderr, then trap so that libFuzzer/AFL++ record the input.
[[noreturn]] inline void finding(const char* what) {
    std::fprintf(stderr, "FUZZ FINDING: %s\n", what);
    std::fflush(stderr);
    __builtin_trap();
}

}  // namespace bh::fuzz

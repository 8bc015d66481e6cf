// The few C library functions the compiler may emit calls to in freestanding code.
// memcpy and memset move 8 bytes at a time where both ends allow it: the compiler calls them
// for every copy or clear of a struct on the hypercall path (GuestCall, Result) and retype
// clears every new object with memset, so a byte loop here cost hundreds of instructions per
// call and most of the boot (docs/benchmarks.md). The kernel is built with -mstrict-align, so
// a word access is only made at an 8-byte-aligned address.
#include <bulkhead/types.hpp>

// Keep GCC from turning these loops back into calls of themselves.
#define BH_LIBC __attribute__((optimize("no-tree-loop-distribute-patterns")))

namespace {

// The words alias whatever the caller's objects are.
using Word = bh::u64 __attribute__((may_alias));
constexpr bh::usize kWord = sizeof(Word);

bool word_aligned(const void* p) { return (reinterpret_cast<bh::usize>(p) & (kWord - 1)) == 0; }

}  // namespace

extern "C" {

BH_LIBC void* memcpy(void* dst, const void* src, bh::usize n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    // Same offset within a word: bytes up to the boundary, then words.
    if (((reinterpret_cast<bh::usize>(d) ^ reinterpret_cast<bh::usize>(s)) & (kWord - 1)) == 0) {
        for (; n > 0 && !word_aligned(d); --n) *d++ = *s++;
        for (; n >= kWord; n -= kWord, d += kWord, s += kWord)
            *reinterpret_cast<Word*>(d) = *reinterpret_cast<const Word*>(s);
    }
    while (n-- > 0) *d++ = *s++;
    return dst;
}

BH_LIBC void* memmove(void* dst, const void* src, bh::usize n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d < s) {
        while (n-- > 0) *d++ = *s++;
    } else {
        while (n-- > 0) d[n] = s[n];
    }
    return dst;
}

BH_LIBC void* memset(void* dst, int c, bh::usize n) {
    auto* d = static_cast<unsigned char*>(dst);
    const auto byte = static_cast<unsigned char>(c);
    for (; n > 0 && !word_aligned(d); --n) *d++ = byte;
    const Word word = 0x0101'0101'0101'0101ull * byte;
    // Eight words a step for the large clears (retype zeroes every new object: a Linux
    // partition's RAM is 128 MiB).
    for (; n >= 8 * kWord; n -= 8 * kWord, d += 8 * kWord) {
        Word* w = reinterpret_cast<Word*>(d);
        w[0] = word;
        w[1] = word;
        w[2] = word;
        w[3] = word;
        w[4] = word;
        w[5] = word;
        w[6] = word;
        w[7] = word;
    }
    for (; n >= kWord; n -= kWord, d += kWord) *reinterpret_cast<Word*>(d) = word;
    while (n-- > 0) *d++ = byte;
    return dst;
}

int memcmp(const void* a, const void* b, bh::usize n) {
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (; n > 0; --n, ++x, ++y)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}
}

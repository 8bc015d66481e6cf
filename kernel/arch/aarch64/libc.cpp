// The few C library functions the compiler may emit calls to in freestanding code.
#include <bulkhead/types.hpp>

extern "C" {

void* memcpy(void* dst, const void* src, bh::usize n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    while (n-- > 0) *d++ = *s++;
    return dst;
}

void* memmove(void* dst, const void* src, bh::usize n) {
    auto* d = static_cast<unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    if (d < s) {
        while (n-- > 0) *d++ = *s++;
    } else {
        while (n-- > 0) d[n] = s[n];
    }
    return dst;
}

void* memset(void* dst, int c, bh::usize n) {
    auto* d = static_cast<unsigned char*>(dst);
    while (n-- > 0) *d++ = static_cast<unsigned char>(c);
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

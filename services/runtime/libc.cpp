// The few C library functions the compiler may emit calls to, and the C++ ABI stubs a
// freestanding guest needs. The MMU is off, so memory is Device memory: every access must be
// naturally aligned (the file is built with -mstrict-align); the word loops run only when
// both pointers and the length allow it. Built with -fno-tree-loop-distribute-patterns so that
// the loops are not turned back into calls to themselves.
#include <bulkhead/types.hpp>

#include "console.hpp"
#include "hypercall.hpp"

using bh::u64;
using bh::u8;
using bh::usize;

namespace {
bool words_ok(const void* a, const void* b, usize n) {
    return ((reinterpret_cast<u64>(a) | reinterpret_cast<u64>(b) | n) & 7) == 0;
}
}  // namespace

extern "C" {

void* memcpy(void* dst, const void* src, usize n) {
    if (words_ok(dst, src, n)) {
        auto* d = static_cast<u64*>(dst);
        auto* s = static_cast<const u64*>(src);
        for (usize i = 0; i < n / 8; ++i) d[i] = s[i];
    } else {
        auto* d = static_cast<u8*>(dst);
        auto* s = static_cast<const u8*>(src);
        for (usize i = 0; i < n; ++i) d[i] = s[i];
    }
    return dst;
}

void* memmove(void* dst, const void* src, usize n) {
    if (reinterpret_cast<u64>(dst) <= reinterpret_cast<u64>(src) ||
        reinterpret_cast<u64>(dst) >= reinterpret_cast<u64>(src) + n) {
        return memcpy(dst, src, n);
    }
    // Overlapping with dst above src: copy backwards.
    if (words_ok(dst, src, n)) {
        auto* d = static_cast<u64*>(dst);
        auto* s = static_cast<const u64*>(src);
        for (usize i = n / 8; i != 0; --i) d[i - 1] = s[i - 1];
    } else {
        auto* d = static_cast<u8*>(dst);
        auto* s = static_cast<const u8*>(src);
        for (usize i = n; i != 0; --i) d[i - 1] = s[i - 1];
    }
    return dst;
}

void* memset(void* dst, int value, usize n) {
    if (words_ok(dst, nullptr, n)) {
        const u64 pattern = 0x0101010101010101ull * static_cast<u8>(value);
        auto* d = static_cast<u64*>(dst);
        for (usize i = 0; i < n / 8; ++i) d[i] = pattern;
    } else {
        auto* d = static_cast<u8*>(dst);
        for (usize i = 0; i < n; ++i) d[i] = static_cast<u8>(value);
    }
    return dst;
}

int memcmp(const void* a, const void* b, usize n) {
    auto* x = static_cast<const u8*>(a);
    auto* y = static_cast<const u8*>(b);
    for (usize i = 0; i < n; ++i) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

usize strlen(const char* s) {
    usize n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

[[noreturn]] void abort() {
    bh::rt::print("abort\n");
    bh::rt::system_off();
}

// C++ ABI: guests have no exit, so destructors of statics are never registered.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

[[noreturn]] void __cxa_pure_virtual() {
    bh::rt::print("pure virtual function called\n");
    bh::rt::system_off();
}

}  // extern "C"

// There is no heap; a virtual destructor still needs an operator delete to link.
void operator delete(void*) noexcept { abort(); }
void operator delete(void*, usize) noexcept { abort(); }

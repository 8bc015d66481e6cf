#include <lib/bulk_memory.hpp>

namespace bh {

void scrub(void* p, u64 size) {
    u64* w = static_cast<u64*>(p);
    for (u64 i = 0; i < size / 8; ++i) w[i] = 0;
}

void copy_bytes(void* dst, const void* src, u64 size) {
    u8* d = static_cast<u8*>(dst);
    const u8* s = static_cast<const u8*>(src);
    for (u64 i = 0; i < size; ++i) d[i] = s[i];
}

}  // namespace bh

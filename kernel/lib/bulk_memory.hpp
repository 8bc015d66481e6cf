// Zeroing and copying large ranges: the boot CNode, a partition's memory on every (re)start, its
// images. Not inlined, so that fuzz builds can leave these loops uninstrumented by name
// (fuzz/oracle-ignorelist.txt): a coverage callback per word would dominate every restart.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

// `size` bytes at `p`, word by word: callers pass page-aligned ranges.
[[gnu::noinline]] void scrub(void* p, u64 size);
[[gnu::noinline]] void copy_bytes(void* dst, const void* src, u64 size);

}  // namespace bh

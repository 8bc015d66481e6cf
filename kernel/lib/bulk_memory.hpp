// Zeroing a large range the kernel keeps for itself (the boot CNode). Memory handed to a
// partition is zeroed and copied by the arch layer, which cleans it as it goes
// (arch::zero_to_poc, arch::copy_to_poc). Not inlined, so that fuzz builds can leave the loop
// uninstrumented by name (fuzz/oracle-ignorelist.txt): a coverage callback per word.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

// `size` bytes at `p`, word by word: callers pass page-aligned ranges.
[[gnu::noinline]] void scrub(void* p, u64 size);

}  // namespace bh

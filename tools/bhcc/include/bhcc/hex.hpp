// Address formatting shared by messages and the dump, so both print ranges the same way.
#pragma once

#include <bulkhead/types.hpp>

#include <string>

namespace bhcc {

[[nodiscard]] std::string hex(bh::u64 value);                        // "0x48000000"
[[nodiscard]] std::string hex_range(bh::u64 base, bh::u64 size);     // "[0x48000000, 0x49000000)"

}  // namespace bhcc

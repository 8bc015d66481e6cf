#include <bulkhead/crc32.hpp>

#include "arch/arch.hpp"

namespace bh {

// The running remainder is the arch's (Armv8's CRC32X at EL2, the table code on the host); the
// definition's initial and final inversion are here, once.
u32 crc32(const void* data, usize length, u32 crc) {
    return ~arch::crc32_update(~crc, static_cast<const u8*>(data), length);
}

}  // namespace bh

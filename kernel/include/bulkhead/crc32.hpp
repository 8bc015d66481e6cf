// CRC-32 as used by IEEE 802.3, zlib and PNG: reflected, polynomial 0xEDB88320, initial value
// and final XOR 0xFFFFFFFF. The boot manifest is checksummed with it (see manifest.hpp), so the
// kernel and the host config compiler must agree bit for bit. Part of the ABI so that tools can
// write and check manifests; defined in kernel/lib/crc32.cpp (the kernel and its host library).
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

// Chaining: crc32(b, nb, crc32(a, na)) == crc32(a followed by b). The initial/final XOR is
// applied inside, so callers pass the previous *result* (0 to start), as with zlib's crc32().
u32 crc32(const void* data, usize length, u32 crc = 0);

}  // namespace bh

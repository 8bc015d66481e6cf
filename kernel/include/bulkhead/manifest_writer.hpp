// Writer side of the boot manifest, for the host config compiler and tests: lay out
// ManifestHeader | ops | images yourself, then call manifest_finalize to fill the two fields
// that depend on everything else.
#pragma once

#include <bulkhead/crc32.hpp>
#include <bulkhead/manifest.hpp>
#include <bulkhead/types.hpp>

namespace bh {

// Sets header.total_size = total_size and header.checksum = CRC-32 over
// [kChecksumStart, total_size). Returns total_size, or 0 (writing nothing) when total_size
// cannot hold a header or does not fit the 32-bit field.
inline usize manifest_finalize(void* data, usize total_size) {
    if (total_size < sizeof(manifest::ManifestHeader) || total_size > 0xFFFF'FFFFu) return 0;
    u8* bytes = static_cast<u8*>(data);
    manifest::ManifestHeader header;
    __builtin_memcpy(&header, bytes, sizeof(header));
    header.total_size = static_cast<u32>(total_size);
    __builtin_memcpy(bytes, &header, sizeof(header));
    header.checksum = crc32(bytes + manifest::kChecksumStart, total_size - manifest::kChecksumStart);
    __builtin_memcpy(bytes, &header, sizeof(header));
    return total_size;
}

}  // namespace bh

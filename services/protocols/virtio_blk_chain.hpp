// The checks a virtio-blk request chain from an unmodified guest (Linux's virtio_blk over the
// forwarded virtio-mmio window: docs/blk-protocol.md, "Linux as an unmodified client") passes
// before the block driver uses it. The driver copies each descriptor once into its own memory
// and checks the copy here; header-only so that the host unit tests run it unchanged.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::vblk {

inline constexpr u16 kDescNext = 1, kDescWrite = 2;  // VIRTQ_DESC_F_NEXT, _WRITE (INDIRECT is not offered)
inline constexpr u32 kSectorSize = 512;
inline constexpr u32 kSegmentMax = 4096;  // VIRTIO_BLK_F_SIZE_MAX: one driver bounce buffer
inline constexpr u32 kSegmentsMax = 7;    // VIRTIO_BLK_F_SEG_MAX: a batch of bounce buffers, one left for the flush
inline constexpr u32 kChainMax = kSegmentsMax + 2;  // header, data segments, status
inline constexpr u32 kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeGetId = 8;
inline constexpr u8 kStatusOk = 0, kStatusIoErr = 1, kStatusUnsupported = 2;
inline constexpr u32 kHeaderSize = 16;

struct Desc {  // a descriptor as copied out of the guest's table
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

enum class ChainCheck {
    Ok,
    BadIndex,      // a descriptor index past the queue, or a chain longer than kChainMax (a loop)
    BadBuffer,     // a buffer outside the DMA window (or wrapping)
    BadLayout,     // not header (device-readable, 16 bytes), data, status (device-writable, >= 1 byte)
    BadSegment,    // a data segment not whole sectors, empty, larger than kSegmentMax, or the wrong direction
    BadSector,     // sectors past the disk
    Unsupported,   // a request type the device does not offer (answered kStatusUnsupported)
};

// Whether [addr, addr + len) lies inside the window [base, base + size) (no overflow).
constexpr bool in_window(u64 addr, u64 len, u64 base, u64 size) {
    return len != 0 && addr >= base && addr - base <= size && len <= size - (addr - base);
}

// One chain: `d[0..count)` as copied, `type` and `sector` from the copied header. Checks layout,
// directions, lengths and the disk range; the caller checked each buffer with in_window while
// copying and the chain's length against kChainMax.
constexpr ChainCheck check_chain(const Desc* d, u32 count, u32 type, u64 sector, u64 capacity_sectors, bool flush) {
    if (count < 2 || d[0].len < kHeaderSize || (d[0].flags & kDescWrite) != 0) return ChainCheck::BadLayout;
    const Desc& status = d[count - 1];
    if ((status.flags & kDescWrite) == 0 || status.len < 1) return ChainCheck::BadLayout;
    const u32 segments = count - 2;
    if (type == kTypeFlush) return segments == 0 ? (flush ? ChainCheck::Ok : ChainCheck::Unsupported) : ChainCheck::BadLayout;
    if (type != kTypeIn && type != kTypeOut) return ChainCheck::Unsupported;
    if (segments == 0 || segments > kSegmentsMax) return ChainCheck::BadLayout;
    u64 sectors = 0;
    for (u32 i = 1; i + 1 < count; ++i) {
        const bool device_writes = (d[i].flags & kDescWrite) != 0;
        if (d[i].len == 0 || d[i].len % kSectorSize != 0 || d[i].len > kSegmentMax ||
            device_writes != (type == kTypeIn))
            return ChainCheck::BadSegment;
        sectors += d[i].len / kSectorSize;
    }
    if (sector >= capacity_sectors || sectors > capacity_sectors - sector) return ChainCheck::BadSector;
    return ChainCheck::Ok;
}

}  // namespace bh::vblk

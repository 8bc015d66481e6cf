// The block service's client interface (docs/blk-protocol.md is the specification): the layout of
// one client's channel, shared by the block driver partition (services/driver-vms/blk) and its
// clients (guests/blkclient). Everything here is ABI between partitions: fields are only ever
// appended, never moved, and every layout is pinned by a static_assert.
//
// A channel is the client's whole window on the driver: page 0 holds the header and the two
// rings, the pages after it the data area that requests point into. Every field sits at a
// naturally aligned offset because guests run with the MMU off (Device memory, -mstrict-align).
#pragma once

#include <bulkhead/types.hpp>

namespace bh::blk {

using s32 = int32_t;

inline constexpr u64 kChannelSize = 32 * 1024;
inline constexpr u64 kDataOffset = 4096;  // the data area: the channel after page 0
inline constexpr u64 kDataSize = kChannelSize - kDataOffset;
inline constexpr u32 kSectorSize = 512;
inline constexpr u32 kMaxRequestBytes = 4096;  // one request moves at most one page
inline constexpr u32 kRingEntries = 16;        // both rings; a power of two
inline constexpr u64 kDetached = ~0ull;        // ClientSide::generation of a client that is done

// Request operations (virtio-blk's numbers, so the driver forwards them unchanged).
enum class Op : u32 { In = 0, Out = 1, Flush = 4 };

// Completion statuses: 0 or a negative reason. A refused request never reached the device.
enum class Reply : s32 {
    Ok = 0,
    IoError = -1,        // the device failed it
    BadOp = -2,          // op is none of Op
    BadLength = -3,      // length 0, not a multiple of kSectorSize, or above kMaxRequestBytes
    BadBuffer = -4,      // offset not sector-aligned, or [offset, offset + length) not inside the data area
    BadSector = -5,      // [sector, sector + length / kSectorSize) is not inside the disk
    BadRing = -6,        // the client's ring indices were out of range: the ring was not read
};

// What a client asks: `length` bytes between sector `sector` of the disk and the data area at
// `offset` (both ignored for Flush). `tag` is the client's own and comes back in the completion.
struct Request {
    u64 tag;
    u32 op;
    u32 length;
    u64 sector;
    u32 offset;
    u32 reserved;
};
static_assert(sizeof(Request) == 32 && alignof(Request) == 8);
static_assert(__builtin_offsetof(Request, tag) == 0 && __builtin_offsetof(Request, op) == 8 &&
              __builtin_offsetof(Request, length) == 12 && __builtin_offsetof(Request, sector) == 16 &&
              __builtin_offsetof(Request, offset) == 24);

// What the driver answers, one per consumed request (or one per refused ring, tag kRingTag).
struct Completion {
    u64 tag;
    s32 status;  // a Reply
    u32 length;  // bytes moved (0 when refused or failed)
    u64 generation;  // the driver run that completed it
    u64 reserved;
};
static_assert(sizeof(Completion) == 32 && alignof(Completion) == 8);
static_assert(__builtin_offsetof(Completion, status) == 8 && __builtin_offsetof(Completion, generation) == 16);
inline constexpr u64 kRingTag = ~0ull;

// Written by the driver only (a client that writes here hurts only its own channel).
struct DriverSide {
    u64 generation;     // the driver's run: 1 + its restarts; changes on every restart
    u64 request_consumer;   // requests consumed (the driver's private count, published)
    u64 completion_producer;  // completions written
    u64 capacity;       // the disk's size in sectors
    u64 refused;        // requests and ring states refused in this generation
    u64 reserved[3];
};
static_assert(sizeof(DriverSide) == 64);

// Written by the client only; the driver reads each field once per pass, into its own memory.
struct ClientSide {
    u64 generation;            // the driver generation the client attached to, or kDetached
    u64 request_producer;      // requests written
    u64 completion_consumer;   // completions read
    u64 reserved[5];
};
static_assert(sizeof(ClientSide) == 64);

struct Header {
    DriverSide driver;
    ClientSide client;
    Request requests[kRingEntries];
    Completion completions[kRingEntries];
};
static_assert(__builtin_offsetof(Header, driver) == 0 && __builtin_offsetof(Header, client) == 64 &&
              __builtin_offsetof(Header, requests) == 128 && __builtin_offsetof(Header, completions) == 640);
static_assert(sizeof(Header) == 1152 && sizeof(Header) <= kDataOffset);
static_assert((kRingEntries & (kRingEntries - 1)) == 0);
static_assert(kDataSize % kMaxRequestBytes == 0);

// The validation every request passes before the driver uses it, on the driver's private copy
// (header-only so that the host unit tests run it unchanged).
constexpr Reply check_request(const Request& r, u64 capacity_sectors) {
    if (r.op == static_cast<u32>(Op::Flush)) return Reply::Ok;
    if (r.op != static_cast<u32>(Op::In) && r.op != static_cast<u32>(Op::Out)) return Reply::BadOp;
    if (r.length == 0 || r.length % kSectorSize != 0 || r.length > kMaxRequestBytes) return Reply::BadLength;
    // Aligned too: the driver copies with aligned 8-byte accesses (Device memory faults otherwise).
    if (r.offset % kSectorSize != 0 || r.offset > kDataSize || r.length > kDataSize - r.offset) return Reply::BadBuffer;
    const u64 sectors = r.length / kSectorSize;
    if (r.sector >= capacity_sectors || sectors > capacity_sectors - r.sector) return Reply::BadSector;
    return Reply::Ok;
}

// A ring state is usable when the producer is at most kRingEntries ahead of the consumer (u64
// free-running indices; a producer behind the consumer wraps to a huge distance and is refused).
constexpr bool ring_in_range(u64 producer, u64 consumer) { return producer - consumer <= kRingEntries; }

}  // namespace bh::blk

// Forwarded MMIO (docs/abi.md "Forwarded MMIO", docs/isolation.md): a client partition's IPA
// window that the system description forwards to a server partition. A load or store the client
// makes there traps; the kernel writes it into the forward's request page as one Request, signals
// the server's doorbell and parks the client's vCPU until the server answers with MmioReply.
//
// The request page is a 4 KiB frame the kernel writes and the server maps read-only: slot i
// belongs to the client's vCPU i. The kernel fills a slot only while that vCPU is parked on it,
// and writes `sequence` last (after a barrier); a server reads `sequence`, then (barrier) the
// other fields, then `sequence` again, and takes the request only when both reads agree and
// differ from the last sequence it answered for that slot. A server that answers with a sequence
// the kernel no longer waits for (answered already, the client stopped, a newer request) is
// refused with NotFound and changes nothing.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/types.hpp>

namespace bh::forwarded {

struct Request {
    u64 sequence;  // this vCPU's request count: never 0 for a request, never repeats
    u64 offset;    // from the window's base
    u32 size;      // bytes: 1, 2, 4 or 8, naturally aligned (the syndrome's)
    u32 write;     // 1: a store of `value`; 0: a load, answered with MmioReply's value
    u64 value;     // a store's value (its low `size` bytes); 0 for a load
};
static_assert(sizeof(Request) == 32);
static_assert(__builtin_offsetof(Request, sequence) == 0 && __builtin_offsetof(Request, offset) == 8 &&
              __builtin_offsetof(Request, size) == 16 && __builtin_offsetof(Request, write) == 20 &&
              __builtin_offsetof(Request, value) == 24);

inline constexpr unsigned kSlots = manifest::kMaxVcpusPerPartition;

struct RequestPage {
    Request slot[kSlots];
};
static_assert(sizeof(RequestPage) == 128 && sizeof(RequestPage) <= 4096);

// What a load reads when the server cannot answer it (its partition is not running: stopped,
// or restarting when the load was made or while the vCPU waited): all ones, as a PCIe read
// that no device completes. Such a store is dropped.
inline constexpr u64 kNoDevice = ~0ull;

}  // namespace bh::forwarded

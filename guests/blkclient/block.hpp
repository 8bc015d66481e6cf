// What a block client writes into every 4 KiB block of its disk range, so that a reader (the
// client itself, or tools/blk-disk-check on the image file after QEMU exits) can tell the block's
// owner, its number, which write it is (the sequence number) and that it is whole (the checksum).
#pragma once

#include <bulkhead/types.hpp>

namespace bh::blkclient {

inline constexpr u64 kBlockBytes = 4096;
inline constexpr u64 kWords = kBlockBytes / 8;
inline constexpr u64 kMagic = 0x4b4c4248'4b4c4230ull;  // "0BLKHBLK"

// Word 0 magic, 1 client, 2 block number on the disk, 3 sequence number, 4 checksum, then the
// payload: a pattern of (client, block, sequence).
inline constexpr u64 kChecksumWord = 4;

inline u64 payload_word(u64 client, u64 block, u64 seq, u64 i) {
    return ((client << 56) ^ (block << 32) ^ seq ^ (i << 20)) * 0x9e3779b97f4a7c15ull;
}

// FNV-1a over the 64-bit words, the checksum word itself taken as 0.
template <class Words>
u64 checksum(const Words& w) {
    u64 h = 0xcbf29ce484222325ull;
    for (u64 i = 0; i < kWords; ++i) {
        h ^= i == kChecksumWord ? 0 : static_cast<u64>(w[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

inline void fill(volatile u64* w, u64 client, u64 block, u64 seq) {
    w[0] = kMagic;
    w[1] = client;
    w[2] = block;
    w[3] = seq;
    w[kChecksumWord] = 0;
    for (u64 i = kChecksumWord + 1; i < kWords; ++i) w[i] = payload_word(client, block, seq, i);
    w[kChecksumWord] = checksum(w);
}

}  // namespace bh::blkclient

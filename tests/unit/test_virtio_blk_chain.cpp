// The checks a virtio-blk request chain from an unmodified guest passes in the block driver
// (services/protocols/virtio_blk_chain.hpp, docs/blk-protocol.md "Linux as an unmodified
// client"), at and around every bound, on the host.
#include <catch2/catch_test_macros.hpp>

#include "../../services/protocols/virtio_blk_chain.hpp"

using namespace bh;
using namespace bh::vblk;

namespace {

constexpr u64 kBase = 0x3fe0'0000, kSize = 0x20'0000, kCapacity = 2048;

struct Chain {
    Desc d[kChainMax];
    u32 count = 0;
    Chain& add(u64 addr, u32 len, bool device_writes) {
        d[count++] = Desc{addr, len, static_cast<u16>(device_writes ? kDescWrite : 0), 0};
        return *this;
    }
    ChainCheck check(u32 type, u64 sector = 0, bool flush = true) const {
        return check_chain(d, count, type, sector, kCapacity, flush);
    }
};

Chain request(u32 type, u32 segments, u32 len = 4096) {
    Chain c;
    c.add(kBase, kHeaderSize, false);
    for (u32 i = 0; i < segments; ++i) c.add(kBase + 0x1000 * (i + 1), len, type == kTypeIn);
    c.add(kBase + 0x10'0000, 1, true);
    return c;
}

}  // namespace

TEST_CASE("vblk: a buffer is in the window only when all of it is", "[vblk][T-96]") {
    CHECK(in_window(kBase, kSize, kBase, kSize));
    CHECK(in_window(kBase + kSize - 1, 1, kBase, kSize));
    CHECK_FALSE(in_window(kBase + kSize - 1, 2, kBase, kSize));
    CHECK_FALSE(in_window(kBase + kSize, 1, kBase, kSize));
    CHECK_FALSE(in_window(kBase - 1, 2, kBase, kSize));
    CHECK_FALSE(in_window(kBase, 0, kBase, kSize));
    CHECK_FALSE(in_window(~0ull, 2, kBase, kSize));              // wraps
    CHECK_FALSE(in_window(kBase + 8, ~0ull - 4, kBase, kSize));  // a length that wraps past the end
}

TEST_CASE("vblk: a request is accepted only with its header, whole sectors inside the disk and its status",
          "[vblk][T-96]") {
    CHECK(request(kTypeIn, 1).check(kTypeIn) == ChainCheck::Ok);
    CHECK(request(kTypeOut, kSegmentsMax).check(kTypeOut) == ChainCheck::Ok);
    CHECK(request(kTypeOut, kSegmentsMax + 1).check(kTypeOut) == ChainCheck::BadLayout);
    CHECK(request(kTypeIn, 0).check(kTypeIn) == ChainCheck::BadLayout);
    CHECK(request(kTypeIn, 1, 512).check(kTypeIn) == ChainCheck::Ok);
    CHECK(request(kTypeIn, 1, 513).check(kTypeIn) == ChainCheck::BadSegment);
    CHECK(request(kTypeIn, 1, 8192).check(kTypeIn) == ChainCheck::BadSegment);
    // The data's direction is the request's: an IN's buffers are written by the device.
    Chain wrong = request(kTypeIn, 1);
    wrong.d[1].flags = 0;
    CHECK(wrong.check(kTypeIn) == ChainCheck::BadSegment);
    // A header the device would write, or a status it may not.
    Chain header = request(kTypeOut, 1);
    header.d[0].flags = kDescWrite;
    CHECK(header.check(kTypeOut) == ChainCheck::BadLayout);
    Chain status = request(kTypeOut, 1);
    status.d[status.count - 1].flags = 0;
    CHECK(status.check(kTypeOut) == ChainCheck::BadLayout);
    // Sectors: the last 4 KiB of the disk, one past it, and a sector number that would wrap.
    CHECK(request(kTypeOut, 1).check(kTypeOut, kCapacity - 8) == ChainCheck::Ok);
    CHECK(request(kTypeOut, 1).check(kTypeOut, kCapacity - 7) == ChainCheck::BadSector);
    CHECK(request(kTypeOut, 1).check(kTypeOut, ~0ull - 1) == ChainCheck::BadSector);
    // FLUSH carries no data, and only a device with a volatile cache offers it.
    CHECK(request(kTypeFlush, 0).check(kTypeFlush) == ChainCheck::Ok);
    CHECK(request(kTypeFlush, 0).check(kTypeFlush, 0, false) == ChainCheck::Unsupported);
    CHECK(request(kTypeFlush, 1).check(kTypeFlush) == ChainCheck::BadLayout);
    CHECK(request(kTypeGetId, 1).check(kTypeGetId) == ChainCheck::Unsupported);
    CHECK(request(99, 1).check(99) == ChainCheck::Unsupported);
}

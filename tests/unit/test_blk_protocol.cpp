// The block service's request checks (services/protocols/blk_protocol.hpp, docs/blk-protocol.md):
// what the driver partition accepts of a client, on the host, at and around every bound.
#include <catch2/catch_test_macros.hpp>

#include "../../services/protocols/blk_protocol.hpp"

using namespace bh;
using namespace bh::blk;

namespace {

constexpr u64 kDisk = 2048;  // sectors
constexpr u32 kIn = static_cast<u32>(Op::In);
constexpr u32 kOut = static_cast<u32>(Op::Out);

Reply check(u32 op, u32 length, u64 sector, u32 offset) { return check_request(Request{7, op, length, sector, offset, 0}, kDisk); }

}  // namespace

TEST_CASE("blk: a request is accepted only inside the data area and the disk", "[blk][T-50][T-90]") {
    CHECK(check(kOut, 4096, 0, 0) == Reply::Ok);
    CHECK(check(kIn, 512, kDisk - 1, static_cast<u32>(kDataSize - 512)) == Reply::Ok);
    CHECK(check(kIn, 4096, kDisk - 8, static_cast<u32>(kDataSize - 4096)) == Reply::Ok);
    CHECK(check(static_cast<u32>(Op::Flush), 0, ~0ull, ~0u) == Reply::Ok);  // a flush moves nothing

    CHECK(check(2, 512, 0, 0) == Reply::BadOp);
    CHECK(check(~0u, 512, 0, 0) == Reply::BadOp);

    CHECK(check(kOut, 0, 0, 0) == Reply::BadLength);
    CHECK(check(kOut, 100, 0, 0) == Reply::BadLength);
    CHECK(check(kOut, 4096 + 512, 0, 0) == Reply::BadLength);
    CHECK(check(kOut, ~0u & ~511u, 0, 0) == Reply::BadLength);

    CHECK(check(kIn, 512, 0, 4) == Reply::BadBuffer);  // not sector-aligned
    CHECK(check(kIn, 512, 0, static_cast<u32>(kDataSize)) == Reply::BadBuffer);
    CHECK(check(kIn, 4096, 0, static_cast<u32>(kDataSize - 512)) == Reply::BadBuffer);
    CHECK(check(kIn, 4096, 0, 0xffff'f000u) == Reply::BadBuffer);  // offset + length wraps in 32 bits

    CHECK(check(kIn, 512, kDisk, 0) == Reply::BadSector);
    CHECK(check(kIn, 4096, kDisk - 7, 0) == Reply::BadSector);
    CHECK(check(kIn, 4096, ~0ull - 2, 0) == Reply::BadSector);  // sector + count wraps in 64 bits
    CHECK(check_request(Request{1, kIn, 512, 0, 0, 0}, 0) == Reply::BadSector);  // an empty disk
}

TEST_CASE("blk: ring indices are in range only within one ring of each other", "[blk][T-90]") {
    CHECK(ring_in_range(0, 0));
    CHECK(ring_in_range(kRingEntries, 0));
    CHECK_FALSE(ring_in_range(kRingEntries + 1, 0));
    CHECK_FALSE(ring_in_range(0, 1));  // producer behind the consumer
    CHECK(ring_in_range(5, ~0ull - 2));  // across the wrap of the free-running count
    CHECK_FALSE(ring_in_range(~0ull, 0));
}

#include <catch2/catch_test_macros.hpp>

#include <bulkhead/platform.hpp>

#include "arch/arch.hpp"
#include "arch/host/host_memory.hpp"
#include "memory/object_memory.hpp"

using namespace bh;

namespace {
constexpr PhysAddr kBase{platform::kObjectMemoryBase};

bool all_zero(PhysAddr pa, u64 size) {
    const auto* p = static_cast<const u8*>(arch::phys_to_virt(pa));
    for (u64 i = 0; i < size; ++i)
        if (p[i] != 0) return false;
    return true;
}
}  // namespace

TEST_CASE("object memory: init validates the range", "[object_memory][T-47]") {
    host::reset_all();
    ObjectMemory m;
    CHECK(m.init(PhysAddr(kBase.raw() + 8), kPageSize) == Status::Misaligned);
    CHECK(m.init(kBase, kPageSize + 8) == Status::Misaligned);
    CHECK(m.init(kBase, 0) == Status::OutOfRange);
    CHECK(m.init(PhysAddr(0xFFFF'FFFF'FFFF'F000ull), 2 * kPageSize) == Status::OutOfRange);
    CHECK(m.init(PhysAddr(0x1000), kPageSize) == Status::OutOfRange);  // not RAM
    CHECK(m.init(PhysAddr(platform::kRamBase + platform::kDefaultRamSize - kPageSize), 2 * kPageSize) ==
          Status::OutOfRange);  // runs past the end of RAM
    CHECK_FALSE(m.initialized());
    REQUIRE(m.init(kBase, 16 * kPageSize) == Status::Ok);
    CHECK(m.base() == kBase);
    CHECK(m.size() == 16 * kPageSize);
    CHECK(m.used() == 0);
    CHECK(m.available() == 16 * kPageSize);
    CHECK(m.init(kBase, 16 * kPageSize) == Status::Exists);
}

TEST_CASE("object memory: allocations are aligned, zeroed and move the watermark", "[object_memory][T-5]") {
    host::reset_all();
    // Dirty the memory first: allocate must zero what it hands out.
    auto* raw = static_cast<u8*>(arch::phys_to_virt(kBase));
    for (u64 i = 0; i < 8 * kPageSize; ++i) raw[i] = 0xA5;

    ObjectMemory m;
    REQUIRE(m.init(kBase, 8 * kPageSize) == Status::Ok);
    Result<PhysAddr> a = m.allocate(24, 8);
    REQUIRE(a.ok());
    CHECK(a.value() == kBase);
    CHECK(all_zero(a.value(), 24));
    CHECK(raw[24] == 0xA5);  // nothing beyond the piece was touched
    CHECK(m.used() == 24);

    Result<PhysAddr> b = m.allocate(2 * kPageSize, 2 * kPageSize);
    REQUIRE(b.ok());
    CHECK(b.value().aligned(2 * kPageSize));
    CHECK(b.value() == kBase + 2 * kPageSize);  // padding below is skipped
    CHECK(all_zero(b.value(), 2 * kPageSize));
    CHECK(m.used() == 4 * kPageSize);
    CHECK(m.available() == 4 * kPageSize);

    Result<PhysAddr> c = m.allocate(8, 8);
    REQUIRE(c.ok());
    CHECK(c.value() == kBase + 4 * kPageSize);
    CHECK(m.available() == 4 * kPageSize - 8);
    CHECK(m.available(kPageSize) == 3 * kPageSize);
}

TEST_CASE("object memory: refusals change nothing", "[object_memory][T-3][T-47]") {
    host::reset_all();
    ObjectMemory m;
    CHECK(m.allocate(8, 8).status() == Status::InvalidArgument);  // not initialised
    REQUIRE(m.init(kBase, 4 * kPageSize) == Status::Ok);
    CHECK(m.allocate(0, 8).status() == Status::InvalidArgument);
    CHECK(m.allocate(8, 4).status() == Status::InvalidArgument);
    CHECK(m.allocate(8, 24).status() == Status::InvalidArgument);
    CHECK(m.allocate(8, 0).status() == Status::InvalidArgument);
    CHECK(m.used() == 0);

    REQUIRE(m.allocate(kPageSize + 8, 8).ok());
    const u64 used = m.used();
    CHECK(m.allocate(3 * kPageSize, kPageSize).status() == Status::NoMemory);  // fits only unaligned
    CHECK(m.allocate(~0ull, 8).status() == Status::NoMemory);
    CHECK(m.allocate(8, 1ull << 63).status() == Status::NoMemory);  // aligning wraps
    CHECK(m.used() == used);
    REQUIRE(m.allocate(2 * kPageSize, kPageSize).ok());  // the exact remainder still fits
    CHECK(m.available() == 0);
    CHECK(m.allocate(8, 8).status() == Status::NoMemory);
}

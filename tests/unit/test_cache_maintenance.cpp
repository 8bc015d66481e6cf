// Memory changing hands is cleaned and invalidated to the point of coherency (issue: a partition
// running with its caches off reads DRAM, not the kernel's cache). The host arch records every
// arch::clean_invalidate_to_poc range; these tests check that each path that hands memory to a
// partition asked for exactly that memory: retype (zeroing), a partition's first launch (its
// images), a restart (zeroing and images), and a frame or channel a partition maps at run time
// (cleaned when it was zeroed, never written by the kernel since).
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

using namespace bh;
using namespace bh::test;
using F = hvc::Function;

namespace {

constexpr u64 kFramePa = kPartitionPa + 32 * kMiB;
constexpr u64 kChannelPa = kPartitionPa + 40 * kMiB;

}  // namespace

TEST_CASE("retype cleans to the point of coherency exactly the memory it zeroed", "[cache][T-5][INV-1]") {
    KernelFixture f;
    const u32 us = f.slot(), frames = f.slot();
    f.slot();
    REQUIRE(f.create_untyped(us, kFramePa, 22, false).ok());
    host::reset_counters();
    REQUIRE(f.retype(us, ObjectType::Frame, 21, frames, 2).ok());
    CHECK(host::cleaned_to_poc(PhysAddr(kFramePa), 4 * kMiB));
    CHECK(host::clean_to_poc_bytes() == 4 * kMiB);  // that memory, nothing else
    // Channels are zeroed, so cleaned, too.
    const u32 cu = f.slot(), ch = f.slot();
    REQUIRE(f.create_untyped(cu, kChannelPa, 16, false).ok());
    host::reset_counters();
    REQUIRE(f.retype(cu, ObjectType::Channel, 16, ch, 1).ok());
    CHECK(host::cleaned_to_poc(PhysAddr(kChannelPa), 1ull << 16));
    CHECK(host::clean_to_poc_bytes() == 1ull << 16);
    // Device memory is never zeroed, so never cleaned; a child Untyped is not zeroed either.
    const u32 du = f.slot();
    REQUIRE(f.create_untyped(du, 0x0901'0000, 12, true).ok());
    host::reset_counters();
    REQUIRE(f.retype(du, ObjectType::DeviceMmio, 12, f.slot(), 1).ok());
    const u32 big = f.slot();
    REQUIRE(f.create_untyped(big, kFramePa + 16 * kMiB, 22, false).ok());
    REQUIRE(f.retype(big, ObjectType::Untyped, 21, f.slot(), 1).ok());
    CHECK(host::clean_to_poc_calls() == 0);
}

TEST_CASE("a first launch writes and cleans only its images; a restart zeroes and cleans every private region, never a channel", "[cache][T-5][T-64]") {
    KernelFixture f;
    Partition& p = f.make("p", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
    const u32 cu = f.slot(), ch = f.slot();
    REQUIRE(f.create_untyped(cu, kChannelPa, 16, false).ok());
    REQUIRE(f.retype(cu, ObjectType::Channel, 16, ch, 1).ok());
    REQUIRE(f.map(p, f.at(ch), 0x6000'0000, manifest::attr::kRead | manifest::attr::kWrite).ok());
    static u8 image[3 * kPageSize + 100];
    for (u64 i = 0; i < sizeof image; ++i) image[i] = static_cast<u8>(i * 7 + 1);
    REQUIRE(f.load_image(p, kGuestRam + 0x1000, image, sizeof image).ok());
    host::reset_counters();
    REQUIRE(f.seal().ok());
    // Retype zeroed and cleaned the rest of the frame; only the image was written since.
    CHECK(host::cleaned_to_poc(PhysAddr(kPartitionPa + 0x1000), sizeof image));
    CHECK(host::clean_to_poc_bytes() == sizeof image);
    CHECK_FALSE(host::cleaned_to_poc(PhysAddr(kChannelPa), 1ull << 16));
    // A restart zeroes and cleans the whole region, then copies and cleans the image again.
    host::reset_counters();
    Vcpu& v = p.vcpus[0];
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, kEsrDataAbortWrite, 0, 0x5000'0000ull >> 8));
    REQUIRE(p.restarts == 1);
    CHECK(host::cleaned_to_poc(PhysAddr(kPartitionPa), 2 * kMiB));
    CHECK(host::clean_to_poc_bytes() == 2 * kMiB + sizeof image);
    CHECK_FALSE(host::cleaned_to_poc(PhysAddr(kChannelPa), 1ull << 16));
}

TEST_CASE("a frame a partition maps at run time was cleaned when it was zeroed, and not written since", "[cache][T-5][INV-1]") {
    KernelFixture f;
    Partition& p = f.make("p", kPartitionPa, 1);
    const u32 us = f.slot(), fr = f.slot();
    REQUIRE(f.create_untyped(us, kFramePa, 12, false).ok());
    host::reset_counters();
    REQUIRE(f.retype(us, ObjectType::Frame, 12, fr, 1).ok());
    REQUIRE(f.grant(fr, p, 2, Rights::read() | Rights::write()).ok());
    REQUIRE(f.seal().ok());
    const u64 cleaned = host::clean_to_poc_calls();
    CHECK(call_status(f.kernel, p.vcpus[0], F::FrameMap, {2, 0x5000'0000, manifest::attr::kRead | manifest::attr::kWrite}) == 0);
    CHECK(host::cleaned_to_poc(PhysAddr(kFramePa), kPageSize));
    // Mapping writes nothing into the frame, so it needs no further cleaning.
    CHECK(host::clean_to_poc_calls() == cleaned);
}

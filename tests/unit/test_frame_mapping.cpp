// Frame mapping (memory/frame_mapping.hpp, memory/map_attributes.hpp): requests decoded into
// MapAttributes, then mapped within the capability's rights, one frame into one partition, each
// cap once; the decode half (check_map_frame) refuses what map_frame refuses and changes nothing.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"

#include <string>

using namespace bh;
using namespace bh::test;
namespace attr = bh::manifest::attr;

namespace {

constexpr u64 kFrame = 2 * kMiB;  // the fixture's frames are 2 MiB unless asked otherwise
constexpr u64 kRw = attr::kRead | attr::kWrite;

std::string reason(const Outcome& o) { return o.reason(); }
MapAttributes attrs(u64 bits) { return MapAttributes::decode(bits).value(); }

}  // namespace

TEST_CASE("mapping attributes: requests are decoded, unknown bits never become attributes", "[frame_mapping]") {
    using MA = MapAttributes;
    for (u64 ok_bits : {attr::kRead, attr::kWrite, kRw, attr::kRead | attr::kExecute, kRwx}) {
        INFO(ok_bits);
        const Result<MA> a = MA::decode(ok_bits);
        REQUIRE(a.ok());
        CHECK(a.value().bits() == ok_bits);
        CHECK_FALSE(a.value().device());
    }
    const auto refused = [](u64 bits) {
        const Result<MA> a = MA::decode(bits);
        CHECK(a.status() == Status::InvalidArgument);
        return std::string(a.reason());
    };
    CHECK(refused(0) == "invalid access attributes");
    CHECK(refused(attr::kExecute) == "execute-only mapping");
    CHECK(refused(attr::kRead | attr::kDevice) == "invalid access attributes");  // the kernel's bit
    CHECK(refused(kRw | (1u << 3)) == "invalid access attributes");
    CHECK(refused(kRw | (1ull << 63)) == "invalid access attributes");

    // from_bits: what a table walk decodes; bits outside R, W, X and device are dropped.
    CHECK(MA::from_bits(kRw | (1u << 3)) == MA::from_bits(kRw));
    CHECK(MA::from_bits(kRw | attr::kDevice).device());
    CHECK(attrs(kRw).as_device() == MA::from_bits(kRw | attr::kDevice));
    CHECK_FALSE(MA::from_bits(0).encodable());
    CHECK_FALSE(MA::from_bits(attr::kExecute).encodable());
    CHECK_FALSE(MA::from_bits(kRwx | attr::kDevice).encodable());
    CHECK(MA::from_bits(kRw | attr::kDevice).encodable());
    // The rights a capability needs for a mapping.
    CHECK(attrs(kRwx).covered_by(Rights::read() | Rights::write() | Rights::execute()));
    CHECK_FALSE(attrs(kRwx).covered_by(Rights::read() | Rights::write()));
    CHECK_FALSE(attrs(attr::kWrite).covered_by(Rights::read()));
    CHECK(attrs(attr::kRead).covered_by(Rights::read() | Rights::grant()));
}

TEST_CASE("frames are mapped within their capability's rights, into one partition only", "[system][frame_mapping][INV-1][INV-2][INV-7][T-2][T-4][T-6][T-28][T-38][T-46][T-55][T-57][T-62]") {
    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha"));
    Partition& q = f.partition(f.partition("beta"));
    const u32 fr = f.frame(kPartitionPa);
    const u64 dev = attr::kRead | attr::kWrite;

    Outcome o = f.map(p, f.at(fr), kGuestRam + 0x1000, kRwx);
    CHECK(o.status() == Status::Misaligned);
    CHECK(reason(o) == "IPA not aligned to the frame");
    o = f.map(p, f.at(fr), kGuestRam, attr::kExecute);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "execute-only mapping");
    o = f.map(p, f.at(fr), kGuestRam, attr::kDevice | attr::kRead);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "invalid access attributes");
    o = f.map(p, f.at(manifest::kKernelUntypedSlot), kGuestRam, kRwx);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "not a Frame, DeviceMmio or Channel cap");
    CHECK(p.region_count == 0);
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam)).ok());

    REQUIRE(f.map(p, f.at(fr), kGuestRam, kRwx).ok());
    CHECK(f.at(fr).cap.mapped());
    CHECK(f.at(fr).cap.mapped_partition() == p.index);
    CHECK(f.at(fr).cap.mapped_ipa() == kGuestRam);
    o = f.map(p, f.at(fr), kGuestRam + kFrame, kRwx);  // one mapping per cap
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "capability already mapped");
    // A copy may map the frame again in the same partition, never in another one.
    const u32 copy1 = f.slot(), copy2 = f.slot();
    REQUIRE(ok(f.copy(f.at(fr), f.at(copy1))));
    REQUIRE(ok(f.copy(f.at(fr), f.at(copy2))));
    o = f.map(q, f.at(copy1), kGuestRam, kRwx);
    CHECK(o.status() == Status::Overlap);
    CHECK(reason(o) == "frame mapped by another partition");
    REQUIRE(f.map(p, f.at(copy1), kGuestRam + kFrame, attr::kRead).ok());
    CHECK(f.map(q, f.at(copy2), kGuestRam, kRwx).status() == Status::Overlap);
    // The IPA range must be free.
    const u32 other = f.frame(kPartitionPa + 4 * kMiB);
    o = f.map(p, f.at(other), kGuestRam, kRwx);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "IPA range refused by stage 2");

    // Rights: a read-only mint cannot be mapped writable.
    const u32 ro = f.slot();
    REQUIRE(ok(f.mint(f.at(other), f.at(ro), Rights::read() | Rights::grant(), 0)));
    o = f.map(q, f.at(ro), kGuestRam, attr::kRead | attr::kWrite);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "access exceeds the capability's rights");
    REQUIRE(f.map(q, f.at(ro), kGuestRam, attr::kRead).ok());
    CHECK(q.stage2.translate(Ipa(kGuestRam)).value().attrs.bits() == attr::kRead);

    // Device pages: from device untyped only, never executable.
    const u32 du = f.slot(), dp = f.slot();
    REQUIRE(f.create_untyped(du, 0x0901'0000, 12, true).ok());
    CHECK_FALSE(f.retype(du, ObjectType::Frame, 12, dp, 1).ok());
    REQUIRE(f.retype(du, ObjectType::DeviceMmio, 12, dp, 1).ok());
    o = f.map(p, f.at(dp), 0x0901'0000, dev | attr::kExecute);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "device memory cannot be executable");
    REQUIRE(f.map(p, f.at(dp), 0x0901'0000, dev).ok());
    CHECK(p.stage2.translate(Ipa(0x0901'0000)).value().attrs.bits() == (dev | attr::kDevice));
    CHECK(p.regions[p.region_count - 1].is_device());

    // Deleting a mapped cap removes its mapping (and only its own).
    REQUIRE(ok(f.delete_cap(f.at(copy1))));
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam + kFrame)).ok());
    CHECK(p.stage2.translate(Ipa(kGuestRam)).ok());
    CHECK(host::tlb_invalidations(p.vmid) >= 1);
    // Revoking the frame's original removes every mapping made through its copies.
    REQUIRE(f.map(p, f.at(copy2), kGuestRam + kFrame, attr::kRead).ok());
    caps::RevokeProgress r = f.revoke(f.at(fr), 16);
    CHECK(r.done);
    CHECK(r.deleted == 1);
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam + kFrame)).ok());
    CHECK(f.at(copy2).empty());
}

TEST_CASE("the decode half of a mapping refuses what mapping refuses and changes nothing", "[frame_mapping]") {
    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha"));
    Partition& q = f.partition(f.partition("beta"));
    const u32 fr = f.frame(kPartitionPa, 12), copy = f.slot();
    REQUIRE(ok(f.copy(f.at(fr), f.at(copy))));

    // Accepted: nothing is mapped until the invoke half runs.
    CHECK(check_map_frame(p, f.at(fr), Ipa(kGuestRam), attrs(kRw)).ok());
    CHECK(p.region_count == 0);
    CHECK_FALSE(f.at(fr).cap.mapped());
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam)).ok());
    map_frame_checked(p, f.at(fr), Ipa(kGuestRam), attrs(kRw));
    CHECK(f.at(fr).cap.mapped_partition() == p.index);
    REQUIRE(p.region_count == 1);
    CHECK(p.regions[0].pa == PhysAddr(kPartitionPa));
    CHECK(p.regions[0].attrs == attrs(kRw));
    CHECK(p.regions[0].is_private_ram());

    // Refused: the same status and reason as map_frame gives, nothing changed.
    const u32 regions = p.region_count;
    Outcome o = check_map_frame(q, f.at(copy), Ipa(kGuestRam), attrs(attr::kRead));
    CHECK(o.status() == Status::Overlap);
    CHECK(reason(o) == "frame mapped by another partition");
    o = check_map_frame(p, f.at(fr), Ipa(kGuestRam + 0x1000), attrs(kRw));
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "capability already mapped");
    o = check_map_frame(p, f.at(copy), Ipa(kGuestRam), attrs(kRw));
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "IPA range refused by stage 2");
    o = check_map_frame(p, f.at(copy), Ipa(1ull << 40), attrs(kRw));
    CHECK(o.status() == Status::OutOfRange);  // stage 2's own refusal, passed on
    CHECK(reason(o) == "IPA range refused by stage 2");
    CHECK(p.region_count == regions);
    CHECK_FALSE(f.at(copy).cap.mapped());
    CHECK(q.region_count == 0);
}

TEST_CASE("a partition has room for a bounded number of mappings", "[frame_mapping]") {
    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha"));
    const u32 us = f.slot(), first = f.slot();
    for (u32 i = 1; i <= Partition::kMaxRegions; ++i) f.slot();
    REQUIRE(f.create_untyped(us, kPartitionPa, 21, false).ok());
    REQUIRE(f.retype(us, ObjectType::Frame, 12, first, Partition::kMaxRegions + 1).ok());
    for (u32 i = 0; i < Partition::kMaxRegions; ++i)
        REQUIRE(f.map(p, f.at(first + i), kGuestRam + i * kPageSize, kRw).ok());
    const Outcome o = f.map(p, f.at(first + Partition::kMaxRegions), kGuestRam + kFrame, kRw);
    CHECK(o.status() == Status::NoMemory);
    CHECK(reason(o) == "too many mappings");
    CHECK(p.region_count == Partition::kMaxRegions);
}

TEST_CASE("unmapping: only a mapped cap, only from its own partition", "[frame_mapping]") {
    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha"));
    Partition& q = f.partition(f.partition("beta"));
    const u32 fr = f.frame(kPartitionPa, 12), unmapped = f.frame(kPartitionPa + 4 * kMiB, 12);
    REQUIRE(f.map(p, f.at(fr), kGuestRam, kRw).ok());

    Outcome o = check_unmap_frame(p, f.at(kKernelUntyped));
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "not a Frame, DeviceMmio or Channel cap");
    o = check_unmap_frame(p, f.at(unmapped));
    CHECK(o.status() == Status::NotFound);
    CHECK(reason(o) == "not mapped in this partition");
    o = check_unmap_frame(q, f.at(fr));
    CHECK(o.status() == Status::NotFound);
    CHECK(p.stage2.translate(Ipa(kGuestRam)).ok());

    REQUIRE(check_unmap_frame(p, f.at(fr)).ok());
    host::reset_counters();
    unmap_frame(f.kernel.partitions, f.at(fr).cap);
    CHECK_FALSE(p.stage2.translate(Ipa(kGuestRam)).ok());
    CHECK(p.region_count == 0);
    CHECK(host::tlb_invalidations(p.vmid) == 1);
    // The caller clears the cap's record (FrameUnmap does); an unmapped cap is left alone.
    f.at(fr).cap.set_mapping(PartitionId::none(), 0);
    CHECK_FALSE(f.at(fr).cap.mapped());
    unmap_frame(f.kernel.partitions, f.at(fr).cap);
    CHECK(host::tlb_invalidations(p.vmid) == 1);
    // Mapped again after the unmap: the IPA and the frame are free.
    CHECK(f.map(p, f.at(fr), kGuestRam, kRw).ok());
}

// The partition table (partition/partition_table.hpp): CreatePartition from a retyped Partition
// object and CNode, the table's lookups, and the image segments and entry point a partition is
// (re)started with, which must lie in memory it maps privately.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"

#include <arch/arch.hpp>
#include <string>
#include <vector>

using namespace bh;
using namespace bh::test;
namespace attr = bh::manifest::attr;

namespace {

constexpr u64 kFrame = 2 * kMiB;  // the fixture's partitions get one 2 MiB frame of RAM

std::string reason(const Outcome& o) { return o.reason(); }
u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }

}  // namespace

TEST_CASE("partitions are created from retyped objects", "[system][partition_table][T-28][T-32][T-47]") {
    KernelFixture f;
    using manifest::RestartPolicy;
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1).ok());
    REQUIRE(f.retype(kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs, 1).ok());
    CHECK(f.kernel.partitions.in_slot(f.kernel.boot, BootSlot(ps)) == nullptr);  // retyped, not yet a partition
    Outcome o = f.create_partition(cs, cs, "alpha", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "not a Partition cap");
    o = f.create_partition(ps, ps, "alpha", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "not a CNode cap");
    o = f.create_partition(ps, cs, "Bad Name", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "invalid partition name");
    o = f.create_partition(ps, cs, "v", RestartPolicy::Stop, 5);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "vCPU count out of range");
    CHECK(f.create_partition(ps, cs, "v", RestartPolicy::Stop, 0).status() == Status::InvalidArgument);
    o = f.create_partition(ps, cs, "v", static_cast<RestartPolicy>(9), 1);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "unknown restart policy");
    // The console marks the kernel's lines "[bulkhead]": a partition of that name could forge them.
    CHECK(f.create_partition(ps, cs, "bulkhead", RestartPolicy::Stop, 1).status() == Status::InvalidArgument);
    CHECK(f.create_partition(ps, cs, "", RestartPolicy::Stop, 1).status() == Status::InvalidArgument);
    CHECK(f.create_partition(ps, cs, "abcdefghijklmnopqrstuvwx", RestartPolicy::Stop, 1).status() ==
          Status::InvalidArgument);  // 24 characters: no room for the terminator
    o = f.create_partition(0, cs, "alpha", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such boot slot");
    CHECK(f.kernel.partitions.count() == 0);
    REQUIRE(f.create_partition(ps, cs, "alpha", RestartPolicy::Stop, 1).ok());
    Partition& p = f.partition(ps);
    CHECK(p.vmid == 1);
    CHECK(p.index == PartitionId(0));
    CHECK(p.cspace_root.type == ObjectType::CNode);
    CHECK(p.cspace_root.rights == (Rights::read() | Rights::write()));
    CHECK(p.load_state() == PartitionState::Built);
    o = f.create_partition(ps, cs, "again", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "partition already created");
    // Its stage-2 tables come from its own object, not from the kernel's shared memory.
    const u64 object = f.at(ps).cap.object;
    CHECK(p.stage2.root().raw() > object);
    CHECK(p.stage2.root().raw() < object + (1u << 16));
    // Two partitions cannot share a CSpace, nor a name.
    const u32 ps2 = f.slot(), cs2 = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Partition, 16, ps2, 1).ok());
    REQUIRE(f.retype(kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs2, 1).ok());
    o = f.create_partition(ps2, cs, "beta", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "CNode is already a partition's CSpace");
    o = f.create_partition(ps2, cs2, "alpha", RestartPolicy::Stop, 1);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "duplicate partition name");
    REQUIRE(f.create_partition(ps2, cs2, "beta", RestartPolicy::Restart, 4).ok());
    CHECK(f.partition(ps2).vmid == 2);
    CHECK(f.partition(ps2).vcpu_count == 4);
    CHECK(f.partition(ps2).restart_policy == RestartPolicy::Restart);
}

TEST_CASE("the partition table finds partitions by index, boot slot and object", "[partition_table]") {
    KernelFixture f;
    const u32 a = f.partition("alpha"), b = f.partition("beta");
    const PartitionTable& table = f.kernel.partitions;
    REQUIRE(table.count() == 2);
    CHECK(table[PartitionId(0)] == &f.partition(a));
    CHECK(table[PartitionId(1)] == &f.partition(b));
    CHECK(table[PartitionId(2)] == nullptr);
    CHECK(table[PartitionId::none()] == nullptr);
    CHECK(table.at(PhysAddr(f.at(b).cap.object)) == &f.partition(b));
    CHECK(table.at(PhysAddr(f.at(b).cap.object + kPageSize)) == nullptr);
    CHECK(table.in_slot(f.kernel.boot, BootSlot(a + 1)) == nullptr);  // its CNode
    CHECK(table.in_slot(f.kernel.boot, BootSlot(0)) == nullptr);
    std::vector<std::string> names;
    table.for_each([&](const Partition& p) { names.emplace_back(p.name); });
    CHECK(names == std::vector<std::string>{"alpha", "beta"});
}

TEST_CASE("image segments and the entry point lie in the partition's private memory", "[system][partition_table]") {
    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha"));
    const u32 fr = f.frame(kPartitionPa);
    REQUIRE(f.map(p, f.at(fr), kGuestRam, kRwx).ok());
    const u32 du = f.slot(), dp = f.slot();
    REQUIRE(f.create_untyped(du, 0x0901'0000, 12, true).ok());
    REQUIRE(f.retype(du, ObjectType::DeviceMmio, 12, dp, 1).ok());
    REQUIRE(f.map(p, f.at(dp), 0x0901'0000, attr::kRead | attr::kWrite).ok());
    const u32 data = f.frame(kPartitionPa + 4 * kMiB, 12);
    REQUIRE(f.map(p, f.at(data), 0x5000'0000, attr::kRead | attr::kWrite).ok());  // not executable

    Outcome o = f.set_entry(p, 0, kGuestRam + 2, 0);
    CHECK(o.status() == Status::Misaligned);
    CHECK(reason(o) == "entry point not 4-byte aligned");
    o = f.set_entry(p, 0, 0x1000, 0);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "entry point not in executable memory");
    CHECK(f.set_entry(p, 0, 0x0901'0000, 0).status() == Status::OutOfRange);  // device memory
    CHECK(f.set_entry(p, 0, 0x5000'0000, 0).status() == Status::OutOfRange);  // not executable
    o = f.set_entry(p, 1, kGuestRam, 0);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "only vCPU 0 starts at boot");
    CHECK_FALSE(p.has_entry);
    REQUIRE(f.set_entry(p, 0, kGuestRam + 0x40, 9).ok());
    CHECK(p.entry == kGuestRam + 0x40);
    CHECK(p.boot_arg == 9);
    o = f.set_entry(p, 0, kGuestRam, 0);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "entry already set");

    o = f.load_image(p, kGuestRam + kFrame - 4, ram(platform::kPayloadBase), 8);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "image segment outside the partition's memory");
    CHECK(f.load_image(p, 0x0901'0000, ram(platform::kPayloadBase), 8).status() == Status::OutOfRange);
    o = f.load_image(p, kGuestRam, nullptr, 8);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "empty image segment");
    CHECK(f.load_image(p, kGuestRam, ram(platform::kPayloadBase), 0).status() == Status::OutOfRange);
    CHECK(p.image_count == 0);
    // Readable-only private RAM is still the partition's own: an image may go there.
    CHECK(f.load_image(p, 0x5000'0000, ram(platform::kPayloadBase), 8).ok());
    for (u32 i = 1; i < Partition::kMaxImages; ++i)
        REQUIRE(f.load_image(p, kGuestRam + i * 0x1000, ram(platform::kPayloadBase), 8).ok());
    o = f.load_image(p, kGuestRam, ram(platform::kPayloadBase), 8);
    CHECK(o.status() == Status::NoMemory);
    CHECK(reason(o) == "too many image segments");
}

// The boot space (boot/boot_space.hpp): the boot CNode, the root Untypeds over RAM and device
// windows, retype from them (kernel memory makes kernel objects only: KF-1) and GrantCap into a
// partition's CSpace. Every refusal says why and leaves the state as it was.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"

#include <string>

using namespace bh;
using namespace bh::test;

namespace {

std::string reason(const Outcome& o) { return o.reason(); }

}  // namespace

TEST_CASE("root untyped regions are exclusive, inside RAM and outside the kernel", "[system][boot_space][INV-1][INV-2][INV-3][INV-6][T-2][T-6][T-7][T-8][T-10][T-26][T-28][T-57]") {
    KernelFixture f;
    const u32 s = f.slot();
    CHECK(f.create_untyped(s, kPartitionPa + 0x1000, 21, false).status() == Status::Misaligned);
    Outcome o = f.create_untyped(s, platform::kKernelRegionBase, 21, false);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "memory overlaps the kernel region");
    CHECK(f.create_untyped(s, platform::kPayloadBase, 21, false).status() == Status::Denied);
    o = f.create_untyped(s, 0xC000'0000, 21, false);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "memory outside RAM");
    o = f.create_untyped(s, kPartitionPa, 11, false);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "untyped size out of range");
    o = f.create_untyped(0, kPartitionPa, 21, false);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such boot slot");
    CHECK(f.create_untyped(manifest::kBootSlots, kPartitionPa, 21, false).status() == Status::OutOfRange);
    // MMIO is default deny: the GIC, the UART, fw_cfg and virtio-mmio are never assignable.
    for (u64 mmio : {0x0800'0000ull, 0x0900'0000ull, 0x0902'0000ull, 0x0a00'0000ull}) {
        o = f.create_untyped(s, mmio, 12, true);
        CHECK(o.status() == Status::Denied);
        CHECK(reason(o) == "MMIO not assignable to partitions");
    }
    CHECK(f.at(s).empty());

    REQUIRE(f.create_untyped(s, kPartitionPa, 22, false).ok());
    // Memory exclusivity starts here: no second region over the same memory, whatever its size.
    o = f.create_untyped(f.slot(), kPartitionPa + 2 * kMiB, 21, false);
    CHECK(o.status() == Status::Overlap);
    CHECK(reason(o) == "memory already given to a partition");
    CHECK(f.create_untyped(f.slot(), kPartitionPa, 25, false).status() == Status::Overlap);
    const u32 rtc = f.slot();
    REQUIRE(f.create_untyped(rtc, 0x0901'0000, 12, true).ok());
    CHECK(f.create_untyped(f.slot(), 0x0901'0000, 12, true).status() == Status::Overlap);
    CHECK(f.at(s).cap.type == ObjectType::Untyped);
    CHECK(f.at(rtc).cap.device());
    // An occupied slot: the root is not installed, and the region stays free for another slot.
    o = f.create_untyped(s, kPartitionPa + 8 * kMiB, 21, false);
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "cannot install the untyped cap");
    CHECK(f.create_untyped(f.slot(), kPartitionPa + 8 * kMiB, 21, false).ok());
}

TEST_CASE("the boot CNode holds the kernel's object memory and nothing at slot 0", "[boot_space]") {
    KernelFixture f;
    const BootSpace& boot = f.kernel.boot;
    CHECK(boot.slot(BootSlot(0)) == nullptr);
    CHECK(boot.slot(BootSlot(manifest::kBootSlots)) == nullptr);
    CHECK(boot.slot(BootSlot::none()) == nullptr);
    const Capability& objects = f.at(kKernelUntyped).cap;
    CHECK(objects.type == ObjectType::Untyped);
    CHECK(objects.object == platform::kObjectMemoryBase);
    CHECK(objects.size_bits == platform::kObjectMemoryBits);
    CHECK(boot.cnode().cap.object == platform::kBootCNodeBase);
    CHECK(boot.ram_base() == platform::kRamBase);
    CHECK(boot.ram_size() == platform::kDefaultRamSize);
    CHECK(boot.object_memory().used == 0);
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Vcpu, 0, f.slot(), 1).ok());
    CHECK(boot.object_memory().used == (1u << caps::kVcpuBits));
    CHECK(boot.object_memory().base == PhysAddr(platform::kObjectMemoryBase));
    CHECK(boot.object_memory().size == platform::kObjectMemorySize);
    CHECK_FALSE(boot.closed());
}

TEST_CASE("kernel memory makes kernel objects only, never mappable memory (KF-1)", "[system][boot_space]") {
    KernelFixture f;
    // Kernel memory never becomes a frame or a channel a partition could map (proofs/ KF-1).
    Outcome o = f.retype(kKernelUntyped, ObjectType::Frame, 12, f.slot(), 1);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "kernel memory cannot become mappable memory");
    o = f.retype(kKernelUntyped, ObjectType::Channel, 12, f.slot(), 1);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "kernel memory cannot become mappable memory");
    o = f.retype(kKernelUntyped, ObjectType::DeviceMmio, 12, f.slot(), 1);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "kernel memory cannot become mappable memory");
    CHECK(f.kernel.boot.object_memory().used == 0);
    // Kernel objects come from it, as do frames from RAM outside the kernel region.
    CHECK(f.retype(kKernelUntyped, ObjectType::Notification, 0, f.slot(), 1).ok());
    const u32 us = f.slot();
    REQUIRE(f.create_untyped(us, kPartitionPa, 21, false).ok());
    CHECK(f.retype(us, ObjectType::Frame, 12, f.slot(), 1).ok());
    // The capability core's own refusals come back as "retype refused", with its status.
    const u32 du = f.slot();
    REQUIRE(f.create_untyped(du, 0x0901'0000, 12, true).ok());
    o = f.retype(du, ObjectType::Frame, 12, f.slot(), 1);
    CHECK(o.status() == Status::InvalidArgument);  // device memory makes DeviceMmio only
    CHECK(reason(o) == "retype refused");
    o = f.retype(0, ObjectType::Frame, 12, f.slot(), 1);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such boot slot");
}

TEST_CASE("GrantCap mints a boot cap into a partition's CSpace, never more than the mask", "[boot_space]") {
    KernelFixture f;
    const u32 ps = f.partition("alpha");
    Partition& p = f.partition(ps);
    const u32 fr = f.frame(kPartitionPa, 12);
    CapSlot* cspace = caps::cnode_slots(p.cspace_root);

    REQUIRE(f.grant(fr, p, 1, Rights::read() | Rights::control()).ok());
    CHECK(cspace[1].cap.type == ObjectType::Frame);
    CHECK(cspace[1].cap.rights == Rights::read());  // Control means nothing for a frame
    CHECK(cspace[1].parent == &f.at(fr));           // the kernel keeps the original

    Outcome o = f.grant(fr, p, 0, Rights::read());
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such slot in the partition's CSpace");
    o = f.grant(fr, p, 1ull << PartitionTable::kCSpaceRadix, Rights::read());
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such slot in the partition's CSpace");
    o = f.grant(manifest::kBootSlots, p, 2, Rights::read());
    CHECK(o.status() == Status::OutOfRange);
    CHECK(reason(o) == "no such boot slot");
    o = f.grant(fr, p, 2, Rights::read(), 5);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "badge on a cap that is not a Notification or Channel");
    o = f.grant(fr, p, 1, Rights::read());
    CHECK(o.status() == Status::Exists);
    CHECK(reason(o) == "grant refused");
    o = f.grant(kKernelUntyped, p, 2, Rights::write());  // untyped caps are never derived
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "grant refused");
    CHECK(cspace[2].empty());
}

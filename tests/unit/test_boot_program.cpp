// The boot program (boot/boot_program.hpp): a validated manifest executed op by op through the
// kernel parts' operations; the first refused op stops it, with that op's own status and reason.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"
#include "manifest_program.hpp"

#include <boot/boot_program.hpp>
#include <string>
#include <vector>

using namespace bh;
using namespace bh::test;
using manifest::OpKind;

namespace {

constexpr u64 kFrame = 2 * kMiB;
constexpr u64 kPart = static_cast<u64>(ObjectType::Partition), kCNode = static_cast<u64>(ObjectType::CNode),
              kFrameType = static_cast<u64>(ObjectType::Frame), kVcpu = static_cast<u64>(ObjectType::Vcpu);

// One partition "solo" in boot slot 2 (CNode 3), its RAM's untyped in 4 and frame in 5 mapped
// with `attrs` at the guest RAM IPA, its Vcpu in 6 on core 1; sealed at the end.
void solo(ManifestProgram& m, u64 ram_pa, u64 attrs = kRwx) {
    m.ops.clear();
    m.op(OpKind::Retype, kKernelUntyped, {kPart, 16, 2, 1});
    m.op(OpKind::Retype, kKernelUntyped, {kCNode, PartitionTable::kCSpaceRadix, 3, 1});
    m.op(OpKind::CreatePartition, 2, {3, 0, 1}, "solo");
    m.op(OpKind::GrantCap, 3, {2, 1, Rights::kRead | Rights::kWrite | Rights::kGrant});
    m.op(OpKind::CreateUntyped, 4, {ram_pa, 21, 0});
    m.op(OpKind::Retype, 4, {kFrameType, 21, 5, 1});
    m.op(OpKind::MapFrame, 5, {2, kGuestRam, attrs});
    m.op(OpKind::GrantCap, 5, {2, 2, Rights::kRead | Rights::kWrite | Rights::kGrant});
    m.op(OpKind::Retype, kKernelUntyped, {kVcpu, 0, 6, 1});
    m.op(OpKind::BindVcpu, 6, {2, 0, 1});
    m.op(OpKind::StartVcpu, 0, {2, 0, kGuestRam, 0});
    m.op(OpKind::Seal, 0, {});
}

BootResult run(KernelFixture& f, const ManifestProgram& m) {
    const std::vector<u8> blob = m.blob();
    ManifestReader reader;
    REQUIRE(ok(reader.open(blob.data(), blob.size())));
    return run_boot_program(f.kernel, reader);
}

}  // namespace

TEST_CASE("the boot program runs a manifest through the system operations", "[system][boot][INV-1][INV-2][T-2][T-28][T-38]") {
    ManifestProgram m;
    KernelFixture f;
    solo(m, platform::kKernelImageBase & ~(kFrame - 1));  // over the kernel
    BootResult r = run(f, m);
    CHECK(r.outcome.status() == Status::Denied);
    CHECK_FALSE(r.ok());
    CHECK(r.op_index == 4);
    CHECK(std::string(r.outcome.reason()) == "memory overlaps the kernel region");
    CHECK_FALSE(f.kernel.sealed());

    KernelFixture g;
    solo(m, kPartitionPa);
    r = run(g, m);
    CHECK(r.outcome.status() == Status::Ok);
    CHECK(r.ok());
    CHECK(r.op_index == -1);
    CHECK(g.kernel.sealed());
    REQUIRE(g.kernel.partitions.count() == 1);
    Partition& p = *g.kernel.partitions[PartitionId(0)];
    CHECK(g.kernel.cores.on(CoreId(1)) == &p.vcpus[0]);
    // The partition holds what it was granted, with the rights it was granted.
    const CapSlot* cspace = caps::cnode_slots(p.cspace_root);
    CHECK(cspace[1].cap.type == ObjectType::CNode);
    CHECK(cspace[2].cap.type == ObjectType::Frame);
    CHECK(cspace[2].cap.rights == (Rights::read() | Rights::write() | Rights::grant()));
    CHECK_FALSE(cspace[2].cap.mapped());  // the boot program's cap holds the mapping
    CHECK(p.stage2.translate(Ipa(kGuestRam)).value().pa == PhysAddr(kPartitionPa));
}

TEST_CASE("the boot program stops at the first refused op, with that op's own reason", "[boot]") {
    ManifestProgram m;
    KernelFixture f;
    solo(m, kPartitionPa, manifest::attr::kExecute);  // the reader accepts it; the kernel does not
    const BootResult r = run(f, m);
    CHECK(r.outcome.status() == Status::InvalidArgument);
    CHECK(std::string(r.outcome.reason()) == "execute-only mapping");
    CHECK(r.op_index == 6);
    CHECK(f.kernel.partitions.count() == 1);
    CHECK_FALSE(f.partition(2).stage2.translate(Ipa(kGuestRam)).ok());
    CHECK(f.at(6).empty());  // nothing after the refused op ran
    CHECK_FALSE(f.kernel.sealed());

    // A reader that validated nothing runs nothing.
    KernelFixture g;
    ManifestReader unopened;
    const BootResult none = run_boot_program(g.kernel, unopened);
    CHECK(none.outcome.status() == Status::Corrupt);
    CHECK(std::string(none.outcome.reason()) == "manifest not validated");
    CHECK(none.op_index == -1);
}

TEST_CASE("single ops: a partition is named by its boot slot, MapFrame closes at seal", "[boot]") {
    ManifestProgram m;
    solo(m, kPartitionPa);
    const std::vector<u8> blob = m.blob();
    ManifestReader reader;
    REQUIRE(ok(reader.open(blob.data(), blob.size())));
    KernelFixture f;
    for (u32 i = 0; i + 1 < reader.op_count(); ++i) {
        INFO(op_name(reader.op(i).kind));
        REQUIRE(execute_op(f.kernel, reader, reader.op(i)).ok());
    }
    manifest::ManifestOp op = reader.op(6);  // MapFrame 5 -> partition in slot 2
    op.arg[0] = 4;                           // the untyped's slot: no partition there
    Outcome o = execute_op(f.kernel, reader, op);
    CHECK(o.status() == Status::NotFound);
    CHECK(std::string(o.reason()) == "no partition in that boot slot");
    op.arg[0] = manifest::kBootSlots;
    CHECK(execute_op(f.kernel, reader, op).status() == Status::NotFound);
    op = reader.op(6);
    op.slot = 0;
    o = execute_op(f.kernel, reader, op);
    CHECK(o.status() == Status::OutOfRange);
    CHECK(std::string(o.reason()) == "no such boot slot");
    op = reader.op(6);
    op.arg[2] = manifest::attr::kRead | manifest::attr::kDevice;
    o = execute_op(f.kernel, reader, op);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(std::string(o.reason()) == "invalid access attributes");

    REQUIRE(execute_op(f.kernel, reader, reader.op(reader.op_count() - 1)).ok());  // seal
    REQUIRE(f.kernel.sealed());
    op = reader.op(6);
    op.slot = 4;  // an untyped: refused as sealed before the cap is looked at
    o = execute_op(f.kernel, reader, op);
    CHECK(o.status() == Status::Denied);
    CHECK(std::string(o.reason()) == "system is sealed");
}

TEST_CASE("every op kind has a name for the boot log", "[boot]") {
    CHECK(std::string(op_name(OpKind::CreateUntyped)) == "create-untyped");
    CHECK(std::string(op_name(OpKind::Retype)) == "retype");
    CHECK(std::string(op_name(OpKind::CreatePartition)) == "create-partition");
    CHECK(std::string(op_name(OpKind::MapFrame)) == "map-frame");
    CHECK(std::string(op_name(OpKind::GrantCap)) == "grant-cap");
    CHECK(std::string(op_name(OpKind::LoadImage)) == "load-image");
    CHECK(std::string(op_name(OpKind::BindVcpu)) == "bind-vcpu");
    CHECK(std::string(op_name(OpKind::StartVcpu)) == "start-vcpu");
    CHECK(std::string(op_name(OpKind::Seal)) == "seal");
    CHECK(std::string(op_name(OpKind::DeclareFlow)) == "declare-flow");
    CHECK(std::string(op_name(OpKind::CreateIrqHandler)) == "create-irq-handler");
    CHECK(std::string(op_name(static_cast<OpKind>(99))) == "unknown");
}

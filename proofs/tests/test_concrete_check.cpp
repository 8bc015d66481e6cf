// The concrete check (proofs/concrete_check.hpp) on systems built by the kernel itself: the
// manifest's boot program run on the host, the stage-2 tables read back, the held caps counted
// as mappable anywhere. Each refuting case names the property and the route that breaks it.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"
#include "manifest_program.hpp"

#include <concrete_check.hpp>
#include <concrete_world.hpp>

#include <caps/untyped.hpp>

#include <string>

using namespace bh;
using namespace bh::test;
using manifest::OpKind;

namespace {

constexpr u64 kFrameBits = 21, kFrame = 1ull << kFrameBits;
constexpr u64 kPart = static_cast<u64>(ObjectType::Partition), kCNode = static_cast<u64>(ObjectType::CNode),
              kFrameType = static_cast<u64>(ObjectType::Frame), kVcpu = static_cast<u64>(ObjectType::Vcpu);
constexpr u64 kRw = Rights::kRead | Rights::kWrite | Rights::kGrant;

// A partition `name` in boot slots first..first+4 (Partition, CNode, RAM untyped at `pa`, its
// frame mapped rwx at the guest RAM IPA, Vcpu on `core`), ready for seal.
void partition(ManifestProgram& m, u32 first, const char* name, u64 pa, u64 core) {
    m.op(OpKind::Retype, kKernelUntyped, {kPart, 16, first, 1});
    m.op(OpKind::Retype, kKernelUntyped, {kCNode, PartitionTable::kCSpaceRadix, first + 1, 1});
    m.op(OpKind::CreatePartition, first, {first + 1, 0, 1}, name);
    m.op(OpKind::CreateUntyped, first + 2, {pa, kFrameBits, 0});
    m.op(OpKind::Retype, first + 2, {kFrameType, kFrameBits, first + 3, 1});
    m.op(OpKind::MapFrame, first + 3, {first, kGuestRam, kRwx});
    m.op(OpKind::Retype, kKernelUntyped, {kVcpu, 0, first + 4, 1});
    m.op(OpKind::BindVcpu, first + 4, {first, 0, core});
    m.op(OpKind::StartVcpu, 0, {first, 0, kGuestRam, 0});
}

constexpr u32 kA = 2, kB = 8, kExtra = 14;  // boot slots of partition a, partition b, a spare frame
constexpr u64 kPaA = kPartitionPa, kPaB = kPartitionPa + kFrame, kPaExtra = kPartitionPa + 2 * kFrame;

proofs::ConcreteReport check(const ManifestProgram& m) {
    const std::vector<u8> blob = m.blob();
    proofs::ConcreteReport r = proofs::check_manifest(blob);
    INFO(r.summary << "\n" << r.details);
    return r;
}

// Two partitions, a and b, each with its own RAM; sealed.
ManifestProgram two_partitions() {
    ManifestProgram m;
    partition(m, kA, "a", kPaA, 1);
    partition(m, kB, "b", kPaB, 2);
    return m;
}

}  // namespace

TEST_CASE("the concrete check proves what the kernel built from a manifest", "[proof][concrete][INV-1][INV-2][INV-6]") {
    ManifestProgram m = two_partitions();
    m.op(OpKind::Seal, 0, {});
    const proofs::ConcreteReport r = check(m);
    CHECK(r.ok);
    CHECK(r.summary.rfind("proof: holds: INV-1, INV-2, INV-6", 0) == 0);
    CHECK(r.partitions == 2);
    CHECK(r.mappings >= 2);  // the two RAM frames, as leaves of the tables the kernel wrote
    CHECK(r.queries == 3);   // INV-2 for a and b, INV-1 for the pair
}

TEST_CASE("the concrete check fails a manifest the kernel's boot program refuses, naming the op", "[proof][concrete][KF-1][INV-2]") {
    // The KF-1 pattern: kernel memory retyped to a Frame and granted, never mapped.
    ManifestProgram m = two_partitions();
    m.op(OpKind::Retype, kKernelUntyped, {kFrameType, 12, kExtra, 1});
    m.op(OpKind::GrantCap, kExtra, {kA, 3, kRw});
    m.op(OpKind::Seal, 0, {});
    const proofs::ConcreteReport r = check(m);
    CHECK_FALSE(r.ok);
    CHECK(r.queries == 0);
    CHECK(r.summary == "the kernel's boot program refuses op 18 (retype): kernel memory cannot become mappable memory");
}

TEST_CASE("a held frame counts as mapped: a cap to memory another partition maps fails INV-1", "[proof][concrete][INV-1]") {
    // The kernel boots this: b has the spare frame mapped read-only through the boot program's
    // cap, a holds a read-only cap to it and maps nothing. No flow (nobody writes), one holder.
    // a could FrameMap it as soon as b's mapping went; the check does not depend on that order.
    ManifestProgram m = two_partitions();
    m.op(OpKind::CreateUntyped, kExtra, {kPaExtra, kFrameBits, 0});
    m.op(OpKind::Retype, kExtra, {kFrameType, kFrameBits, kExtra + 1, 1});
    m.op(OpKind::MapFrame, kExtra + 1, {kB, kGuestRam + kFrame, manifest::attr::kRead});
    m.op(OpKind::GrantCap, kExtra + 1, {kA, 3, Rights::kRead});
    m.op(OpKind::Seal, 0, {});
    const proofs::ConcreteReport r = check(m);
    CHECK_FALSE(r.ok);
    CHECK(r.summary.find("VIOLATED: INV-1 ") != std::string::npos);
    CHECK(r.details.find("INV-1 memory exclusivity: PA ") == 0);
    CHECK(r.details.find("partition 'a' (the Frame cap in its CSpace slot 3") != std::string::npos);
    CHECK(r.details.find("partition 'b' (IPA ") != std::string::npos);
}

TEST_CASE("the KF-1 pattern through the capability core alone is caught: a granted frame of kernel memory", "[proof][concrete][KF-1][INV-2]") {
    // caps::retype has no kernel-region guard (BootSpace::retype does): carve a Frame from the
    // kernel's object memory straight into a's CSpace. Nothing maps it; a can, at any IPA.
    KernelFixture f;
    const u32 ps = f.make_slot("a", kPartitionPa, 1);
    {
        const proofs::ConcreteReport clean = proofs::check_world(proofs::extract_world(f.kernel));
        INFO(clean.details);
        CHECK(clean.ok);
    }
    const Status s = locked([&](const CapLockHeld& held) {
        return caps::retype(f.at(kKernelUntyped), ObjectType::Frame, 12, f.at(ps + 1), 3, 1, f.kernel, held);
    });
    REQUIRE(s == Status::Ok);
    const proofs::ConcreteReport r = proofs::check_world(proofs::extract_world(f.kernel));
    INFO(r.details);
    CHECK_FALSE(r.ok);
    CHECK(r.summary.find("VIOLATED: INV-2 ") != std::string::npos);
    CHECK(r.details.find("INV-2 kernel integrity: partition 'a' (the Frame cap in its CSpace slot 3") == 0);
    CHECK(r.details.find("reaches the kernel region") != std::string::npos);
}

TEST_CASE("the concrete check's flows are the kernel's rule over the tables: an undeclared one fails INV-6", "[proof][concrete][INV-6]") {
    // Built without seal (which would refuse it undeclared): a channel a maps writable through the
    // boot program's cap, and b holds a read-only cap to.
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + kFrame, 2);
    const u32 us = f.slot(), cs = f.slot();
    REQUIRE(f.create_untyped(us, kPaExtra, 12, false).ok());
    REQUIRE(f.retype(us, ObjectType::Channel, 12, cs, 1).ok());
    REQUIRE(f.map(a, f.at(cs), kGuestRam + kFrame, manifest::attr::kRead | manifest::attr::kWrite).ok());
    REQUIRE(f.grant(cs, b, 3, Rights::read()).ok());
    const proofs::ConcreteReport r = proofs::check_world(proofs::extract_world(f.kernel));
    INFO(r.details);
    CHECK_FALSE(r.ok);
    CHECK(r.summary.find("VIOLATED: INV-6 ") != std::string::npos);  // INV-1 holds: it is Channel memory
    CHECK(r.details == "INV-6 information flow: memory flow 'a' -> 'b' is possible (the kernel's flow rule over the "
                       "stage-2 leaves and held caps) but not declared\n");

    REQUIRE(f.declare_flow(a, b, manifest::FlowKind::Memory).ok());
    const proofs::ConcreteReport declared = proofs::check_world(proofs::extract_world(f.kernel));
    INFO(declared.details);
    CHECK(declared.ok);
}

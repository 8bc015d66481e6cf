// Seal (policy/seal.hpp): the named checks, each on its own and in seal's order, then
// construction closes for good and every partition starts.
#include <catch2/catch_test_macros.hpp>

#include "kernel_fixture.hpp"

#include <arch/arch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace bh;
using namespace bh::test;
using manifest::FlowKind;

namespace {

std::string reason(const Outcome& o) { return o.reason(); }
u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }

// Boot slots: each make() takes five (Partition, CNode, untyped, frame, Vcpu).
constexpr u32 kSlotsPerPartition = 5;
u32 nth_partition_slot(u32 n) { return manifest::kFirstFreeBootSlot + n * kSlotsPerPartition; }

}  // namespace

TEST_CASE("seal runs its named checks in order", "[seal]") {
    std::vector<std::string> names;
    for (const SealCheck& c : kSealChecks) names.emplace_back(c.name);
    CHECK(names == std::vector<std::string>{"partitions complete", "control graph acyclic", "interrupts unshared",
                                            "notifications single waiter", "frames unshared", "flows as declared",
                                            "pcie assignment sound"});
    // Two partitions that control each other, and a declared flow no capability gives: the
    // second and the fifth check fail, and seal answers with the first of them.
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.grant(nth_partition_slot(1), a, 1, Rights::control()).ok());
    REQUIRE(f.grant(nth_partition_slot(0), b, 1, Rights::control()).ok());
    REQUIRE(f.declare_flow(a, b, FlowKind::Memory).ok());
    CHECK(partitions_complete(f.kernel).ok());
    CHECK(reason(control_graph_acyclic(f.kernel)) == "partitions control each other in a cycle");
    CHECK(interrupts_unshared(f.kernel).ok());
    CHECK(notifications_single_waiter(f.kernel).ok());
    CHECK(frames_unshared(f.kernel).ok());
    CHECK(reason(flows_as_declared(f.kernel)) == "a declared flow has no capability behind it");
    CHECK(pcie_assignment_sound(f.kernel).ok());
    CHECK(reason(f.seal()) == "partitions control each other in a cycle");
    // An incomplete partition fails the first check: seal answers with that one.
    f.partition("incomplete");
    CHECK(reason(f.seal()) == "a partition has no memory");
    CHECK_FALSE(f.kernel.sealed());
    CHECK(a.load_state() == PartitionState::Built);
}

TEST_CASE("seal refuses incomplete partitions and launches complete ones", "[system][seal][INV-6][T-5][T-25][T-47]") {
    KernelFixture f;
    f.partition("alpha");
    Outcome o = f.seal();
    CHECK(o.status() == Status::NotFound);  // no memory
    CHECK(reason(o) == "a partition has no memory");
    CHECK_FALSE(f.kernel.sealed());

    KernelFixture g;
    // Stale data of a previous owner, there before the frame was retyped: retype zeroes it, and
    // nothing writes the frame between then and the first launch, which does not zero it again
    // (docs/isolation.md, "Zeroed once").
    std::memset(ram(kPartitionPa + 0x2000), 0xAA, 64);
    Partition& p = g.make("alpha", kPartitionPa, 1);
    static const u8 image[] = {1, 2, 3, 4, 5, 6, 7, 8};
    REQUIRE(g.load_image(p, kGuestRam + 0x100, image, sizeof image).ok());
    REQUIRE(g.seal().ok());
    CHECK(g.kernel.sealed());
    CHECK(std::memcmp(ram(kPartitionPa + 0x100), image, sizeof image) == 0);
    CHECK(ram(kPartitionPa + 0x2000)[0] == 0);  // zeroed
    CHECK(p.load_state() == PartitionState::Running);
    CHECK(p.vcpus[0].load_state() == VcpuState::Runnable);
    CHECK(p.vcpus[0].regs.elr == kGuestRam);
    CHECK(p.vcpus[0].regs.x[0] == 7);
    CHECK(p.vcpus[0].reset_on_entry);
    CHECK(g.kernel.lifecycle.running() == 1);
    CHECK(host::console_output().find("partition 'alpha' started on core 1") != std::string::npos);
    CHECK(g.retype(kKernelUntyped, ObjectType::Partition, 16, g.slot(), 1).status() == Status::Denied);
    CHECK(g.create_untyped(g.slot(), 0x5000'0000, 21, false).status() == Status::Denied);
}

TEST_CASE("partitions complete: memory, an entry point and every vCPU bound", "[seal]") {
    KernelFixture none;
    Outcome o = none.seal();
    CHECK(o.status() == Status::NotFound);
    CHECK(reason(o) == "no partitions");
    CHECK(partitions_complete(none.kernel).ok());  // vacuously

    KernelFixture f;
    Partition& p = f.partition(f.partition("alpha", 2));
    o = partitions_complete(f.kernel);
    CHECK(o.status() == Status::NotFound);
    CHECK(reason(o) == "a partition has no memory");
    REQUIRE(f.map(p, f.at(f.frame(kPartitionPa)), kGuestRam, kRwx).ok());
    CHECK(reason(partitions_complete(f.kernel)) == "a partition has no entry point");
    REQUIRE(f.set_entry(p, 0, kGuestRam, 0).ok());
    CHECK(reason(partitions_complete(f.kernel)) == "a vCPU is not bound to a core");
    f.bind(p, 0, 1);
    CHECK(reason(partitions_complete(f.kernel)) == "a vCPU is not bound to a core");
    f.bind(p, 1, 2);
    CHECK(partitions_complete(f.kernel).ok());
}

TEST_CASE("partitions that control each other in a cycle are refused at seal", "[system][control][seal][INV-7][T-59]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    const u32 a_slot = nth_partition_slot(0), b_slot = nth_partition_slot(1);
    REQUIRE(f.grant(b_slot, a, 1, Rights::control()).ok());
    REQUIRE(f.grant(a_slot, a, 2, Rights::control()).ok());  // itself: no cycle
    REQUIRE(f.grant(a_slot, b, 1, Rights::control()).ok());
    const Outcome o = f.seal();
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "partitions control each other in a cycle");
    CHECK_FALSE(f.kernel.sealed());
}

TEST_CASE("control graph acyclic: chains and self-control pass, longer cycles do not", "[seal][control]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    Partition& c = f.make("c", kPartitionPa + 8 * kMiB, 3);
    REQUIRE(f.grant(nth_partition_slot(1), a, 1, Rights::control()).ok());  // a -> b
    REQUIRE(f.grant(nth_partition_slot(2), b, 1, Rights::control()).ok());  // b -> c
    REQUIRE(f.grant(nth_partition_slot(2), c, 1, Rights::control()).ok());  // c -> c
    REQUIRE(f.grant(nth_partition_slot(0), c, 2, Rights::grant()).ok());    // c holds a, without Control
    CHECK(control_graph_acyclic(f.kernel).ok());
    REQUIRE(f.grant(nth_partition_slot(0), c, 3, Rights::control()).ok());  // c -> a: a -> b -> c -> a
    const Outcome o = control_graph_acyclic(f.kernel);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "partitions control each other in a cycle");
}

TEST_CASE("interrupts unshared: an SPI's handler caps in one partition only", "[seal][interrupts]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    const u32 rtc = f.slot(), gpio = f.slot();
    REQUIRE(f.create_irq_handler(rtc, 34).ok());
    REQUIRE(f.create_irq_handler(gpio, 39).ok());
    REQUIRE(f.grant(rtc, a, 1, Rights::control()).ok());
    REQUIRE(f.grant(rtc, a, 2, Rights::grant()).ok());
    REQUIRE(f.grant(gpio, b, 1, Rights::control()).ok());
    CHECK(interrupts_unshared(f.kernel).ok());
    REQUIRE(f.grant(rtc, b, 2, Rights::grant()).ok());  // even without Control
    const Outcome o = interrupts_unshared(f.kernel);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "an interrupt is given to two partitions");
}

TEST_CASE("notifications single waiter: Read caps to one notification in one partition only", "[seal]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    const u32 n = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Notification, 0, n, 1).ok());
    REQUIRE(f.grant(n, a, 1, Rights::read()).ok());
    REQUIRE(f.grant(n, a, 2, Rights::read()).ok());  // two in one partition: one waiter still
    REQUIRE(f.grant(n, b, 1, Rights::write()).ok());
    CHECK(notifications_single_waiter(f.kernel).ok());
    REQUIRE(f.grant(n, b, 2, Rights::read()).ok());
    const Outcome o = notifications_single_waiter(f.kernel);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "a notification can be waited on by two partitions");
}

TEST_CASE("flows as declared: no undeclared flow, no declared flow without a cap", "[seal][flow]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    CHECK(flows_as_declared(f.kernel).ok());
    const u32 n = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Notification, 0, n, 1).ok());
    REQUIRE(f.grant(n, a, 1, Rights::write()).ok());
    REQUIRE(f.grant(n, b, 1, Rights::read()).ok());
    Outcome o = flows_as_declared(f.kernel);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "capabilities allow an undeclared information flow");
    CHECK(host::console_output().find("seal: undeclared signal flow from 'a' to 'b'") != std::string::npos);
    REQUIRE(f.declare_flow(a, b, FlowKind::Signal).ok());
    CHECK(flows_as_declared(f.kernel).ok());
    REQUIRE(f.declare_flow(b, a, FlowKind::Memory).ok());
    o = flows_as_declared(f.kernel);
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "a declared flow has no capability behind it");
    CHECK(host::console_output().find("seal: declared memory flow from 'b' to 'a' has no capability behind it") !=
          std::string::npos);
    // Declarations themselves are checked when they are made.
    o = f.declare_flow(a, a, FlowKind::Memory);
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "a flow from a partition to itself");
    o = f.declare_flow(a, b, static_cast<FlowKind>(4));
    CHECK(o.status() == Status::InvalidArgument);
    CHECK(reason(o) == "unknown flow kind");
    Partition stranger;  // not in the table
    o = f.declare_flow(a, stranger, FlowKind::Memory);
    CHECK(o.status() == Status::NotFound);
    CHECK(reason(o) == "not a configured partition");
}

TEST_CASE("construction closes at seal: every boot operation is refused", "[seal]") {
    KernelFixture f;
    Partition& p = f.make("a", kPartitionPa, 1);
    Partition& q = f.make("b", kPartitionPa + 4 * kMiB, 2);
    const u32 spare_vcpu = f.vcpu_object();
    REQUIRE(f.seal().ok());
    const auto sealed = [](const Outcome& o) {
        return o.status() == Status::Denied && reason(o) == "system is sealed";
    };
    CHECK(sealed(f.seal()));
    CHECK(sealed(f.create_untyped(f.slot(), 0x5000'0000, 21, false)));
    CHECK(sealed(f.retype(kKernelUntyped, ObjectType::Notification, 0, f.slot(), 1)));
    CHECK(sealed(f.create_partition(f.slot(), f.slot(), "late", manifest::RestartPolicy::Stop, 1)));
    CHECK(sealed(f.grant(nth_partition_slot(1), p, 1, Rights::control())));
    CHECK(sealed(f.create_irq_handler(f.slot(), 34)));
    static const u8 image[] = {1};
    CHECK(sealed(f.load_image(p, kGuestRam, image, sizeof image)));
    CHECK(sealed(f.set_entry(p, 0, kGuestRam, 0)));
    CHECK(sealed(f.bind_vcpu(q, spare_vcpu, 0, 3)));
    CHECK(sealed(f.declare_flow(p, q, FlowKind::Memory)));
    CHECK(caps::cnode_slots(p.cspace_root)[1].empty());
    CHECK(f.kernel.cores.on(CoreId(3)) == nullptr);
}

// A frame is mapped through one of its caps at a time: a partition's FrameMap answers Overlap
// exactly while another holder has the frame mapped. Two holders, read-only ones included,
// signal each other that way, a flow no DeclareFlow expresses; memory is shared through Channels.
TEST_CASE("seal refuses a frame held by two partitions, read-only caps too", "[seal][INV-6][T-51]") {
    KernelFixture f;
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    Partition& c = f.make("c", kPartitionPa + 8 * kMiB, 3);
    // b and c each get a read-only cap to a's frame (boot slot: a's Partition, CNode, untyped, frame).
    const u32 frame = nth_partition_slot(0) + 3;
    REQUIRE(f.at(frame).cap.type == ObjectType::Frame);
    REQUIRE(f.grant(frame, b, 1, Rights::read()).ok());
    REQUIRE(f.grant(frame, c, 1, Rights::read()).ok());
    // a writes what b and c could read: those flows are declared, so only the sharing is wrong.
    REQUIRE(f.declare_flow(a, b, FlowKind::Memory).ok());
    REQUIRE(f.declare_flow(a, c, FlowKind::Memory).ok());
    CHECK(flows_as_declared(f.kernel).ok());
    const Outcome o = f.seal();
    CHECK(o.status() == Status::Denied);
    CHECK(reason(o) == "a frame is held by two partitions");
    CHECK_FALSE(f.kernel.sealed());
    // One holder besides the owner's boot mapping is fine: a's mapping is static (a holds no cap
    // and cannot unmap it), so b's FrameMap answer never changes.
    REQUIRE(f.delete_cap(caps::cnode_slots(c.cspace_root)[1]) == Status::Ok);
    CHECK(frames_unshared(f.kernel).ok());
}

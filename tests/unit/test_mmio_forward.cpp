// Forwarded MMIO (devices/mmio_forward.hpp, docs/isolation.md "Forwarded MMIO"): a client's
// accesses in its forwarded window reach the server's request page and doorbell, the vCPU parks
// until the server answers, and only the right answer from the right server completes it; a
// server that goes down releases its clients with all ones; the device's SPI; the boot checks.
#include <catch2/catch_test_macros.hpp>

#include <bulkhead/forwarded_mmio.hpp>
#include <devices/mmio_forward.hpp>
#include <ipc/notification.hpp>

#include "vgic_fixture.hpp"

using namespace bh;
using namespace bh::test;

namespace {

using F = hvc::Function;
constexpr u64 kWindow = 0x0a00'0000;
constexpr u64 kWindowSize = 0x1000;
constexpr u32 kDeviceSpi = 48;
constexpr u64 kBadge = 1ull << 40;
constexpr u64 kRequestPa = kPartitionPa + 12 * kMiB;
constexpr u64 kSentinel = 0x5e47'1ae1'5e47'1ae1;
// The server's CSpace: 1 doorbell (Read), 2 the client (Partition, Write), 3 the client
// (Partition, Read only), 4 the request page (Frame, Read).
constexpr u64 kDoorbell = 1, kClientCap = 2, kClientReadOnly = 3;

struct World : VgicFixture {
    u32 client_slot, server_slot, other_slot, doorbell, requests;
    Partition* client = nullptr;
    Partition* server = nullptr;
    Partition* other = nullptr;

    // `server_policy`: what a fault of the server does to it. `spi`: the device's interrupt.
    explicit World(manifest::RestartPolicy server_policy = manifest::RestartPolicy::Restart, u32 spi = kDeviceSpi,
                   bool configure = true, bool declare = true) {
        client_slot = make_slot("client", kPartitionPa, 0, 1, manifest::RestartPolicy::Stop, flag::kVirtualGic);
        server_slot = make_slot("server", kPartitionPa + 4 * kMiB, 2, 1, server_policy);
        other_slot = make_slot("other", kPartitionPa + 8 * kMiB, 3);
        client = &partition(client_slot);
        server = &partition(server_slot);
        other = &partition(other_slot);
        doorbell = slot();
        REQUIRE(ok(retype(kKernelUntyped, ObjectType::Notification, 0, doorbell, 1)));
        requests = frame(kRequestPa, 12);
        REQUIRE(ok(grant(doorbell, *server, kDoorbell, Rights::read())));
        REQUIRE(ok(grant(client_slot, *server, kClientCap, Rights::write())));
        REQUIRE(ok(grant(client_slot, *server, kClientReadOnly, Rights::read())));
        REQUIRE(ok(map(*server, at(requests), kGuestRam + 2 * kMiB, manifest::attr::kRead)));
        REQUIRE(ok(grant(requests, *server, 4, Rights::read())));
        // Not the server, yet holding the same kind of cap to the client.
        REQUIRE(ok(grant(client_slot, *other, 1, Rights::write())));
        if (configure) REQUIRE(ok(configure_forward(spi)));
        if (declare)
            for (auto k : {manifest::FlowKind::Memory, manifest::FlowKind::Signal}) {
                REQUIRE(ok(declare_flow(*client, *server, k)));
                REQUIRE(ok(declare_flow(*server, *client, k)));
            }
        if (configure && declare) {
            REQUIRE(ok(seal()));
            enter(c());
            enter(s());
        }
    }
    Outcome configure_forward(u32 spi, u64 base = kWindow, u64 size = kWindowSize, u64 badge = kBadge) {
        return forward_configure(*client, *server, base, size, spi, at(requests).cap, at(doorbell).cap, badge);
    }
    Vcpu& c() { return client->vcpus[0]; }
    Vcpu& s() { return server->vcpus[0]; }
    const forwarded::Request& request(u32 vcpu = 0) {
        return static_cast<const forwarded::RequestPage*>(arch::phys_to_virt(PhysAddr(kRequestPa)))->slot[vcpu];
    }
    // The client loads `size` bytes at `offset` of the window into x1; false: it parked.
    bool load(u64 offset, unsigned size = 4) {
        c().regs.x[1] = kSentinel;
        return exit(c(), ExitVector::Sync, data_abort(size, false, 1, size == 8), kWindow + offset);
    }
    bool store(u64 offset, u64 value, unsigned size = 4) {
        c().regs.x[2] = value;
        return exit(c(), ExitVector::Sync, data_abort(size, true, 2, size == 8), kWindow + offset);
    }
    i64 reply(Vcpu& by, u64 cap, u64 vcpu, u64 sequence, u64 value) {
        return call_status(kernel, by, F::MmioReply, {cap, vcpu, sequence, value});
    }
    u64 doorbell_word() {
        REQUIRE(call_status(kernel, s(), F::NotificationPoll, {kDoorbell}) == 0);
        return s().regs.x[1];
    }
};

}  // namespace

TEST_CASE("forward: a load and a store in the window reach the server and complete with its answer",
          "[forward][T-93][T-94]") {
    World w;
    const u64 elr = w.c().regs.elr;
    CHECK_FALSE(w.load(0x70));
    CHECK(w.c().load_state() == VcpuState::Blocked);
    CHECK(w.request().sequence == 1);
    CHECK(w.request().offset == 0x70);
    CHECK(w.request().size == 4);
    CHECK(w.request().write == 0);
    CHECK(w.doorbell_word() == kBadge);
    CHECK(w.c().regs.x[1] == kSentinel);  // nothing written before the answer
    CHECK(w.reply(w.s(), kClientCap, 0, 1, 0x1234'5678'9abc'def0) == 0);
    CHECK(w.c().load_state() == VcpuState::Runnable);
    CHECK(w.c().regs.x[1] == 0x9abc'def0);  // a 32-bit load: Wt, the upper half cleared
    CHECK(w.c().regs.elr == elr + 4);

    w.enter(w.c());
    CHECK_FALSE(w.store(0x50, 0xdead'beef'0bad'f00d, 8));
    CHECK(w.request().sequence == 2);
    CHECK(w.request().offset == 0x50);
    CHECK(w.request().size == 8);
    CHECK(w.request().write == 1);
    CHECK(w.request().value == 0xdead'beef'0bad'f00d);
    CHECK(w.reply(w.s(), kClientCap, 0, 2, 0x77) == 0);
    CHECK(w.c().load_state() == VcpuState::Runnable);
    CHECK(w.c().regs.x[1] == 0x9abc'def0);  // a store writes no register
    CHECK(w.c().regs.elr == elr + 8);
}

TEST_CASE("forward: an answer that is not for the parked request, or not from its server, changes nothing",
          "[forward][T-93][T-94]") {
    World w;
    const u64 elr = w.c().regs.elr;
    REQUIRE_FALSE(w.load(0x8, 8));
    CHECK(w.reply(w.s(), kClientCap, 0, 2, 1) == st(Status::NotFound));       // a sequence never made
    CHECK(w.reply(w.s(), kClientCap, 0, 0, 1) == st(Status::NotFound));       // 0 is no request
    CHECK(w.reply(w.s(), kClientCap, 1, 1, 1) == st(Status::OutOfRange));     // the client has one vCPU
    CHECK(w.reply(w.s(), kClientCap, ~0ull, 1, 1) == st(Status::OutOfRange));
    CHECK(w.reply(w.s(), kClientReadOnly, 0, 1, 1) == st(Status::Denied));    // no Write
    CHECK(w.reply(w.s(), kDoorbell, 0, 1, 1) == st(Status::InvalidArgument)); // not a Partition cap
    CHECK(w.reply(w.s(), 99, 0, 1, 1) < 0);                                   // no cap there
    CHECK(w.reply(w.other->vcpus[0], 1, 0, 1, 1) == st(Status::Denied));      // not its server
    CHECK(w.c().load_state() == VcpuState::Blocked);
    CHECK(w.c().regs.x[1] == kSentinel);
    CHECK(w.c().regs.elr == elr);
    CHECK(w.reply(w.s(), kClientCap, 0, 1, 42) == 0);
    CHECK(w.c().regs.x[1] == 42);
    // Answered: the same answer again is stale.
    CHECK(w.reply(w.s(), kClientCap, 0, 1, 43) == st(Status::NotFound));
    CHECK(w.c().regs.x[1] == 42);
}

TEST_CASE("forward: an access in the window without an instruction syndrome is the client's fault",
          "[forward][T-93][T-94]") {
    World w;
    // A store pair, say: no ISV, nothing to complete it with.
    CHECK_FALSE(w.exit(w.c(), ExitVector::Sync, kEsrDataAbortWrite, kWindow + 0x10));
    CHECK(w.client->load_state() == PartitionState::Stopped);
    CHECK(w.request().sequence == 0);  // nothing reached the server
    CHECK(w.doorbell_word() == 0);
}

TEST_CASE("forward: a server that goes down resumes its parked clients with all ones; a stopped one answers nothing",
          "[forward][T-95]") {
    SECTION("the server restarts") {
        World w(manifest::RestartPolicy::Restart);
        const u64 elr = w.c().regs.elr;
        REQUIRE_FALSE(w.load(0x0, 4));
        CHECK_FALSE(w.exit(w.s(), ExitVector::Sync, 0));  // an unknown exception: the server's fault
        CHECK(w.server->restarts == 1);
        CHECK(w.c().load_state() == VcpuState::Runnable);
        CHECK(w.c().regs.x[1] == 0xffff'ffff);  // all ones, in the load's width
        CHECK(w.c().regs.elr == elr + 4);
        // The restarted server's late answer to the old request is stale.
        CHECK(w.reply(w.s(), kClientCap, 0, 1, 5) == st(Status::NotFound));
        CHECK(w.c().regs.x[1] == 0xffff'ffff);
        // The next request goes to the new run.
        w.enter(w.c());
        CHECK_FALSE(w.load(0x4, 4));
        CHECK(w.request().sequence == 2);
    }
    SECTION("the server stopped for good") {
        World w(manifest::RestartPolicy::Stop);
        const u64 elr = w.c().regs.elr;
        CHECK_FALSE(w.exit(w.s(), ExitVector::Sync, 0));
        CHECK(w.server->load_state() == PartitionState::Stopped);
        CHECK(w.load(0x0, 8));  // completes at once
        CHECK(w.c().regs.x[1] == ~0ull);
        CHECK(w.c().regs.elr == elr + 4);
        CHECK(w.store(0x0, 1));  // dropped
        CHECK(w.request().sequence == 0);
    }
}

TEST_CASE("forward: a server that never answers keeps the vCPU parked until its partition stops; the late answer is refused",
          "[forward][T-95]") {
    World w;
    REQUIRE_FALSE(w.load(0x0, 4));
    CHECK(w.c().load_state() == VcpuState::Blocked);
    // The client's controller (here: the kernel on the server's behalf) stops it.
    REQUIRE(ok(w.kernel.lifecycle.control(*w.client, false, w.s())));
    CHECK(w.client->load_state() == PartitionState::Stopped);
    CHECK(w.c().load_state() == VcpuState::Off);
    CHECK(w.c().forward_waiting == 0);
    CHECK(w.reply(w.s(), kClientCap, 0, 1, 5) == st(Status::NotFound));
    CHECK(w.c().load_state() == VcpuState::Off);
}

TEST_CASE("forward: the server raises the client's device SPI, and only a forward that names one",
          "[forward][vgic]") {
    SECTION("with an SPI") {
        World w;
        w.write(w.c(), kGicd + 0x0, 0x2);                                  // GICD_CTLR.EnableGrp1A
        w.write(w.c(), kGicd + 0x104, 1u << (kDeviceSpi - 32));           // GICD_ISENABLER1
        CHECK(call_status(w.kernel, w.s(), F::MmioRaise, {kClientCap}) == 0);
        REQUIRE(w.exit(w.c(), ExitVector::Irq));  // the kick: the client's core fills its list registers
        CHECK(w.in_lrs(w.c()) == std::vector<u32>{kDeviceSpi});
        CHECK(call_status(w.kernel, w.s(), F::MmioRaise, {kClientReadOnly}) == st(Status::Denied));
        CHECK(call_status(w.kernel, w.other->vcpus[0], F::MmioRaise, {1}) == st(Status::Denied));
    }
    SECTION("without") {
        World w(manifest::RestartPolicy::Restart, 0);
        CHECK(call_status(w.kernel, w.s(), F::MmioRaise, {kClientCap}) == st(Status::NotSupported));
    }
}

TEST_CASE("forward: the boot refuses a window it could not keep", "[forward][boot]") {
    World w(manifest::RestartPolicy::Restart, kDeviceSpi, false, false);
    CHECK_REFUSED(forward_configure(*w.client, *w.client, kWindow, kWindowSize, 0, w.at(w.requests).cap,
                                    w.at(w.doorbell).cap, kBadge),
                  Status::InvalidArgument, "a partition forwarding to itself");
    CHECK_REFUSED(w.configure_forward(0, kWindow + 8), Status::Misaligned, "forwarded window not page-aligned or empty");
    CHECK_REFUSED(w.configure_forward(0, kWindow, 0), Status::Misaligned, "forwarded window not page-aligned or empty");
    CHECK_REFUSED(w.configure_forward(0, 1ull << 40), Status::OutOfRange, "forwarded window outside the IPA space");
    CHECK_REFUSED(w.configure_forward(0, kGuestRam), Status::Overlap, "forwarded window over a mapping of the client");
    CHECK_REFUSED(w.configure_forward(0, kGicd), Status::Overlap, "forwarded window over an emulated device");
    CHECK_REFUSED(w.configure_forward(0, kWindow, kWindowSize, 0), Status::InvalidArgument, "doorbell badge 0");
    CHECK_REFUSED(w.configure_forward(vgic::kUartSpi), Status::InvalidArgument, "device interrupt not a free virtual SPI");
    CHECK_REFUSED(w.configure_forward(35), Status::InvalidArgument, "device interrupt not a free virtual SPI");
    CHECK_REFUSED(w.configure_forward(64), Status::InvalidArgument, "device interrupt not a free virtual SPI");
    CHECK_REFUSED(forward_configure(*w.server, *w.client, kWindow, kWindowSize, kDeviceSpi, w.at(w.requests).cap,
                                    w.at(w.doorbell).cap, kBadge),
                  Status::InvalidArgument, "device interrupt without a virtual GIC");
    CHECK_REFUSED(forward_configure(*w.client, *w.server, kWindow, kWindowSize, 0, w.at(w.doorbell).cap,
                                    w.at(w.doorbell).cap, kBadge),
                  Status::InvalidArgument, "request page is not a Frame of at least 4 KiB");
    CHECK_REFUSED(forward_configure(*w.client, *w.server, kWindow, kWindowSize, 0, w.at(w.requests).cap,
                                    w.at(w.requests).cap, kBadge),
                  Status::InvalidArgument, "doorbell is not a Notification cap with Write");
    CHECK_FALSE(w.client->forward.configured());
    REQUIRE(ok(w.configure_forward(kDeviceSpi)));
    CHECK_REFUSED(w.configure_forward(kDeviceSpi), Status::Exists, "the partition forwards a window already");
}

TEST_CASE("forward: the window is a flow both ways that the description must declare", "[forward][INV-6]") {
    {
        World w(manifest::RestartPolicy::Restart, kDeviceSpi, true, false);
        CHECK_FALSE(w.seal().ok());
        const FlowGraph g = w.live();
        for (auto k : {manifest::FlowKind::Memory, manifest::FlowKind::Signal}) {
            CHECK(g.has(w.client->index.raw(), w.server->index.raw(), k));
            CHECK(g.has(w.server->index.raw(), w.client->index.raw(), k));
        }
    }
    World w;  // declared: sealed
    CHECK(w.kernel.sealed());
}

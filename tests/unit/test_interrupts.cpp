// Interrupt capabilities (irq/interrupts.hpp, docs/capabilities.md "Interrupts"): IrqHandler
// caps made once per assignable SPI, given to one partition, bound to a notification its owner
// waits on; a fired SPI is disabled until acknowledged; bindings end with the notification, the
// handler or the run of the partition that made them.
#include <catch2/catch_test_macros.hpp>
#include "guest_exits.hpp"
#include "invariant_text.hpp"
#include "kernel_fixture.hpp"

#include <bulkhead/hypercall.hpp>
#include <string>
#include <invariants/invariants.hpp>
#include <ipc/notification.hpp>

using namespace bh;
using namespace bh::test;

namespace {

using F = hvc::Function;

constexpr u64 fid(F f) { return static_cast<u64>(f); }

constexpr u32 kRtc = 34;     // PL031, assignable
constexpr u32 kGpio = 39;    // PL061, assignable
constexpr u32 kUart = 33;    // the kernel console: never assignable
constexpr u64 kBadge = 0x100;

// "driver" (core 1) holds, in its CSpace: 1 = IrqHandler kRtc (Control), 2 = the notification
// (Read: it waits on it), 3 = the notification (Write only), 4 = IrqHandler kRtc without
// Control (Grant only), 5 = IrqHandler kGpio (Control). "other" (core 2) holds the
// notification's Write cap at 1 (it may signal the driver: a declared flow).
struct World : KernelFixture {
    u32 driver_slot, other_slot, ntfn, rtc, gpio;
    Partition* driver = nullptr;
    Partition* other = nullptr;
    explicit World(manifest::RestartPolicy policy = manifest::RestartPolicy::Stop) {
        driver_slot = make_slot("driver", kPartitionPa, 1, 1, policy);
        other_slot = make_slot("other", kPartitionPa + 4 * kMiB, 2);
        driver = &partition(driver_slot);
        other = &partition(other_slot);
        ntfn = slot();
        rtc = slot();
        gpio = slot();
        REQUIRE(ok(retype(manifest::kKernelUntypedSlot, ObjectType::Notification, 0, ntfn, 1)));
        REQUIRE(ok(create_irq_handler(rtc, kRtc)));
        REQUIRE(ok(create_irq_handler(gpio, kGpio)));
        REQUIRE(ok(grant(rtc, *driver, 1, Rights::control())));
        REQUIRE(ok(grant(ntfn, *driver, 2, Rights::read())));
        REQUIRE(ok(grant(ntfn, *driver, 3, Rights::write())));
        REQUIRE(ok(grant(rtc, *driver, 4, Rights::grant())));
        REQUIRE(ok(grant(gpio, *driver, 5, Rights::control())));
        REQUIRE(ok(grant(ntfn, *other, 1, Rights::write())));
        REQUIRE(ok(declare_flow(*other, *driver, manifest::FlowKind::Signal)));
        REQUIRE(ok(seal()));
    }
    Vcpu& drv() { return driver->vcpus[0]; }
    Notification& object() { return *static_cast<Notification*>(arch::phys_to_virt(PhysAddr(at(ntfn).cap.object))); }
    const InterruptTable::Binding& line(u32 intid) { return *kernel.interrupts.binding(intid); }
    i64 call(Vcpu& v, F fn, std::initializer_list<u64> args, bool* resumed = nullptr) {
        const bool r = hypercall(kernel, v, fid(fn), args);
        if (resumed != nullptr) *resumed = r;
        return status_of(v);
    }
};

}  // namespace

TEST_CASE("an IrqHandler cap is made once per assignable SPI, at boot only", "[interrupts][INV-5][T-74]") {
    KernelFixture f;
    const u32 a = f.slot(), b = f.slot(), c = f.slot();
    REQUIRE(ok(f.create_irq_handler(a, kRtc)));
    const Capability& cap = f.at(a).cap;
    CHECK(cap.type == ObjectType::IrqHandler);
    CHECK(cap.irq() == kRtc);
    CHECK(cap.rights == (Rights::control() | Rights::grant()));
    CHECK(cap.size_bits == 0);
    CHECK(f.kernel.interrupts.binding(kRtc)->created);
    CHECK_FALSE(f.kernel.interrupts.binding(kRtc)->bound());

    // Once per SPI; never into an occupied slot; nothing changes on a refusal.
    CHECK(f.create_irq_handler(b, kRtc).status() == Status::Exists);
    CHECK(f.at(b).cap.is_null());
    CHECK(f.create_irq_handler(a, kGpio).status() == Status::Exists);
    CHECK_FALSE(f.kernel.interrupts.binding(kGpio)->created);

    // Only the platform's assignable SPIs: not the kernel's UART, not SGIs/PPIs, not past the GIC.
    for (u64 intid : std::initializer_list<u64>{kUart, 0, 15, 31, 40, 106, 287, 1020, ~0ull}) {
        INFO(intid);
        CHECK(f.create_irq_handler(b, intid).status() == Status::Denied);
        CHECK(f.at(b).cap.is_null());
    }
    CHECK(f.create_irq_handler(manifest::kBootSlots, kGpio).status() == Status::OutOfRange);

    // A boot-time operation only.
    f.make("p", kPartitionPa, 1);
    REQUIRE(ok(f.seal()));
    CHECK(f.create_irq_handler(c, kGpio).status() == Status::Denied);
    CHECK(f.at(c).cap.is_null());
}

TEST_CASE("retype never makes an IrqHandler: untyped memory is no authority over interrupts", "[interrupts][INV-5][T-74]") {
    KernelFixture f;
    const u32 us = f.slot(), dest = f.slot();
    REQUIRE(ok(f.create_untyped(us, kPartitionPa, 21, false)));
    CHECK_FALSE(ok(f.retype(us, ObjectType::IrqHandler, 0, dest, 1)));
    CHECK(f.at(dest).cap.is_null());
}

TEST_CASE("seal refuses an interrupt given to two partitions (invariant 5)", "[interrupts][INV-5][T-44]") {
    KernelFixture f;
    const u32 a = f.make_slot("a", kPartitionPa, 1), b = f.make_slot("b", kPartitionPa + 4 * kMiB, 2), irq = f.slot();
    REQUIRE(ok(f.create_irq_handler(irq, kGpio)));
    REQUIRE(ok(f.grant(irq, f.partition(a), 5, Rights::control())));
    REQUIRE(ok(f.grant(irq, f.partition(b), 5, Rights::control())));
    CHECK_REFUSED(f.seal(), Status::Denied, "an interrupt is given to two partitions");
    CHECK_FALSE(f.kernel.sealed());
    // Two caps in one partition are fine.
    KernelFixture g;
    const u32 c = g.make_slot("c", kPartitionPa, 1), irq2 = g.slot();
    REQUIRE(ok(g.create_irq_handler(irq2, kGpio)));
    REQUIRE(ok(g.grant(irq2, g.partition(c), 5, Rights::control())));
    REQUIRE(ok(g.grant(irq2, g.partition(c), 6, Rights::control())));
    CHECK(ok(g.seal()));
}

TEST_CASE("IrqBind checks every argument before it changes anything", "[interrupts][INV-5][T-44][T-74]") {
    World w;
    auto unchanged = [&] {
        CHECK_FALSE(w.line(kRtc).bound());
        CHECK_FALSE(host::irq_enabled(kRtc));
    };
    CHECK(w.call(w.drv(), F::IrqBind, {2, 2, kBadge}) == st(Status::InvalidArgument));  // not an IrqHandler
    unchanged();
    CHECK(w.call(w.drv(), F::IrqBind, {1, 1, kBadge}) == st(Status::InvalidArgument));  // not a Notification
    unchanged();
    CHECK(w.call(w.drv(), F::IrqBind, {1, 2, 0}) == st(Status::InvalidArgument));  // badge 0
    unchanged();
    CHECK(w.call(w.drv(), F::IrqBind, {1, 3, kBadge}) == st(Status::Denied));  // no Read: not its waiter
    unchanged();
    CHECK(w.call(w.drv(), F::IrqBind, {4, 2, kBadge}) == st(Status::Denied));  // IrqHandler without Control
    unchanged();
    CHECK(w.call(w.drv(), F::IrqBind, {1, 9, kBadge}) == st(Status::InvalidArgument));  // empty slot
    unchanged();
    CHECK(w.call(w.drv(), F::IrqBind, {1, 1ull << 20, kBadge}) < 0);  // beyond the CSpace
    unchanged();
    CHECK(w.call(w.drv(), F::IrqAck, {1}) == st(Status::NotFound));
    CHECK(w.call(w.drv(), F::IrqUnbind, {1}) == st(Status::NotFound));
    CHECK(w.call(w.drv(), F::IrqAck, {4}) == st(Status::Denied));
    CHECK(w.call(w.drv(), F::IrqAck, {2}) == st(Status::InvalidArgument));
    unchanged();
    // A partition without an IrqHandler cap has nothing to name an interrupt with.
    CHECK(w.call(w.other->vcpus[0], F::IrqBind, {1, 1, kBadge}) == st(Status::InvalidArgument));
    CHECK(w.call(w.other->vcpus[0], F::IrqAck, {1}) == st(Status::InvalidArgument));
    unchanged();
}

TEST_CASE("a bound SPI is routed to the binder's core, signals once, and waits for IrqAck", "[interrupts][INV-5][T-44][T-72]") {
    World w;
    REQUIRE(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
    CHECK(w.line(kRtc).bound());
    CHECK(w.line(kRtc).owner == w.driver->index);
    CHECK(w.line(kRtc).core == CoreId(1));
    CHECK(host::irq_enabled(kRtc));
    CHECK(host::irq_route(kRtc) == 1);
    CHECK_FALSE(host::irq_enabled(kGpio));

    // The driver waits; the SPI fires (on its core): it resumes with the binding's badge, and
    // the SPI is off at the distributor.
    bool resumed = true;
    w.call(w.drv(), F::NotificationWait, {2}, &resumed);
    CHECK_FALSE(resumed);
    CHECK(w.drv().load_state() == VcpuState::Blocked);
    w.kernel.interrupts.fired(kRtc);
    CHECK(w.drv().load_state() == VcpuState::Runnable);
    CHECK(status_of(w.drv()) == 0);
    CHECK(w.drv().regs.x[1] == kBadge);
    CHECK_FALSE(host::irq_enabled(kRtc));
    CHECK(w.line(kRtc).masked);

    // Acknowledged: in again, same core. A second ack changes nothing.
    CHECK(w.call(w.drv(), F::IrqAck, {1}) == 0);
    CHECK(host::irq_enabled(kRtc));
    CHECK(host::irq_route(kRtc) == 1);
    CHECK_FALSE(w.line(kRtc).masked);
    CHECK(w.call(w.drv(), F::IrqAck, {1}) == 0);
    CHECK(host::irq_enabled(kRtc));

    // Signals from the other partition and the interrupt share the word, told apart by badge.
    CHECK(w.call(w.other->vcpus[0], F::NotificationSignal, {1}) == 0);
    w.kernel.interrupts.fired(kRtc);
    CHECK(w.object().word == (kBadge | 1));

    // Rebinding while a delivery awaits its ack keeps the SPI off; the new badge counts next time.
    CHECK(w.call(w.drv(), F::IrqBind, {1, 2, 0x200}) == 0);
    CHECK_FALSE(host::irq_enabled(kRtc));
    CHECK(w.call(w.drv(), F::IrqAck, {1}) == 0);
    CHECK(host::irq_enabled(kRtc));
    w.object().word = 0;
    w.kernel.interrupts.fired(kRtc);
    CHECK(w.object().word == 0x200);

    // Unbind: off, forgotten; a late (already pending) fire signals nobody.
    CHECK(w.call(w.drv(), F::IrqUnbind, {1}) == 0);
    CHECK_FALSE(w.line(kRtc).bound());
    CHECK_FALSE(host::irq_enabled(kRtc));
    w.object().word = 0;
    w.kernel.interrupts.fired(kRtc);
    CHECK(w.object().word == 0);
    CHECK(w.call(w.drv(), F::IrqAck, {1}) == st(Status::NotFound));
    CHECK(w.line(kRtc).created);  // the cap still exists: it may be bound again
    CHECK(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
    CHECK(host::irq_enabled(kRtc));
}

TEST_CASE("an SPI outside the table or never bound is only disabled when it fires", "[interrupts][INV-5]") {
    World w;
    // As if something had enabled them at the distributor: an unbound assignable SPI and one
    // the kernel never gives out.
    arch::irq_enable(kGpio, 1);
    arch::irq_enable(40, 1);
    w.kernel.interrupts.fired(kGpio);
    CHECK_FALSE(host::irq_enabled(kGpio));
    CHECK_FALSE(w.line(kGpio).masked);  // nothing awaits an acknowledgement
    w.kernel.interrupts.fired(40);
    CHECK_FALSE(host::irq_enabled(40));
    CHECK(w.object().word == 0);
    w.kernel.interrupts.fired(5);      // an SGI number: not the table's
    w.kernel.interrupts.fired(5000);   // past the GIC
    CHECK(w.object().word == 0);
}

TEST_CASE("a binding ends with its notification", "[interrupts][INV-5][T-73]") {
    World w;
    REQUIRE(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
    REQUIRE(w.call(w.drv(), F::IrqBind, {5, 2, 0x2}) == 0);
    CHECK(host::irq_enabled(kGpio));
    // Every cap to the notification goes: the partitions' (delete) and the boot CNode's
    // (revoke its children, then delete it: the last cap destroys the object).
    CHECK(ok(w.revoke(w.at(w.ntfn), 1000).status));
    CHECK(ok(w.delete_cap(w.at(w.ntfn))));
    CHECK_FALSE(w.line(kRtc).bound());
    CHECK_FALSE(w.line(kGpio).bound());
    CHECK_FALSE(host::irq_enabled(kRtc));
    CHECK_FALSE(host::irq_enabled(kGpio));
    w.kernel.interrupts.fired(kRtc);  // nothing to signal into freed memory
}

TEST_CASE("a binding ends with the last IrqHandler cap", "[interrupts][INV-5][T-73]") {
    World w;
    REQUIRE(w.call(w.drv(), F::IrqBind, {5, 2, kBadge}) == 0);
    CHECK(ok(w.revoke(w.at(w.gpio), 1000).status));
    CHECK(w.line(kGpio).bound());  // the boot CNode's cap still names the SPI
    CHECK(ok(w.delete_cap(w.at(w.gpio))));
    CHECK_FALSE(w.line(kGpio).bound());
    CHECK_FALSE(w.line(kGpio).created);
    CHECK_FALSE(host::irq_enabled(kGpio));
}

TEST_CASE("a restart or stop of the owner forgets its bindings", "[interrupts][INV-5][T-73]") {
    SECTION("restart (PSCI SYSTEM_RESET)") {
        World w(manifest::RestartPolicy::Restart);
        REQUIRE(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
        CHECK_FALSE(hypercall(w.kernel, w.drv(), hvc::psci::kSystemReset));
        CHECK(w.driver->restarts == 1);
        CHECK_FALSE(w.line(kRtc).bound());
        CHECK_FALSE(host::irq_enabled(kRtc));
        // The new run binds anew.
        CHECK(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
        CHECK(host::irq_enabled(kRtc));
    }
    SECTION("stop for good (a fault)") {
        World w;
        REQUIRE(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
        CHECK_FALSE(exit_with(w.kernel, w.drv(), ExitVector::Sync, kEsrDataAbortWrite, 0, 0x5000'0000 >> 8));
        CHECK(w.driver->load_state() == PartitionState::Stopped);
        CHECK_FALSE(w.line(kRtc).bound());
        CHECK_FALSE(host::irq_enabled(kRtc));
    }
}

TEST_CASE("the checker holds every interrupt state above to INV-5 and catches each corruption", "[interrupts][invariants][INV-5][T-44][T-71][T-73]") {
    World w;
    auto clean = [&] {
        const InvariantReport r = check_invariants(w.kernel);
        INFO(describe(r));
        CHECK(r.ok());
    };
    clean();
    REQUIRE(w.call(w.drv(), F::IrqBind, {1, 2, kBadge}) == 0);
    clean();
    w.kernel.interrupts.fired(kRtc);
    clean();
    REQUIRE(w.call(w.drv(), F::IrqAck, {1}) == 0);
    clean();

    auto expect = [&](const char* message) {
        const InvariantReport r = check_invariants(w.kernel);
        INFO(describe(r));
        const InvariantViolation* v = r.find(InvariantId::InterruptOwnership);
        REQUIRE(v != nullptr);
        CHECK(std::string(v->message) == message);
    };
    // Corruptions a kernel bug could leave; each is reported, then undone.
    auto& line = const_cast<InterruptTable::Binding&>(w.line(kRtc));
    const InterruptTable::Binding saved = line;
    SECTION("a binding to a notification no cap names (freed memory)") {
        line.notification += 1ull << caps::kNotificationBits;
        expect("an SPI is bound to a notification no cap names");
    }
    SECTION("a binding for a partition that does not exist") {
        line.owner = PartitionId(8);
        expect("an SPI is bound for no live partition");
    }
    SECTION("a binding to a notification another partition can wait on") {
        // The waiter's Read cap moves to the other partition (the driver keeps only its Write
        // cap): the driver's SPI now signals a notification only the other partition waits on,
        // as if IrqBind had not asked for Read.
        REQUIRE(ok(w.delete_cap(caps::cnode_slots(w.driver->cspace_root)[2])));
        REQUIRE(ok(w.mint(w.at(w.ntfn), caps::cnode_slots(w.other->cspace_root)[9], Rights::read(), 0)));
        expect("an SPI is bound to a notification another partition can wait on");
    }
    SECTION("a binding made by another partition than the holder") {
        line.owner = w.other->index;
        expect("an SPI is bound by one partition and held by another");
    }
    SECTION("a binding routed past the machine's cores") {
        line.core = CoreId(platform::kMaxCores);
        expect("an SPI is routed to no core of the machine");
    }
    SECTION("state left on an unbound SPI") {
        line = InterruptTable::Binding{};
        line.created = true;
        line.masked = true;
        expect("an unbound SPI keeps binding state");
    }
    SECTION("the SPI's cap planted in a second partition's CSpace") {
        CapSlot& dest = caps::cnode_slots(w.other->cspace_root)[7];
        REQUIRE(ok(w.mint(w.at(w.rtc), dest, Rights::control(), 0)));
        const InvariantReport r = check_invariants(w.kernel);
        INFO(describe(r));
        const InvariantViolation* v = r.find(InvariantId::InterruptOwnership);
        REQUIRE(v != nullptr);
        CHECK(std::string(v->message) == "an SPI's IrqHandler caps are in two partitions");
        CHECK(v->has(InvariantViolation::kPartition));
        CHECK(v->partition_index == w.other->index.raw());
    }
    SECTION("a Read cap to the bound notification planted in a second partition") {
        CapSlot& dest = caps::cnode_slots(w.other->cspace_root)[8];
        REQUIRE(ok(w.mint(w.at(w.ntfn), dest, Rights::read(), 0)));
        expect("a notification can be waited on by two partitions");
    }
    SECTION("an IrqHandler cap for an SPI with no handler") {
        line.created = false;
        expect("an IrqHandler cap names an SPI the kernel made no handler for");
    }
    line = saved;
}

TEST_CASE("a vCPU still in the kernel when its partition is taken down cannot bind an interrupt again", "[interrupts][INV-5][T-73]") {
    KernelFixture f;
    Partition& p = f.make("driver", kPartitionPa, 1, 2);  // vCPUs on cores 1 and 2
    const u32 ntfn = f.slot(), rtc = f.slot();
    REQUIRE(ok(f.retype(manifest::kKernelUntypedSlot, ObjectType::Notification, 0, ntfn, 1)));
    REQUIRE(ok(f.create_irq_handler(rtc, kRtc)));
    REQUIRE(ok(f.grant(rtc, p, 1, Rights::control())));
    REQUIRE(ok(f.grant(ntfn, p, 2, Rights::read())));
    REQUIRE(ok(f.seal()));
    Vcpu& v0 = p.vcpus[0];
    Vcpu& v1 = p.vcpus[1];
    REQUIRE(call_status(f.kernel, v0, static_cast<F>(hvc::psci::kCpuOn), {1, kGuestRam, 0}) == 0);
    REQUIRE(call_status(f.kernel, v1, F::IrqBind, {1, 2, kBadge}) == 0);
    REQUIRE(f.kernel.interrupts.binding(kRtc)->bound());
    // A controller on another core takes the partition down: it moves it to Stopping and ends its
    // bindings first (Lifecycle::take_down), then waits for vCPU 1, which is still in the kernel
    // on its own core and makes one more call before it sees the stop.
    REQUIRE(p.transition(PartitionState::Running, PartitionState::Stopping));
    f.kernel.interrupts.partition_stopped(p.index);
    REQUIRE_FALSE(f.kernel.interrupts.binding(kRtc)->bound());
    CHECK_FALSE(hypercall(f.kernel, v1, fid(F::IrqBind), {1, 2, kBadge}));  // it leaves the guest
    CHECK(status_of(v1) == st(Status::Busy));
    // Nothing of the old run decides where the interrupt goes: the binding stays gone.
    CHECK_FALSE(f.kernel.interrupts.binding(kRtc)->bound());
    CHECK_FALSE(host::irq_enabled(kRtc));
    CHECK(v1.load_state() == VcpuState::Off);
}

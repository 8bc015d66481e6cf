// Notifications through the hypercall interface: signal ORs badges, poll and wait take the word,
// wait parks the vCPU until a signal, and a stop or the object's destruction cancels the wait.
// A wait that blocks first waits in the kernel on its own core (ipc/kernel_wait.hpp): the tests
// at the end play the other cores from the host's wait_for_event, and race them with a thread.
#include <catch2/catch_test_macros.hpp>
#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <bulkhead/hypercall.hpp>
#include <atomic>
#include <chrono>
#include <calls/guest_exit.hpp>
#include <functional>
#include <ipc/kernel_wait.hpp>
#include <thread>
#include <invariants/invariants.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>

using namespace bh;
using namespace bh::test;
namespace attr = bh::manifest::attr;

namespace {

struct Fixture : KernelFixture {
    // The object a Notification cap in boot slot `s` names.
    Notification& notification(u32 s) {
        return *static_cast<Notification*>(arch::phys_to_virt(PhysAddr(at(s).cap.object)));
    }
};

using F = hvc::Function;
constexpr u64 fid(F f) { return static_cast<u64>(f); }

constexpr u64 kBadgeA = 0x4, kBadgeB = 0x10;
// A parked waiter's x0 still holds the function ID: its results come with the signal.
constexpr i64 kParked = static_cast<i64>(fid(F::NotificationWait));

// Two partitions and one notification from the kernel's untyped. "signaller" holds, in its
// CSpace: 1 = Write badged kBadgeA, 2 = Write badged kBadgeB, 3 = Write unbadged, 5 = Control
// of "waiter". "waiter" (two vCPUs) holds: 1 = Read, 2 = Write badged kBadgeA. Only "waiter" may
// wait on it: seal refuses Read caps to one notification in two partitions.
struct World : Fixture {
    u32 signaller_slot, waiter_slot, ntfn;
    Partition* a = nullptr;
    Partition* b = nullptr;
    World() {
        signaller_slot = make_slot("signaller", kPartitionPa, 1);
        waiter_slot = make_slot("waiter", kPartitionPa + 4 * kMiB, 2, 2);
        a = &partition(signaller_slot);
        b = &partition(waiter_slot);
        ntfn = slot();
        REQUIRE(ok(retype(kKernelUntyped, ObjectType::Notification, 0, ntfn, 1)));
        const u32 badged_a = slot(), badged_b = slot();
        REQUIRE(ok(mint(at(ntfn), at(badged_a), Rights::write() | Rights::grant(), kBadgeA)));
        REQUIRE(ok(mint(at(ntfn), at(badged_b), Rights::write() | Rights::grant(), kBadgeB)));
        REQUIRE(ok(grant(badged_a, *a, 1, Rights::write())));
        REQUIRE(ok(grant(badged_b, *a, 2, Rights::write())));
        REQUIRE(ok(grant(ntfn, *a, 3, Rights::write())));
        REQUIRE(ok(grant(waiter_slot, *a, 5, Rights::control())));
        REQUIRE(ok(grant(ntfn, *b, 1, Rights::read())));
        REQUIRE(ok(grant(badged_a, *b, 2, Rights::write())));
        // "signaller" can signal "waiter" (a Write cap to an object the other holds Read to):
        // invariant 6 wants the flow declared, or seal refuses.
        REQUIRE(ok(declare_flow(*a, *b, manifest::FlowKind::Signal)));
        REQUIRE(ok(seal()));
    }
    Vcpu& sig() { return a->vcpus[0]; }
    Vcpu& waiter() { return b->vcpus[0]; }
    Notification& object() { return notification(ntfn); }
    // Issues `fn` on `v` with x1 = cptr; returns the status, `resumed` says whether v resumes.
    i64 call(Vcpu& v, F fn, u64 cptr, bool* resumed = nullptr) {
        bool r = hypercall(kernel, v, fid(fn), {cptr});
        if (resumed != nullptr) *resumed = r;
        return status_of(v);
    }
};

// One partition, "waiter", holding a Read cap (slot 1) to a notification retyped from an untyped
// of its own size (boot slot `untyped`), so that revoking the untyped destroys it.
struct FromUntyped : Fixture {
    Partition* p = nullptr;
    u32 untyped = 0, ntfn = 0;
    FromUntyped() {
        p = &partition(make_slot("waiter", kPartitionPa, 1));
        untyped = slot();
        ntfn = slot();
        REQUIRE(ok(create_untyped(untyped, kPartitionPa + 4 * kMiB, 12, false)));
        REQUIRE(ok(retype(untyped, ObjectType::Notification, 0, ntfn, 1)));
        REQUIRE(ok(grant(ntfn, *p, 1, Rights::read())));
        REQUIRE(ok(seal()));
    }
};

}  // namespace

TEST_CASE("notification objects are retyped from RAM untyped and fit their memory", "[notification][T-47]") {
    STATIC_REQUIRE(sizeof(Notification) <= (1u << caps::kNotificationBits));
    Fixture f;
    const u32 us = f.slot(), ns = f.slot();
    REQUIRE(ok(f.create_untyped(us, kPartitionPa, 14, false)));
    REQUIRE(ok(f.retype(us, ObjectType::Notification, 0, ns, 2)));
    CHECK(f.at(ns).cap.size_bits == caps::kNotificationBits);
    CHECK(f.at(ns).cap.rights == (Rights::read() | Rights::write() | Rights::grant()));
    CHECK(f.at(ns + 1).cap.object == f.at(ns).cap.object + (1u << caps::kNotificationBits));
    CHECK(f.notification(ns).word == 0);
    CHECK(f.notification(ns).waiter == nullptr);
    // Not from device memory, and the fixed size is asked for with 0.
    f.slot();  // ns + 1
    const u32 du = f.slot();
    REQUIRE(ok(f.create_untyped(du, 0x0901'0000, 12, true)));
    CHECK(f.retype(du, ObjectType::Notification, 0, f.slot(), 1).status() == Status::InvalidArgument);
    CHECK(f.retype(us, ObjectType::Notification, 12, f.slot(), 1).status() == Status::InvalidArgument);
}

TEST_CASE("signal ORs badges, poll and wait take the word, wait parks until a signal", "[notification][INV-5][T-52][T-65][T-66][T-67]") {
    World w;
    Vcpu& a = w.sig();
    Vcpu& b = w.waiter();
    Notification& n = w.object();
    bool resumed = false;

    // Poll of an empty word: 0, never blocks.
    CHECK(w.call(b, F::NotificationPoll, 1, &resumed) == 0);
    CHECK(resumed);
    CHECK(b.regs.x[1] == 0);

    // Two signals with different badges: the poll returns their OR and clears the word.
    CHECK(w.call(a, F::NotificationSignal, 1) == 0);
    CHECK(w.call(a, F::NotificationSignal, 2) == 0);
    CHECK(n.word == (kBadgeA | kBadgeB));
    CHECK(w.call(b, F::NotificationPoll, 1) == 0);
    CHECK(b.regs.x[1] == (kBadgeA | kBadgeB));
    CHECK(n.word == 0);
    CHECK(w.call(b, F::NotificationPoll, 1) == 0);
    CHECK(b.regs.x[1] == 0);

    // An unbadged cap signals 1; a wait with the word set returns at once, like a poll.
    CHECK(w.call(a, F::NotificationSignal, 3) == 0);
    CHECK(n.word == 1);
    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == 0);
    CHECK(resumed);
    CHECK(b.regs.x[1] == 1);
    CHECK(b.load_state() == VcpuState::Running);
    CHECK(n.word == 0);

    // Rights: Write signals, Read waits and polls. A refusal changes nothing, x1 included.
    CHECK(w.call(b, F::NotificationSignal, 1) == st(Status::Denied));
    CHECK(n.word == 0);
    CHECK(w.call(a, F::NotificationWait, 1, &resumed) == st(Status::Denied));
    CHECK(resumed);
    CHECK(a.regs.x[1] == 1);
    CHECK(a.load_state() == VcpuState::Running);
    CHECK(w.call(a, F::NotificationPoll, 2) == st(Status::Denied));
    CHECK(a.regs.x[1] == 2);
    // Not a notification: an empty slot, a Partition cap; a cptr outside the CSpace.
    CHECK(w.call(a, F::NotificationSignal, 9) == st(Status::InvalidArgument));
    CHECK(w.call(a, F::NotificationSignal, 5) == st(Status::InvalidArgument));
    CHECK(w.call(a, F::NotificationWait, 5) == st(Status::InvalidArgument));
    CHECK(w.call(a, F::NotificationPoll, 1ull << 20) == st(Status::InvalidArgument));
    CHECK(n.word == 0);

    // The waiter's second vCPU runs too (CPU_ON, then its core enters it).
    Vcpu& b1 = w.b->vcpus[1];
    CHECK(hypercall(w.kernel, b, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(exit_with(w.kernel, b1, ExitVector::Irq));
    // Wait with the word 0 parks the vCPU: the exit handler says "do not resume".
    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);  // x0 untouched
    CHECK_FALSE(resumed);
    CHECK(b.load_state() == VcpuState::Blocked);
    CHECK(n.waiter == &b);
    // Its core finds nothing to run meanwhile (the core loop's claim takes Runnable vCPUs only).
    CHECK(w.kernel.cores.claim(b.core) == nullptr);
    CHECK(b.load_state() == VcpuState::Blocked);
    // Another vCPU cannot wait on it at the same time; a poll meanwhile sees 0.
    CHECK(w.call(b1, F::NotificationWait, 1, &resumed) == st(Status::Busy));
    CHECK(resumed);
    CHECK(b1.load_state() == VcpuState::Running);
    CHECK(w.call(b1, F::NotificationPoll, 1) == 0);
    CHECK(b1.regs.x[1] == 0);
    CHECK(b.load_state() == VcpuState::Blocked);

    // A signal hands the word to the waiter, clears it and makes the waiter runnable.
    const u64 wakes = host::wake_count();
    const u64 waiter_core_wakes = host::wake_count(b.core.raw());
    const u64 signaller_core_wakes = host::wake_count(a.core.raw());
    CHECK(w.call(a, F::NotificationSignal, 2, &resumed) == 0);
    CHECK(resumed);
    CHECK(b.load_state() == VcpuState::Runnable);
    CHECK(status_of(b) == 0);
    CHECK(b.regs.x[1] == kBadgeB);
    CHECK(n.word == 0);
    CHECK(n.waiter == nullptr);
    CHECK(b.waiting_on == nullptr);
    CHECK(host::wake_count() > wakes);
    // The waiter's core is woken (its idle loop sleeps until then), not the signaller's.
    CHECK(host::wake_count(b.core.raw()) == waiter_core_wakes + 1);
    CHECK(host::wake_count(a.core.raw()) == signaller_core_wakes);
    // Its core enters it again; the next signal is only recorded.
    CHECK(exit_with(w.kernel, b, ExitVector::Irq));
    CHECK(b.load_state() == VcpuState::Running);
    CHECK(w.call(b, F::NotificationSignal, 2) == 0);  // its own badged Write cap
    CHECK(n.word == kBadgeA);
    CHECK(w.call(b1, F::NotificationWait, 1) == 0);  // the word is not 0: no blocking
    CHECK(b1.regs.x[1] == kBadgeA);

    // Another round: wait, then a signal wakes it with that signal's badge only.
    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
    CHECK_FALSE(resumed);
    CHECK(w.call(a, F::NotificationSignal, 1) == 0);
    CHECK(b.regs.x[1] == kBadgeA);
    CHECK(w.a->load_state() == PartitionState::Running);
    CHECK(w.b->load_state() == PartitionState::Running);
    CHECK(check_invariants(w.kernel).ok());
}

TEST_CASE("a stop of the waiter's partition cancels its wait", "[notification][INV-6][INV-7][T-58][T-68]") {
    World w;
    Vcpu& a = w.sig();
    Vcpu& b = w.waiter();
    Notification& n = w.object();
    bool resumed = true;

    SECTION("stopped for good: a later signal does not touch it") {
        CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
        CHECK_FALSE(resumed);
        REQUIRE(b.load_state() == VcpuState::Blocked);
        CHECK(w.call(a, F::PartitionStop, 5) == 0);
        CHECK(w.b->load_state() == PartitionState::Stopped);
        CHECK(b.load_state() == VcpuState::Off);
        CHECK(b.waiting_on == nullptr);
        CHECK(n.waiter == nullptr);
        const arch::GuestRegs before = b.regs;
        CHECK(w.call(a, F::NotificationSignal, 1) == 0);
        CHECK(b.load_state() == VcpuState::Off);
        CHECK(b.regs.x[0] == before.x[0]);
        CHECK(b.regs.x[1] == before.x[1]);
        CHECK(n.word == kBadgeA);  // kept for the next wait or poll
    }

    SECTION("restarted: the new run does not get the old wait's signal") {
        CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
        CHECK_FALSE(resumed);
        CHECK(w.call(a, F::PartitionRestart, 5) == 0);
        CHECK(w.b->load_state() == PartitionState::Running);
        CHECK(w.b->restarts == 1);
        CHECK(b.load_state() == VcpuState::Runnable);
        CHECK(b.regs.x[0] == kBootArg);
        CHECK(n.waiter == nullptr);
        CHECK(w.call(a, F::NotificationSignal, 1) == 0);
        CHECK(b.regs.x[0] == kBootArg);  // its fresh registers are its own
        CHECK(b.regs.x[1] == 0);
        CHECK(b.regs.elr == kGuestRam);
        CHECK(n.word == kBadgeA);
        // The restarted vCPU waits afresh and gets what is pending.
        CHECK(w.call(b, F::NotificationWait, 1, &resumed) == 0);
        CHECK(resumed);
        CHECK(b.regs.x[1] == kBadgeA);
    }

    SECTION("its own sibling's SYSTEM_OFF stops it") {
        Vcpu& b1 = w.b->vcpus[1];
        CHECK(hypercall(w.kernel, b, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
        CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
        CHECK_FALSE(resumed);
        CHECK_FALSE(hypercall(w.kernel, b1, hvc::psci::kSystemOff));
        CHECK(w.b->load_state() == PartitionState::Stopped);
        CHECK(b.load_state() == VcpuState::Off);
        CHECK(b1.load_state() == VcpuState::Off);
        CHECK(n.waiter == nullptr);
    }
    CHECK(w.a->load_state() == PartitionState::Running);
}

TEST_CASE("deleting a notification's last cap resumes its waiter with NotFound", "[notification][INV-4][INV-7][T-69]") {
    World w;
    Vcpu& a = w.sig();
    Vcpu& b = w.waiter();
    Vcpu& b1 = w.b->vcpus[1];
    Notification& n = w.object();
    bool resumed = true;
    // The kernel's own caps go first: the partitions' copies are then all that is left.
    for (u32 s = w.ntfn + 2; s >= w.ntfn; --s) REQUIRE(ok(w.delete_cap(w.at(s))));
    CHECK(hypercall(w.kernel, b, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(exit_with(w.kernel, b1, ExitVector::Irq));  // vCPU 1 runs

    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
    CHECK_FALSE(resumed);
    for (u64 c = 1; c <= 3; ++c) CHECK(w.call(a, F::CapDelete, c) == 0);
    CHECK(b.load_state() == VcpuState::Blocked);  // caps remain: not destroyed
    CHECK(w.call(b1, F::CapDelete, 2) == 0);
    CHECK(b.load_state() == VcpuState::Blocked);
    // The last cap, deleted by the waiter's sibling (under the capability lock).
    CHECK(w.call(b1, F::CapDelete, 1, &resumed) == 0);
    CHECK(resumed);
    CHECK(b.load_state() == VcpuState::Runnable);
    CHECK(status_of(b) == st(Status::NotFound));
    CHECK(b.regs.x[1] == 0);
    CHECK(n.waiter == nullptr);
    CHECK(b.waiting_on == nullptr);
    CHECK(check_invariants(w.kernel).ok());
}

TEST_CASE("revoking the untyped a notification came from resumes its waiter", "[notification][INV-4][T-69]") {
    FromUntyped f;
    const u32 us = f.untyped, ns = f.ntfn;
    Vcpu& v = f.p->vcpus[0];
    Notification& n = f.notification(ns);
    CHECK_FALSE(hypercall(f.kernel, v, fid(F::NotificationWait), {1}));
    CHECK(v.load_state() == VcpuState::Blocked);
    caps::RevokeProgress r = f.revoke(f.at(us), 16);
    CHECK(r.done);
    CHECK(r.deleted == 2);
    CHECK(v.load_state() == VcpuState::Runnable);
    CHECK(status_of(v) == st(Status::NotFound));
    CHECK(n.waiter == nullptr);
    CHECK(v.waiting_on == nullptr);
    CHECK(exit_with(f.kernel, v, ExitVector::Irq));
    CHECK(hypercall(f.kernel, v, fid(F::NotificationPoll), {1}));
    CHECK(status_of(v) == st(Status::InvalidArgument));  // the slot is empty now
}

// --- waiting in the kernel

namespace {

// What the other cores do while the vCPU under test waits in the kernel: `on_wait` runs at every
// arch::wait_for_event of the waiting core, no interrupt is pending unless it says so.
struct OtherCores {
    static inline std::function<void()> on_wait;
    OtherCores() {
        host::set_interrupt_pending(false);
        host::set_wait_hook(+[] { on_wait(); });
    }
    ~OtherCores() {
        host::set_wait_hook(nullptr);
        host::set_interrupt_pending(false);
        on_wait = nullptr;
    }
};

// The notification world with the other cores played by the test (OtherCores).
struct WaitWorld {
    World w;
    OtherCores others;
    struct Parts {
        World& w;
        Vcpu& a;
        Vcpu& b;
        Notification& n;
    };
    Parts parts() { return {w, w.sig(), w.waiter(), w.object()}; }
};

}  // namespace

TEST_CASE("a wait that blocks waits in the kernel on its core and resumes from there when signalled",
          "[notification][kernel-wait][INV-5][T-65]") {
    WaitWorld ww;
    auto [w, a, b, n] = ww.parts();
    unsigned waits = 0;
    OtherCores::on_wait = [&] {
        ++waits;
        // Meanwhile the vCPU is still its core's, Running, and registered as the waiter.
        CHECK(b.load_state() == VcpuState::Running);
        CHECK(b.waits_in_kernel.load());
        CHECK(n.waiter == &b);
        CHECK(b.waiting_on == &n);
        CHECK(w.kernel.cores.claim(b.core) == nullptr);
        if (waits == 1) return;  // a spurious wake-up: the core waits again
        CHECK(w.call(a, F::NotificationSignal, 2) == 0);
        CHECK(n.word == 0);  // handed to the waiter, not recorded
    };
    const u64 wakes = host::wake_count();
    const u64 kicks = host::kick_count(b.core.raw());
    bool resumed = false;
    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == 0);
    CHECK(resumed);
    CHECK(waits == 2);
    CHECK(b.regs.x[1] == kBadgeB);
    CHECK(b.load_state() == VcpuState::Running);
    CHECK_FALSE(b.waits_in_kernel.load());
    CHECK(n.waiter == nullptr);
    CHECK(b.waiting_on == nullptr);
    CHECK(host::wake_count() > wakes);                   // the signaller's event ended the wait
    CHECK(host::kick_count(b.core.raw()) == kicks);      // no interrupt was needed
    CHECK(check_invariants(w.kernel).ok());

    // A second waiter meanwhile is refused, as for a parked one.
    Vcpu& b1 = w.b->vcpus[1];
    CHECK(hypercall(w.kernel, b, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(exit_with(w.kernel, b1, ExitVector::Irq));
    waits = 0;
    OtherCores::on_wait = [&] {
        if (++waits == 1) {
            CHECK(w.call(b1, F::NotificationWait, 1) == st(Status::Busy));
        } else {
            CHECK(w.call(a, F::NotificationSignal, 1) == 0);
        }
    };
    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == 0);
    CHECK(resumed);
    CHECK(b.regs.x[1] == kBadgeA);
}

TEST_CASE("an interrupt while a vCPU waits in the kernel parks it as an ordinary waiter",
          "[notification][kernel-wait][INV-5][T-65]") {
    WaitWorld ww;
    auto [w, a, b, n] = ww.parts();
    OtherCores::on_wait = [] { host::set_interrupt_pending(true); };

    SECTION("the interrupt first: it waits Blocked, and a signal makes it runnable") {
        bool resumed = true;
        CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
        CHECK_FALSE(resumed);
        CHECK(b.load_state() == VcpuState::Blocked);
        CHECK_FALSE(b.waits_in_kernel.load());
        CHECK(n.waiter == &b);
        CHECK(w.call(a, F::NotificationSignal, 1) == 0);
        CHECK(b.load_state() == VcpuState::Runnable);
        CHECK(status_of(b) == 0);
        CHECK(b.regs.x[1] == kBadgeA);
        CHECK(n.waiter == nullptr);
    }

    SECTION("a signal after the interrupt, before the core parks it: runnable with its results") {
        enter(w.kernel, b);
        b.regs.x[0] = fid(F::NotificationWait);
        b.regs.x[1] = 1;
        REQUIRE(fast_path::fast_call(w.kernel, b) == fast_path::Outcome::Park);
        CHECK(b.waits_in_kernel.load());
        CHECK(w.call(a, F::NotificationSignal, 2) == 0);  // while the vectors save its frame
        fast_path::parked(b);
        CHECK(b.load_state() == VcpuState::Runnable);
        CHECK(status_of(b) == 0);
        CHECK(b.regs.x[1] == kBadgeB);
        CHECK(n.word == 0);
        CHECK(w.kernel.cores.claim(b.core) == &b);  // its core enters it again
    }
    CHECK(check_invariants(w.kernel).ok());
}

TEST_CASE("a wait in the kernel that no signal ends parks after kSpinPasses events, and a signal then kicks its core",
          "[notification][kernel-wait][INV-5][T-65]") {
    WaitWorld ww;
    auto [w, a, b, n] = ww.parts();
    unsigned waits = 0;
    // Events come, no signal, no interrupt (an unbounded loop ends on an interrupt after 100).
    OtherCores::on_wait = [&] {
        if (++waits == 100) host::set_interrupt_pending(true);
    };
    bool resumed = true;
    CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
    CHECK_FALSE(resumed);
    CHECK(waits == kSpinPasses);  // bounded: a long wait does not pass WFE for as long as it lasts
    CHECK(b.load_state() == VcpuState::Blocked);
    CHECK_FALSE(b.waits_in_kernel.load());
    CHECK(n.waiter == &b);
    CHECK(w.kernel.cores.claim(b.core) == nullptr);  // its core has nothing to run: it sleeps
    const u64 wakes = host::wake_count(b.core.raw());
    CHECK(w.call(a, F::NotificationSignal, 1) == 0);
    CHECK(b.load_state() == VcpuState::Runnable);
    CHECK(status_of(b) == 0);
    CHECK(b.regs.x[1] == kBadgeA);
    CHECK(host::wake_count(b.core.raw()) == wakes + 1);  // the sleeping core is woken, by a kick
    CHECK(w.kernel.cores.claim(b.core) == &b);
    CHECK(check_invariants(w.kernel).ok());
}

TEST_CASE("a stop while a vCPU waits in the kernel takes it off its core and forgets the wait",
          "[notification][kernel-wait][INV-6][INV-7][T-58][T-68]") {
    WaitWorld ww;
    auto [w, a, b, n] = ww.parts();

    SECTION("the take-down begins while it waits: its core parks it Off") {
        OtherCores::on_wait = [&] { REQUIRE(w.b->transition(PartitionState::Running, PartitionState::Stopping)); };
        bool resumed = true;
        CHECK(w.call(b, F::NotificationWait, 1, &resumed) == kParked);
        CHECK_FALSE(resumed);
        CHECK(b.load_state() == VcpuState::Off);
        CHECK_FALSE(b.waits_in_kernel.load());
        CHECK(n.waiter == nullptr);
        CHECK(b.waiting_on == nullptr);
    }

    SECTION("a signal and the take-down together: the guest resumes into the take-down's kick, which takes it off") {
        OtherCores::on_wait = [&] {
            CHECK(w.call(a, F::NotificationSignal, 1) == 0);
            REQUIRE(w.b->transition(PartitionState::Running, PartitionState::Stopping));
        };
        bool resumed = false;
        w.call(b, F::NotificationWait, 1, &resumed);
        CHECK(resumed);  // the signal ended the wait; the stop is for the kick to deliver
        CHECK(n.waiter == nullptr);
        // The take-down kicked the core: the guest exits on that interrupt before its next
        // instruction, and the exit takes the vCPU off.
        CHECK_FALSE(exit_with(w.kernel, b, ExitVector::Irq));
        CHECK(b.load_state() == VcpuState::Off);
    }

    // The whole stop and restart, from another thread, while the waiting core spins for real.
    for (const bool restart : {false, true}) {
        INFO("restart " << restart);
        SECTION(restart ? "restarted by a controller on another core" : "stopped by a controller on another core") {
            // The waiting core looks again only once the take-down has kicked it (or after 5 s,
            // and the kick check below fails): without the hold it could see the partition's new
            // state first and leave Off before the controller looks, which then needs no kick.
            static u64 kicks;
            static unsigned core;
            kicks = host::kick_count(b.core.raw());
            core = b.core.raw();
            host::set_wait_hook(+[] {
                const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
                while (host::kick_count(core) == kicks && std::chrono::steady_clock::now() < deadline)
                    std::this_thread::yield();
            });
            std::atomic<bool> resumed{true};
            enter(w.kernel, b);
            b.regs.x[0] = fid(F::NotificationWait);
            b.regs.x[1] = 1;
            std::thread waiting_core([&] {
                bool r = false;
                vectors_answer(w.kernel, b, r);
                resumed = r;
            });
            while (!b.waits_in_kernel.load()) std::this_thread::yield();
            const i64 s = w.call(a, restart ? F::PartitionRestart : F::PartitionStop, 5);
            waiting_core.join();
            CHECK(s == 0);
            CHECK_FALSE(resumed.load());
            CHECK(host::kick_count(b.core.raw()) > kicks);  // the take-down kicked its core
            CHECK(n.waiter == nullptr);
            CHECK(b.waiting_on == nullptr);
            CHECK_FALSE(b.waits_in_kernel.load());
            CHECK(w.b->load_state() == (restart ? PartitionState::Running : PartitionState::Stopped));
            CHECK(b.load_state() == (restart ? VcpuState::Runnable : VcpuState::Off));
            const arch::GuestRegs before = b.regs;
            // A later signal reaches neither the old run nor the new one: the word keeps it.
            CHECK(w.call(a, F::NotificationSignal, 1) == 0);
            CHECK(n.word == kBadgeA);
            CHECK(b.regs.x[0] == before.x[0]);
            CHECK(b.regs.x[1] == before.x[1]);
            if (restart) {
                CHECK(b.regs.x[0] == kBootArg);
                CHECK(b.regs.elr == kGuestRam);
            }
        }
    }
    CHECK(w.a->load_state() == PartitionState::Running);
}

TEST_CASE("revoking a notification while its waiter waits in the kernel resumes it with NotFound",
          "[notification][kernel-wait][INV-4][T-69]") {
    FromUntyped f;
    Vcpu& v = f.p->vcpus[0];
    OtherCores others;
    OtherCores::on_wait = [&] { CHECK(f.revoke(f.at(f.untyped), 16).done); };
    CHECK(hypercall(f.kernel, v, fid(F::NotificationWait), {1}));
    CHECK(status_of(v) == st(Status::NotFound));
    CHECK(v.regs.x[1] == 0);
    CHECK(v.load_state() == VcpuState::Running);
    CHECK(v.waiting_on == nullptr);
}

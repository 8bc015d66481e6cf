// Notifications through the hypercall interface: signal ORs badges, poll and wait take the word,
// wait parks the vCPU until a signal, and a stop or the object's destruction cancels the wait.
#include <catch2/catch_test_macros.hpp>
#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <bulkhead/hypercall.hpp>
#include <calls/guest_exit.hpp>
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
    Fixture f;
    const u32 ws = f.make_slot("waiter", kPartitionPa, 1);
    Partition& p = f.partition(ws);
    const u32 us = f.slot(), ns = f.slot();
    REQUIRE(ok(f.create_untyped(us, kPartitionPa + 4 * kMiB, 12, false)));
    REQUIRE(ok(f.retype(us, ObjectType::Notification, 0, ns, 1)));
    REQUIRE(ok(f.grant(ns, p, 1, Rights::read())));
    REQUIRE(ok(f.seal()));
    Vcpu& v = p.vcpus[0];
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

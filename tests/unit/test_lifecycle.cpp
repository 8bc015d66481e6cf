// A partition's life after seal (partition/lifecycle.hpp): a contained fault stops or restarts
// only the faulting partition; a controller stops and restarts another partition (or itself)
// through a Partition cap with Control; a restart scrubs and reloads the partition's memory.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <chrono>
#include <thread>

#include <arch/arch.hpp>
#include <cstring>
#include <string>
#include <utility>

using namespace bh;
using namespace bh::test;

namespace {

u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }
bool logged(const char* line) { return host::console_output().find(line) != std::string::npos; }

// Boot slots: each make() takes five (Partition, CNode, untyped, frame, Vcpu).
constexpr u32 kSlotsPerPartition = 5;
u32 nth_partition_slot(u32 n) { return manifest::kFirstFreeBootSlot + n * kSlotsPerPartition; }

}  // namespace

TEST_CASE("a stage-2 fault stops only the faulting partition", "[system][containment][INV-7][T-1][T-22][T-35]") {
    KernelFixture f;
    Partition& victim = f.make("victim", kPartitionPa, 1);
    Partition& attacker = f.make("attacker", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.seal().ok());
    std::memset(ram(kPartitionPa + 0x3000), 0x5A, 16);  // the victim's working state
    Vcpu& a = attacker.vcpus[0];
    a.regs.elr = kGuestRam + 0x40;
    u64 ipa = kPartitionPa;  // as an IPA this is outside the attacker's space
    CHECK_FALSE(exit_with(f.kernel, a, ExitVector::Sync, kEsrDataAbortWrite, ipa, (ipa >> 12) << 4));

    CHECK(attacker.load_state() == PartitionState::Stopped);
    CHECK(a.load_state() == VcpuState::Off);
    CHECK(victim.load_state() == PartitionState::Running);
    CHECK(ram(kPartitionPa + 0x3000)[15] == 0x5A);
    CHECK(logged("FAULT partition 'attacker' core 2: stage-2 data abort (write) at IPA 0x48000000"));
    CHECK(logged("translation fault level 2, write, ELR 0x40000040"));
    CHECK(logged("partition 'attacker' stopped"));
    CHECK(host::system_off_requests() == 0);
    CHECK(f.kernel.lifecycle.running() == 1);

    // The victim still runs its hypercalls; when it stops too, the machine powers off.
    Vcpu& v = victim.vcpus[0];
    CHECK(hypercall(f.kernel, v, hvc::psci::kSystemOff) == false);
    CHECK(victim.load_state() == PartitionState::Stopped);
    CHECK(logged("all partitions stopped; powering off"));
    CHECK(host::system_off_requests() == 1);
    CHECK(f.kernel.lifecycle.running() == 0);
}

TEST_CASE("a first launch finds its RAM zero and loads every partition before any runs", "[system][containment][INV-1][T-5]") {
    // Whatever the RAM held before the boot (a previous boot's data, firmware's) is gone at the
    // first launch, which does not zero it again: retype did (docs/isolation.md, "Zeroed once").
    KernelFixture f;
    std::memset(ram(kPartitionPa), 0xA5, 2 * kMiB);
    std::memset(ram(kPartitionPa + 4 * kMiB), 0xA5, 2 * kMiB);
    Partition& a = f.make("a", kPartitionPa, 1);
    Partition& b = f.make("b", kPartitionPa + 4 * kMiB, 2);
    static const u8 image_a[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const u8 image_b[] = {11, 12, 13};
    REQUIRE(f.load_image(a, kGuestRam + 0x2000, image_a, sizeof image_a).ok());
    REQUIRE(f.load_image(b, kGuestRam + 0x3000, image_b, sizeof image_b).ok());
    host::reset_counters();
    REQUIRE(f.seal().ok());
    CHECK(a.load_state() == PartitionState::Running);
    CHECK(b.load_state() == PartitionState::Running);
    CHECK(std::memcmp(ram(kPartitionPa + 0x2000), image_a, sizeof image_a) == 0);
    CHECK(std::memcmp(ram(kPartitionPa + 4 * kMiB + 0x3000), image_b, sizeof image_b) == 0);
    for (u64 off = 0; off < 2 * kMiB; ++off) {
        const bool in_a = off >= 0x2000 && off < 0x2000 + sizeof image_a;
        const bool in_b = off >= 0x3000 && off < 0x3000 + sizeof image_b;
        if (!in_a && ram(kPartitionPa + off)[0] != 0) FAIL("a's RAM not zero at +" << off);
        if (!in_b && ram(kPartitionPa + 4 * kMiB + off)[0] != 0) FAIL("b's RAM not zero at +" << off);
    }
    // Both images were copied and cleaned (b's last) before the first vCPU was made runnable
    // (the first wake).
    CHECK(host::cleaned_to_poc(PhysAddr(kPartitionPa + 4 * kMiB + 0x3000), sizeof image_b));
    CHECK(host::wake_count() >= 2);
    CHECK(host::wakes_before_last_clean() == 0);
}

TEST_CASE("restart policy rescrubs and reloads the partition", "[system][containment][INV-1][INV-6][T-5][T-15][T-16][T-25][T-35]") {
    KernelFixture f;
    Partition& p = f.make("phoenix", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
    static const u8 image[] = {0xC0, 0xDE};
    REQUIRE(f.load_image(p, kGuestRam, image, sizeof image).ok());
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    ram(kPartitionPa)[0] = 0xFF;          // the guest overwrote its own code
    ram(kPartitionPa + 0x8000)[0] = 0x77;  // and left data behind
    v.regs.x[5] = 0x1234;
    const u64 offset = p.counter_offset;
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, kEsrSysReg));
    CHECK(p.load_state() == PartitionState::Running);
    CHECK(p.restarts == 1);
    CHECK(v.load_state() == VcpuState::Runnable);
    CHECK(v.regs.x[5] == 0);
    CHECK(ram(kPartitionPa)[0] == 0xC0);
    CHECK(ram(kPartitionPa + 0x8000)[0] == 0);
    CHECK(p.counter_offset > offset);  // its virtual counter starts again at 0
    CHECK(logged("trapped system register access"));
    CHECK(logged("partition 'phoenix' restarting (restart 1)"));
}

TEST_CASE("a partition with a control capability stops and restarts another", "[system][hypercall][control][INV-4][INV-7][T-58]") {
    KernelFixture f;
    Partition& manager = f.make("manager", kPartitionPa, 1);
    Partition& victim = f.make("victim", kPartitionPa + 4 * kMiB, 2);
    const u32 victim_slot = nth_partition_slot(1);
    REQUIRE(&f.partition(victim_slot) == &victim);
    REQUIRE(f.grant(victim_slot, manager, 1, Rights::control()).ok());
    REQUIRE(f.grant(victim_slot, manager, 2, Rights::grant()).ok());  // no Control
    REQUIRE(f.grant(nth_partition_slot(0) + 3, manager, 3, Rights::read()).ok());  // a frame
    REQUIRE(f.seal().ok());
    Vcpu& m = manager.vcpus[0];
    using F = hvc::Function;
    auto call = [&](F fn, u64 cptr) {
        bool resume = hypercall(f.kernel, m, static_cast<u64>(fn), {cptr});
        return std::pair<i64, bool>{status_of(m), resume};
    };

    CHECK(call(F::PartitionStop, 2).first == st(Status::Denied));
    CHECK(call(F::PartitionStop, 3).first == st(Status::InvalidArgument));
    CHECK(call(F::PartitionStop, 9).first == st(Status::InvalidArgument));  // empty slot
    CHECK(victim.load_state() == PartitionState::Running);

    ram(kPartitionPa + 4 * kMiB + 0x100)[0] = 0x77;  // the victim's state before the restart
    auto r = call(F::PartitionRestart, 1);
    CHECK(r.first == 0);
    CHECK(r.second);  // the manager resumes
    CHECK(victim.restarts == 1);
    CHECK(victim.load_state() == PartitionState::Running);
    CHECK(ram(kPartitionPa + 4 * kMiB + 0x100)[0] == 0);  // scrubbed
    CHECK(logged("partition 'victim' restarting (restart 1, by 'manager')"));

    CHECK(call(F::PartitionStop, 1).first == 0);
    CHECK(victim.load_state() == PartitionState::Stopped);
    CHECK(logged("partition 'victim' stopped (by 'manager')"));
    // A second stop answers as the first: the answer says nothing of the target's state.
    CHECK(call(F::PartitionStop, 1).first == 0);
    CHECK(victim.load_state() == PartitionState::Stopped);
    CHECK(f.kernel.lifecycle.running() == 1);
    // A partition stopped for good can be brought back.
    CHECK(call(F::PartitionRestart, 1).first == 0);
    CHECK(victim.load_state() == PartitionState::Running);
    CHECK(victim.restarts == 2);
    CHECK(host::system_off_requests() == 0);
    CHECK(manager.load_state() == PartitionState::Running);
}

TEST_CASE("a partition that stops or restarts itself does not resume", "[control]") {
    KernelFixture f;
    Partition& p = f.make("self", kPartitionPa, 1, 2);
    Partition& other = f.make("other", kPartitionPa + 4 * kMiB, 3);
    REQUIRE(f.grant(nth_partition_slot(0), p, 1, Rights::control()).ok());
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    Vcpu& v1 = p.vcpus[1];
    CHECK(hypercall(f.kernel, v0, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(exit_with(f.kernel, v1, ExitVector::Irq));  // vCPU 1 runs on its core
    // vCPU 0 switches itself off: on the host no other core would leave the guest on a kick.
    CHECK_FALSE(hypercall(f.kernel, v0, hvc::psci::kCpuOff));
    REQUIRE(v0.load_state() == VcpuState::Off);

    // A restart of its own partition, from vCPU 1: vCPU 1 goes, vCPU 0 starts afresh.
    CHECK_FALSE(hypercall(f.kernel, v1, static_cast<u64>(hvc::Function::PartitionRestart), {1}));
    CHECK(p.restarts == 1);
    CHECK(p.load_state() == PartitionState::Running);
    CHECK(v1.load_state() == VcpuState::Off);
    CHECK(v0.load_state() == VcpuState::Runnable);
    CHECK(v0.regs.x[0] == kBootArg);
    CHECK(logged("partition 'self' restarting (restart 1, by 'self')"));

    // A stop of its own partition: for good.
    CHECK_FALSE(hypercall(f.kernel, v0, static_cast<u64>(hvc::Function::PartitionStop), {1}));
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(v0.load_state() == VcpuState::Off);
    CHECK(logged("partition 'self' stopped (by 'self')"));
    CHECK(other.load_state() == PartitionState::Running);
    CHECK(f.kernel.lifecycle.running() == 1);
}

TEST_CASE("a partition that restarts itself from vCPU 0 starts with its boot argument in x0", "[control][T-14]") {
    KernelFixture f;
    Partition& p = f.make("self", kPartitionPa, 1);  // x0 = kBootArg at every start
    REQUIRE(f.grant(nth_partition_slot(0), p, 1, Rights::control()).ok());
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    CHECK_FALSE(hypercall(f.kernel, v0, static_cast<u64>(hvc::Function::PartitionRestart), {1}));
    REQUIRE(p.restarts == 1);
    REQUIRE(v0.load_state() == VcpuState::Runnable);
    // The restart prepared vCPU 0's registers for its new run: the call's status must not
    // overwrite them (the caller no longer exists to read it).
    CHECK(v0.regs.x[0] == kBootArg);
    CHECK(v0.regs.elr == kGuestRam);
}

// What the target does (fault, SYSTEM_OFF, a stop by another controller) must not reach a
// controller through the answer of PartitionStop/PartitionRestart: a flow from the target to the
// controller that no DeclareFlow expresses. Every state a launched target can be in gets Ok.
TEST_CASE("a controller's stop and restart answer the same whatever state the target is in", "[control][INV-6][T-51]") {
    KernelFixture f;
    Partition& manager = f.make("manager", kPartitionPa, 1);
    Partition& target = f.make("target", kPartitionPa + 4 * kMiB, 2);
    Partition& third = f.make("third", kPartitionPa + 8 * kMiB, 3);
    REQUIRE(f.seal().ok());
    Vcpu& m = manager.vcpus[0];
    auto stop = [&] { return f.kernel.lifecycle.control(target, false, m).status(); };
    auto restart = [&] { return f.kernel.lifecycle.control(target, true, m).status(); };

    CHECK(stop() == Status::Ok);  // running
    CHECK(target.load_state() == PartitionState::Stopped);
    CHECK(stop() == Status::Ok);  // stopped: nothing to do
    CHECK(target.load_state() == PartitionState::Stopped);
    CHECK(target.restarts == 0);
    CHECK(restart() == Status::Ok);  // stopped: brought back
    CHECK(target.restarts == 1);
    CHECK(restart() == Status::Ok);  // running
    CHECK(target.restarts == 2);

    // Being taken down by another core (as after its own fault): the call waits for that to
    // end, then answers as for the state it ends in.
    for (const bool restart_call : {false, true}) {
        INFO(restart_call);
        target.store_state(PartitionState::Stopping);
        std::thread other_core([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            target.store_state(PartitionState::Stopped);
        });
        const Status s = restart_call ? restart() : stop();
        other_core.join();
        CHECK(s == Status::Ok);
        CHECK(target.load_state() == (restart_call ? PartitionState::Running : PartitionState::Stopped));
    }
    CHECK(target.restarts == 3);

    // A controller that is being taken down itself does not wait (the core taking it down
    // waits for it): nobody reads its answer.
    target.store_state(PartitionState::Stopping);
    manager.store_state(PartitionState::Stopping);
    CHECK(stop() == Status::Ok);
    CHECK(target.load_state() == PartitionState::Stopping);
    CHECK(third.load_state() == PartitionState::Running);
}

// Restart back-off (partition/restart_backoff.hpp, docs/isolation.md "Restart back-off"): runs
// that keep ending quickly are restarted after a growing delay, spent with vCPU 0 runnable but
// not yet due (the core loop's CoreMap::claim leaves it), never in the kernel; a run that lasted
// starts the count afresh.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <partition/restart_backoff.hpp>
#include <string>

using namespace bh;
using namespace bh::test;

namespace {

constexpr u64 kHz = host::kCounterFrequency;
constexpr u64 kFirst = kHz / RestartBackoff::kFirstDelayDivisor;

}  // namespace

TEST_CASE("back-off: quick runs double the wait up to a second, a settled run resets it", "[restart_backoff][T-35]") {
    RestartBackoff b;
    u64 t = 1000;
    // A run that lasted a second or more: restart at once.
    CHECK(b.next_delay(t, t + kHz, kHz) == 0);
    CHECK(b.quick_restarts() == 0);
    // Quick runs: 1/64 s, 1/32, ... 1/2, 64/64 (a second, to the tick of the division), then 1 s.
    const u64 expected[] = {kFirst, 2 * kFirst, 4 * kFirst, 8 * kFirst, 16 * kFirst, 32 * kFirst, 64 * kFirst, kHz, kHz};
    for (u64 want : expected) {
        CHECK(b.next_delay(t, t + 10, kHz) == want);
        t += 1000;
    }
    CHECK(b.quick_restarts() == 9);
    // Far more quick runs never overflow the shift.
    for (int i = 0; i < 100; ++i) CHECK(b.next_delay(t, t + 10, kHz) == kHz);
    // One run just short of a second is quick; one of exactly a second is settled.
    CHECK(b.next_delay(t, t + kHz - 1, kHz) == kHz);
    CHECK(b.next_delay(t, t + kHz, kHz) == 0);
    CHECK(b.next_delay(t, t + 10, kHz) == kFirst);
    // A counter that went backwards (run_start in the future: restarted during its own back-off)
    // is a quick run, not a settled one.
    CHECK(b.next_delay(t + 5000, t, kHz) == 2 * kFirst);
}

TEST_CASE("a partition in a fault loop is restarted later and later, never held in the kernel", "[restart_backoff][containment][T-35][INV-7]") {
    KernelFixture f;
    Partition& p = f.make("looper", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
    Partition& manager = f.make("manager", kPartitionPa + 4 * kMiB, 2);
    host::set_counter(10'000);
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    // The first run starts at once: its core claims it.
    CHECK(v.start_not_before.load() <= 10'002);
    CHECK(f.kernel.cores.claim(CoreId(1)) == &v);

    // A fault right away: restarted, but vCPU 0 is due only 1/64 s later.
    u64 now = 20'000;
    host::set_counter(now);
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, kEsrDataAbortWrite));
    CHECK(p.load_state() == PartitionState::Running);
    CHECK(p.restarts == 1);
    CHECK(v.load_state() == VcpuState::Runnable);
    const u64 due = v.start_not_before.load();
    CHECK(due >= now + kFirst);
    CHECK(due <= now + kFirst + 10);
    CHECK_FALSE(v.start_due(now + kFirst - 1));
    CHECK(v.start_due(due));
    // Its core does not enter it before then, and leaves it runnable.
    host::set_counter(due - 100);
    CHECK(f.kernel.cores.claim(CoreId(1)) == nullptr);
    CHECK(v.load_state() == VcpuState::Runnable);
    host::set_counter(due);
    CHECK(f.kernel.cores.claim(CoreId(1)) == &v);
    // Its virtual time starts when it may run, not at the fault.
    CHECK(p.counter_offset == due);
    std::string out = host::console_output();
    CHECK(out.find("partition 'looper' restarting (restart 1)\n") != std::string::npos);
    CHECK(out.find("partition 'looper' restart delayed 15 ms (1 quick restarts in a row)\n") != std::string::npos);

    // Faulting again as soon as it runs: twice as long.
    now = due + 100;
    host::set_counter(now);
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, kEsrDataAbortWrite));
    CHECK(v.start_not_before.load() >= now + 2 * kFirst);
    CHECK(v.start_not_before.load() <= now + 2 * kFirst + 10);
    CHECK(host::console_output().find("restart delayed 31 ms (2 quick restarts in a row)\n") != std::string::npos);

    // A controller's restart is carried out at once, however quick the run was, and leaves the
    // count of quick runs as it was: the next crash waits longer still.
    now = v.start_not_before.load() + 100;
    host::set_counter(now);
    CHECK(f.kernel.lifecycle.control(p, true, manager.vcpus[0]).ok());
    CHECK(v.start_not_before.load() < now + 100);
    CHECK(p.backoff.quick_restarts() == 2);
    CHECK(host::console_output().find("restart delayed 62 ms") == std::string::npos);
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, kEsrDataAbortWrite));
    CHECK(host::console_output().find("restart delayed 62 ms (3 quick restarts in a row)\n") != std::string::npos);

    // A controller can stop it while it waits: the runnable vCPU is cancelled, nothing waits.
    CHECK(f.kernel.lifecycle.control(p, false, manager.vcpus[0]).ok());
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(v.load_state() == VcpuState::Off);
}

TEST_CASE("a partition that ran a while is restarted at once", "[restart_backoff][containment][T-35]") {
    KernelFixture f;
    Partition& p = f.make("steady", kPartitionPa, 1, 1, manifest::RestartPolicy::Restart);
    host::set_counter(1'000);
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    const u64 now = p.run_start + 5 * kHz;  // five seconds into its run
    host::set_counter(now);
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, kEsrDataAbortWrite));
    CHECK(p.restarts == 1);
    CHECK(v.start_not_before.load() < now + 100);  // due at once (the host counter ticks per read)
    CHECK(host::console_output().find("restart delayed") == std::string::npos);
    // CPU_ON of another vCPU is never delayed: prepare_start clears the back-off.
    v.start_not_before.store(now + kHz);
    v.prepare_start(kGuestRam, 0);
    CHECK(v.start_due(0));
}

// PSCI as a partition sees it (calls/psci.cpp): its own vCPUs only, by MPIDR; SYSTEM_OFF and
// SYSTEM_RESET act on the calling partition, never on the machine.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <string>

using namespace bh;
using namespace bh::test;

namespace {
bool logged(const char* line) { return host::console_output().find(line) != std::string::npos; }
}  // namespace

TEST_CASE("PSCI is emulated per partition", "[system][psci][INV-6][INV-7][T-13][T-22][T-23][T-41]") {
    KernelFixture f;
    Partition& p = f.make("smp", kPartitionPa, 0, 2);
    Partition& q = f.make("other", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    Vcpu& v1 = p.vcpus[1];

    CHECK(hypercall(f.kernel, v0, hvc::psci::kVersion));
    CHECK(v0.regs.x[0] == 0x10000);
    CHECK(hypercall(f.kernel, v0, hvc::psci::kAffinityInfo, {1, 0}));
    CHECK(v0.regs.x[0] == 1);  // off
    // Only its own vCPUs: MPIDR 2 would be a core of another partition.
    CHECK(hypercall(f.kernel, v0, hvc::psci::kCpuOn, {2, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kInvalidParameters);
    CHECK(hypercall(f.kernel, v0, hvc::psci::kCpuOn, {0x100, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kInvalidParameters);
    CHECK(q.vcpus[0].load_state() == VcpuState::Runnable);

    CHECK(hypercall(f.kernel, v0, hvc::psci::kCpuOn, {1, kGuestRam + 0x80, 0xAB}));
    CHECK(status_of(v0) == hvc::psci::kSuccess);
    CHECK(v1.load_state() == VcpuState::Runnable);
    CHECK(v1.regs.elr == kGuestRam + 0x80);
    CHECK(v1.regs.x[0] == 0xAB);
    CHECK(hypercall(f.kernel, v0, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kAlreadyOn);

    // While the partition is being taken down no vCPU can be started (the stop settles them all).
    p.store_state(PartitionState::Stopping);
    v1.store_state(VcpuState::Off);
    v0.regs.x[0] = hvc::psci::kCpuOn;
    v0.regs.x[1] = 1;
    const DecodedCall d = decode_call(v0.regs, 0, p);
    REQUIRE(d.ok);
    CHECK(handle_psci(f.kernel, v0, d.call));
    CHECK(status_of(v0) == hvc::psci::kDenied);
    CHECK(v1.load_state() == VcpuState::Off);
    p.store_state(PartitionState::Running);
    v1.store_state(VcpuState::Runnable);

    // CPU_OFF of one vCPU leaves the partition running; of the last one stops it.
    CHECK_FALSE(hypercall(f.kernel, v1, hvc::psci::kCpuOff));
    CHECK(p.load_state() == PartitionState::Running);
    CHECK_FALSE(hypercall(f.kernel, v0, hvc::psci::kCpuOff));
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("partition 'smp' stopped (all vCPUs off)") != std::string::npos);

    // SYSTEM_RESET restarts only the caller; the machine is never reset.
    Vcpu& w = q.vcpus[0];
    CHECK_FALSE(hypercall(f.kernel, w, hvc::psci::kSystemReset));
    CHECK(q.load_state() == PartitionState::Running);
    CHECK(q.restarts == 1);
    CHECK(host::system_off_requests() == 0);
}

TEST_CASE("PSCI_FEATURES names the emulated functions; PSCI by SMC resumes after the SMC", "[psci]") {
    KernelFixture f;
    Partition& p = f.make("smp", kPartitionPa, 1, 2);
    REQUIRE(f.seal().ok());
    Vcpu& v = p.vcpus[0];
    using namespace hvc::psci;
    for (u64 fn : {kVersion, kCpuOff, kCpuOn, kAffinityInfo, kSystemOff, kSystemReset, kFeatures}) {
        INFO(fn);
        CHECK(hypercall(f.kernel, v, kFeatures, {fn}));
        CHECK(status_of(v) == kSuccess);
    }
    for (u64 fn : {0x8400'0001ull /* CPU_SUSPEND */, 0x8400'0005ull /* MIGRATE */, 0xC600'0000ull, 0ull}) {
        INFO(fn);
        CHECK(hypercall(f.kernel, v, kFeatures, {fn}));
        CHECK(status_of(v) == kNotSupported);
    }
    // By SMC the same call, and the guest resumes after the (trapped) SMC instruction.
    v.regs.x[0] = kAffinityInfo;
    v.regs.x[1] = 1;
    v.regs.x[2] = 0;
    const u64 elr = v.regs.elr;
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, kEsrSmc));
    CHECK(v.regs.x[0] == 1);  // vCPU 1 is off
    CHECK(v.regs.elr == elr + 4);
    // AFFINITY_INFO of the caller itself: on.
    CHECK(hypercall(f.kernel, v, kAffinityInfo, {0, 0}));
    CHECK(v.regs.x[0] == 0);
}

// CPU_OFF of a partition's last vCPU stops the partition. Once that vCPU is off, a controller
// on another core may take the partition down and launch its next run before this core goes
// on; the late second step must then leave the new run alone (before: it set the vCPU back to
// Running and stopped whatever run was current).
TEST_CASE("a late CPU_OFF does not stop the run a controller launched in between", "[psci][control][INV-7][T-41]") {
    KernelFixture f;
    Partition& p = f.make("target", kPartitionPa, 1);
    Partition& manager = f.make("manager", kPartitionPa + 4 * kMiB, 2);
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    const u32 first_run = p.run();

    const CpuOff off = cpu_off_begin(v0);
    CHECK(off.last);
    CHECK(v0.load_state() == VcpuState::Off);
    // The controller's whole restart fits here.
    REQUIRE(f.kernel.lifecycle.control(p, true, manager.vcpus[0]).ok());
    REQUIRE(p.run() == first_run + 1);
    REQUIRE(v0.load_state() == VcpuState::Runnable);
    cpu_off_finish(f.kernel, v0, off);

    CHECK(p.load_state() == PartitionState::Running);
    CHECK(v0.load_state() == VcpuState::Runnable);
    CHECK(v0.regs.x[0] == kBootArg);
    CHECK(p.restarts == 1);
    CHECK(f.kernel.lifecycle.running() == 2);
    CHECK_FALSE(logged("partition 'target' stopped (all vCPUs off)"));

    // Without a controller in between the same two steps stop the partition.
    const CpuOff again = cpu_off_begin(v0);
    cpu_off_finish(f.kernel, v0, again);
    CHECK(p.load_state() == PartitionState::Stopped);
    CHECK(logged("partition 'target' stopped (all vCPUs off)"));
}

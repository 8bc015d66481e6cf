// PSCI 1.1 as a partition sees it (calls/psci.cpp): its own vCPUs only, by MPIDR; SYSTEM_OFF and
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
    CHECK(v0.regs.x[0] == 0x10001);
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
    CHECK(status_of(v0) == hvc::psci::kOnPending);  // not yet entered by its core
    CHECK(hypercall(f.kernel, v0, hvc::psci::kAffinityInfo, {1, 0}));
    CHECK(v0.regs.x[0] == 2);  // on pending
    REQUIRE(f.kernel.cores.claim(v1.core) == &v1);
    CHECK(hypercall(f.kernel, v0, hvc::psci::kCpuOn, {1, kGuestRam, 0}));
    CHECK(status_of(v0) == hvc::psci::kAlreadyOn);
    CHECK(hypercall(f.kernel, v0, hvc::psci::kAffinityInfo, {1, 0}));
    CHECK(v0.regs.x[0] == 0);  // on

    // While the partition is being taken down no vCPU can be started (the stop settles them all).
    p.store_state(PartitionState::Stopping);
    v1.store_state(VcpuState::Off);
    v0.regs.x[0] = hvc::psci::kCpuOn;
    v0.regs.x[1] = 1;
    v0.regs.x[2] = kGuestRam;
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
    for (u64 fn : {kVersion, kCpuSuspend, kCpuSuspend32, kCpuOff, kCpuOn, kCpuOn32, kAffinityInfo, kAffinityInfo32,
                   kMigrateInfoType, kSystemOff, kSystemReset, kFeatures}) {
        INFO(fn);
        CHECK(hypercall(f.kernel, v, kFeatures, {fn}));
        CHECK(status_of(v) == kSuccess);
    }
    for (u64 fn : {0x8400'0005ull /* MIGRATE */, 0xC400'0007ull /* MIGRATE_INFO_UP_CPU */,
                   0xC400'0012ull /* SYSTEM_RESET2 */, 0xC400'000Eull /* SYSTEM_SUSPEND */,
                   0x8000'0000ull /* SMCCC_VERSION */, 0xC600'0000ull, 0x1'8400'0000ull, 0ull}) {
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

TEST_CASE("PSCI 1.1: the calls Linux makes, each answered for the caller's partition only", "[psci][T-23]") {
    KernelFixture f;
    Partition& p = f.make("smp", kPartitionPa, 0, 3);
    REQUIRE(f.seal().ok());
    Vcpu& v0 = p.vcpus[0];
    const auto call = [&](u64 fid, std::initializer_list<u64> args) {
        CHECK(hypercall(f.kernel, v0, fid, args));
        return status_of(v0);
    };
    namespace psci = hvc::psci;
    SECTION("MIGRATE_INFO_TYPE: no Trusted OS to migrate") {
        CHECK(call(psci::kMigrateInfoType, {}) == psci::kMigrationNotRequired);
        CHECK(call(0x8400'0005, {1}) == psci::kNotSupported);  // MIGRATE itself
    }
    SECTION("CPU_SUSPEND returns at once; a power-down state's entry must be executable") {
        const u64 elr = v0.regs.elr;
        CHECK(call(psci::kCpuSuspend, {0x0, 0, 0}) == psci::kSuccess);                      // standby
        CHECK(call(psci::kCpuSuspend, {0x1'0000, kGuestRam + 0x40, 7}) == psci::kSuccess);  // power down
        CHECK(call(psci::kCpuSuspend32, {0x1'0003, kGuestRam, 7}) == psci::kSuccess);
        CHECK(call(psci::kCpuSuspend, {0x1'0000, kGuestRam + 0x40'0000, 7}) == psci::kInvalidAddress);
        CHECK(call(psci::kCpuSuspend, {0x1'0000, kGuestRam + 2, 7}) == psci::kInvalidAddress);
        CHECK(call(psci::kCpuSuspend, {0x4'0000, 0, 0}) == psci::kInvalidParameters);  // reserved bit
        CHECK(v0.regs.elr == elr);  // HVC: the guest resumes after the call
        CHECK(v0.load_state() == VcpuState::Running);
    }
    SECTION("CPU_ON: its own vCPUs, an executable entry, SMC32 arguments") {
        CHECK(call(psci::kCpuOn, {1, kGuestRam + 0x40'0000, 0}) == psci::kInvalidAddress);  // unmapped
        CHECK(call(psci::kCpuOn, {1, kGuestRam + 1, 0}) == psci::kInvalidAddress);
        CHECK(p.vcpus[1].load_state() == VcpuState::Off);
        CHECK(call(psci::kCpuOn, {3, kGuestRam, 0}) == psci::kInvalidParameters);  // it has three
        CHECK(call(psci::kCpuOn32, {0x1'0000'0002, kGuestRam + 0x10, 0xffff'ffff'0000'0005}) == psci::kSuccess);
        CHECK(p.vcpus[2].regs.elr == kGuestRam + 0x10);
        CHECK(p.vcpus[2].regs.x[0] == 5);  // the upper half of an SMC32 argument is not an argument
        CHECK(call(psci::kAffinityInfo32, {0x1'0000'0002, 0}) == psci::kAffinityOnPending);
        CHECK(call(psci::kAffinityInfo, {2, 1}) == psci::kInvalidParameters);  // level 1: none
        CHECK(call(psci::kAffinityInfo, {0x100, 0}) == psci::kInvalidParameters);
    }
}

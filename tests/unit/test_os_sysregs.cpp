// The debug and PMU registers an unmodified OS programs at boot (kernel/os_sysregs.hpp): for a
// partition created with partition_flag::kOsGuest they read as zero and ignore writes; every
// other trapped register, and every trapped register of a bare-metal partition, stays a fault.
#include "guest_exits.hpp"
#include "system_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <os_sysregs.hpp>

#include <string>

namespace bh::test {
namespace {

using Fixture = SystemFixture;

struct Encoding {
    const char* name;
    u32 op0, op1, crn, crm, op2;
};

// ESR_EL2 of an MSR (write) or MRS (read) of `e` with register Rt.
u64 sysreg_esr(const Encoding& e, u32 rt, bool read) {
    const u64 iss = (u64{e.op0} << 20) | (u64{e.op2} << 17) | (u64{e.op1} << 14) | (u64{e.crn} << 10) |
                    (u64{rt} << 5) | (u64{e.crm} << 1) | (read ? 1u : 0u);
    return kEsrSysReg | iss;
}

// What Linux 6.1 programs on every CPU it brings up (__cpu_setup, debug monitors, hw_breakpoint).
const Encoding kQuiet[] = {
    {"MDSCR_EL1", 2, 0, 0, 2, 2},       {"MDCCINT_EL1", 2, 0, 0, 2, 0},    {"OSLAR_EL1", 2, 0, 1, 0, 4},
    {"OSLSR_EL1", 2, 0, 1, 1, 4},       {"OSDLR_EL1", 2, 0, 1, 3, 4},      {"DBGPRCR_EL1", 2, 0, 1, 4, 4},
    {"DBGBVR0_EL1", 2, 0, 0, 0, 4},     {"DBGBCR5_EL1", 2, 0, 0, 5, 5},    {"DBGWVR3_EL1", 2, 0, 0, 3, 6},
    {"DBGWCR15_EL1", 2, 0, 0, 15, 7},   {"DBGCLAIMSET_EL1", 2, 0, 7, 8, 6}, {"DBGCLAIMCLR_EL1", 2, 0, 7, 9, 6},
    {"PMUSERENR_EL0", 3, 3, 9, 14, 0},
};
// Trapped too, and still the partition's fault: counters, the PMU's control, the physical
// counter, SGI generation, implementation-defined registers, the debug registers Linux leaves
// alone (DCC, ROM address, authentication status).
const Encoding kLoud[] = {
    {"PMCR_EL0", 3, 3, 9, 12, 0},       {"PMCCNTR_EL0", 3, 3, 9, 13, 0},   {"PMEVTYPER0_EL0", 3, 3, 14, 12, 0},
    {"PMINTENSET_EL1", 3, 0, 9, 14, 1}, {"CNTPCT_EL0", 3, 3, 14, 0, 1},    {"ICC_SGI1R_EL1", 3, 0, 12, 11, 5},
    {"CPUACTLR_EL1", 3, 1, 15, 2, 0},   {"OSDTRRX_EL1", 2, 0, 0, 0, 2},    {"MDRAR_EL1", 2, 0, 1, 0, 0},
    {"DBGAUTHSTATUS_EL1", 2, 0, 7, 14, 6}, {"MDCCSR_EL0", 2, 3, 0, 1, 0},
};

esr::SysRegAccess access_of(const Encoding& e) { return esr::sysreg_access(sysreg_esr(e, 0, false)); }

}  // namespace

TEST_CASE("os sysregs: the registers an OS programs at boot are recognised, their neighbours not", "[system][os]") {
    for (const Encoding& e : kQuiet) {
        INFO(e.name);
        CHECK(is_os_quiet_register(access_of(e)));
    }
    for (const Encoding& e : kLoud) {
        INFO(e.name);
        CHECK_FALSE(is_os_quiet_register(access_of(e)));
    }
}

TEST_CASE("os sysregs: reads give zero, writes are dropped, the vCPU moves past the instruction", "[system][os]") {
    Vcpu v{};
    v.regs.elr = 0x4000'1000;
    for (u32 i = 0; i < 31; ++i) v.regs.x[i] = 0x1111 * (i + 1);
    const Encoding mdscr = kQuiet[0];

    REQUIRE(emulate_os_sysreg(v, sysreg_esr(mdscr, 7, true)));  // mrs x7, mdscr_el1
    CHECK(v.regs.x[7] == 0);
    CHECK(v.regs.x[6] == 0x1111 * 7);
    CHECK(v.regs.x[8] == 0x1111 * 9);
    CHECK(v.regs.elr == 0x4000'1004);

    REQUIRE(emulate_os_sysreg(v, sysreg_esr(mdscr, 3, false)));  // msr mdscr_el1, x3: dropped
    CHECK(v.regs.x[3] == 0x1111 * 4);
    CHECK(v.regs.elr == 0x4000'1008);

    REQUIRE(emulate_os_sysreg(v, sysreg_esr(kQuiet[12], 31, true)));  // mrs xzr, pmuserenr_el0
    for (u32 i = 0; i < 31; ++i) CHECK(v.regs.x[i] == (i == 7 ? 0 : 0x1111 * (i + 1)));
    CHECK(v.regs.elr == 0x4000'100c);

    // Anything else: nothing changes.
    CHECK_FALSE(emulate_os_sysreg(v, sysreg_esr(kLoud[0], 2, true)));
    CHECK_FALSE(emulate_os_sysreg(v, kEsrHvc0));
    CHECK(v.regs.x[2] == 0x1111 * 3);
    CHECK(v.regs.elr == 0x4000'100c);
}

TEST_CASE("os sysregs: only a partition created as an OS guest gets them; others fault as before", "[system][os]") {
    Fixture f;
    Partition& os = f.make("linux", kPartitionPa, 0, 1, manifest::RestartPolicy::Stop, manifest::partition_flag::kOsGuest);
    Partition& bare = f.make("bare", kPartitionPa + (2 * kMiB), 1);
    CHECK(os.os_guest);
    CHECK_FALSE(bare.os_guest);
    REQUIRE(ok(f.system.seal()));
    Vcpu& ov = os.vcpus[0];
    Vcpu& bv = bare.vcpus[0];

    for (const Encoding& e : kQuiet) {
        INFO(e.name);
        const u64 elr = ov.regs.elr;
        CHECK(exit_with(f.system, ov, ExitKind::Sync, sysreg_esr(e, 1, true)));
        CHECK(exit_with(f.system, ov, ExitKind::Sync, sysreg_esr(e, 1, false)));
        CHECK(ov.regs.elr == elr + 8);
    }
    CHECK(os.load_state() == PartitionState::Running);
    CHECK(host::console_output().find("FAULT") == std::string::npos);

    // The same MDSCR_EL1 write from a bare-metal partition is its fault.
    CHECK_FALSE(exit_with(f.system, bv, ExitKind::Sync, sysreg_esr(kQuiet[0], 1, false)));
    CHECK(bare.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'bare' core 1: trapped system register access") !=
          std::string::npos);

    // And a register outside the list is the OS guest's fault too.
    CHECK_FALSE(exit_with(f.system, ov, ExitKind::Sync, sysreg_esr(kLoud[0], 1, false)));  // msr pmcr_el0
    CHECK(os.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'linux' core 0: trapped system register access") !=
          std::string::npos);
}

TEST_CASE("os sysregs: create_partition refuses unknown flags and changes nothing", "[system][os]") {
    Fixture f;
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(ok(f.system.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1)));
    REQUIRE(ok(f.system.retype(kKernelUntyped, ObjectType::CNode, System::kCSpaceRadix, cs, 1)));
    CHECK(f.system.create_partition(ps, cs, "p", manifest::RestartPolicy::Stop, 1, 1) == Status::InvalidArgument);
    CHECK(f.system.create_partition(ps, cs, "p", manifest::RestartPolicy::Stop, 1,
                                    manifest::partition_flag::kOsGuest | (1ull << 40)) == Status::InvalidArgument);
    // Nothing was made by the refusals: the same objects still become the partition.
    REQUIRE(ok(f.system.create_partition(ps, cs, "p", manifest::RestartPolicy::Stop, 1, manifest::partition_flag::kOsGuest)));
    REQUIRE(f.system.partition_in_slot(ps) != nullptr);
    CHECK(f.system.partition_in_slot(ps)->os_guest);
}

}  // namespace bh::test

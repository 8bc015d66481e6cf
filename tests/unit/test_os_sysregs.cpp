// The debug and PMU registers an unmodified OS programs at boot (arch/aarch64/os_registers.hpp,
// devices/virtual_devices.cpp): for a partition created with partition_flag::kOsGuest they read as zero
// and ignore writes; every other trapped register, and every trapped register of a bare-metal
// partition, stays a fault.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <arch/aarch64/os_registers.hpp>

#include <string>

using namespace bh;
using namespace bh::test;

namespace {

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

arch::GuestExit decoded(const Encoding& e, u32 rt, bool read) {
    return arch::decode_exit(ExitVector::Sync, arch::Syndrome{sysreg_esr(e, rt, read), 0, 0});
}

}  // namespace

TEST_CASE("os registers: those an OS programs at boot are recognised, their neighbours not", "[guest_exit][os][T-18][T-19]") {
    for (const Encoding& e : kQuiet) {
        INFO(e.name);
        const arch::GuestExit x = decoded(e, 9, true);
        CHECK(x.cause == arch::GuestExit::Cause::SystemRegister);
        CHECK(arch::is_os_quiet_register(x.sysreg));
        CHECK(x.os_quiet);
        CHECK(x.sysreg.read);
        CHECK(x.sysreg.rt == 9);
        CHECK_FALSE(decoded(e, 30, false).sysreg.read);
    }
    for (const Encoding& e : kLoud) {
        INFO(e.name);
        CHECK_FALSE(decoded(e, 1, true).os_quiet);
    }
    // Only a system register trap (EC 0x18) is one: the same ISS under another class is not.
    const u64 iss = sysreg_esr(kQuiet[0], 1, true) & 0x1ff'ffff;
    CHECK_FALSE(arch::decode_exit(ExitVector::Sync, arch::Syndrome{(0x01ull << 26) | iss, 0, 0}).os_quiet);
    CHECK_FALSE(arch::decode_exit(ExitVector::Sync, arch::Syndrome{kEsrHvc0, 0, 0}).os_quiet);
}

TEST_CASE("os registers: an OS guest reads zero, its writes are dropped, it moves past the instruction", "[guest_exit][os][T-18][T-19]") {
    KernelFixture f;
    Partition& os = f.make("linux", kPartitionPa, 0, 1, manifest::RestartPolicy::Stop, manifest::partition_flag::kOsGuest);
    CHECK(os.os_guest());
    REQUIRE(f.seal().ok());
    Vcpu& v = os.vcpus[0];
    for (u32 i = 0; i < 31; ++i) v.regs.x[i] = 0x1111 * (i + 1);
    const u64 elr = v.regs.elr;

    CHECK(exit_with(f.kernel, v, ExitVector::Sync, sysreg_esr(kQuiet[0], 7, true)));  // mrs x7, mdscr_el1
    CHECK(v.regs.x[7] == 0);
    CHECK(v.regs.x[6] == 0x1111 * 7);
    CHECK(v.regs.x[8] == 0x1111 * 9);
    CHECK(v.regs.elr == elr + 4);
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, sysreg_esr(kQuiet[0], 3, false)));  // msr mdscr_el1, x3
    CHECK(v.regs.x[3] == 0x1111 * 4);
    CHECK(exit_with(f.kernel, v, ExitVector::Sync, sysreg_esr(kQuiet[12], 31, true)));  // mrs xzr, pmuserenr_el0
    for (u32 i = 0; i < 31; ++i) CHECK(v.regs.x[i] == (i == 7 ? 0 : 0x1111 * (i + 1)));
    CHECK(v.regs.elr == elr + 12);

    for (const Encoding& e : kQuiet) {
        INFO(e.name);
        const u64 before = v.regs.elr;
        CHECK(exit_with(f.kernel, v, ExitVector::Sync, sysreg_esr(e, 1, true)));
        CHECK(exit_with(f.kernel, v, ExitVector::Sync, sysreg_esr(e, 1, false)));
        CHECK(v.regs.elr == before + 8);
    }
    CHECK(os.load_state() == PartitionState::Running);
    CHECK(host::console_output().find("FAULT") == std::string::npos);

    // A register outside the list is the OS guest's fault too.
    CHECK_FALSE(exit_with(f.kernel, v, ExitVector::Sync, sysreg_esr(kLoud[0], 1, false)));  // msr pmcr_el0
    CHECK(os.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'linux' core 0: trapped system register access") !=
          std::string::npos);
}

TEST_CASE("os registers: a bare-metal partition's access to them is its fault, as before", "[guest_exit][os][T-19]") {
    KernelFixture f;
    Partition& bare = f.make("bare", kPartitionPa, 1);
    CHECK_FALSE(bare.os_guest());
    REQUIRE(f.seal().ok());
    CHECK_FALSE(exit_with(f.kernel, bare.vcpus[0], ExitVector::Sync, sysreg_esr(kQuiet[0], 1, false)));
    CHECK(bare.load_state() == PartitionState::Stopped);
    CHECK(host::console_output().find("FAULT partition 'bare' core 1: trapped system register access") !=
          std::string::npos);
}

TEST_CASE("os registers: CreatePartition refuses unknown partition flags and makes nothing", "[guest_exit][os]") {
    KernelFixture f;
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1).ok());
    REQUIRE(f.retype(kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs, 1).ok());
    CHECK_REFUSED(f.create_partition(ps, cs, "p", manifest::RestartPolicy::Stop, 1, 1u << 3), Status::InvalidArgument,
                  "unknown partition flags");
    CHECK_REFUSED(f.create_partition(ps, cs, "p", manifest::RestartPolicy::Stop, 1,
                                     manifest::partition_flag::kOsGuest | (1ull << 40)),
                  Status::InvalidArgument, "unknown partition flags");
    CHECK(f.kernel.partitions.count() == 0);
    // The same objects still become the partition.
    REQUIRE(f.create_partition(ps, cs, "p", manifest::RestartPolicy::Stop, 1, manifest::partition_flag::kOsGuest).ok());
    CHECK(f.partition(ps).os_guest());
}

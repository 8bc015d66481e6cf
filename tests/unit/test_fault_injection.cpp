// Fault policy "inject" (calls/fault_injection.hpp, docs/isolation.md "Fault policy"): a
// contained synchronous fault comes back to the partition as an EL1 exception
// (arch/aarch64/exception_injection.hpp), reported within a budget, and the partition runs on;
// everything the policy does not cover still ends the run.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "kernel_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <calls/fault_injection.hpp>
#include <lib/report_budget.hpp>
#include <string>

using namespace bh;
using namespace bh::test;

namespace {

constexpr u64 kVbar = kGuestRam + 0x800;
constexpr u64 kEl1h = 0x3c5;         // PSTATE of the fixture's vCPUs: EL1h, DAIF masked
constexpr u64 kEl1hUnmasked = 0x005;
constexpr u64 kEl0 = 0x000;
constexpr u64 kFaultVa = 0x4800'0010;  // outside the partition's RAM, as an IPA (MMU off: VA = IPA)

constexpr u64 kEsrDataAbortRead = (0x24ull << 26) | (1ull << 25) | 0x06;     // translation fault level 2
constexpr u64 kEsrInstAbort = (0x20ull << 26) | (1ull << 25) | 0x07;          // translation fault level 3
constexpr u64 kEsrSError = 0x2full << 26;

arch::Syndrome abort_at(u64 esr, u64 va) { return arch::Syndrome{esr, va, (va >> 12) << 4}; }
arch::GuestExit sync_exit(const arch::Syndrome& s) { return arch::decode_exit(ExitVector::Sync, s); }

size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

struct InjectFixture : KernelFixture {
    Partition& p;
    Vcpu& v;
    explicit InjectFixture(manifest::FaultPolicy faults = manifest::FaultPolicy::Inject)
        : p(make("prober", kPartitionPa, 1, 1, manifest::RestartPolicy::Stop,
                 faults == manifest::FaultPolicy::Inject ? manifest::partition_flag::kInjectFaults : 0)),
          v(p.vcpus[0]) {
        REQUIRE(seal().ok());
        enter(kernel, v);
        host::set_guest_vbar(kVbar);
        v.regs.spsr = kEl1h;
    }
    // One exit of the running vCPU with syndrome `s` at guest PC `pc`; true when it resumes.
    bool fault(const arch::Syndrome& s, u64 pc = kGuestRam + 0x100) {
        v.regs.elr = pc;
        return exit_with(kernel, v, ExitVector::Sync, s.esr, s.far, s.hpfar);
    }
};

}  // namespace

TEST_CASE("the syndrome delivered for each injectable exit", "[fault_injection][T-15]") {
    using arch::exception_for_exit;
    arch::GuestException e;
    // A write abort from EL1h: same-EL data abort, WnR kept, external abort, FAR the VA, the
    // current-EL-with-SPx vector.
    REQUIRE(exception_for_exit(sync_exit(abort_at(kEsrDataAbortWrite, kFaultVa)), kEl1h, e));
    CHECK(e.esr == ((0x25ull << 26) | (1ull << 25) | (1ull << 6) | 0x10));
    CHECK(e.far == kFaultVa);
    CHECK(e.vector_offset == 0x200);
    // From EL0 it is the lower-EL class and vector; a read has no WnR.
    REQUIRE(exception_for_exit(sync_exit(abort_at(kEsrDataAbortRead, kFaultVa)), kEl0, e));
    CHECK(e.esr == ((0x24ull << 26) | (1ull << 25) | 0x10));
    CHECK(e.vector_offset == 0x400);
    // Cache maintenance (CM) and FAR-not-valid (FnV) are kept; FAR then means nothing.
    REQUIRE(exception_for_exit(sync_exit(abort_at(kEsrDataAbortRead | (1u << 8) | (1u << 10), kFaultVa)), kEl1h, e));
    CHECK(e.esr == ((0x25ull << 26) | (1ull << 25) | (1u << 8) | (1u << 10) | 0x10));
    CHECK(e.far == 0);
    // An instruction abort: same-EL class from EL1t (and its vector), lower from EL0.
    REQUIRE(exception_for_exit(sync_exit(abort_at(kEsrInstAbort, kFaultVa)), 0x3c4, e));
    CHECK(e.esr == ((0x21ull << 26) | (1ull << 25) | 0x10));
    CHECK(e.vector_offset == 0x000);
    REQUIRE(exception_for_exit(sync_exit(abort_at(kEsrInstAbort, kFaultVa)), kEl0, e));
    CHECK(e.esr == ((0x20ull << 26) | (1ull << 25) | 0x10));
    // A trapped system register is undefined; nothing of the trapped encoding is passed on.
    REQUIRE(exception_for_exit(sync_exit(arch::Syndrome{kEsrSysReg | 0x30c09d, 0, 0}), kEl1hUnmasked, e));
    CHECK(e.esr == (1ull << 25));
    CHECK(e.far == 0);
    CHECK(e.vector_offset == 0x200);
    // Not covered: SError, HVC (served, never a fault), an unknown class, anything from AArch32.
    CHECK_FALSE(exception_for_exit(arch::decode_exit(ExitVector::SError, arch::Syndrome{kEsrSError, 0, 0}), kEl1h, e));
    CHECK_FALSE(exception_for_exit(sync_exit(arch::Syndrome{kEsrHvc0, 0, 0}), kEl1h, e));
    CHECK_FALSE(exception_for_exit(sync_exit(arch::Syndrome{0x3cull << 26, 0, 0}), kEl1h, e));
    CHECK_FALSE(exception_for_exit(sync_exit(abort_at(kEsrDataAbortWrite, kFaultVa)), 0x1d3, e));  // AArch32 SVC
    CHECK_FALSE(exception_for_exit(arch::decode_exit(ExitVector::Aarch32, abort_at(kEsrDataAbortWrite, kFaultVa)), kEl1h, e));
}

TEST_CASE("an injected fault enters the guest's vector and the partition runs on", "[fault_injection][containment][T-1][T-15]") {
    InjectFixture f;
    f.v.regs.spsr = kEl1hUnmasked;  // interrupts unmasked when it faulted
    CHECK(f.fault(abort_at(kEsrDataAbortWrite, kFaultVa)));
    CHECK(f.p.load_state() == PartitionState::Running);
    CHECK(f.v.load_state() == VcpuState::Running);
    // Entered at VBAR_EL1 + 0x200 with everything masked; the EL1 registers say where from.
    CHECK(f.v.regs.elr == kVbar + 0x200);
    CHECK(f.v.regs.spsr == kEl1h);
    const arch::GuestExceptionState& e = host::guest_exception();
    CHECK(e.esr == ((0x25ull << 26) | (1ull << 25) | (1ull << 6) | 0x10));
    CHECK(e.far == kFaultVa);
    CHECK(e.elr == kGuestRam + 0x100);
    CHECK(e.spsr == kEl1hUnmasked);
    const std::string& out = host::console_output();
    CHECK(out.find("FAULT partition 'prober' core 1: stage-2 data abort (write) at IPA 0x48000010 (ESR 0x92000046") !=
          std::string::npos);
    CHECK(out.find("ELR 0x40000100) injected into the partition\n") != std::string::npos);
    CHECK(out.find("stopped") == std::string::npos);

    // A trapped system register comes back undefined, from EL0 through the lower-EL vector.
    f.v.regs.spsr = kEl0;
    CHECK(f.fault(arch::Syndrome{kEsrSysReg, 0, 0}, kGuestRam + 0x200));
    CHECK(f.v.regs.elr == kVbar + 0x400);
    CHECK(host::guest_exception().esr == (1ull << 25));
    CHECK(host::guest_exception().elr == kGuestRam + 0x200);

    // Its run ends with the count; the machine powers off when it stops.
    CHECK_FALSE(hypercall(f.kernel, f.v, hvc::psci::kSystemOff));
    CHECK(out.find("partition 'prober': 2 faults injected in this run, 2 of them reported\n") != std::string::npos);
    CHECK(f.p.load_state() == PartitionState::Stopped);
}

TEST_CASE("a fault the policy cannot deliver still ends the run", "[fault_injection][containment][T-15][T-39]") {
    SECTION("the vector itself faults: delivering it again would loop") {
        InjectFixture f;
        CHECK_FALSE(f.fault(abort_at(kEsrInstAbort, kVbar + 0x200), kVbar + 0x200));
        CHECK(f.p.load_state() == PartitionState::Stopped);
        const std::string& out = host::console_output();
        CHECK(out.find("FAULT partition 'prober' core 1: stage-2 instruction abort at IPA 0x40000a00") != std::string::npos);
        CHECK(out.find("injected") == std::string::npos);
        CHECK(out.find("partition 'prober' stopped\n") != std::string::npos);
    }
    SECTION("an SError") {
        InjectFixture f;
        CHECK_FALSE(exit_with(f.kernel, f.v, ExitVector::SError, kEsrSError));
        CHECK(f.p.load_state() == PartitionState::Stopped);
    }
    SECTION("an exception from AArch32") {
        InjectFixture f;
        f.v.regs.spsr = 0x1d3;
        CHECK_FALSE(f.fault(abort_at(kEsrDataAbortWrite, kFaultVa)));
        CHECK(f.p.load_state() == PartitionState::Stopped);
    }
    SECTION("policy Stop, the default: the same abort stops the partition") {
        InjectFixture f(manifest::FaultPolicy::Stop);
        CHECK_FALSE(f.fault(abort_at(kEsrDataAbortWrite, kFaultVa)));
        CHECK(f.p.load_state() == PartitionState::Stopped);
        CHECK(host::guest_exception().esr == 0);  // nothing was written to the guest
    }
}

TEST_CASE("injected faults are reported within a budget and counted in full", "[fault_injection][T-34][T-33]") {
    InjectFixture f;
    constexpr u64 kInterval = host::kCounterFrequency / 8;
    const u64 start = 1'000'000;
    host::set_counter(start);
    for (int i = 0; i < 40; ++i) REQUIRE(f.fault(abort_at(kEsrDataAbortRead, kFaultVa)));
    const std::string& out = host::console_output();
    CHECK(occurrences(out, "injected into the partition") == ReportBudget::kBurst);
    // One interval later one more is reported, after the number of those that were not.
    host::set_counter(start + 1000 + kInterval);
    REQUIRE(f.fault(abort_at(kEsrDataAbortRead, kFaultVa)));
    CHECK(occurrences(out, "injected into the partition") == ReportBudget::kBurst + 1);
    CHECK(out.find("partition 'prober': 24 more faults injected, not reported\n") != std::string::npos);
    // The end of the run counts every one of them; a new run starts with a full budget.
    CHECK_FALSE(hypercall(f.kernel, f.v, hvc::psci::kSystemOff));
    CHECK(out.find("partition 'prober': 41 faults injected in this run, 17 of them reported\n") != std::string::npos);
    CHECK(f.p.injected_faults.load() == 0);
}

TEST_CASE("the report budget: a burst, then one per interval, never more than the burst", "[fault_injection][T-34]") {
    ReportBudget b;
    b.reset(100);
    for (u32 i = 0; i < ReportBudget::kBurst; ++i) CHECK(b.admit(100, 10));
    CHECK_FALSE(b.admit(100, 10));
    CHECK_FALSE(b.admit(109, 10));
    CHECK(b.take_suppressed() == 2);
    CHECK(b.take_suppressed() == 0);
    CHECK(b.admit(110, 10));   // one interval: one token
    CHECK_FALSE(b.admit(119, 10));
    CHECK(b.admit(120, 10));
    // A long quiet time refills the burst, not more.
    for (u32 i = 0; i < ReportBudget::kBurst; ++i) CHECK(b.admit(1'000'000, 10));
    CHECK_FALSE(b.admit(1'000'000, 10));
    // The time far in the past (a counter that went backwards) earns nothing.
    CHECK_FALSE(b.admit(5, 10));
}

TEST_CASE("the fault policy is a partition flag, validated where a partition is created", "[fault_injection][T-27]") {
    KernelFixture f;
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1).ok());
    REQUIRE(f.retype(kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs, 1).ok());
    // The bit above kInjectFaults is no flag: refused, nothing made.
    CHECK_REFUSED(f.create_partition(ps, cs, "odd", manifest::RestartPolicy::Stop, 1, manifest::partition_flag::kInjectFaults << 1),
                  Status::InvalidArgument, "unknown partition flags");
    CHECK(f.kernel.partitions.in_slot(f.kernel.boot, BootSlot(ps)) == nullptr);
    CHECK(f.create_partition(ps, cs, "odd", manifest::RestartPolicy::Stop, 1, manifest::partition_flag::kInjectFaults).ok());
    CHECK(f.partition(ps).fault_policy == manifest::FaultPolicy::Inject);
}

// The security audit log (kernel/audit_log.*, kernel/audit_cap.*, docs/audit.md): the per-core
// rings and their reader, the events the kernel records, the console echo's bound, the
// AuditLog capability, AuditRead and the Audit flows it makes.
#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "manifest_program.hpp"
#include "kernel_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <audit/audit_cap.hpp>
#include <audit/audit_log.hpp>
#include <boot/boot_program.hpp>
#include <invariants/invariants.hpp>
#include <boot/manifest_reader.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace bh;
using namespace bh::test;
using audit::Event;
using F = hvc::Function;

namespace {

constexpr u64 kUnknownVendorCall = hvc::kVendorBase | 0xFF;

struct Fixture : KernelFixture {
    Fixture() { audit::reset(); }

    // alpha (core 0), beta (core 1, policy `policy`) and the auditor (core 2) holding the
    // AuditLog cap in its CSpace slot 1 with `rights`; the Audit flows declared unless told not to.
    void build(Rights rights = Rights::read(), bool declare = true,
               manifest::RestartPolicy policy = manifest::RestartPolicy::Stop) {
        alpha = &make("alpha", kPartitionPa, 0);
        beta = &make("beta", kPartitionPa + 4 * kMiB, 1, 1, policy);
        auditor = &make("auditor", kPartitionPa + 8 * kMiB, 2);
        log_slot = slot();
        REQUIRE(create_audit_log(kernel.boot, BootSlot(log_slot)).ok());
        REQUIRE(grant(log_slot, *auditor, 1, rights).ok());
        if (declare)
            for (Partition* p : {alpha, beta}) REQUIRE(declare_flow(*p, *auditor, manifest::FlowKind::Audit).ok());
    }
    // Every entry from `cursor` on, through AuditRead from the auditor; `lost` adds up x6.
    std::vector<audit::Entry> read_all(u64 cursor, u64* lost = nullptr) {
        std::vector<audit::Entry> out;
        Vcpu& v = auditor->vcpus[0];
        while (call_status(kernel, v, F::AuditRead, {1, cursor}) == 0) {
            const u64 h = v.regs.x[2];
            out.push_back(audit::Entry{v.regs.x[1], v.regs.x[5], static_cast<Event>(h & 0xff), static_cast<u8>(h >> 8),
                                       static_cast<u8>(h >> 16), 0, static_cast<u32>(h >> 32), v.regs.x[3], v.regs.x[4]});
            if (lost != nullptr) *lost += v.regs.x[6];
            cursor = v.regs.x[1] + 1;
        }
        CHECK(status_of(v) == st(Status::NotFound));
        return out;
    }
    Partition* alpha = nullptr;
    Partition* beta = nullptr;
    Partition* auditor = nullptr;
    u32 log_slot = 0;
};

std::size_t count_lines(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("the audit ring: global sequence numbers, the recording core, overwrites counted", "[audit][T-33]") {
    static audit::Ring ring;
    ring.clear();
    CHECK(ring.record(0, Event::Sealed, 0, 0, 3, 0, 100) == 0);
    CHECK(ring.record(2, Event::FaultContained, 0, 2, 0x9380'0046, 0x4800'0000, 101) == 1);
    CHECK(ring.record(1, Event::CallRefused, 3, 1, hvc::kVendorBase | 0x11, ~0ull, 102) == 2);
    audit::ReadResult r = ring.read(0);
    REQUIRE(r.status == Status::Ok);
    CHECK((r.entry.sequence == 0 && r.entry.core == 0 && r.entry.event == Event::Sealed && r.entry.a == 3));
    CHECK((r.lost == 0 && r.next == 1 && r.overwritten == 0));
    r = ring.read(1);
    CHECK((r.entry.sequence == 1 && r.entry.core == 2 && r.entry.partition_plus1 == 2 && r.entry.b == 0x4800'0000));
    CHECK(r.entry.time == 101);
    r = ring.read(2);
    CHECK((r.entry.core == 1 && r.entry.detail == 3 && r.entry.b == ~0ull));
    r = ring.read(3);
    CHECK((r.status == Status::NotFound && r.next == 3 && r.lost == 0));
    r = ring.read(1000);  // a cursor in the future
    CHECK((r.status == Status::NotFound && r.next == 1000 && r.lost == 0));

    // Core 3 records more than its ring holds: its oldest entries are overwritten, and a reader
    // that asks for them is told how many it lost.
    for (u64 i = 0; i < audit::Ring::kPerCore + 10; ++i) (void)ring.record(3, Event::CallRefused, 1, 4, i, 0, 0);
    r = ring.read(3);
    REQUIRE(r.status == Status::Ok);
    CHECK((r.entry.sequence == 13 && r.entry.a == 10 && r.lost == 10 && r.overwritten == 10));
    CHECK(ring.recorded() == 3 + audit::Ring::kPerCore + 10);
    // Entries of other cores are not pushed out by core 3's flood.
    CHECK(ring.read(0).entry.sequence == 0);
    CHECK(ring.record(platform::kMaxCores, Event::Sealed, 0, 0, 0, 0, 0) == 0);  // no such core: nothing
    CHECK(ring.recorded() == 3 + audit::Ring::kPerCore + 10);
}

TEST_CASE("concurrent writers never tear an entry, and a reader loses nothing silently", "[audit][T-33]") {
    static audit::Ring ring;
    ring.clear();
    constexpr u64 kPerWriter = 20000;
    std::atomic<bool> done{false};
    std::atomic<u64> seen{0}, lost{0}, torn{0}, disorder{0};
    std::thread reader([&] {
        u64 cursor = 0, last = 0;
        bool any = false;
        for (;;) {
            const bool finished = done.load();
            const audit::ReadResult r = ring.read(cursor);
            lost += r.lost;
            if (r.status == Status::Ok) {
                seen++;
                if (r.entry.b != ~r.entry.a || r.entry.core != (r.entry.a >> 32)) torn++;
                if (any && r.entry.sequence <= last) disorder++;
                last = r.entry.sequence;
                any = true;
            } else if (finished) {
                break;
            }
            cursor = r.next;
        }
    });
    std::vector<std::thread> writers;
    for (unsigned core = 0; core < platform::kMaxCores; ++core)
        writers.emplace_back([core] {
            for (u64 i = 0; i < kPerWriter; ++i) {
                const u64 a = static_cast<u64>(core) << 32 | i;
                (void)ring.record(core, Event::CallRefused, 1, core + 1, a, ~a, i);
            }
        });
    for (auto& w : writers) w.join();
    done = true;
    reader.join();
    CHECK(torn == 0);
    CHECK(disorder == 0);
    CHECK(seen + lost == platform::kMaxCores * kPerWriter);
    CHECK(seen >= platform::kMaxCores * audit::Ring::kPerCore);  // at least what the rings still hold
    CHECK(ring.read(0).overwritten == platform::kMaxCores * (kPerWriter - audit::Ring::kPerCore));
}

TEST_CASE("faults, refused calls, stops, restarts and the seal are recorded with partition and core",
          "[audit][system][T-33][T-11][T-15][T-35]") {
    Fixture f;
    f.build(Rights::read(), true, manifest::RestartPolicy::Restart);
    REQUIRE(f.seal().ok());
    Vcpu& b = f.beta->vcpus[0];
    Vcpu& a = f.alpha->vcpus[0];
    CHECK(call_status(f.kernel, a, static_cast<F>(kUnknownVendorCall)) == st(Status::NotSupported));
    CHECK(call_status(f.kernel, a, F::CapCopy, {200, 201}) < 0);       // an empty slot
    CHECK(call_status(f.kernel, a, static_cast<F>(0x8200'0000ull)) == -1);  // not an ABI range: SMCCC unknown
    a.regs.x[0] = hvc::kVendorBase;  // HVC #1: not part of the ABI
    CHECK(exit_with(f.kernel, a, ExitVector::Sync, kEsrHvc0 | 1));
    CHECK(call_status(f.kernel, a, F::AbiVersion) == 0);  // accepted calls are not events
    host::set_current_core(1);  // beta's core takes the exit (and takes beta down)
    CHECK_FALSE(exit_with(f.kernel, b, ExitVector::Sync, kEsrDataAbortWrite, 0x123, 0x4800'0000ull >> 8));
    host::set_current_core(0);

    const std::vector<audit::Entry> log = f.read_all(0);
    REQUIRE(log.size() == 7);
    CHECK((log[0].event == Event::Sealed && log[0].a == 3 && log[0].partition_plus1 == 0));
    const u32 alpha1 = f.alpha->index.raw() + 1, beta1 = f.beta->index.raw() + 1;
    CHECK((log[1].event == Event::CallRefused && log[1].partition_plus1 == alpha1 && log[1].core == 0));
    CHECK((log[1].detail == static_cast<u8>(audit::CallClass::Unknown) && log[1].a == kUnknownVendorCall));
    CHECK(static_cast<i64>(log[1].b) == st(Status::NotSupported));
    CHECK((log[2].detail == static_cast<u8>(audit::CallClass::Capability) && log[2].a == static_cast<u64>(F::CapCopy)));
    CHECK((log[3].detail == static_cast<u8>(audit::CallClass::Unknown) && log[3].b == ~0ull));
    CHECK((log[4].event == Event::CallRefused && log[4].a == hvc::kVendorBase));
    CHECK((log[5].event == Event::FaultContained && log[5].partition_plus1 == beta1 && log[5].core == 1));
    CHECK((log[5].a == kEsrDataAbortWrite && log[5].b == 0x4800'0123));
    CHECK((log[6].event == Event::PartitionRestarted && log[6].partition_plus1 == beta1 && log[6].a == 1));
    CHECK(log[6].core == 1);
    for (std::size_t i = 1; i < log.size(); ++i) CHECK(log[i].sequence == log[i - 1].sequence + 1);
    const std::string& console = host::console_output();
    CHECK(console.find("audit #5 core 1: fault contained 'beta' a=0x92000046 b=0x48000123") != std::string::npos);
    CHECK(console.find("audit #1 core 0: call refused 'alpha' unknown function a=0xc60000ff") != std::string::npos);
    CHECK(console.find("audit #6 core 1: partition restarted 'beta' a=0x1") != std::string::npos);
}

TEST_CASE("AuditRead needs an AuditLog cap with Read; the auditor reads what the others caused",
          "[audit][system][T-33][INV-4]") {
    Fixture f;
    f.build(Rights::read() | Rights::grant());
    REQUIRE(f.seal().ok());
    Vcpu& av = f.auditor->vcpus[0];
    // Refusals, before anything changes: an empty slot, a cap of another type (its own CNode),
    // a cptr beyond the CSpace, a cap without Read (minted Grant-only).
    CHECK(call_status(f.kernel, av, F::AuditRead, {9, 0}) == st(Status::InvalidArgument));
    CHECK(call_status(f.kernel, av, F::AuditRead, {0, 0}) == st(Status::InvalidArgument));
    CHECK(call_status(f.kernel, av, F::AuditRead, {1u << 8, 0}) == st(Status::InvalidArgument));
    REQUIRE(call_status(f.kernel, av, F::CapMint, {1, 2, Rights::kGrant, 0}) == 0);
    CHECK(call_status(f.kernel, av, F::AuditRead, {2, 0}) == st(Status::Denied));
    // alpha, which holds no AuditLog cap, cannot read through its slot 1 (its own CNode).
    CHECK(call_status(f.kernel, f.alpha->vcpus[0], F::AuditRead, {1, 0}) == st(Status::InvalidArgument));
    // beta faults; the auditor reads that, and its own refused reads, in order.
    CHECK_FALSE(exit_with(f.kernel, f.beta->vcpus[0], ExitVector::Sync, kEsrDataAbortWrite, 0, 0x5000'0000ull >> 8));
    u64 lost = 0;
    const std::vector<audit::Entry> log = f.read_all(0, &lost);
    CHECK(lost == 0);
    REQUIRE(log.size() == 8);  // sealed, 4 refused reads, alpha's refused read, fault, stop
    for (std::size_t i = 1; i <= 4; ++i) {
        CHECK((log[i].event == Event::CallRefused && log[i].partition_plus1 == f.auditor->index.raw() + 1));
        CHECK(log[i].detail == static_cast<u8>(audit::CallClass::Audit));
    }
    CHECK(log[5].partition_plus1 == f.alpha->index.raw() + 1);
    CHECK((log[6].event == Event::FaultContained && log[6].partition_plus1 == f.beta->index.raw() + 1));
    CHECK((log[7].event == Event::PartitionStopped && log[7].detail == static_cast<u8>(StopReason::Fault)));
    // At the head: NotFound with the cursor to wait from, and no refusal recorded for it.
    CHECK(call_status(f.kernel, av, F::AuditRead, {1, log.back().sequence + 1}) == st(Status::NotFound));
    CHECK(av.regs.x[1] == log.back().sequence + 1);
    CHECK(audit::log().recorded() == log.back().sequence + 1);
}

TEST_CASE("the AuditLog cap is made once, before seal; reading the log is a flow that must be declared",
          "[audit][system][INV-6][T-51]") {
    Fixture f;
    f.build(Rights::read(), false);
    CHECK(create_audit_log(f.kernel.boot, BootSlot(f.slot())).status() == Status::Exists);  // one log, one original cap
    CHECK(create_audit_log(f.kernel.boot, BootSlot(manifest::kBootSlots)).status() == Status::OutOfRange);
    const FlowGraph live = f.live();
    CHECK(live.has(f.alpha->index.raw(), f.auditor->index.raw(), manifest::FlowKind::Audit));
    CHECK(live.has(f.beta->index.raw(), f.auditor->index.raw(), manifest::FlowKind::Audit));
    CHECK_FALSE(live.has(f.auditor->index.raw(), f.alpha->index.raw(), manifest::FlowKind::Audit));
    CHECK_FALSE(live.has(f.alpha->index.raw(), f.beta->index.raw(), manifest::FlowKind::Audit));
    CHECK(f.seal().status() == Status::Denied);
    CHECK(host::console_output().find("seal: undeclared audit flow from 'alpha' to 'auditor'") != std::string::npos);
    REQUIRE((f.declare_flow(*f.alpha, *f.auditor, manifest::FlowKind::Audit)).ok());
    REQUIRE((f.declare_flow(*f.beta, *f.auditor, manifest::FlowKind::Audit)).ok());
    REQUIRE(f.seal().ok());
    CHECK(check_invariants(f.kernel).ok());
    CHECK(create_audit_log(f.kernel.boot, BootSlot(f.slot())).status() == Status::Denied);  // sealed
}

TEST_CASE("a declared audit flow needs an AuditLog cap with Read behind it", "[audit][system][INV-6]") {
    Fixture f;
    f.build(Rights::grant());  // Grant only: no Read, so no flow, though both are declared
    const FlowGraph live = f.live();
    CHECK_FALSE(live.has(f.alpha->index.raw(), f.auditor->index.raw(), manifest::FlowKind::Audit));
    CHECK_REFUSED(f.seal(), Status::Denied, "a declared flow has no capability behind it");
}

TEST_CASE("a partition flooding refused calls gets every one recorded but few console lines",
          "[audit][system][T-33][T-34][T-36]") {
    Fixture f;
    f.build();
    REQUIRE(f.seal().ok());
    host::reset_console();
    for (int i = 0; i < 100; ++i)
        CHECK(call_status(f.kernel, f.alpha->vcpus[0], F::CapCopy, {200, 201}) == st(Status::NotFound));
    // Echoed: refusals 1-4, then 8, 16, 32 and 64.
    CHECK(count_lines(host::console_output(), "call refused 'alpha'") == 8);
    CHECK(host::console_output().find("(refusal 64 of this partition)") != std::string::npos);
    u64 lost = 0;
    const std::vector<audit::Entry> log = f.read_all(1, &lost);
    CHECK(log.size() == audit::Ring::kPerCore);  // core 0's ring holds the newest 64
    CHECK(lost == 100 - audit::Ring::kPerCore);
    CHECK(log.back().sequence == 100);
}

TEST_CASE("unknown function IDs, answered by the vectors, are recorded at the 1st, 2nd, 4th... of a run",
          "[audit][fast-path][T-33][T-34]") {
    Fixture f;
    f.build();
    REQUIRE(f.seal().ok());
    Vcpu& a = f.alpha->vcpus[0];
    for (int i = 0; i < 100; ++i) CHECK(call_status(f.kernel, a, static_cast<F>(kUnknownVendorCall)) == st(Status::NotSupported));
    CHECK(a.regs.unknown_calls == 100);
    const std::vector<audit::Entry> log = f.read_all(1);
    REQUIRE(log.size() == 7);  // calls 1, 2, 4, 8, 16, 32, 64
    for (const audit::Entry& e : log) {
        CHECK((e.event == Event::CallRefused && e.detail == static_cast<u8>(audit::CallClass::Unknown)));
        CHECK((e.a == kUnknownVendorCall && static_cast<i64>(e.b) == st(Status::NotSupported)));
    }
    // The count is the run's: a restart starts it again, so a new run's first probe is recorded.
    a.regs.reset(0, 0);
    CHECK(a.regs.unknown_calls == 0);
}

TEST_CASE("the boot program makes the AuditLog cap once, grants it and requires the audit flows",
          "[audit][boot][INV-6][T-33]") {
    using manifest::OpKind;
    ManifestProgram m;
    const u64 part = static_cast<u64>(ObjectType::Partition), cnode = static_cast<u64>(ObjectType::CNode),
              frame = static_cast<u64>(ObjectType::Frame), vcpu = static_cast<u64>(ObjectType::Vcpu);
    // Partition p in boot slot 2 + 4p (its CNode +1, untyped +2, frame +3); the log in slot 20.
    auto program = [&](bool declare, bool twice) {
        m.ops.clear();
        for (u32 i = 0; i < 2; ++i) {
            const u32 base = 2 + 4 * i;
            m.op(OpKind::Retype, kKernelUntyped, {part, 16, base, 1});
            m.op(OpKind::Retype, kKernelUntyped, {cnode, PartitionTable::kCSpaceRadix, base + 1, 1});
            m.op(OpKind::CreatePartition, base, {base + 1, 0, 1}, i == 0 ? "worker" : "auditor");
            m.op(OpKind::CreateUntyped, base + 2, {kPartitionPa + i * 4 * kMiB, 21, 0});
            m.op(OpKind::Retype, base + 2, {frame, 21, base + 3, 1});
            m.op(OpKind::MapFrame, base + 3, {base, kGuestRam, kRwx});
            m.op(OpKind::Retype, kKernelUntyped, {vcpu, 0, 13 + i, 1});
            m.op(OpKind::BindVcpu, 13 + i, {base, 0, i});
            m.op(OpKind::StartVcpu, 0, {base, 0, kGuestRam, 0});
        }
        m.op(OpKind::CreateAuditLog, 20, {});
        if (twice) m.op(OpKind::CreateAuditLog, 21, {});
        m.op(OpKind::GrantCap, 20, {6, 1, Rights::kRead, 0});
        if (declare) m.op(OpKind::DeclareFlow, 0, {2, 6, static_cast<u64>(manifest::FlowKind::Audit)});
        m.op(OpKind::Seal, 0, {});
    };
    auto run = [&](Fixture& f) {
        const std::vector<u8> blob = m.blob();
        ManifestReader reader;
        REQUIRE(ok(reader.open(blob.data(), blob.size())));
        return run_boot_program(f.kernel, reader);
    };
    {
        Fixture f;
        program(true, false);
        const BootResult r = run(f);
        INFO(r.outcome.reason());
        REQUIRE(r.ok());
        CHECK(f.at(20).cap.type == ObjectType::AuditLog);
        CHECK(check_invariants(f.kernel).ok());
        CHECK(std::string(op_name(OpKind::CreateAuditLog)) == "create-audit-log");
        // The seal is the log's first entry.
        CHECK(audit::log().read(0).entry.event == Event::Sealed);
    }
    {
        Fixture f;
        program(false, false);  // the auditor reads the worker's events: undeclared
        const BootResult r = run(f);
        CHECK(r.outcome.status() == Status::Denied);
        CHECK(std::string(r.outcome.reason()) == "capabilities allow an undeclared information flow");
    }
    {
        Fixture f;
        program(true, true);
        const BootResult r = run(f);
        CHECK(r.outcome.status() == Status::Exists);
        CHECK(r.op_index == 19);  // the second CreateAuditLog
    }
}

TEST_CASE("PSCI_FEATURES answering NOT_SUPPORTED is an answer, not a refused call", "[audit][psci][T-33]") {
    Fixture f;
    f.build();
    REQUIRE(f.seal().ok());
    Vcpu& a = f.alpha->vcpus[0];
    constexpr u64 kMigrate = 0x8400'0005;  // PSCI MIGRATE: not implemented
    CHECK(call_status(f.kernel, a, static_cast<F>(hvc::psci::kFeatures), {kMigrate}) == hvc::psci::kNotSupported);
    CHECK(call_status(f.kernel, a, static_cast<F>(hvc::psci::kFeatures), {hvc::psci::kCpuOn}) >= 0);
    // A PSCI call that is refused still is one.
    CHECK(call_status(f.kernel, a, static_cast<F>(hvc::psci::kCpuOn), {7, 0, 0}) == hvc::psci::kInvalidParameters);
    const std::vector<audit::Entry> log = f.read_all(1);
    REQUIRE(log.size() == 1);
    CHECK((log[0].event == Event::CallRefused && log[0].a == hvc::psci::kCpuOn));
}

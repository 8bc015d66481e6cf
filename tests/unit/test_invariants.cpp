// The invariant checker (kernel/invariants.hpp): a system built through System's operations
// satisfies every checked invariant after every operation, accepted or refused; a state
// corrupted behind the System's back (a hand-written stage-2 descriptor, a changed region
// record, a duplicated VMID, a rebound core) is reported with the right ID and object.
#include <catch2/catch_test_macros.hpp>

#include <arch/host/host_memory.hpp>
#include <bulkhead/hypercall.hpp>
#include <cstring>
#include <guest_exit.hpp>
#include <invariants.hpp>
#include <set>
#include <string>
#include <system.hpp>

using namespace bh;
namespace attr = bh::manifest::attr;

namespace {

constexpr u64 kMiB = 1ull << 20;
constexpr u64 kRw = attr::kRead | attr::kWrite;
constexpr u64 kRwx = kRw | attr::kExecute;
constexpr u64 kDev = kRw | attr::kDevice;
constexpr u64 kGuestRam = platform::kGuestRamIpa;
constexpr u64 kPaA = 0x4800'0000;
constexpr u64 kPaB = 0x4900'0000;

std::string line_of(const InvariantViolation& v) {
    LineBuffer line;
    format_violation(line, v);
    return std::string(line.data(), line.size());
}

std::string describe(const InvariantReport& r) {
    LineBuffer line;
    format_report_summary(line, r);
    std::string text(line.data(), line.size());
    for (u32 i = 0; i < r.stored; ++i) text += "\n  " + line_of(r.violations[i]);
    return text;
}

std::set<std::string> ids(const InvariantReport& r) {
    std::set<std::string> out;
    for (u32 i = 0; i < r.stored; ++i) out.insert(invariant_code(r.violations[i].id));
    return out;
}

// The helper for every test that drives the System: run one operation, then the checker. An
// operation may be refused, but whatever it returns, the state after it must be clean.
template <class Op>
auto checked(System& system, const char* what, Op&& op) {
    auto result = op();
    const InvariantReport report = check_invariants(system);
    INFO("after " << what << ": " << describe(report));
    REQUIRE(report.ok());
    return result;
}

struct Fixture {
    System system;
    Fixture() {
        host::reset_all();
        REQUIRE(ok(system.init(PhysAddr(platform::kObjectMemoryBase), platform::kObjectMemorySize,
                               platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores)));
    }
    // 1 MiB of RAM at kGuestRam: mapped with 4 KiB pages when `pa` is not 2 MiB aligned... it
    // is, but 1 MiB is not a block, so there is always a level-3 table under kGuestRam.
    Partition& make(const char* name, u64 pa, u32 core) {
        auto created = system.create_partition(name, manifest::RestartPolicy::Stop, 1);
        REQUIRE(created.ok());
        Partition& p = *created.value();
        REQUIRE(ok(system.map_memory(p, Ipa(kGuestRam), PhysAddr(pa), kMiB, kRwx)));
        REQUIRE(ok(system.bind_core(p, 0, core)));
        REQUIRE(ok(system.set_entry(p, 0, kGuestRam, 0)));
        return p;
    }
};

// The descriptor slot for `ipa` at `level` in `t`, following existing tables (nullptr when a
// table on the way is missing). Writing through it is exactly what a kernel bug would do.
u64* slot(const Stage2Table& t, u64 ipa, unsigned level) {
    PhysAddr table = t.root();
    for (unsigned l = stage2::kFirstLevel;; ++l) {
        u64* entries = static_cast<u64*>(arch::phys_to_virt(table));
        REQUIRE(entries != nullptr);
        u64* e = &entries[stage2::entry_index(l, ipa)];
        if (l == level) return e;
        if (!stage2::is_table(l, *e)) return nullptr;
        table = PhysAddr(*e & stage2::kAddressMask);
    }
}

void write_page_leaf(const Partition& p, u64 ipa, u64 pa, u64 attrs) {
    u64* e = slot(p.stage2, ipa, 3);
    REQUIRE(e != nullptr);
    REQUIRE(*e == 0);
    *e = stage2::make_leaf(3, pa, attrs);
}

u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }

constexpr u64 kEsrDataAbortWrite = (0x24ull << 26) | (1ull << 25) | (1u << 6) | 0x06;
constexpr u64 kEsrHvc0 = (0x16ull << 26) | (1ull << 25);

}  // namespace

TEST_CASE("an empty and a fresh system satisfy the invariants", "[invariants]") {
    Fixture f;
    InvariantReport r = check_invariants(f.system);
    CHECK(r.ok());
    CHECK(r.total == 0);
    CHECK(r.first() == nullptr);
    LineBuffer line;
    format_report_summary(line, r);
    CHECK(std::string(line.data(), line.size()) ==
          "invariants: ok; checked INV-1 INV-2(partial) INV-6(partial) INV-7(partial) STATE-1 STATE-2; "
          "not checked INV-3 INV-4 INV-5");
    for (InvariantId id : kAllInvariantIds) CHECK(std::string(invariant_scope(id)).size() > 10);
}

TEST_CASE("a demo-like system is checked after every operation", "[invariants]") {
    Fixture f;
    System& s = f.system;
    static const u8 image[] = {0x1f, 0x20, 0x03, 0xd5, 0, 0, 0, 0x14};  // nop; b .
    auto create = [&](const char* name, manifest::RestartPolicy policy, u32 vcpus) {
        auto r = checked(s, "create_partition", [&] { return s.create_partition(name, policy, vcpus); });
        REQUIRE(r.ok());
        return r.value();
    };
    Partition* alpha = create("alpha", manifest::RestartPolicy::Stop, 1);
    Partition* beta = create("beta", manifest::RestartPolicy::Restart, 1);
    Partition* attacker = create("attacker", manifest::RestartPolicy::Stop, 1);
    u64 pa = kPaA;
    for (Partition* p : {alpha, beta, attacker}) {
        CHECK(ok(checked(s, "map_memory", [&] { return s.map_memory(*p, Ipa(kGuestRam), PhysAddr(pa), 16 * kMiB, kRwx); })));
        CHECK(ok(checked(s, "load_image", [&] { return s.load_image(*p, Ipa(kGuestRam), image, sizeof image); })));
        pa += 16 * kMiB;
    }
    // Extra shapes the demo does not have: a read-only page-granular region, a device window.
    CHECK(ok(checked(s, "map_memory ro", [&] {
        return s.map_memory(*alpha, Ipa(0x5000'0000), PhysAddr(0x5010'3000), 5 * 0x1000, attr::kRead);
    })));
    CHECK(ok(checked(s, "map_memory rtc", [&] {
        return s.map_memory(*alpha, Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, kDev);
    })));
    // Refused operations change nothing, so the state stays clean.
    CHECK(checked(s, "overlap", [&] {
        return s.map_memory(*attacker, Ipa(0x6000'0000), PhysAddr(kPaA + 0x1000), 0x1000, kRw);
    }) == Status::Overlap);
    CHECK(checked(s, "kernel region", [&] {
        return s.map_memory(*attacker, Ipa(0x6000'0000), PhysAddr(platform::kObjectMemoryBase), 0x1000, kRw);
    }) == Status::Denied);
    CHECK(checked(s, "gic", [&] {
        return s.map_memory(*attacker, Ipa(0x0800'0000), PhysAddr(0x0800'0000), 0x1000, kDev);
    }) == Status::Denied);
    u32 core = 1;
    for (Partition* p : {alpha, beta, attacker}) {
        const u32 c = core++;
        CHECK(ok(checked(s, "bind_core", [&] { return s.bind_core(*p, 0, c); })));
        CHECK(ok(checked(s, "set_entry", [&] { return s.set_entry(*p, 0, kGuestRam, 12); })));
    }
    CHECK(checked(s, "bind taken core", [&] { return s.bind_core(*attacker, 0, 1); }) == Status::Exists);
    CHECK(ok(checked(s, "seal", [&] { return s.seal(); })));

    // Run time: a contained fault, a restart, a guest powering itself off.
    Vcpu& a = attacker->vcpus[0];
    a.store_state(VcpuState::Running);
    checked(s, "attacker fault", [&] {
        return handle_guest_exit(s, a, ExitKind::Sync, ExitSyndrome{kEsrDataAbortWrite, kPaA, (kPaA >> 12) << 4});
    });
    CHECK(attacker->load_state() == PartitionState::Stopped);
    Vcpu& b = beta->vcpus[0];
    b.store_state(VcpuState::Running);
    checked(s, "beta fault + restart", [&] {
        return handle_guest_exit(s, b, ExitKind::Sync, ExitSyndrome{kEsrDataAbortWrite, kPaA, (kPaA >> 12) << 4});
    });
    CHECK(beta->restarts == 1);
    Vcpu& v = alpha->vcpus[0];
    v.store_state(VcpuState::Running);
    v.regs.x[0] = hvc::psci::kSystemOff;
    checked(s, "alpha system off", [&] { return handle_guest_exit(s, v, ExitKind::Sync, ExitSyndrome{kEsrHvc0, 0, 0}); });
    CHECK(alpha->load_state() == PartitionState::Stopped);
}

TEST_CASE("a leaf into another partition's frame is INV-1, naming both", "[invariants]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    REQUIRE(check_invariants(f.system).ok());

    SECTION("table only: INV-1, and the tables disagree with the regions (STATE-1)") {
        write_page_leaf(b, kGuestRam + kMiB, kPaA + 0x5000, kRw);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(r.total == 2);
        CHECK(ids(r) == std::set<std::string>{"INV-1", "STATE-1"});
        const InvariantViolation& v = *r.first();
        CHECK(v.id == InvariantId::MemoryExclusivity);
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.partition_index == b.index);
        CHECK(v.ipa == Ipa(kGuestRam + kMiB));
        CHECK(v.pa == PhysAddr(kPaA + 0x5000));
        CHECK(v.size == 0x1000);
        CHECK(std::string(v.other_name) == "alpha");
        CHECK(v.other_index == a.index);
        CHECK(v.other_ipa == Ipa(kGuestRam + 0x5000));
        CHECK(line_of(v) ==
              "INV-1 memory exclusivity: partition 'beta' IPA 0x40100000 PA 0x48005000 size 0x1000 - RAM frame "
              "mapped by another partition too (partition 'alpha' IPA 0x40005000)");
        const InvariantViolation& w = *r.find(InvariantId::TablesMatchRegions);
        CHECK(std::string(w.message) == "stage-2 leaf not in any recorded region");
        CHECK(w.ipa == Ipa(kGuestRam + kMiB));
    }
    SECTION("table and region record both: only INV-1") {
        write_page_leaf(b, kGuestRam + kMiB, kPaA + 0x5000, kRw);
        b.regions[b.region_count++] = MemoryRegion{Ipa(kGuestRam + kMiB), PhysAddr(kPaA + 0x5000), 0x1000, kRw};
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-1"});
        CHECK(r.total == 2);  // the recorded region and the leaf
        for (u32 i = 0; i < r.stored; ++i) {
            CHECK(std::string(r.violations[i].partition_name) == "beta");
            CHECK(std::string(r.violations[i].other_name) == "alpha");
            CHECK(r.violations[i].pa == PhysAddr(kPaA + 0x5000));
        }
    }
}

TEST_CASE("a leaf into the kernel region or object memory is INV-2", "[invariants]") {
    Fixture f;
    f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);

    SECTION("kernel image") {
        write_page_leaf(b, kGuestRam + kMiB, platform::kKernelImageBase, kRwx);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-2", "STATE-1"});
        const InvariantViolation& v = *r.first();
        CHECK(v.id == InvariantId::KernelIntegrity);
        CHECK(std::string(v.message) == "stage-2 leaf reaches the kernel region");
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.ipa == Ipa(kGuestRam + kMiB));
        CHECK(v.pa == PhysAddr(platform::kKernelImageBase));
    }
    SECTION("its own stage-2 root") {
        write_page_leaf(b, kGuestRam + kMiB, b.stage2.root().raw(), kRw);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(r.first()->id == InvariantId::KernelIntegrity);
        CHECK(r.first()->pa == b.stage2.root());
    }
    SECTION("object memory placed outside the kernel region") {
        // A System whose object memory is not in the kernel region: the leaf check still
        // knows it is kernel memory.
        host::reset_all();
        System s;
        REQUIRE(ok(s.init(PhysAddr(0x5000'0000), 4 * kMiB, platform::kRamBase, platform::kDefaultRamSize, 4)));
        auto p = s.create_partition("solo", manifest::RestartPolicy::Stop, 1);
        REQUIRE(p.ok());
        REQUIRE(ok(s.map_memory(*p.value(), Ipa(kGuestRam), PhysAddr(kPaA), kMiB, kRw)));
        write_page_leaf(*p.value(), kGuestRam + kMiB, 0x5000'0000, kRw);
        InvariantReport r = check_invariants(s);
        INFO(describe(r));
        CHECK(r.first()->id == InvariantId::KernelIntegrity);
        CHECK(std::string(r.first()->message) == "stage-2 leaf reaches kernel object memory");
    }
}

TEST_CASE("device leaves: only assignable windows, never executable, never shared", "[invariants]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    // An unmapped level-3 table of beta's under IPA 0x0901_0000 is needed: map the rtc there.
    REQUIRE(ok(f.system.map_memory(b, Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, kDev)));
    REQUIRE(check_invariants(f.system).ok());

    SECTION("the GIC distributor") {
        write_page_leaf(b, 0x0901'1000, platform::kGicdBase, kDev);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-2", "STATE-1"});
        CHECK(std::string(r.first()->message) == "device leaf outside the assignable MMIO windows");
        CHECK(r.first()->pa == PhysAddr(platform::kGicdBase));
        CHECK(r.first()->ipa == Ipa(0x0901'1000));
    }
    SECTION("executable device memory") {
        write_page_leaf(b, 0x0901'1000, 0x0903'0000, kDev | attr::kExecute);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(r.first()->id == InvariantId::KernelIntegrity);
        CHECK(std::string(r.first()->message) == "device leaf is executable");
    }
    SECTION("the same MMIO page in two partitions is an undeclared channel: INV-6") {
        // Made consistently (leaf and record) so that only the sharing is wrong.
        const u64 ipa = kGuestRam + kMiB;
        write_page_leaf(a, ipa, 0x0901'0000, kDev);
        a.regions[a.region_count++] = MemoryRegion{Ipa(ipa), PhysAddr(0x0901'0000), 0x1000, kDev};
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-6"});
        const InvariantViolation& v = *r.first();
        CHECK(std::string(v.partition_name) == "beta");  // the later partition is reported
        CHECK(std::string(v.other_name) == "alpha");
        CHECK(v.other_ipa == Ipa(ipa));
        CHECK(v.pa == PhysAddr(0x0901'0000));
    }
}

// System::map_memory once checked device MMIO against the assignable windows only, so it
// accepted one MMIO page for two partitions (an undeclared channel, INV-6); commit 432a564 made
// devices exclusive. Whatever the kernel answers, the state after each op must stay clean.
TEST_CASE("every operation keeps the invariants: MMIO for a second partition", "[invariants]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    System& s = f.system;
    CHECK(ok(checked(s, "rtc to alpha", [&] { return s.map_memory(a, Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, kDev); })));
    CHECK(checked(s, "rtc to beta", [&] { return s.map_memory(b, Ipa(0x0901'0000), PhysAddr(0x0901'0000), 0x1000, kDev); }) ==
          Status::Overlap);
    CHECK(checked(s, "rtc twice to alpha", [&] {
        return s.map_memory(a, Ipa(0x0a00'0000), PhysAddr(0x0901'0000), 0x1000, kDev);
    }) == Status::Overlap);
}

TEST_CASE("the kernel's records must match the tables: STATE-1", "[invariants]") {
    Fixture f;
    f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);

    SECTION("region PA changed without the table") {
        b.regions[0].pa = PhysAddr(0x5000'0000);  // free RAM: nothing but the mismatch is wrong
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        REQUIRE(r.total == 1);
        const InvariantViolation& v = *r.first();
        CHECK(v.id == InvariantId::TablesMatchRegions);
        CHECK(std::string(v.message) == "leaf PA differs from the recorded region's");
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.ipa == Ipa(kGuestRam));
        CHECK(v.pa == PhysAddr(kPaB));           // what the hardware uses
        CHECK(v.value == 0x5000'0000);           // what the kernel believes
        CHECK(v.size == kMiB);
    }
    SECTION("region PA changed onto another partition's frames") {
        b.regions[0].pa = PhysAddr(kPaA);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        // The kernel would scrub alpha's memory when beta restarts: INV-1 at the record level.
        CHECK(ids(r) == std::set<std::string>{"INV-1", "STATE-1"});
        CHECK(std::string(r.find(InvariantId::MemoryExclusivity)->message) ==
              "recorded RAM region overlaps another partition's");
    }
    SECTION("region attributes changed without the table") {
        b.regions[0].attrs = kRw;
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        REQUIRE(r.total == 1);
        CHECK(std::string(r.first()->message) == "leaf attributes differ from the recorded region's");
        CHECK(r.first()->value == kRwx);
    }
    SECTION("part of a region unmapped behind the kernel's back") {
        REQUIRE(ok(b.stage2.unmap(Ipa(kGuestRam + 0x3000), 0x2000)));
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        REQUIRE(r.total == 1);
        CHECK(std::string(r.first()->message) == "recorded region not mapped here");
        CHECK(r.first()->ipa == Ipa(kGuestRam + 0x3000));
        CHECK(r.first()->pa == PhysAddr(kPaB + 0x3000));
    }
    SECTION("a descriptor with bits the kernel never writes") {
        u64* e = slot(b.stage2, kGuestRam + 0x2000, 3);
        REQUIRE(e != nullptr);
        // Normal Non-cacheable instead of Write-Back: decodes to the same manifest attributes.
        *e = (*e & ~stage2::kMemAttrMask) | stage2::mem_attr(0b0101);
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        REQUIRE(r.total == 1);
        CHECK(std::string(r.first()->message) == "leaf descriptor with bits the kernel never sets");
        CHECK(r.first()->ipa == Ipa(kGuestRam + 0x2000));
    }
}

TEST_CASE("stage-2 tables must live in object memory: INV-2", "[invariants]") {
    Fixture f;
    Partition& b = f.make("beta", kPaB, 2);
    // Move beta's level-2 table into beta's own RAM (same contents): the hardware would then
    // let beta rewrite its own translation.
    u64* l1 = slot(b.stage2, kGuestRam, 1);
    REQUIRE(stage2::is_table(1, *l1));
    const u64 moved = kPaB + 0x8000;
    std::memcpy(ram(moved), arch::phys_to_virt(PhysAddr(*l1 & stage2::kAddressMask)), kPageSize);
    *l1 = stage2::make_table(moved);
    InvariantReport r = check_invariants(f.system);
    INFO(describe(r));
    REQUIRE(r.total == 1);
    CHECK(r.first()->id == InvariantId::KernelIntegrity);
    CHECK(std::string(r.first()->message) == "stage-2 table page outside object memory");
    CHECK(r.first()->pa == PhysAddr(moved));
    CHECK(std::string(r.first()->partition_name) == "beta");
}

TEST_CASE("VMIDs are non-zero, unique and the table's: STATE-2", "[invariants]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);

    SECTION("duplicate") {
        b.vmid = a.vmid;
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"STATE-2"});
        const InvariantViolation* v = nullptr;
        for (u32 i = 0; i < r.stored; ++i)
            if (std::string(r.violations[i].message) == "VMID shared with another partition") v = &r.violations[i];
        REQUIRE(v != nullptr);
        CHECK(std::string(v->partition_name) == "beta");
        CHECK(std::string(v->other_name) == "alpha");
        CHECK(v->value == a.vmid);
    }
    SECTION("zero") {
        a.vmid = 0;
        InvariantReport r = check_invariants(f.system);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"STATE-2"});
        CHECK(std::string(r.first()->message) == "VMID 0 (reserved, never a partition's)");
        CHECK(std::string(r.first()->partition_name) == "alpha");
    }
}

TEST_CASE("vCPU and core bindings agree both ways: INV-7", "[invariants]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    f.make("beta", kPaB, 2);
    a.vcpus[0].core = 3;  // core 1 still runs it, core 3 does not
    InvariantReport r = check_invariants(f.system);
    INFO(describe(r));
    CHECK(ids(r) == std::set<std::string>{"INV-7"});
    REQUIRE(r.total == 2);
    CHECK(std::string(r.violations[0].message) == "vCPU bound to a core that does not run it");
    CHECK(r.violations[0].value == 3);
    CHECK(std::string(r.violations[1].message) == "core runs a vCPU bound to another core");
    CHECK(r.violations[1].value == 1);
    CHECK(std::string(r.violations[1].partition_name) == "alpha");

    a.vcpus[0].core = 7;
    r = check_invariants(f.system);
    CHECK(std::string(r.first()->message) == "vCPU bound to a core the system does not have");
}

TEST_CASE("the report is bounded and says so", "[invariants]") {
    Fixture f;
    Partition& b = f.make("beta", kPaB, 2);
    // Twelve separate kernel-region leaves (every other page, so they do not merge into a run).
    for (u64 k = 0; k < 12; ++k) write_page_leaf(b, kGuestRam + kMiB + 2 * k * 0x1000, platform::kKernelImageBase + 2 * k * 0x1000, kRw);
    InvariantReport r = check_invariants(f.system);
    CHECK(r.stored == InvariantReport::kMaxViolations);
    CHECK(r.total == 24);  // INV-2 and STATE-1 for each
    CHECK(r.count(InvariantId::KernelIntegrity) == InvariantReport::kMaxViolations);
    LineBuffer line;
    format_report_summary(line, r);
    CHECK(std::string(line.data(), line.size()).rfind("invariants: 24 violations (first 8 kept); checked", 0) == 0);

    host::reset_console();
    log_invariant_report(r);
    const std::string& out = host::console_output();
    CHECK(out.find("[bulkhead] invariants: 24 violations") == 0);
    CHECK(out.find("[bulkhead] INV-2 kernel integrity: partition 'beta' IPA 0x40100000 PA 0x40100000 size 0x1000 - "
                   "stage-2 leaf reaches the kernel region\n") != std::string::npos);
}

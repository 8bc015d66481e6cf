// The invariant checker (invariants/invariants.hpp) on memory and identity: a leaf into another
// partition's frame (INV-1), into the kernel region or object memory, or an unassignable device
// (INV-2), records that disagree with the tables (STATE-1), tables outside object memory, VMIDs
// (STATE-2), vCPU and core bindings (INV-7), and the report's bounds. Each corruption is made
// behind the kernel's back and reported with the right ID and object.
#include <catch2/catch_test_macros.hpp>

#include "invariants_fixture.hpp"

#include <arch/host/host_memory.hpp>
#include <cstring>
#include <set>
#include <string>

using namespace bh;
using namespace bh::test;
using namespace bh::test::inv;

TEST_CASE("an empty and a fresh system satisfy the invariants", "[invariants]") {
    Fixture f;
    InvariantReport r = check_invariants(f.kernel);
    CHECK(r.ok());
    CHECK(r.total == 0);
    CHECK(r.first() == nullptr);
    CHECK(summary_of(r) ==
          "invariants: ok; checked INV-1 INV-2(partial) INV-3 INV-4 INV-5 INV-6 INV-7(partial) STATE-1 STATE-2");
    for (InvariantId id : kAllInvariantIds) CHECK(std::string(invariant_scope(id)).size() > 10);
}

TEST_CASE("a leaf into another partition's frame is INV-1, naming both", "[invariants][INV-1][T-57]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    REQUIRE(check_invariants(f.kernel).ok());

    SECTION("table only: INV-1, and the tables disagree with the regions (STATE-1)") {
        write_page_leaf(b, kGuestRam + kMiB, kPaA + 0x5000, kRw);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(r.total == 3);  // and no live cap justifies the leaf (INV-4, check_mapping_caps.cpp)
        CHECK(ids(r) == std::set<std::string>{"INV-1", "INV-4", "STATE-1"});
        const InvariantViolation& v = *r.first();
        CHECK(v.id == InvariantId::MemoryExclusivity);
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.partition_index == b.index.raw());
        CHECK(v.ipa == Ipa(kGuestRam + kMiB));
        CHECK(v.pa == PhysAddr(kPaA + 0x5000));
        CHECK(v.size == 0x1000);
        CHECK(std::string(v.other_name) == "alpha");
        CHECK(v.other_index == a.index.raw());
        CHECK(v.other_ipa == Ipa(kGuestRam + 0x5000));
        CHECK(line_of(v) ==
              "INV-1 memory exclusivity: partition 'beta' IPA 0x40100000 PA 0x48005000 size 0x1000 - RAM frame "
              "mapped by another partition too (partition 'alpha' IPA 0x40005000)");
        const InvariantViolation& w = *r.find(InvariantId::TablesMatchRegions);
        CHECK(std::string(w.message) == "stage-2 leaf not in any recorded region");
        CHECK(w.ipa == Ipa(kGuestRam + kMiB));
    }
    SECTION("table and region record both: INV-1, and no cap justifies the leaf (INV-4)") {
        write_page_leaf(b, kGuestRam + kMiB, kPaA + 0x5000, kRw);
        b.regions[b.region_count++] = MemoryRegion{Ipa(kGuestRam + kMiB), PhysAddr(kPaA + 0x5000), 0x1000, attrs_of(kRw)};
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-1", "INV-4"});
        CHECK(r.total == 3);  // the recorded region and the leaf; the leaf without a cap
        CHECK(r.count(InvariantId::MemoryExclusivity) == 2);
        for (u32 i = 0; i < r.stored; ++i) {
            CHECK(std::string(r.violations[i].partition_name) == "beta");
            if (r.violations[i].id != InvariantId::MemoryExclusivity) continue;
            CHECK(std::string(r.violations[i].other_name) == "alpha");
            CHECK(r.violations[i].pa == PhysAddr(kPaA + 0x5000));
        }
    }
}

TEST_CASE("a leaf into the kernel region or object memory is INV-2", "[invariants][INV-2][T-2]") {
    Fixture f;
    f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);

    SECTION("kernel image") {
        write_page_leaf(b, kGuestRam + kMiB, platform::kKernelImageBase, kRwx);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-2", "INV-4", "STATE-1"});
        const InvariantViolation& v = *r.first();
        CHECK(v.id == InvariantId::KernelIntegrity);
        CHECK(std::string(v.message) == "stage-2 leaf reaches the kernel region");
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.ipa == Ipa(kGuestRam + kMiB));
        CHECK(v.pa == PhysAddr(platform::kKernelImageBase));
    }
    SECTION("the boot CNode") {
        write_page_leaf(b, kGuestRam + kMiB, platform::kBootCNodeBase, kRw);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(r.first()->id == InvariantId::KernelIntegrity);
        CHECK(r.first()->pa == PhysAddr(platform::kBootCNodeBase));
    }
    // Object memory is fixed inside the kernel region now (platform.hpp), so a leaf into it is
    // reported as reaching the kernel region; "object memory placed outside the kernel region"
    // can no longer be built.
    SECTION("its own stage-2 root, in object memory") {
        write_page_leaf(b, kGuestRam + kMiB, b.stage2.root().raw(), kRw);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-2", "INV-4", "STATE-1"});
        CHECK(r.first()->id == InvariantId::KernelIntegrity);
        CHECK(r.first()->pa == b.stage2.root());
    }
    SECTION("another partition's object, through a recorded region") {
        const u64 object = f.at(f.part_slot[0]).cap.object;
        write_page_leaf(b, kGuestRam + kMiB, object, kRw);
        b.regions[b.region_count++] = MemoryRegion{Ipa(kGuestRam + kMiB), PhysAddr(object), kPage, attrs_of(kRw)};
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-2", "INV-4"});
        CHECK(r.total == 3);  // the leaf and the record; the leaf without a cap
        CHECK(r.find(InvariantId::KernelIntegrity)->pa == PhysAddr(object));
    }
}

TEST_CASE("device leaves: only assignable windows, never executable, never shared", "[invariants][INV-2][INV-6][T-7]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    // An unmapped level-3 table of beta's under IPA 0x0901_0000 is needed: map the rtc there.
    REQUIRE(f.map(b, f.at(f.device(kRtc)), kRtc, kRw).ok());
    REQUIRE(check_invariants(f.kernel).ok());

    SECTION("the GIC distributor") {
        write_page_leaf(b, 0x0901'1000, platform::kGicdBase, kDev);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-2", "INV-4", "STATE-1"});
        CHECK(std::string(r.first()->message) == "device leaf outside the assignable MMIO windows");
        CHECK(r.first()->pa == PhysAddr(platform::kGicdBase));
        CHECK(r.first()->ipa == Ipa(0x0901'1000));
    }
    SECTION("executable device memory") {
        write_page_leaf(b, 0x0901'1000, 0x0903'0000, kDev | attr::kExecute);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(r.find(InvariantId::KernelIntegrity) != nullptr);
        CHECK(std::string(r.find(InvariantId::KernelIntegrity)->message) == "device leaf is executable");
        // The kernel never writes such a descriptor (STATE-1, read by the checker's own decoder).
        CHECK(std::string(r.first()->message) == "leaf descriptor with bits the kernel never sets");
    }
    SECTION("the same MMIO page in two partitions is an undeclared channel: INV-6") {
        // Made consistently (leaf and record) so that only the sharing is wrong.
        const u64 ipa = kGuestRam + kMiB;
        write_page_leaf(a, ipa, kRtc, kDev);
        a.regions[a.region_count++] = MemoryRegion{Ipa(ipa), PhysAddr(kRtc), 0x1000, attrs_of(kDev)};
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4", "INV-6"});  // INV-4: alpha's leaf has no cap
        const InvariantViolation& v = *r.find(InvariantId::InformationFlow);
        CHECK(std::string(v.partition_name) == "beta");  // the later partition is reported
        CHECK(std::string(v.other_name) == "alpha");
        CHECK(v.other_ipa == Ipa(ipa));
        CHECK(v.pa == PhysAddr(kRtc));
    }
}

TEST_CASE("the kernel's records must match the tables: STATE-1", "[invariants][INV-2][T-3]") {
    Fixture f;
    f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    MemoryRegion* first = b.region_at(Ipa(kGuestRam), kPage);
    REQUIRE(first != nullptr);

    SECTION("region PA changed without the table") {
        first->pa = PhysAddr(0x5000'0000);  // free RAM: nothing but the mismatch is wrong
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        // The frame cap's mapping is no longer what beta records either.
        CHECK(ids(r) == std::set<std::string>{"STATE-1", "INV-4"});
        REQUIRE(r.total == 2);
        const InvariantViolation& v = *r.first();
        CHECK(v.id == InvariantId::TablesMatchRegions);
        CHECK(std::string(v.message) == "leaf PA differs from the recorded region's");
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.ipa == Ipa(kGuestRam));
        CHECK(v.pa == PhysAddr(kPaB));  // what the hardware uses
        CHECK(v.value == 0x5000'0000);  // what the kernel believes
        CHECK(v.size == kPage);
        const InvariantViolation& c = *r.find(InvariantId::CapabilitySoundness);
        CHECK(std::string(c.message) == "a cap's mapping is not recorded by its partition");
        CHECK(std::string(c.partition_name) == "beta");
        CHECK(c.ipa == Ipa(kGuestRam));
        CHECK(c.pa == PhysAddr(kPaB));
    }
    SECTION("region PA changed onto another partition's frames") {
        first->pa = PhysAddr(kPaA);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        // The kernel would scrub alpha's memory when beta restarts: INV-1 at the record level.
        CHECK(ids(r) == std::set<std::string>{"INV-1", "STATE-1", "INV-4"});
        CHECK(std::string(r.find(InvariantId::MemoryExclusivity)->message) ==
              "recorded RAM region overlaps another partition's");
    }
    SECTION("region attributes changed without the table") {
        first->attrs = attrs_of(kRw);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(r.total == 1);
        CHECK(std::string(r.first()->message) == "leaf attributes differ from the recorded region's");
        CHECK(r.first()->value == kRwx);
    }
    SECTION("part of a region unmapped behind the kernel's back") {
        REQUIRE(ok(b.stage2.unmap(Ipa(kGuestRam + 0x3000), 0x2000)));
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(r.total == 2);  // two page regions
        CHECK(std::string(r.first()->message) == "recorded region not mapped here");
        std::set<u64> ipas;
        for (u32 i = 0; i < r.stored; ++i) ipas.insert(r.violations[i].ipa.raw());
        CHECK(ipas == std::set<u64>{kGuestRam + 0x3000, kGuestRam + 0x4000});
    }
    SECTION("a descriptor with bits the kernel never writes") {
        u64* e = slot(b.stage2, kGuestRam + 0x2000, 3);
        REQUIRE(e != nullptr);
        // Normal Non-cacheable instead of Write-Back: decodes to the same manifest attributes.
        *e = (*e & ~stage2::kMemAttrMask) | stage2::mem_attr(0b0101);
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(r.total == 1);
        CHECK(std::string(r.first()->message) == "leaf descriptor with bits the kernel never sets");
        CHECK(r.first()->ipa == Ipa(kGuestRam + 0x2000));
    }
}

TEST_CASE("stage-2 tables must live in object memory: INV-2", "[invariants][INV-2]") {
    Fixture f;
    Partition& b = f.make("beta", kPaB, 2);
    // Move beta's level-2 table into beta's own RAM (same contents): the hardware would then
    // let beta rewrite its own translation.
    u64* l1 = slot(b.stage2, kGuestRam, 1);
    REQUIRE(stage2::is_table(1, *l1));
    const u64 moved = kPaB + 0x8000;
    std::memcpy(ram(moved), arch::phys_to_virt(PhysAddr(*l1 & stage2::kAddressMask)), kPageSize);
    *l1 = stage2::make_table(moved);
    InvariantReport r = check_invariants(f.kernel);
    INFO(describe(r));
    REQUIRE(r.total == 1);
    CHECK(r.first()->id == InvariantId::KernelIntegrity);
    CHECK(std::string(r.first()->message) == "stage-2 table page outside object memory");
    CHECK(r.first()->pa == PhysAddr(moved));
    CHECK(std::string(r.first()->partition_name) == "beta");
}

TEST_CASE("VMIDs are non-zero, unique and the table's: STATE-2", "[invariants][T-4][T-13]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);

    SECTION("duplicate") {
        b.vmid = a.vmid;
        InvariantReport r = check_invariants(f.kernel);
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
        InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"STATE-2"});
        CHECK(std::string(r.first()->message) == "VMID 0 (reserved, never a partition's)");
        CHECK(std::string(r.first()->partition_name) == "alpha");
    }
}

TEST_CASE("vCPU and core bindings agree both ways: INV-7", "[invariants][INV-7]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    f.make("beta", kPaB, 2);
    a.vcpus[0].core = CoreId(3);  // core 1 still runs it, core 3 does not
    InvariantReport r = check_invariants(f.kernel);
    INFO(describe(r));
    CHECK(ids(r) == std::set<std::string>{"INV-7"});
    REQUIRE(r.total == 2);
    CHECK(std::string(r.violations[0].message) == "vCPU bound to a core that does not run it");
    CHECK(r.violations[0].value == 3);
    CHECK(std::string(r.violations[1].message) == "core runs a vCPU bound to another core");
    CHECK(r.violations[1].value == 1);
    CHECK(std::string(r.violations[1].partition_name) == "alpha");

    a.vcpus[0].core = CoreId(7);
    r = check_invariants(f.kernel);
    CHECK(std::string(r.first()->message) == "vCPU bound to a core the system does not have");
}

TEST_CASE("the report is bounded and says so", "[invariants]") {
    Fixture f;
    Partition& b = f.make("beta", kPaB, 2);
    // Twelve separate kernel-region leaves (every other page, so they do not merge into a run).
    for (u64 k = 0; k < 12; ++k)
        write_page_leaf(b, kGuestRam + kMiB + 2 * k * 0x1000, platform::kKernelImageBase + 2 * k * 0x1000, kRw);
    InvariantReport r = check_invariants(f.kernel);
    CHECK(r.stored == InvariantReport::kMaxViolations);
    CHECK(r.total == 36);  // INV-2, STATE-1 and INV-4 (no cap justifies it) for each
    CHECK(r.count(InvariantId::KernelIntegrity) == InvariantReport::kMaxViolations);
    CHECK(summary_of(r).rfind("invariants: 36 violations (first 8 kept); checked", 0) == 0);

    host::reset_console();
    log_invariant_report(r);
    const std::string& out = host::console_output();
    CHECK(out.find("[bulkhead] invariants: 36 violations") == 0);
    CHECK(out.find("[bulkhead] INV-2 kernel integrity: partition 'beta' IPA 0x40100000 PA 0x40100000 size 0x1000 - "
                   "stage-2 leaf reaches the kernel region\n") != std::string::npos);
}

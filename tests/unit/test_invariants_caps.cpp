// The invariant checker (invariants/invariants.hpp) on capabilities, INV-4: capability
// operations keep the derivation tree sound; a broken tree, an object outside its untyped's
// watermark, a mapping no partition records or a bound vCPU no cap names are reported, naming
// the slot; and the fuzz oracle's check since a baseline reports what the full check does.
#include <catch2/catch_test_macros.hpp>

#include "invariants_fixture.hpp"

#include <cstring>
#include <memory>
#include <set>
#include <string>

using namespace bh;
using namespace bh::test;
using namespace bh::test::inv;

namespace {

// Two partitions with derived caps in their CSpaces, checked after every operation:
//   beta: slot 1 its own CNode; 5 and 6 mints of its frame 0 (siblings); 7 a read-only mint of
//   its frame 1 and 8 a read-only mint of that; 9 a copy of 5; 4 a page of a scratch frame,
//   mapped by beta through that cap (so a mapped cap lives in a partition's CSpace).
//   alpha: slot 4 a scratch frame, minted and mapped, then revoked through caps::revoke; after
//   the seal a hypercall revoke of what alpha derived itself.
struct CapSystem {
    Fixture f;
    Partition* alpha = nullptr;
    Partition* beta = nullptr;
    u32 scratch = 0;  // boot slot of alpha's scratch frame
    u32 beta_page = 0;  // boot slot of beta's scratch page
    static constexpr u64 kScratchIpa = 0x5000'0000;

    CapSystem() {
        Fixture& s = f;
        alpha = &f.make("alpha", kPaA, 1);
        beta = &f.make("beta", kPaB, 2);
        Partition& a = *alpha;
        Partition& b = *beta;
        CapSlot* bcs = cspace(b);
        CapSlot* acs = cspace(a);
        REQUIRE(ok(checked(s, "grant beta its cnode", [&] { return s.grant(f.part_slot[b.index.raw()] + 1, b, 1, kRwg); })));
        REQUIRE(ok(checked(s, "grant alpha its cnode", [&] { return s.grant(f.part_slot[a.index.raw()] + 1, a, 1, kRwg); })));
        const u32 f0 = f.first_frame[b.index.raw()], f1 = f0 + 1;
        REQUIRE(ok(checked(s, "grant 5", [&] { return s.grant(f0, b, 5, kRwg); })));
        REQUIRE(ok(checked(s, "grant 6", [&] { return s.grant(f0, b, 6, kRwg); })));
        REQUIRE(ok(checked(s, "grant 7", [&] { return s.grant(f1, b, 7, Rights::read() | Rights::grant()); })));
        REQUIRE(ok(checked(s, "mint 8", [&] { return s.mint(bcs[7], bcs[8], Rights::read(), 0); })));
        REQUIRE(ok(checked(s, "copy 9", [&] { return s.copy(bcs[5], bcs[9]); })));
        beta_page = f.frames(0x4a00'0000, 12, 1, 12);
        REQUIRE(ok(checked(s, "grant beta a page", [&] { return s.grant(beta_page, b, 4, kRwg); })));
        REQUIRE(ok(checked(s, "beta maps it", [&] { return s.map(b, bcs[4], kScratchIpa, kRw); })));

        scratch = f.frames(0x4b00'0000, 12, 1, 12);
        REQUIRE(ok(checked(s, "grant alpha scratch", [&] { return s.grant(scratch, a, 4, kRwg); })));
        REQUIRE(ok(checked(s, "mint 10", [&] { return s.mint(acs[4], acs[10], Rights::read(), 0); })));
        REQUIRE(ok(checked(s, "map 10", [&] { return s.map(a, acs[10], kScratchIpa, attr::kRead); })));
        const caps::RevokeProgress rp = checked(s, "caps::revoke", [&] { return s.revoke(f.at(scratch), 64); });
        REQUIRE(rp.done);
        CHECK(rp.deleted == 2);
        CHECK(acs[4].empty());
        CHECK_FALSE(a.stage2.translate(Ipa(kScratchIpa)).ok());
        REQUIRE(ok(checked(s, "grant alpha scratch again", [&] { return s.grant(scratch, a, 4, kRwg); })));
        REQUIRE(ok(checked(s, "seal", [&] { return s.seal(); })));

        using F = hvc::Function;
        Vcpu& v = a.vcpus[0];
        auto call = [&](const char* what, F fn, std::initializer_list<u64> args) {
            return checked(s, what, [&] { return call_status(s.kernel, v, fn, args); });
        };
        CHECK(call("CapMint", F::CapMint, {4, 10, Rights::kRead | Rights::kGrant, 0}) == 0);
        CHECK(call("CapCopy", F::CapCopy, {10, 11}) == 0);
        CHECK(call("FrameMap", F::FrameMap, {11, kScratchIpa, attr::kRead}) == 0);
        CHECK(call("CapRevoke", F::CapRevoke, {4}) == 0);
        CHECK(v.regs.x[1] == 2);
        CHECK_FALSE(a.stage2.translate(Ipa(kScratchIpa)).ok());
        CHECK(call("FrameMap scratch", F::FrameMap, {4, kScratchIpa + kPage, kRw}) == 0);
        REQUIRE(check_invariants(s.kernel).ok());
    }
};

// The one INV-4 violation a corruption must produce: in `p`'s CSpace (or the boot CNode when
// p is nullptr), at slot `index`, with `message`.
void expect_cap_violation(const InvariantReport& r, const Partition* p, u64 index, const std::string& message) {
    INFO(describe(r));
    CHECK(ids(r) == std::set<std::string>{"INV-4"});
    REQUIRE(r.total == 1);
    const InvariantViolation& v = *r.first();
    CHECK(v.id == InvariantId::CapabilitySoundness);
    CHECK(std::string(v.message) == message);
    if (p != nullptr) {
        CHECK(v.has(InvariantViolation::kPartition));
        CHECK(std::string(v.partition_name) == p->name);
    } else {
        CHECK_FALSE(v.has(InvariantViolation::kPartition));
    }
    CHECK(v.has(InvariantViolation::kValue));
    CHECK(v.value == index);
    CHECK(line_of(v).rfind("INV-4 capability soundness: ", 0) == 0);
    CHECK(summary_of(r).find("; checked INV-1 INV-2(partial) INV-3 INV-4 ") != std::string::npos);
}

}  // namespace

TEST_CASE("capability operations keep INV-4 and the report lists it as checked", "[invariants][caps][INV-4][T-46]") {
    CapSystem c;
    const InvariantReport r = check_invariants(c.f.kernel);
    CHECK(r.ok());
    const std::string summary = summary_of(r);
    CHECK(summary.find("checked INV-1 INV-2(partial) INV-3 INV-4 ") != std::string::npos);
    CHECK(summary.find("not checked") == std::string::npos);
    CHECK(invariant_coverage(InvariantId::CapabilitySoundness) == InvariantCoverage::Checked);
}

TEST_CASE("a broken derivation tree is INV-4, naming the slot", "[invariants][caps][INV-4][T-45][T-66]") {
    CapSystem c;
    Partition& b = *c.beta;
    CapSlot* bcs = cspace(b);
    // 5 and 6 are both children of beta's frame 0 in the boot CNode: 6 first, then 5.
    REQUIRE(bcs[5].parent == bcs[6].parent);
    REQUIRE(bcs[5].prev_sibling == &bcs[6]);

    SECTION("sibling links not symmetric") {
        bcs[5].prev_sibling = nullptr;
        expect_cap_violation(check_invariants(c.f.kernel), &b, 5, "sibling links are not symmetric");
    }
    SECTION("a sibling chain that skips a slot") {
        bcs[6].next_sibling = bcs[5].next_sibling;  // 5 still names its parent
        if (bcs[6].next_sibling != nullptr) bcs[6].next_sibling->prev_sibling = &bcs[6];
        expect_cap_violation(check_invariants(c.f.kernel), &b, 5, "slot missing from its parent's children");
    }
    SECTION("a child's rights exceed its parent's") {
        REQUIRE(bcs[8].parent == &bcs[7]);
        bcs[8].cap.rights = Rights::read() | Rights::write();  // 7 is read-only
        expect_cap_violation(check_invariants(c.f.kernel), &b, 8, "child has rights its parent lacks");
    }
    SECTION("a cap linked into no tree") {
        REQUIRE(bcs[20].empty());
        std::memcpy(&bcs[20].cap, &bcs[9].cap, sizeof(Capability));  // the cap without its links
        expect_cap_violation(check_invariants(c.f.kernel), &b, 20, "slot not reachable from any root");
    }
    SECTION("an empty slot left linked") {
        bcs[9].cap = Capability{};  // emptied without cdt_unlink
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        CHECK(std::string(r.first()->message) == "empty slot linked into the tree");
        CHECK(std::string(r.first()->partition_name) == "beta");
    }
    SECTION("a cycle") {
        bcs[9].first_child = &bcs[5];  // 9 is a child of 5
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        CHECK_FALSE(r.ok());
    }
    SECTION("a corruption in the boot CNode names no partition") {
        // Beta's frames are siblings under their root untyped, all in the boot CNode.
        CapSlot& f2 = c.f.frame_of(b, 2);
        REQUIRE(f2.prev_sibling != nullptr);
        f2.prev_sibling = nullptr;
        expect_cap_violation(check_invariants(c.f.kernel), nullptr, c.f.first_frame[b.index.raw()] + 2,
                             "sibling links are not symmetric");
    }
}

TEST_CASE("a retyped object outside its untyped's watermark is INV-4", "[invariants][caps][INV-4]") {
    CapSystem c;
    Partition& b = *c.beta;

    SECTION("a frame's root untyped") {
        CapSlot& u = c.f.at(c.f.ram_untyped[b.index.raw()]);
        REQUIRE(u.cap.type == ObjectType::Untyped);
        REQUIRE(u.cap.watermark() == kPages * kPage);
        u.cap.word64 = (kPages - 1) * kPage;  // the last frame is now "free" memory
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        REQUIRE(r.total == 1);
        const InvariantViolation& v = *r.first();
        CHECK(std::string(v.message) == "child of an untyped lies outside its allocated range");
        CHECK_FALSE(v.has(InvariantViolation::kPartition));  // the frame cap is in the boot CNode
        REQUIRE(v.has(InvariantViolation::kValue));
        CHECK(c.f.at(static_cast<u32>(v.value)).cap.object == kPaB + (kPages - 1) * kPage);
    }
    SECTION("the kernel untyped: partition objects in free object memory") {
        CapSlot& u = c.f.at(kKernelUntyped);
        const u64 alpha_object = c.f.at(c.f.part_slot[c.alpha->index.raw()]).cap.object;
        u.cap.word64 = alpha_object - platform::kObjectMemoryBase;  // alpha and all after it
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        // The partitions themselves now lie outside allocated object memory too (INV-2).
        CHECK(ids(r).count("INV-4") == 1);
        CHECK(ids(r).count("INV-2") == 1);
        CHECK(std::string(r.find(InvariantId::CapabilitySoundness)->message) ==
              "child of an untyped lies outside its allocated range");
    }
}

TEST_CASE("a cap's mapping must be one its partition records: INV-4", "[invariants][caps][INV-4][T-46]") {
    CapSystem c;
    Partition& a = *c.alpha;
    Partition& b = *c.beta;
    CapSlot& f0 = c.f.frame_of(b, 0);
    REQUIRE(f0.cap.mapped());
    REQUIRE(f0.cap.mapped_partition() == b.index);
    // The record moved away from the mapping leaves the leaf no live cap justifies (INV-4 too,
    // check_mapping_caps.cpp): two reports, this one and the one about the cap.
    const auto about_cap = [](const InvariantReport& r) -> const InvariantViolation& {
        for (u32 i = 0; i < r.stored; ++i)
            if (std::string(r.violations[i].message) != "stage-2 leaf without a live cap that maps it") return r.violations[i];
        FAIL("no report about the cap");
        return r.violations[0];
    };

    SECTION("another IPA") {
        f0.cap.set_mapping(b.index, 0x7000'0000);
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        REQUIRE(r.total == 2);
        const InvariantViolation& v = about_cap(r);
        CHECK(std::string(v.message) == "a cap's mapping is not recorded by its partition");
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(v.ipa == Ipa(0x7000'0000));
        CHECK(v.pa == PhysAddr(kPaB));
        CHECK(v.size == kPage);
    }
    SECTION("another partition") {
        f0.cap.set_mapping(a.index, kGuestRam);  // alpha maps its own page there
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        REQUIRE(r.total == 2);
        CHECK(std::string(about_cap(r).partition_name) == "alpha");
        CHECK(about_cap(r).pa == PhysAddr(kPaB));
    }
    SECTION("no such partition") {
        f0.cap.set_mapping(PartitionId(8), kGuestRam);
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        REQUIRE(r.total == 2);
        CHECK(std::string(about_cap(r).message) == "a cap is mapped into no live partition");
        CHECK(about_cap(r).value == 8);
    }
    SECTION("a mapped cap in a partition's CSpace") {
        CapSlot& page = cspace(b)[4];
        REQUIRE(page.cap.mapped());
        page.cap.set_mapping(b.index, CapSystem::kScratchIpa + kPage);
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
        REQUIRE(r.total == 2);
        CHECK(std::string(about_cap(r).partition_name) == "beta");
        CHECK(about_cap(r).ipa == Ipa(CapSystem::kScratchIpa + kPage));
    }
}

// check_invariants_since (invariants/invariants.hpp), the fuzz oracle's check after each step: the
// same report as the full check for a corruption anywhere it reads, and blind only to the boot
// CNode's slots that were empty at the baseline, which the full check still reads.
TEST_CASE("a check since a baseline reports what the full check does, but for empty boot slots",
          "[invariants][caps]") {
    CapSystem c;
    const Kernel& s = c.f.kernel;
    auto baseline = std::make_unique<InvariantBaseline>();
    REQUIRE(check_invariants(s, *baseline).ok());
    REQUIRE(baseline->boot_slots != nullptr);
    REQUIRE(baseline->occupied_count > 0);
    CHECK(check_invariants_since(s, *baseline).ok());
    const auto same = [&] {
        const InvariantReport full = check_invariants(s);
        const InvariantReport step = check_invariants_since(s, *baseline);
        INFO("full: " << describe(full) << "\nstep: " << describe(step));
        CHECK_FALSE(full.ok());
        CHECK(describe(step) == describe(full));
    };
    CapSlot* bcs = cspace(*c.beta);

    SECTION("a CSpace cap with rights beyond its parent's") {
        bcs[8].cap.rights = Rights::read() | Rights::write();
        same();
    }
    SECTION("a cap linked into no tree") {
        std::memcpy(&bcs[20].cap, &bcs[9].cap, sizeof(Capability));
        same();
    }
    SECTION("an occupied boot slot corrupted") {
        CapSlot& f2 = c.f.frame_of(*c.beta, 2);
        f2.prev_sibling = nullptr;
        same();
    }
    SECTION("a stage-2 leaf into another partition's frame") {
        write_page_leaf(*c.beta, kGuestRam + kMiB, kPaA + 0x5000, kRw);
        same();
    }
    SECTION("an occupied boot slot emptied without unlinking") {
        CapSlot& f2 = c.f.frame_of(*c.beta, 2);
        f2.cap = Capability{};
        same();
    }
    SECTION("a boot slot empty at the baseline: only the full check reads it") {
        const u32 k = manifest::kBootSlots - 1;
        CapSlot& last = c.f.at(k);
        REQUIRE(last.empty());
        last.parent = &c.f.at(baseline->occupied[0]);  // an empty slot left linked
        CHECK(check_invariants_since(s, *baseline).ok());
        const InvariantReport full = check_invariants(s);
        INFO(describe(full));
        CHECK(ids(full) == std::set<std::string>{"INV-4"});
        CHECK(std::string(full.first()->message) == "empty slot linked into the tree");
        CHECK(full.first()->value == k);
    }
    SECTION("a baseline of no boot CNode gives the full check") {
        const InvariantBaseline none{};
        CapSlot& last = c.f.at(manifest::kBootSlots - 1);
        last.parent = &c.f.at(baseline->occupied[0]);
        CHECK(describe(check_invariants_since(s, none)) == describe(check_invariants(s)));
    }
}

TEST_CASE("the checker reports a bound vCPU whose object no cap names (freed memory)", "[system][invariants][INV-4][INV-7]") {
    KernelFixture f;
    Partition& p = f.make("p", kPartitionPa, 1);
    CHECK(check_invariants(f.kernel).ok());
    // The Vcpu's only cap is the last slot make() used; empty it behind the kernel's back.
    CapSlot& vcpu_cap = f.at(f.next_slot - 1);
    REQUIRE(vcpu_cap.cap.type == ObjectType::Vcpu);
    vcpu_cap.cap = Capability{};
    const InvariantReport r = check_invariants(f.kernel);
    const InvariantViolation* v = r.find(InvariantId::CapabilitySoundness);
    REQUIRE(v != nullptr);
    bool found = false;
    for (u32 i = 0; i < r.stored; ++i)
        found |= std::string(r.violations[i].message) == "a bound vCPU is no Vcpu object any cap names" &&
                 r.violations[i].partition_index == p.index.raw();
    CHECK(found);
}

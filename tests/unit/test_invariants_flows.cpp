// The invariant checker (invariants/invariants.hpp) on sharing: a channel page is shared only
// through Channel caps (INV-1's exception), a cap planted after seal that makes an undeclared
// flow is INV-6, and an IrqHandler cap the kernel never made is INV-5.
#include <catch2/catch_test_macros.hpp>

#include "invariants_fixture.hpp"

#include <set>
#include <string>

using namespace bh;
using namespace bh::test;
using namespace bh::test::inv;

namespace {

constexpr u64 kChannelPa = 0x4B00'0000;
constexpr u64 kChannelIpa = 0x6000'0000;

// alpha and beta share a 4 KiB channel (alpha writes through the boot cap's mapping, beta reads
// through its own cap in CSpace slot 1), alpha -> beta declared; gamma has nothing to do with it.
struct ChannelSystem {
    Fixture f;
    Partition* a = nullptr;
    Partition* b = nullptr;
    Partition* g = nullptr;
    u32 ch = 0;
    ChannelSystem() {
        a = &f.make("alpha", kPaA, 1);
        b = &f.make("beta", kPaB, 2);
        g = &f.make("gamma", 0x4A00'0000, 3);
        const u32 us = f.slot();
        ch = f.slot();
        Fixture& s = f;
        REQUIRE(ok(checked(s, "channel untyped", [&] { return s.create_untyped(us, kChannelPa, 12, false); })));
        REQUIRE(ok(checked(s, "retype channel", [&] { return s.retype(us, ObjectType::Channel, 12, ch, 1); })));
        REQUIRE(ok(checked(s, "map alpha", [&] { return s.map(*a, f.at(ch), kChannelIpa, kRw); })));
        REQUIRE(ok(checked(s, "grant beta", [&] { return s.grant(ch, *b, 1, Rights::read()); })));
        REQUIRE(ok(checked(s, "map beta", [&] { return s.map(*b, cspace(*b)[1], kChannelIpa, attr::kRead); })));
        REQUIRE(ok(checked(s, "declare", [&] { return s.declare_flow(*a, *b, manifest::FlowKind::Memory); })));
        REQUIRE(ok(checked(s, "seal", [&] { return s.seal(); })));
    }
};

}  // namespace

TEST_CASE("a channel page is shared only through Channel caps: INV-1", "[invariants][channels][INV-1][T-61][T-62][T-64]") {
    const u64 ipa = kGuestRam + kMiB;
    for (const bool as_channel : {false, true}) {
        ChannelSystem fresh;
        Partition& g = *fresh.g;
        INFO("a channel page in a partition without a channel cap, recorded as a channel mapping: " << as_channel);
        write_page_leaf(g, ipa, kChannelPa, kRw);
        g.regions[g.region_count++] = MemoryRegion{Ipa(ipa), PhysAddr(kChannelPa), kPage, attrs_of(kRw), as_channel};
        const InvariantReport r = check_invariants(fresh.f.kernel);
        INFO(describe(r));
        const InvariantViolation* v = r.find(InvariantId::MemoryExclusivity);
        REQUIRE(v != nullptr);
        CHECK(std::string(v->partition_name) == "gamma");
        CHECK(v->pa == PhysAddr(kChannelPa));
        if (as_channel) CHECK(std::string(v->message) == "channel mapping without a Channel cap that records it");
    }
    ChannelSystem c;
    Partition& g = *c.g;
    SECTION("a private frame recorded as a channel in both partitions") {
        const u64 pa = kPaA + 0x5000;  // alpha's sixth page
        MemoryRegion* own = c.a->region_at(Ipa(kGuestRam + 0x5000), kPage);
        REQUIRE(own != nullptr);
        own->channel = true;
        write_page_leaf(g, ipa, pa, kRw);
        g.regions[g.region_count++] = MemoryRegion{Ipa(ipa), PhysAddr(pa), kPage, attrs_of(kRw), true};
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(r.count(InvariantId::MemoryExclusivity) >= 3);  // two records without a Channel cap, one kind mismatch
        std::set<std::string> messages;
        for (u32 i = 0; i < r.stored; ++i) messages.insert(r.violations[i].message);
        CHECK(messages.count("a private frame's mapping is recorded as a channel mapping") == 1);
        CHECK(messages.count("channel mapping without a Channel cap that records it") == 1);
    }
    SECTION("a channel mapping recorded as private RAM") {
        MemoryRegion* shared = c.b->region_at(Ipa(kChannelIpa), kPage);
        REQUIRE(shared != nullptr);
        shared->channel = false;  // a restart of beta would now scrub alpha's data
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        const InvariantViolation* v = r.find(InvariantId::MemoryExclusivity);
        REQUIRE(v != nullptr);
        CHECK(std::string(v->partition_name) == "beta");
    }
    SECTION("an executable channel leaf") {
        MemoryRegion* shared = c.b->region_at(Ipa(kChannelIpa), kPage);
        shared->attrs = attrs_of(kRwx);
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        CHECK(r.find(InvariantId::MemoryExclusivity) != nullptr);
        CHECK(r.find(InvariantId::TablesMatchRegions) != nullptr);  // the leaf says otherwise
    }
}

TEST_CASE("a cap planted after seal creating an undeclared edge is INV-6, naming it", "[invariants][channels][INV-6][T-51]") {
    ChannelSystem c;
    SECTION("memory: beta gets a Write cap to the channel") {
        REQUIRE(ok(c.f.mint(c.f.at(c.ch), cspace(*c.b)[5], Rights::read() | Rights::write(), 0)));
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        REQUIRE(r.count(InvariantId::InformationFlow) == 1);
        const InvariantViolation& v = *r.find(InvariantId::InformationFlow);
        CHECK(std::string(v.partition_name) == "beta");
        CHECK(std::string(v.other_name) == "alpha");
        CHECK(v.value == static_cast<u64>(manifest::FlowKind::Memory));
        CHECK(line_of(v) ==
              "INV-6 information flow: partition 'beta' - undeclared memory flow: it can write memory the other can "
              "read [0x1] (partition 'alpha')");
    }
    SECTION("signal: gamma can signal a notification alpha waits on") {
        const u32 n = c.f.slot();
        CHECK(c.f.retype(kKernelUntyped, ObjectType::Notification, 0, n, 1).status() == Status::Denied);  // sealed
        // Behind the kernel's back: an object and caps the boot program never made.
        const u32 us = c.f.slot();
        Capability ut{};
        ut.type = ObjectType::Untyped;
        ut.rights = caps::full_rights(ObjectType::Untyped);
        ut.size_bits = 12;
        ut.object = 0x4C00'0000;
        REQUIRE(ok(caps::create_root(c.f.at(us), ut)));
        REQUIRE(ok(locked([&](const CapLockHeld& held) {
            return caps::retype(c.f.at(us), ObjectType::Notification, 0, const_cast<CapSlot&>(c.f.kernel.boot.cnode()), n,
                                1, c.f.kernel, held);
        })));
        REQUIRE(ok(c.f.mint(c.f.at(n), cspace(*c.g)[5], Rights::write(), 0)));
        REQUIRE(ok(c.f.mint(c.f.at(n), cspace(*c.a)[5], Rights::read(), 0)));
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        const InvariantViolation* v = r.find(InvariantId::InformationFlow);
        REQUIRE(v != nullptr);
        CHECK(std::string(v->partition_name) == "gamma");
        CHECK(std::string(v->other_name) == "alpha");
        CHECK(v->value == static_cast<u64>(manifest::FlowKind::Signal));
    }
    SECTION("a frame: alpha and beta hold read-only caps to one of alpha's frames") {
        // No edge of the flow graph beyond the declared alpha -> beta; but one holder's FrameMap
        // answers Overlap exactly while the other has the frame mapped.
        REQUIRE(ok(c.f.mint(c.f.frame_of(*c.a, 0), cspace(*c.a)[5], Rights::read(), 0)));
        REQUIRE(ok(c.f.mint(c.f.frame_of(*c.a, 0), cspace(*c.b)[5], Rights::read(), 0)));
        const InvariantReport r = check_invariants(c.f.kernel);
        INFO(describe(r));
        REQUIRE(r.count(InvariantId::InformationFlow) == 1);
        const InvariantViolation& v = *r.find(InvariantId::InformationFlow);
        CHECK(std::string(v.partition_name) == "alpha");
        CHECK(std::string(v.other_name) == "beta");
        CHECK(v.value == c.f.frame_of(*c.a, 0).cap.object);
        CHECK(std::string(v.message) == "a frame is held by two partitions: FrameMap's answer signals between them");
    }
    SECTION("a declared edge whose caps are deleted after seal is not a violation") {
        REQUIRE(ok(c.f.delete_cap(cspace(*c.b)[1])));
        CHECK(check_invariants(c.f.kernel).ok());
    }
}

TEST_CASE("an IrqHandler cap for an SPI the kernel made no handler for is INV-5", "[invariants][INV-5][T-74]") {
    // More INV-5 cases (two holders, stale bindings) are in test_interrupts.cpp.
    Fixture f;
    CHECK(invariant_coverage(InvariantId::InterruptOwnership) == InvariantCoverage::Checked);
    Capability irq{};
    irq.type = ObjectType::IrqHandler;
    irq.rights = caps::full_rights(ObjectType::IrqHandler);
    irq.object = 33;
    const u32 s = f.slot();
    REQUIRE(ok(caps::create_root(f.at(s), irq)));
    const InvariantReport r = check_invariants(f.kernel);
    INFO(describe(r));
    const InvariantViolation* v = r.find(InvariantId::InterruptOwnership);
    REQUIRE(v != nullptr);
    CHECK(v->value == s);  // located by its boot slot
}

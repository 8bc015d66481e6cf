// INV-4 for mappings, region -> live cap (kernel/invariants/check_mapping_caps.cpp): every leaf of
// a partition's stage-2 tables is justified by a live Frame, DeviceMmio or Channel cap that records
// that mapping, with the rights the leaf grants. The planted bug is the one a teardown path can
// have: a delete or revoke that forgets to unmap (caps::delete_cap / caps::revoke driven with
// object hooks whose unmap does nothing), which leaves a leaf of freed, re-typeable memory.
#include <catch2/catch_test_macros.hpp>

#include "invariants_fixture.hpp"

using namespace bh;
using namespace bh::test;
using namespace bh::test::inv;

namespace {

// The kernel's object hooks with unmap skipped: "delete skips unmap", planted.
class SkipUnmap final : public ObjectHooks {
public:
    explicit SkipUnmap(Kernel& k) : k_(k) {}
    Status create(ObjectType type, PhysAddr base, unsigned size_bits, const CapLockHeld& held) override {
        return k_.create(type, base, size_bits, held);
    }
    void destroy(const Capability& final_cap, const CapLockHeld& held) override { k_.destroy(final_cap, held); }
    void unmap(const Capability&, const CapLockHeld&) override {}
    bool in_use(const Capability& final_cap) const override { return k_.in_use(final_cap); }

private:
    Kernel& k_;
};

const InvariantViolation* leaf_without_cap(const InvariantReport& r) {
    for (u32 i = 0; i < r.stored; ++i)
        if (std::string(r.violations[i].message) == "stage-2 leaf without a live cap that maps it") return &r.violations[i];
    return nullptr;
}

}  // namespace

TEST_CASE("a delete that skips unmap leaves a leaf no live cap justifies: INV-4", "[invariants][INV-4][T-46][T-47]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    REQUIRE(check_invariants(f.kernel).ok());
    CapSlot& frame = f.frame_of(a, 5);
    REQUIRE(frame.cap.mapped());

    SECTION("the kernel's delete unmaps: clean") {
        CHECK(checked(f, "delete", [&] { return f.delete_cap(frame); }) == Status::Ok);
        CHECK_FALSE(a.stage2.translate(Ipa(kGuestRam + 5 * kPage)).ok());
    }
    SECTION("planted: the delete skips unmap") {
        SkipUnmap hooks(f.kernel);
        REQUIRE(locked([&](const CapLockHeld& held) { return caps::delete_cap(frame, hooks, held); }) == Status::Ok);
        REQUIRE(a.stage2.translate(Ipa(kGuestRam + 5 * kPage)).ok());  // the leaf outlived its cap
        const InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(r.total == 1);  // record and leaf still agree (STATE-1); only the cap is gone
        const InvariantViolation* v = leaf_without_cap(r);
        REQUIRE(v != nullptr);
        CHECK(v->id == InvariantId::CapabilitySoundness);
        CHECK(std::string(v->partition_name) == "alpha");
        CHECK(v->ipa == Ipa(kGuestRam + 5 * kPage));
        CHECK(v->pa == PhysAddr(kPaA + 5 * kPage));
        CHECK(v->size == kPage);
        CHECK(line_of(*v) ==
              "INV-4 capability soundness: partition 'alpha' IPA 0x40005000 PA 0x48005000 size 0x1000 - "
              "stage-2 leaf without a live cap that maps it [0x7]");
    }
}

TEST_CASE("a revoke that skips unmap of a partition's own mapping is caught: INV-4", "[invariants][INV-4][T-46]") {
    // alpha holds a copy of a spare frame and maps it itself (FrameMap); the boot program's cap
    // is revoked, deleting the copy.
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    const u32 spare = f.frames(kPaA + kMiB * 4, 12, 1, 12);
    REQUIRE(f.grant(spare, a, 4, kRwg).ok());
    CapSlot& copy = cspace(a)[4];
    REQUIRE(checked(f, "map", [&] { return f.map(a, copy, 0x5000'0000, kRw); }).ok());
    const u64 ipa = 0x5000'0000;

    SECTION("the kernel's revoke unmaps: clean") {
        const caps::RevokeProgress p = checked(f, "revoke", [&] { return f.revoke(f.at(spare), 64); });
        CHECK(p.done);
        CHECK_FALSE(a.stage2.translate(Ipa(ipa)).ok());
    }
    SECTION("planted: the revoke skips unmap") {
        SkipUnmap hooks(f.kernel);
        const caps::RevokeProgress p =
            locked([&](const CapLockHeld& held) { return caps::revoke(f.at(spare), 64, hooks, held); });
        REQUIRE(p.done);
        REQUIRE(copy.empty());
        const InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        const InvariantViolation* v = leaf_without_cap(r);
        REQUIRE(v != nullptr);
        CHECK(v->ipa == Ipa(ipa));
        CHECK(v->pa == PhysAddr(kPaA + kMiB * 4));
        CHECK(ids(r) == std::set<std::string>{"INV-4"});
    }
}

TEST_CASE("a leaf needs a cap with its rights, its memory type and its output address: INV-4", "[invariants][INV-4][T-45]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    const u32 rtc = f.device(kRtc);
    REQUIRE(checked(f, "map device", [&] { return f.map(a, f.at(rtc), 0x0901'0000, kRw); }).ok());
    REQUIRE(check_invariants(f.kernel).ok());
    const auto only_leaf_without_cap = [&](u64 ipa) {
        const InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        CHECK(r.total == 1);
        const InvariantViolation* v = leaf_without_cap(r);
        REQUIRE(v != nullptr);
        CHECK(v->ipa == Ipa(ipa));
    };

    SECTION("the cap lost the right the leaf grants (Write)") {
        CapSlot& frame = f.frame_of(a, 3);
        frame.cap.rights = Rights::read();
        only_leaf_without_cap(kGuestRam + 3 * kPage);
    }
    SECTION("a DeviceMmio cap does not justify a normal-memory leaf") {
        CapSlot& dev = f.at(rtc);
        dev.cap.type = ObjectType::Frame;  // the leaf is device memory; a Frame cap maps normal memory
        const InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(leaf_without_cap(r) != nullptr);
        CHECK(leaf_without_cap(r)->ipa == Ipa(0x0901'0000));
    }
    SECTION("a cap of another page at the same IPA does not justify the leaf") {
        u64* e = slot(a.stage2, kGuestRam + 7 * kPage, 3);
        REQUIRE(e != nullptr);
        *e = stage2::make_leaf(3, kPaA + 9 * kPage, attrs_of(kRwx));  // page 9's frame at page 7's IPA
        const InvariantReport r = check_invariants(f.kernel);
        INFO(describe(r));
        REQUIRE(leaf_without_cap(r) != nullptr);
        CHECK(leaf_without_cap(r)->ipa == Ipa(kGuestRam + 7 * kPage));
        CHECK(leaf_without_cap(r)->pa == PhysAddr(kPaA + 9 * kPage));
    }
}

// revoke: post-order, bounded by a budget, complete; CNodes emptied before they go.
#include "test_caps_support.hpp"

using namespace caps_test;

TEST_CASE("revoke 1000 descendants with budget 10: 100 calls, tree valid after each", "[caps][INV-4][T-48]") {
    Env env;
    REQUIRE(env.retype(ObjectType::CNode, 10, 1) == Status::Ok);  // 1024 slots
    REQUIRE(env.retype(ObjectType::Frame, 12, 2) == Status::Ok);
    CapSlot* big = Env::slots_of(env.slot(1));
    // A mix of shapes: a chain of 500 copies and a fan of 500 copies of the chain's head.
    REQUIRE(copy(env.slot(2), big[0]) == Status::Ok);
    for (int i = 1; i < 500; ++i) REQUIRE(copy(big[i - 1], big[i]) == Status::Ok);
    for (int i = 500; i < 1000; ++i) REQUIRE(copy(big[0], big[i]) == Status::Ok);
    big[700].cap.set_mapping(PartitionId(0), 0x4000'0000);
    env.hooks.events.clear();

    const CapSlot* roots[] = {&env.untyped(), &env.root};
    auto valid = [&] {
        const CdtReport a = validate_cdt(roots, 1, env.slots(), 256);
        const CdtReport b = validate_cdt(roots, 1, big, 1024);
        return a.ok() && b.ok();
    };
    int calls = 0;
    for (;;) {
        const RevokeProgress p = revoke(env.slot(2), 10, env.hooks);
        ++calls;
        REQUIRE(p.status == Status::Ok);
        REQUIRE(valid());
        CHECK(p.deleted == 10);
        if (p.done) break;
        REQUIRE(calls < 100);
    }
    CHECK(calls == 100);  // 10 each; the 100th call reports done
    for (int i = 0; i < 1000; ++i) REQUIRE(big[i].empty());
    CHECK(env.slot(2).first_child == nullptr);
    CHECK(env.slot(2).cap.type == ObjectType::Frame);  // the revoked cap itself stays
    CHECK(env.hooks.count('u') == 1);
    CHECK(env.hooks.count('d') == 0);  // the original remains: nothing destroyed
    CHECK_CDT(env);
}

TEST_CASE("revoke finishes in the same call when the budget allows", "[caps][T-48]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Frame, 12, 1) == Status::Ok);
    REQUIRE(copy(env.slot(1), env.slot(2)) == Status::Ok);
    REQUIRE(copy(env.slot(2), env.slot(3)) == Status::Ok);
    REQUIRE(copy(env.slot(1), env.slot(4)) == Status::Ok);
    const RevokeProgress p = revoke(env.slot(1), 100, env.hooks);
    CHECK(p.status == Status::Ok);
    CHECK(p.deleted == 3);
    CHECK(p.done);
    // leaves first: 4 (first child, a leaf), then 3 (under 2), then 2
    CHECK(env.slot(2).empty());
    CHECK(env.slot(3).empty());
    CHECK(env.slot(4).empty());
    const RevokeProgress again = revoke(env.slot(1), 1, env.hooks);
    CHECK(again.status == Status::Ok);
    CHECK(again.deleted == 0);
    CHECK(again.done);
    CHECK_CDT(env);
}

TEST_CASE("revoke refusals", "[caps][T-48]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Frame, 12, 1) == Status::Ok);
    REQUIRE(copy(env.slot(1), env.slot(2)) == Status::Ok);
    const Snapshot before(env);
    RevokeProgress p = revoke(env.slot(9), 5, env.hooks);
    CHECK(p.status == Status::NotFound);
    CHECK_FALSE(p.done);
    p = revoke(env.slot(1), 0, env.hooks);
    CHECK(p.status == Status::InvalidArgument);
    CHECK_FALSE(p.done);
    CHECK(p.deleted == 0);
    CHECK(before.unchanged(env));
}

TEST_CASE("revoking an untyped deletes everything made from it, descendants first", "[caps][T-46]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Untyped, 20, 1) == Status::Ok);
    CapSlot& child = env.slot(1);
    REQUIRE(retype(child, ObjectType::Frame, 12, env.root, 10, 3, env.hooks) == Status::Ok);
    REQUIRE(retype(child, ObjectType::Partition, 14, env.root, 13, 1, env.hooks) == Status::Ok);
    REQUIRE(retype(child, ObjectType::Untyped, 16, env.root, 14, 1, env.hooks) == Status::Ok);
    REQUIRE(retype(env.slot(14), ObjectType::Notification, 0, env.root, 15, 2, env.hooks) == Status::Ok);
    REQUIRE(copy(env.slot(10), env.slot(20)) == Status::Ok);
    REQUIRE(mint(env.slot(15), env.slot(21), Rights::write(), 5) == Status::Ok);
    env.slot(20).cap.set_mapping(PartitionId(0), 0x4000'0000);
    env.slot(10).cap.set_mapping(PartitionId(1), 0x4000'0000);
    env.hooks.events.clear();

    const RevokeProgress p = revoke(child, 1000, env.hooks);
    CHECK(p.status == Status::Ok);
    CHECK(p.done);
    CHECK(p.deleted == 9);
    for (u64 i = 10; i < 22; ++i) CHECK(env.slot(i).empty());
    CHECK(env.hooks.count('u') == 2);
    CHECK(env.hooks.count('d') == 7);  // 3 frames, partition, untyped, 2 notifications
    // Each object's destroy comes after every cap to it is gone; a copy's unmap before it.
    for (usize i = 0; i < env.hooks.events.size(); ++i) {
        const Event& e = env.hooks.events[i];
        if (e.kind != 'd') continue;
        for (usize j = i + 1; j < env.hooks.events.size(); ++j)
            CHECK_FALSE((env.hooks.events[j].object == e.object && env.hooks.events[j].type == e.type));
    }
    // Revoked ancestors: lookups now find empty slots.
    auto r = lookup(env.root, 10, kRootRadix);
    REQUIRE(r.ok());
    CHECK(r.value()->empty());
    // The child untyped's memory is reusable from its start again.
    REQUIRE(retype(child, ObjectType::Frame, 12, env.root, 10, 1, env.hooks) == Status::Ok);
    CHECK(env.slot(10).cap.object == child.cap.object);
    CHECK_CDT(env);
}

TEST_CASE("revoke empties a CNode before deleting its last cap", "[caps][INV-4][T-46]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Untyped, 20, 1) == Status::Ok);
    CapSlot& ut = env.slot(1);
    REQUIRE(retype(ut, ObjectType::CNode, 3, env.root, 2, 1, env.hooks) == Status::Ok);
    CapSlot* a = Env::slots_of(env.slot(2));
    REQUIRE(retype(ut, ObjectType::CNode, 3, env.root, 3, 1, env.hooks) == Status::Ok);
    CapSlot* b = Env::slots_of(env.slot(3));
    // An object from elsewhere (the root untyped) stored in A: it goes with A.
    REQUIRE(env.retype(ObjectType::Frame, 12, 4) == Status::Ok);
    REQUIRE(copy(env.slot(4), a[1]) == Status::Ok);
    a[1].cap.set_mapping(PartitionId(0), 0x4000'0000);
    REQUIRE(copy(a[1], env.slot(5)) == Status::Ok);  // a child of a[1], outside A: it survives
    // B's last cap inside A, and a frame inside B.
    REQUIRE(retype(ut, ObjectType::Frame, 12, env.root, 6, 1, env.hooks) == Status::Ok);
    REQUIRE(move(env.slot(6), b[5]) == Status::Ok);
    REQUIRE(move(env.slot(3), a[2]) == Status::Ok);
    // A's own cap inside A.
    REQUIRE(copy(env.slot(2), a[7]) == Status::Ok);
    env.hooks.events.clear();

    int calls = 0;
    RevokeProgress p{};
    do {
        p = revoke(ut, 1, env.hooks);
        REQUIRE(p.status == Status::Ok);
        CHECK_CDT(env);
        REQUIRE(++calls < 50);
    } while (!p.done);
    CHECK(env.slot(2).empty());
    CHECK(env.slot(4).cap.type == ObjectType::Frame);  // the foreign frame's original stays
    CHECK(env.slot(5).cap.type == ObjectType::Frame);
    CHECK(env.slot(5).parent == &env.slot(4));       // re-parented past the deleted a[1]
    CHECK(env.hooks.count('u') == 1);
    CHECK(env.hooks.count('d') == 3);  // CNode A, CNode B, B's frame
    CHECK_CDT(env);
}

TEST_CASE("revoke stops with Busy where it cannot finish", "[caps][T-48]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Untyped, 20, 1) == Status::Ok);
    CapSlot& ut = env.slot(1);

    SECTION("the revoked cap lives in a CNode it would destroy") {
        REQUIRE(retype(ut, ObjectType::CNode, 2, env.root, 2, 1, env.hooks) == Status::Ok);
        CapSlot* a = Env::slots_of(env.slot(2));
        REQUIRE(move(ut, a[0]) == Status::Ok);
        const RevokeProgress p = revoke(a[0], 10, env.hooks);
        CHECK(p.status == Status::Busy);
        CHECK_FALSE(p.done);
        CHECK(p.deleted == 0);
        CHECK(a[0].cap.type == ObjectType::Untyped);
        // Moving it out first lets the revoke complete.
        REQUIRE(move(a[0], env.slot(9)) == Status::Ok);
        const RevokeProgress q = revoke(env.slot(9), 10, env.hooks);
        CHECK(q.status == Status::Ok);
        CHECK(q.done);
    }
    SECTION("two CNodes holding each other's last caps") {
        REQUIRE(retype(ut, ObjectType::CNode, 2, env.root, 2, 2, env.hooks) == Status::Ok);
        CapSlot* a = Env::slots_of(env.slot(2));
        CapSlot* b = Env::slots_of(env.slot(3));
        REQUIRE(move(env.slot(2), b[0]) == Status::Ok);  // A's cap in B
        REQUIRE(move(env.slot(3), a[0]) == Status::Ok);  // B's cap in A: unreachable cycle
        const RevokeProgress p = revoke(ut, 10, env.hooks);
        CHECK(p.status == Status::Busy);
        CHECK_FALSE(p.done);
        CHECK(a[0].cap.type == ObjectType::CNode);
        CHECK(b[0].cap.type == ObjectType::CNode);
    }
    CHECK_CDT(env);
}

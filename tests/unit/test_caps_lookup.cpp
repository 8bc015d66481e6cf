// Capability addressing: depth bits resolved most significant first through CNode levels.
#include "test_caps_support.hpp"

using namespace caps_test;

TEST_CASE("lookup in one CNode level", "[caps][T-49]") {
    Env env;
    auto r = lookup(env.root, 0, kRootRadix);
    REQUIRE(r.ok());
    CHECK(r.value() == &env.untyped());
    r = lookup(env.root, 0xFF, kRootRadix);
    REQUIRE(r.ok());
    CHECK(r.value() == &env.slot(255));  // an empty slot is a valid result (a destination)
    CHECK(r.value()->empty());
}

TEST_CASE("lookup through two CNode levels", "[caps][INV-4][T-49]") {
    Env env;
    // slot 1: a CNode of radix 4; its slot 9 gets a frame.
    REQUIRE(env.retype(ObjectType::CNode, 4, 1) == Status::Ok);
    CapSlot* inner = Env::slots_of(env.slot(1));
    REQUIRE(inner != nullptr);
    REQUIRE(retype(env.untyped(), ObjectType::Frame, 12, env.slot(1), 9, 1, env.hooks) == Status::Ok);
    const u64 cptr = (1u << 4) | 9;  // root index 1, then inner index 9
    auto r = lookup(env.root, cptr, kRootRadix + 4);
    REQUIRE(r.ok());
    CHECK(r.value() == &inner[9]);
    CHECK(r.value()->cap.type == ObjectType::Frame);

    // Stopping at the first level returns the CNode's own slot.
    r = lookup(env.root, 1, kRootRadix);
    REQUIRE(r.ok());
    CHECK(r.value() == &env.slot(1));

    // Depth not a sum of radices: the inner level would overrun.
    CHECK(lookup(env.root, cptr >> 1, kRootRadix + 3).status() == Status::OutOfRange);
    // More bits than the path holds: the frame is not a CNode.
    CHECK(lookup(env.root, cptr << 2, kRootRadix + 6).status() == Status::NotFound);
    // Bits remain but the slot is empty.
    CHECK(lookup(env.root, (2u << 4) | 9, kRootRadix + 4).status() == Status::NotFound);
    // Depth shorter than the root's radix.
    CHECK(lookup(env.root, 0, kRootRadix - 1).status() == Status::OutOfRange);

    // Rights along the path: the inner CNode cap without Read cannot be looked through.
    env.slot(1).cap.rights = Rights::write();
    CHECK(lookup(env.root, cptr, kRootRadix + 4).status() == Status::Denied);
    CHECK(lookup(env.root, 1, kRootRadix).ok());  // the root itself is still readable
    env.slot(1).cap.rights = Rights::read();
    CHECK(lookup(env.root, cptr, kRootRadix + 4, Rights::read() | Rights::write()).status() == Status::Denied);
    CHECK(lookup(env.root, cptr, kRootRadix + 4).ok());
}

TEST_CASE("lookup refuses bad arguments", "[caps][INV-4][T-49]") {
    Env env;
    CHECK(lookup(env.root, 0, 0).status() == Status::InvalidArgument);
    CHECK(lookup(env.root, 0, 65).status() == Status::InvalidArgument);
    CHECK(lookup(env.root, 0x100, kRootRadix).status() == Status::InvalidArgument);  // bit above depth
    CHECK(lookup(env.untyped(), 0, kRootRadix).status() == Status::InvalidArgument);  // root not a CNode
    CapSlot empty{};
    CHECK(lookup(empty, 0, 1).status() == Status::InvalidArgument);
    // depth 64 is allowed; this root (radix 8) cannot resolve it through empty slots.
    CHECK(lookup(env.root, ~0ull, 64).status() == Status::NotFound);

    CapSlot no_read = env.root;
    no_read.cap.rights = Rights::write() | Rights::grant();
    CHECK(lookup(no_read, 0, kRootRadix).status() == Status::Denied);
}

TEST_CASE("lookup of a corrupt or unreachable CNode cap", "[caps][T-49]") {
    Env env;
    CapSlot bad = env.root;
    bad.cap.size_bits = 0;
    CHECK(lookup(bad, 0, 8).status() == Status::Corrupt);
    bad.cap.size_bits = 13;
    CHECK(lookup(bad, 0, 13).status() == Status::Corrupt);
    bad = env.root;
    bad.cap.object = 0x1000;  // not RAM
    CHECK(lookup(bad, 0, kRootRadix).status() == Status::NotFound);
    CHECK(cnode_slots(env.untyped().cap) == nullptr);
    CHECK(cnode_slot_count(env.untyped().cap) == 0);
    CHECK(cnode_empty_except(bad.cap, nullptr));  // unreachable: nothing stored there
}

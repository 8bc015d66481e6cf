// copy, mint, move, delete and create_root: success paths, every refusal, CDT shape, hooks.
#include "test_caps_support.hpp"

using namespace caps_test;

namespace {

// Env with a frame in slot 1 and a notification in slot 2.
struct OpsEnv : Env {
    OpsEnv() {
        REQUIRE(retype(ObjectType::Frame, 12, 1) == Status::Ok);
        REQUIRE(retype(ObjectType::Notification, 0, 2) == Status::Ok);
        hooks.events.clear();
    }
};

}  // namespace

TEST_CASE("copy derives an exact, unmapped child", "[caps][INV-4][T-45]") {
    OpsEnv env;
    env.slot(1).cap.set_mapping(PartitionId(2), 0x8000'0000);  // as frame mapping would
    REQUIRE(copy(env.slot(1), env.slot(20)) == Status::Ok);
    const Capability& c = env.slot(20).cap;
    CHECK(c.type == ObjectType::Frame);
    CHECK(c.object == env.slot(1).cap.object);
    CHECK(c.rights == env.slot(1).cap.rights);
    CHECK_FALSE(c.mapped());
    CHECK(c.mapped_ipa() == 0);
    CHECK(env.slot(1).cap.mapped());  // the source keeps its mapping
    CHECK(env.slot(20).parent == &env.slot(1));
    CHECK(env.slot(1).first_child == &env.slot(20));
    REQUIRE(copy(env.slot(1), env.slot(21)) == Status::Ok);
    CHECK(env.slot(1).first_child == &env.slot(21));  // newest first
    CHECK(env.slot(21).next_sibling == &env.slot(20));
    CHECK(env.slot(20).prev_sibling == &env.slot(21));
    CHECK_CDT(env);
}

TEST_CASE("copy and mint refusals change nothing", "[caps][INV-4][T-45][T-47]") {
    OpsEnv env;
    REQUIRE(mint(env.slot(1), env.slot(3), Rights::read(), 0) == Status::Ok);  // no Grant
    const Snapshot before(env);
    CHECK(copy(env.slot(100), env.slot(101)) == Status::NotFound);
    CHECK(copy(env.slot(1), env.slot(2)) == Status::Exists);
    CHECK(copy(env.slot(1), env.slot(1)) == Status::Exists);
    CHECK(copy(env.slot(0), env.slot(101)) == Status::InvalidArgument);  // untyped: never derived
    CHECK(copy(env.slot(3), env.slot(101)) == Status::Denied);
    CHECK(mint(env.slot(100), env.slot(101), Rights::read(), 0) == Status::NotFound);
    CHECK(mint(env.slot(1), env.slot(2), Rights::read(), 0) == Status::Exists);
    CHECK(mint(env.slot(0), env.slot(101), Rights::write(), 0) == Status::InvalidArgument);
    CHECK(mint(env.slot(3), env.slot(101), Rights::read(), 0) == Status::Denied);
    CHECK(mint(env.slot(1), env.slot(101), Rights::read(), 7) == Status::InvalidArgument);  // frame: no badge
    CHECK(before.unchanged(env));

    // An untyped cap forged with Grant is still not derivable.
    env.untyped().cap.rights = Rights::write() | Rights::grant();
    CHECK(copy(env.slot(0), env.slot(101)) == Status::InvalidArgument);
}

TEST_CASE("mint: rights only shrink", "[caps][INV-4][T-45][T-63]") {
    OpsEnv env;
    const Rights all = Rights::from_bits(Rights::kAllBits);
    REQUIRE(mint(env.slot(1), env.slot(10), all, 0) == Status::Ok);  // a wider mask adds nothing
    CHECK(env.slot(10).cap.rights == full_rights(ObjectType::Frame));
    REQUIRE(mint(env.slot(10), env.slot(11), Rights::read() | Rights::grant(), 0) == Status::Ok);
    CHECK(env.slot(11).cap.rights == (Rights::read() | Rights::grant()));
    REQUIRE(mint(env.slot(11), env.slot(12), Rights::write() | Rights::grant(), 0) == Status::Ok);
    CHECK(env.slot(12).cap.rights == Rights::grant());  // Write was not there to keep
    REQUIRE(mint(env.slot(12), env.slot(13), Rights::none(), 0) == Status::Ok);
    CHECK(env.slot(13).cap.rights.empty());
    CHECK(copy(env.slot(13), env.slot(14)) == Status::Denied);
    for (u64 i = 10; i < 14; ++i) CHECK(subset(env.slot(i + 1).cap.rights, env.slot(i).cap.rights));
    CHECK_CDT(env);
}

TEST_CASE("mint: badges only once, only on notifications and channels", "[caps][INV-4][T-45][T-49][T-66]") {
    OpsEnv env;
    REQUIRE(env.retype(ObjectType::Channel, 12, 3) == Status::Ok);
    const Rights all = Rights::from_bits(Rights::kAllBits);
    REQUIRE(mint(env.slot(2), env.slot(10), all, 0x42) == Status::Ok);
    CHECK(env.slot(10).cap.badge == 0x42);
    CHECK(env.slot(2).cap.badge == 0);
    REQUIRE(mint(env.slot(3), env.slot(11), Rights::write() | Rights::grant(), 7) == Status::Ok);
    CHECK(env.slot(11).cap.badge == 7);
    CHECK(env.slot(11).cap.rights == (Rights::write() | Rights::grant()));

    const Snapshot before(env);
    CHECK(mint(env.slot(10), env.slot(12), all, 0x43) == Status::Denied);  // already badged
    CHECK(mint(env.slot(10), env.slot(12), all, 0x42) == Status::Denied);  // even the same badge
    CHECK(before.unchanged(env));
    // badge 0 keeps the source's badge; copies keep it too.
    REQUIRE(mint(env.slot(10), env.slot(12), Rights::write() | Rights::grant(), 0) == Status::Ok);
    CHECK(env.slot(12).cap.badge == 0x42);
    REQUIRE(copy(env.slot(12), env.slot(13)) == Status::Ok);
    CHECK(env.slot(13).cap.badge == 0x42);
    // the unbadged original can still mint other badges
    REQUIRE(mint(env.slot(2), env.slot(14), all, 0x99) == Status::Ok);
    CHECK(env.slot(14).cap.badge == 0x99);
    CHECK_CDT(env);
}

TEST_CASE("move keeps the tree and the mapping", "[caps][INV-4]") {
    OpsEnv env;
    REQUIRE(copy(env.slot(1), env.slot(10)) == Status::Ok);
    REQUIRE(copy(env.slot(10), env.slot(11)) == Status::Ok);
    REQUIRE(copy(env.slot(10), env.slot(12)) == Status::Ok);
    REQUIRE(copy(env.slot(1), env.slot(13)) == Status::Ok);  // siblings of 10: 13 first, then 10
    env.slot(10).cap.set_mapping(PartitionId(1), 0x4000'0000);
    const Capability moved = env.slot(10).cap;

    REQUIRE(move(env.slot(10), env.slot(50)) == Status::Ok);
    CHECK(env.slot(10).empty());
    CHECK(env.slot(10).parent == nullptr);
    CHECK(env.slot(10).first_child == nullptr);
    CHECK(std::memcmp(&env.slot(50).cap, &moved, sizeof moved) == 0);
    CHECK(env.slot(50).parent == &env.slot(1));
    CHECK(env.slot(13).next_sibling == &env.slot(50));
    CHECK(env.slot(50).prev_sibling == &env.slot(13));
    CHECK(env.slot(50).first_child == &env.slot(12));
    CHECK(env.slot(11).parent == &env.slot(50));
    CHECK(env.slot(12).parent == &env.slot(50));
    CHECK_CDT(env);

    // The first child of its parent: the parent's first_child follows it.
    REQUIRE(move(env.slot(13), env.slot(51)) == Status::Ok);
    CHECK(env.slot(1).first_child == &env.slot(51));
    CHECK(env.slot(50).prev_sibling == &env.slot(51));
    // A root with children (the untyped).
    REQUIRE(move(env.slot(0), env.slot(52)) == Status::Ok);
    CHECK(env.slot(1).parent == &env.slot(52));
    CHECK(env.slot(52).parent == nullptr);
    CHECK_CDT(env);

    const Snapshot before(env);
    CHECK(move(env.slot(0), env.slot(53)) == Status::NotFound);
    CHECK(move(env.slot(52), env.slot(1)) == Status::Exists);
    CHECK(move(env.slot(52), env.slot(52)) == Status::Exists);
    CHECK(before.unchanged(env));
}

TEST_CASE("delete re-parents children in order", "[caps][INV-4][T-46]") {
    OpsEnv env;
    REQUIRE(copy(env.slot(1), env.slot(10)) == Status::Ok);
    REQUIRE(copy(env.slot(1), env.slot(11)) == Status::Ok);  // children of 1: 11, 10
    REQUIRE(copy(env.slot(10), env.slot(20)) == Status::Ok);
    REQUIRE(copy(env.slot(10), env.slot(21)) == Status::Ok);
    REQUIRE(copy(env.slot(10), env.slot(22)) == Status::Ok);  // children of 10: 22, 21, 20
    REQUIRE(copy(env.slot(1), env.slot(12)) == Status::Ok);  // children of 1: 12, 11, 10

    SECTION("a middle child, with children") {
        REQUIRE(copy(env.slot(11), env.slot(30)) == Status::Ok);
        REQUIRE(copy(env.slot(11), env.slot(31)) == Status::Ok);  // children of 11: 31, 30
        REQUIRE(delete_cap(env.slot(11), env.hooks) == Status::Ok);  // 12, 31, 30, 10
        const CapSlot* expect[] = {&env.slot(12), &env.slot(31), &env.slot(30), &env.slot(10)};
        const CapSlot* c = env.slot(1).first_child;
        const CapSlot* prev = nullptr;
        for (const CapSlot* e : expect) {
            REQUIRE(c == e);
            CHECK(c->parent == &env.slot(1));
            CHECK(c->prev_sibling == prev);
            prev = c;
            c = c->next_sibling;
        }
        CHECK(c == nullptr);
        CHECK(env.slot(11).parent == nullptr);
        CHECK(env.slot(11).first_child == nullptr);
    }
    SECTION("a middle child, a leaf") {
        REQUIRE(delete_cap(env.slot(11), env.hooks) == Status::Ok);  // 12, 10
        CHECK(env.slot(12).next_sibling == &env.slot(10));
        CHECK(env.slot(10).prev_sibling == &env.slot(12));
    }
    SECTION("the last child, with children") {
        REQUIRE(delete_cap(env.slot(10), env.hooks) == Status::Ok);  // 12, 11, 22, 21, 20
        CHECK(env.slot(11).next_sibling == &env.slot(22));
        CHECK(env.slot(22).prev_sibling == &env.slot(11));
        CHECK(env.slot(20).next_sibling == nullptr);
        CHECK(env.slot(20).parent == &env.slot(1));
    }
    SECTION("the first child, with children") {
        REQUIRE(copy(env.slot(12), env.slot(30)) == Status::Ok);
        REQUIRE(delete_cap(env.slot(12), env.hooks) == Status::Ok);  // 30, 11, 10
        CHECK(env.slot(1).first_child == &env.slot(30));
        CHECK(env.slot(30).prev_sibling == nullptr);
        CHECK(env.slot(30).next_sibling == &env.slot(11));
        CHECK(env.slot(11).prev_sibling == &env.slot(30));
    }
    SECTION("the first child, a leaf") {
        REQUIRE(delete_cap(env.slot(12), env.hooks) == Status::Ok);
        CHECK(env.slot(1).first_child == &env.slot(11));
        CHECK(env.slot(11).prev_sibling == nullptr);
    }
    CHECK(env.slot(1).cap.type == ObjectType::Frame);
    CHECK(env.hooks.count('d') == 0);  // copies of the frame remain: never final
    CHECK_CDT(env);

    // Deleting a root with children: they become parentless siblings, still one object.
    REQUIRE(delete_cap(env.slot(0), env.hooks) == Status::Ok);
    CHECK(env.slot(1).parent == nullptr);
    CHECK(env.slot(2).parent == nullptr);
    CHECK(env.slot(2).next_sibling == &env.slot(1));
    CHECK(env.slot(1).prev_sibling == &env.slot(2));
    CHECK(env.hooks.count('d') == 1);  // the untyped itself
    CHECK_CDT(env);
}

TEST_CASE("delete: unmap for mapped caps, destroy only for the final cap", "[caps][T-46][T-60]") {
    OpsEnv env;
    REQUIRE(copy(env.slot(1), env.slot(10)) == Status::Ok);
    REQUIRE(copy(env.slot(10), env.slot(11)) == Status::Ok);
    env.slot(10).cap.set_mapping(PartitionId(0), 0x4000'0000);
    env.slot(11).cap.set_mapping(PartitionId(1), 0x4000'0000);
    CHECK_FALSE(cdt_is_final(env.slot(1)));
    CHECK_FALSE(cdt_is_final(env.slot(10)));

    REQUIRE(delete_cap(env.slot(10), env.hooks) == Status::Ok);
    REQUIRE(env.hooks.events.size() == 1);
    CHECK(env.hooks.events[0].kind == 'u');
    CHECK(env.hooks.events[0].object == env.slot(1).cap.object);
    CHECK(env.slot(11).parent == &env.slot(1));
    REQUIRE(delete_cap(env.slot(1), env.hooks) == Status::Ok);  // 11 remains: not final
    CHECK(env.hooks.events.size() == 1);
    CHECK(env.slot(11).parent == &env.untyped());
    CHECK(cdt_is_final(env.slot(11)));
    REQUIRE(delete_cap(env.slot(11), env.hooks) == Status::Ok);
    REQUIRE(env.hooks.events.size() == 3);
    CHECK(env.hooks.events[1].kind == 'u');  // unmap first, then destroy
    CHECK(env.hooks.events[2].kind == 'd');
    CHECK(env.hooks.events[2].type == ObjectType::Frame);
    CHECK(env.slot(11).empty());
    CHECK(delete_cap(env.slot(11), env.hooks) == Status::NotFound);

    // Siblings of the same object also make a cap non-final.
    REQUIRE(copy(env.slot(2), env.slot(20)) == Status::Ok);
    REQUIRE(copy(env.slot(2), env.slot(21)) == Status::Ok);
    REQUIRE(delete_cap(env.slot(2), env.hooks) == Status::Ok);  // 21, 20 now siblings under the untyped
    CHECK_FALSE(cdt_is_final(env.slot(20)));
    CHECK_FALSE(cdt_is_final(env.slot(21)));
    REQUIRE(delete_cap(env.slot(21), env.hooks) == Status::Ok);
    CHECK(env.hooks.count('d') == 1);
    REQUIRE(delete_cap(env.slot(20), env.hooks) == Status::Ok);
    CHECK(env.hooks.count('d') == 2);
    CHECK_CDT(env);
}

TEST_CASE("delete of the last cap to a CNode that still holds caps is refused", "[caps][T-46]") {
    OpsEnv env;
    REQUIRE(env.retype(ObjectType::CNode, 2, 5) == Status::Ok);
    CapSlot* inner = Env::slots_of(env.slot(5));
    REQUIRE(copy(env.slot(1), inner[0]) == Status::Ok);
    REQUIRE(copy(env.slot(5), env.slot(6)) == Status::Ok);
    REQUIRE(delete_cap(env.slot(6), env.hooks) == Status::Ok);  // a copy: fine
    const Snapshot before(env);
    CHECK(delete_cap(env.slot(5), env.hooks) == Status::Busy);
    CHECK(before.unchanged(env));
    // A CNode holding only its own last cap can go: nothing else is left inside.
    REQUIRE(delete_cap(inner[0], env.hooks) == Status::Ok);
    REQUIRE(move(env.slot(5), inner[3]) == Status::Ok);
    REQUIRE(delete_cap(inner[3], env.hooks) == Status::Ok);
    CHECK(env.hooks.events.back().kind == 'd');
    CHECK(env.hooks.events.back().type == ObjectType::CNode);
    CHECK_CDT(env);
}

TEST_CASE("create_root validates the boot caps", "[caps][INV-4][T-2]") {
    Env env;
    CapSlot s{};
    const Snapshot before(env);
    CHECK(create_root(env.slot(0), make_cap(ObjectType::Frame, 0x4800'0000, 12, Rights::read())) == Status::Exists);
    CHECK(create_root(s, Capability{}) == Status::InvalidArgument);
    CHECK(create_root(s, make_cap(static_cast<ObjectType>(12), 0, 0, Rights::none())) == Status::InvalidArgument);
    CHECK(create_root(s, make_cap(ObjectType::Frame, 0x4800'0800, 12, Rights::read())) == Status::Misaligned);
    CHECK(create_root(s, make_cap(ObjectType::Frame, 0x4800'0000, 13, Rights::read())) == Status::InvalidArgument);
    CHECK(create_root(s, make_cap(ObjectType::Frame, 0x4800'0000, 12, Rights::control())) == Status::InvalidArgument);
    Capability mapped = make_cap(ObjectType::Frame, 0x4800'0000, 12, Rights::read());
    mapped.set_mapping(PartitionId(0), 0);
    CHECK(create_root(s, mapped) == Status::InvalidArgument);
    Capability used = make_cap(ObjectType::Untyped, 0x4800'0000, 12, Rights::write());
    used.word64 = 4096;
    CHECK(create_root(s, used) == Status::InvalidArgument);
    CHECK(create_root(s, make_cap(ObjectType::Frame, 0x1000'0000, 12, Rights::read())) == Status::OutOfRange);
    CHECK(create_root(s, make_cap(ObjectType::Frame, platform::kRamBase + platform::kDefaultRamSize - 4096, 21,
                                  Rights::read())) == Status::Misaligned);
    CHECK(create_root(s, make_cap(ObjectType::Untyped, platform::kRamBase + platform::kDefaultRamSize - (1u << 20),
                                  21, Rights::write())) == Status::Misaligned);
    CHECK(create_root(s, make_cap(ObjectType::Untyped, platform::kRamBase + platform::kDefaultRamSize, 30,
                                  Rights::write())) == Status::OutOfRange);  // starts at the end of RAM
    CHECK(create_root(s, make_cap(ObjectType::Untyped, platform::kRamBase, 32, Rights::write())) ==
          Status::Misaligned);
    CHECK(create_root(s, make_cap(ObjectType::Untyped, 0, 32, Rights::write())) == Status::OutOfRange);  // past RAM
    CHECK(s.empty());
    CHECK(before.unchanged(env));

    CHECK(create_root(s, make_cap(ObjectType::IrqHandler, 48, 0, Rights::control() | Rights::grant())) == Status::Ok);
    CHECK(s.cap.irq() == 48);
    CapSlot dma{};
    CHECK(create_root(dma, make_cap(ObjectType::DmaStream, 0x10, 0, Rights::control())) == Status::Ok);
    CapSlot mmio{};
    CHECK(create_root(mmio, make_cap(ObjectType::DeviceMmio, 0x0901'0000, 12, Rights::read())) == Status::Ok);
    CapSlot dev{};
    Capability dut = make_cap(ObjectType::Untyped, kDeviceBase, kDeviceBits, Rights::write());
    dut.flags = Capability::kFlagDevice;
    CHECK(create_root(dev, dut) == Status::Ok);
}

TEST_CASE("the default hooks accept and ignore everything", "[caps]") {
    Env env;
    NoObjectHooks none;
    REQUIRE(retype(env.untyped(), ObjectType::Frame, 12, env.root, 1, 1, none) == Status::Ok);
    env.slot(1).cap.set_mapping(PartitionId(0), 0x4000'0000);
    CHECK(delete_cap(env.slot(1), none) == Status::Ok);  // unmap + destroy: both no-ops
    CHECK(env.slot(1).empty());
    CHECK_CDT(env);
}

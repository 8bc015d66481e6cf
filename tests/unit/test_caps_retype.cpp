// Untyped retype: every check, watermark arithmetic, nesting, device memory, hooks.
#include "test_caps_support.hpp"

using namespace caps_test;

TEST_CASE("retype creates full-rights children at the watermark, zeroed", "[caps][T-5]") {
    Env env;
    std::memset(ram(kUntypedBase), 0xAB, 3 * 4096);
    REQUIRE(env.retype(ObjectType::Frame, 12, 10, 3) == Status::Ok);
    for (int i = 0; i < 3; ++i) {
        const Capability& c = env.slot(10 + i).cap;
        CHECK(c.type == ObjectType::Frame);
        CHECK(c.object == kUntypedBase + 4096u * i);
        CHECK(c.size_bits == 12);
        CHECK(c.rights == full_rights(ObjectType::Frame));
        CHECK(c.badge == 0);
        CHECK_FALSE(c.mapped());
        CHECK(env.slot(10 + i).parent == &env.untyped());
    }
    // children in creation order
    CHECK(env.untyped().first_child == &env.slot(10));
    CHECK(env.slot(10).next_sibling == &env.slot(11));
    CHECK(env.slot(12).next_sibling == nullptr);
    CHECK(env.untyped().cap.watermark() == 3 * 4096);
    for (u64 off = 0; off < 3 * 4096; ++off) REQUIRE(ram(kUntypedBase)[off] == 0);
    REQUIRE(env.hooks.events.size() == 3);
    CHECK(env.hooks.events[0].kind == 'c');
    CHECK(env.hooks.events[2].object == kUntypedBase + 8192);

    // The next object is aligned to its own size: a 2 MiB frame skips to 2 MiB.
    REQUIRE(env.retype(ObjectType::Frame, 21, 13) == Status::Ok);
    CHECK(env.slot(13).cap.object == kUntypedBase + (2u << 20));
    CHECK(env.untyped().cap.watermark() == (4u << 20));
    CHECK_CDT(env);
}

TEST_CASE("retype of every creatable type", "[caps][INV-4]") {
    Env env;
    REQUIRE(env.retype(ObjectType::CNode, 12, 1) == Status::Ok);
    CHECK(env.slot(1).cap.size_bits == 12);
    CHECK(env.slot(1).cap.object_size() == (256u << 10));
    CHECK(env.slot(1).cap.rights == full_rights(ObjectType::CNode));
    REQUIRE(env.retype(ObjectType::Partition, 20, 2) == Status::Ok);
    CHECK(env.slot(2).cap.object_size() == (1u << 20));
    CHECK(env.slot(2).cap.rights == full_rights(ObjectType::Partition));
    REQUIRE(env.retype(ObjectType::Vcpu, 0, 3) == Status::Ok);
    CHECK(env.slot(3).cap.size_bits == kVcpuBits);
    REQUIRE(env.retype(ObjectType::Notification, 0, 4) == Status::Ok);
    CHECK(env.slot(4).cap.size_bits == kNotificationBits);
    REQUIRE(env.retype(ObjectType::Channel, 16, 5) == Status::Ok);
    CHECK(env.slot(5).cap.rights == full_rights(ObjectType::Channel));
    REQUIRE(env.retype(ObjectType::Untyped, 16, 6) == Status::Ok);
    CHECK(env.slot(6).cap.rights == full_rights(ObjectType::Untyped));
    CHECK(env.slot(6).cap.watermark() == 0);
    CHECK_FALSE(env.slot(6).cap.device());
    REQUIRE(env.hooks.count('c') == 6);
    CHECK(env.hooks.events[2].size_bits == kVcpuBits);
    CHECK_CDT(env);
}

TEST_CASE("retype refusals change nothing", "[caps][INV-4][T-47]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Frame, 12, 1) == Status::Ok);  // untyped now has a child
    REQUIRE(create_root(env.slot(2), make_cap(ObjectType::IrqHandler, 33, 0, Rights::control())) == Status::Ok);
    env.hooks.events.clear();
    const Snapshot before(env);
    CapSlot& ut = env.untyped();

    SECTION("empty untyped slot") {
        CHECK(retype(env.slot(200), ObjectType::Frame, 12, env.root, 50, 1, env.hooks) == Status::NotFound);
    }
    SECTION("not an untyped") {
        CHECK(retype(env.slot(1), ObjectType::Frame, 12, env.root, 50, 1, env.hooks) == Status::InvalidArgument);
    }
    SECTION("untyped without Write") {
        ut.cap.rights = Rights::none();
        const Snapshot no_write(env);
        CHECK(env.retype(ObjectType::Frame, 12, 50) == Status::Denied);
        CHECK(no_write.unchanged(env));
        ut.cap.rights = Rights::write();
    }
    SECTION("types retype cannot create") {
        CHECK(env.retype(ObjectType::Null, 0, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::IrqHandler, 0, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::DmaStream, 0, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::DeviceMmio, 12, 50) == Status::InvalidArgument);  // RAM untyped
        CHECK(env.retype(static_cast<ObjectType>(11), 12, 50) == Status::InvalidArgument);
    }
    SECTION("bad sizes") {
        CHECK(env.retype(ObjectType::Frame, 13, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Frame, 0, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::CNode, 0, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::CNode, 13, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Partition, 13, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Partition, 21, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Vcpu, 12, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Notification, 1, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Channel, 22, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Untyped, 11, 50) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Untyped, kUntypedBits + 1, 50) == Status::InvalidArgument);
    }
    SECTION("count limits") {
        CHECK(env.retype(ObjectType::Frame, 12, 50, 0) == Status::InvalidArgument);
        CHECK(env.retype(ObjectType::Frame, 12, 0, 257) == Status::InvalidArgument);
    }
    SECTION("destination CNode") {
        CHECK(retype(ut, ObjectType::Frame, 12, env.slot(200), 0, 1, env.hooks) == Status::NotFound);
        CHECK(retype(ut, ObjectType::Frame, 12, env.slot(1), 0, 1, env.hooks) == Status::InvalidArgument);
        CapSlot read_only = env.root;
        read_only.cap.rights = Rights::read() | Rights::grant();
        CHECK(retype(ut, ObjectType::Frame, 12, read_only, 50, 1, env.hooks) == Status::Denied);
        CapSlot unreachable = env.root;
        unreachable.cap.object = 0x1000;
        CHECK(retype(ut, ObjectType::Frame, 12, unreachable, 50, 1, env.hooks) == Status::OutOfRange);
    }
    SECTION("destination slots out of range or occupied") {
        CHECK(env.retype(ObjectType::Frame, 12, 256) == Status::OutOfRange);
        CHECK(env.retype(ObjectType::Frame, 12, 250, 7) == Status::OutOfRange);
        CHECK(env.retype(ObjectType::Frame, 12, ~0ull, 2) == Status::OutOfRange);
        CHECK(env.retype(ObjectType::Frame, 12, 250, 6) == Status::Ok);  // exactly fits
        CHECK(env.retype(ObjectType::Frame, 12, 0) == Status::Exists);    // the untyped itself
        CHECK(env.retype(ObjectType::Frame, 12, 248, 3) == Status::Exists);  // last one occupied
        return;  // this section changed state on purpose
    }
    SECTION("exhausted untyped") {
        // 8 MiB with one 4 KiB frame used: three 2 MiB frames fit (from 2 MiB), four do not.
        CHECK(env.retype(ObjectType::Frame, 21, 50, 4) == Status::NoMemory);
        CHECK(env.retype(ObjectType::Untyped, kUntypedBits, 50) == Status::NoMemory);
        CHECK(env.retype(ObjectType::Frame, 12, 50, 200) == Status::Ok);
        CHECK(env.retype(ObjectType::Frame, 21, 10, 4) == Status::NoMemory);
        CHECK(env.retype(ObjectType::Frame, 21, 10, 3) == Status::Ok);
        CHECK(env.retype(ObjectType::Frame, 12, 20) == Status::NoMemory);
        CHECK(env.untyped().cap.watermark() == (8u << 20));
        CHECK_CDT(env);
        return;
    }
    SECTION("corrupt untyped caps") {
        ut.cap.object += 4096;  // base not aligned to a 2 MiB object
        CHECK(env.retype(ObjectType::Frame, 21, 50) == Status::Misaligned);
        ut.cap.object -= 4096;
        ut.cap.word64 = (1ull << kUntypedBits) + 1;  // watermark beyond the end
        CHECK(env.retype(ObjectType::Frame, 12, 50) == Status::NoMemory);
        ut.cap.word64 = 4096;
    }
    SECTION("memory not reachable") {
        CapSlot far{};
        far.cap = make_cap(ObjectType::Untyped, 0x20'0000'0000, 20, Rights::write());  // not RAM, not device
        CHECK(retype(far, ObjectType::Frame, 12, env.root, 50, 1, env.hooks) == Status::OutOfRange);
    }
    CHECK(before.unchanged(env));
    CHECK(env.hooks.events.empty());
}

TEST_CASE("a refusing create hook rolls back the objects already created", "[caps][INV-4]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Frame, 12, 1) == Status::Ok);
    env.hooks.events.clear();
    env.hooks.creates = 0;
    env.hooks.fail_create_at = 2;
    const Snapshot before(env);
    CHECK(env.retype(ObjectType::Notification, 0, 10, 4) == Status::NoMemory);
    CHECK(before.unchanged(env));
    REQUIRE(env.hooks.events.size() == 4);  // create 0, create 1, destroy 1, destroy 0
    CHECK(env.hooks.events[0].kind == 'c');
    CHECK(env.hooks.events[1].kind == 'c');
    CHECK(env.hooks.events[2].kind == 'd');
    CHECK(env.hooks.events[2].object == env.hooks.events[1].object);
    CHECK(env.hooks.events[3].kind == 'd');
    CHECK(env.hooks.events[3].object == env.hooks.events[0].object);
    CHECK(env.hooks.events[3].size_bits == kNotificationBits);

    env.hooks.fail_create_at = -1;
    CHECK(env.retype(ObjectType::Notification, 0, 10, 4) == Status::Ok);
    CHECK_CDT(env);
}

TEST_CASE("the watermark resets only when the untyped has no children", "[caps][T-46]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Frame, 12, 1, 2) == Status::Ok);
    REQUIRE(delete_cap(env.slot(1), env.hooks) == Status::Ok);
    REQUIRE(env.retype(ObjectType::Frame, 12, 3) == Status::Ok);  // slot 2 alive: no reuse
    CHECK(env.slot(3).cap.object == kUntypedBase + 8192);
    REQUIRE(delete_cap(env.slot(2), env.hooks) == Status::Ok);
    REQUIRE(delete_cap(env.slot(3), env.hooks) == Status::Ok);
    CHECK(env.untyped().first_child == nullptr);
    std::memset(ram(kUntypedBase), 0x5A, 4096);
    REQUIRE(env.retype(ObjectType::Frame, 12, 4) == Status::Ok);  // everything gone: reuse from 0
    CHECK(env.slot(4).cap.object == kUntypedBase);
    CHECK(ram(kUntypedBase)[100] == 0);  // and the reused memory is zeroed again
    CHECK(env.untyped().cap.watermark() == 4096);
    CHECK_CDT(env);
}

TEST_CASE("nested retypes give nested or disjoint ranges", "[caps][T-57]") {
    Env env;
    REQUIRE(env.retype(ObjectType::Frame, 12, 1) == Status::Ok);
    REQUIRE(env.retype(ObjectType::Untyped, 20, 2) == Status::Ok);       // [1 MiB, 2 MiB)
    REQUIRE(env.retype(ObjectType::Untyped, 16, 3, 2) == Status::Ok);    // [2 MiB, 2 MiB + 128 KiB)
    CapSlot& child = env.slot(2);
    CHECK(child.cap.object == kUntypedBase + (1u << 20));
    REQUIRE(retype(child, ObjectType::Untyped, 12, env.root, 5, 3, env.hooks) == Status::Ok);
    REQUIRE(retype(child, ObjectType::Frame, 12, env.root, 8, 2, env.hooks) == Status::Ok);
    REQUIRE(retype(env.slot(5), ObjectType::CNode, 6, env.root, 10, 1, env.hooks) == Status::Ok);
    REQUIRE(retype(env.slot(3), ObjectType::Partition, 14, env.root, 11, 5, env.hooks) == Status::NoMemory);
    REQUIRE(retype(env.slot(3), ObjectType::Partition, 14, env.root, 11, 2, env.hooks) == Status::Ok);
    // A full-size child untyped covers its parent exactly; it is still its own object.
    REQUIRE(retype(env.slot(6), ObjectType::Untyped, 12, env.root, 13, 1, env.hooks) == Status::Ok);
    CHECK(env.slot(13).cap.object == env.slot(6).cap.object);
    CHECK(cdt_is_final(env.slot(13)));
    CHECK(cdt_is_final(env.slot(6)));

    std::vector<const CapSlot*> objects;
    for (u64 i = 1; i < 256; ++i)
        if (!env.slot(i).empty()) objects.push_back(&env.slot(i));
    for (const CapSlot* a : objects) {
        for (const CapSlot* b : objects) {
            if (a == b) continue;
            const u64 as = a->cap.object_size(), bs = b->cap.object_size();
            const bool disjoint = !ranges_overlap(a->cap.object, as, b->cap.object, bs);
            const bool nested = range_inside(a->cap.object, as, b->cap.object, bs) ||
                                range_inside(b->cap.object, bs, a->cap.object, as);
            INFO("slots " << (a - env.slots()) << " and " << (b - env.slots()));
            CHECK((disjoint || nested));
            // Overlap only ever between an untyped and what was carved from it (transitively).
            if (!disjoint) {
                auto descends = [](const CapSlot* x, const CapSlot* y) {
                    for (const CapSlot* p = x->parent; p != nullptr; p = p->parent)
                        if (p == y) return true;
                    return false;
                };
                CHECK((descends(a, b) || descends(b, a)));
            }
        }
    }
    CHECK_CDT(env);
}

TEST_CASE("device untyped: only DeviceMmio and Untyped, never zeroed", "[caps][T-6]") {
    Env env;
    Capability dev = make_cap(ObjectType::Untyped, kDeviceBase, kDeviceBits, Rights::write());
    dev.flags = Capability::kFlagDevice;
    REQUIRE(create_root(env.slot(1), dev) == Status::Ok);
    CapSlot& d = env.slot(1);
    for (ObjectType t : {ObjectType::CNode, ObjectType::Partition, ObjectType::Vcpu, ObjectType::Frame,
                         ObjectType::Notification, ObjectType::Channel}) {
        const unsigned bits = t == ObjectType::CNode ? 4 : t == ObjectType::Partition ? 14
                              : (t == ObjectType::Vcpu || t == ObjectType::Notification) ? 0 : 12;
        CHECK(retype(d, t, bits, env.root, 10, 1, env.hooks) == Status::InvalidArgument);
    }
    REQUIRE(retype(d, ObjectType::DeviceMmio, 12, env.root, 10, 2, env.hooks) == Status::Ok);
    CHECK(env.slot(10).cap.type == ObjectType::DeviceMmio);
    CHECK(env.slot(11).cap.object == kDeviceBase + 4096);
    CHECK(env.slot(10).cap.rights == full_rights(ObjectType::DeviceMmio));
    REQUIRE(retype(d, ObjectType::Untyped, 21, env.root, 12, 1, env.hooks) == Status::Ok);
    CHECK(env.slot(12).cap.device());
    CHECK(retype(env.slot(12), ObjectType::Frame, 12, env.root, 13, 1, env.hooks) == Status::InvalidArgument);
    REQUIRE(retype(env.slot(12), ObjectType::DeviceMmio, 21, env.root, 13, 1, env.hooks) == Status::Ok);
    CHECK(env.slot(13).cap.object == kDeviceBase + (2u << 20));
    CHECK_CDT(env);
}

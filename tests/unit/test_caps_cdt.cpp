// The CDT checker finds each kind of corruption.
#include "test_caps_support.hpp"

using namespace caps_test;

namespace {

struct TreeEnv : Env {
    TreeEnv() {
        REQUIRE(retype(ObjectType::Frame, 12, 1, 2) == Status::Ok);  // 1, 2
        REQUIRE(copy(slot(1), slot(10)) == Status::Ok);
        REQUIRE(copy(slot(1), slot(11)) == Status::Ok);
        REQUIRE(copy(slot(11), slot(12)) == Status::Ok);
        REQUIRE(retype(ObjectType::Notification, 0, 3) == Status::Ok);
        REQUIRE(mint(slot(3), slot(13), Rights::from_bits(0xFF), 9) == Status::Ok);
        REQUIRE(copy(slot(13), slot(14)) == Status::Ok);
        REQUIRE(check().ok());
    }
    std::string first_violation() const {
        const CdtReport r = check();
        return r.ok() ? "" : r.violation;
    }
};

}  // namespace

TEST_CASE("the CDT checker accepts valid trees and finds corruption", "[caps][INV-4]") {
    TreeEnv env;
    SECTION("child's parent link") {
        env.slot(12).parent = &env.slot(10);
        CHECK(env.first_violation() == "child's parent link does not match");
    }
    SECTION("sibling links") {
        env.slot(10).prev_sibling = nullptr;
        CHECK(env.first_violation() == "sibling links are not symmetric");
    }
    SECTION("empty slot linked") {
        env.slot(12).cap = Capability{};
        CHECK(env.first_violation() == "empty slot linked into the tree");
    }
    SECTION("empty slot with stale links, outside the tree") {
        env.slot(200).next_sibling = &env.slot(1);
        CHECK(env.first_violation() == "empty slot linked into the tree");
    }
    SECTION("rights grow") {
        env.slot(11).cap.rights = Rights::read() | Rights::grant();
        CHECK(env.first_violation() == "child has rights its parent lacks");
    }
    SECTION("a child names another object") {
        env.slot(12).cap.object += 0x1000;
        CHECK(env.first_violation() == "child names another object than its parent");
    }
    SECTION("a badge changed") {
        env.slot(14).cap.badge = 10;
        CHECK(env.first_violation() == "child of a badged cap has another badge");
    }
    SECTION("malformed caps") {
        env.slot(12).cap.size_bits = 13;
        CHECK(env.first_violation() == "malformed capability");
    }
    SECTION("malformed root") {
        env.untyped().cap.flags = 4;
        CHECK(env.first_violation() == "malformed capability");
    }
    SECTION("an untyped's child outside its allocated range") {
        env.untyped().cap.word64 = 4096;
        CHECK(env.first_violation() == "child of an untyped lies outside its allocated range");
    }
    SECTION("children of an untyped overlap") {
        env.slot(2).cap.object = env.slot(1).cap.object;
        env.slot(2).cap.size_bits = 12;
        env.slot(2).cap.type = ObjectType::Channel;
        env.slot(2).cap.rights = Rights::read();
        CHECK(env.first_violation() == "children of an untyped overlap");
    }
    SECTION("a child of an untyped naming no memory") {
        env.slot(2).cap = make_cap(ObjectType::IrqHandler, 5, 0, Rights::control());
        CHECK(env.first_violation() == "child of an untyped names no memory");
    }
    SECTION("device memory from a RAM untyped") {
        env.slot(2).cap.type = ObjectType::DeviceMmio;
        env.slot(2).cap.rights = Rights::read();
        CHECK(env.first_violation() == "object type does not match device/RAM untyped");
    }
    SECTION("a cycle through the root") {
        env.slot(12).first_child = &env.untyped();
        CHECK(env.first_violation() == "cycle through the root");
    }
    SECTION("a sibling cycle") {
        env.slot(10).next_sibling = &env.slot(11);  // 11 -> 10 -> 11 ...
        CHECK(env.first_violation() == "sibling links are not symmetric");
    }
    SECTION("slot missing from its parent's children") {
        env.slot(11).first_child = nullptr;  // 12 still says 11 is its parent
        CHECK(env.first_violation() == "slot missing from its parent's children");
    }
    SECTION("slot not reachable") {
        // A parentless cap the caller did not name as a root.
        REQUIRE(create_root(env.slot(100), make_cap(ObjectType::IrqHandler, 3, 0, Rights::control())) == Status::Ok);
        const CapSlot* roots[] = {&env.untyped()};
        const CdtReport r = validate_cdt(roots, 1, env.slots(), 256);
        REQUIRE_FALSE(r.ok());
        CHECK(std::string(r.violation) == "slot not reachable from any root");
        CHECK(r.slot == &env.slot(100));
    }
    SECTION("root slot empty") {
        CapSlot empty{};
        const CapSlot* roots[] = {&empty};
        CHECK(std::string(validate_cdt(roots, 1, nullptr, 0).violation) == "root slot is empty");
    }
    SECTION("node budget") {
        const CapSlot* roots[] = {&env.untyped()};
        CHECK(std::string(validate_cdt(roots, 1, nullptr, 0, 3).violation) == "too many nodes (cycle?)");
        CHECK(std::string(validate_cdt(roots, 1, nullptr, 0, 6).violation) == "too many nodes (cycle?)");
        CHECK(validate_cdt(roots, 1, nullptr, 0, 100).ok());
    }
}

// The kernel library's types: Result and Outcome (a status and its reason, a checked value()),
// typed indices with an explicit "none", and the capability lock's witness.
#include <catch2/catch_test_macros.hpp>

#include "child_process.hpp"

#include <bulkhead/status.hpp>
#include <caps/cap_lock.hpp>
#include <csignal>
#include <lib/ids.hpp>
#include <string>
#include <type_traits>

using namespace bh;
using namespace bh::test;

TEST_CASE("Result: a value, or a status and the reason there is none", "[lib]") {
    const Result<u64> value(42);
    CHECK(value.ok());
    CHECK(value.status() == Status::Ok);
    CHECK(value.value() == 42);
    const Result<u64> refused(Status::NotFound, "no such thing");
    CHECK_FALSE(refused.ok());
    CHECK(refused.status() == Status::NotFound);
    CHECK(std::string(refused.reason()) == "no such thing");
    // Without a reason of its own, a refusal says its status's name.
    CHECK(std::string(Result<u64>(Status::Busy).reason()) == "busy");
    CHECK(std::string(Outcome(Status::OutOfRange).reason()) == "out of range");
    CHECK(std::string(Outcome().reason()) == "ok");

    // An Outcome keeps the status and reason of the Result it is made from, never a stale one.
    const Outcome from_refusal = refused;
    CHECK(from_refusal.status() == Status::NotFound);
    CHECK(std::string(from_refusal.reason()) == "no such thing");
    const Outcome from_value = value;
    CHECK(from_value.ok());
    CHECK(std::string(from_value.reason()) == "ok");
    const Outcome o = refuse(Status::Denied, "why");
    CHECK(o.status() == Status::Denied);
    CHECK(std::string(o.reason()) == "why");
    CHECK_FALSE(ok(o));
    CHECK(ok(Outcome()));
    for (i64 s = 0; s >= -11; --s) CHECK(std::string(status_name(static_cast<Status>(s))) != "unknown status");
    CHECK(std::string(status_name(static_cast<Status>(-12))) == "unknown status");
}

TEST_CASE("Result: value() of a refusal traps (a bug in the caller, never a guest's doing)", "[lib]") {
    const ChildResult child = in_child(10, [] {
        const Result<u64> refused(Status::NotFound, "no such thing");
        return static_cast<int>(refused.value());  // never returns
    });
    REQUIRE(child.finished);
    CHECK(child.signal != 0);  // SIGILL or SIGTRAP, by architecture
    CHECK(child.exit_code == -1);
}

TEST_CASE("typed indices: distinct types, an explicit none", "[lib]") {
    STATIC_REQUIRE_FALSE(std::is_convertible_v<u32, PartitionId>);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<PartitionId, CoreId>);
    STATIC_REQUIRE_FALSE(std::is_constructible_v<CoreId, PartitionId>);
    STATIC_REQUIRE(sizeof(VcpuIndex) == sizeof(u32));
    CHECK(PartitionId().is_none());
    CHECK(PartitionId::none() == PartitionId());
    CHECK_FALSE(PartitionId(0).is_none());
    CHECK(PartitionId(3).raw() == 3);
    CHECK(CoreId(1) < CoreId(2));
    CHECK(BootSlot(7) != BootSlot(8));
    CHECK(BootSlot::none().raw() == BootSlot::kNone);
}

TEST_CASE("the capability lock's witness exists only while a guard holds the lock", "[lib]") {
    STATIC_REQUIRE_FALSE(std::is_default_constructible_v<CapLockHeld>);
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<CapLockHeld>);
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<CapLockGuard>);
    // Held for the guard's lifetime, and released with it: a second guard can take it after.
    {
        CapLockGuard guard(cap_lock);
        const CapLockHeld& held = guard.held();
        (void)held;
    }
    const ChildResult child = in_child(3, [] {
        CapLockGuard guard(cap_lock);
        return 0;
    });
    CHECK(child.finished);
    CHECK(child.exit_code == 0);
    // While a guard holds it, nobody else gets it (a child that tries never finishes).
    CapLockGuard guard(cap_lock);
    const ChildResult blocked = in_child(1, [] {
        CapLockGuard again(cap_lock);
        return 0;
    });
    CHECK_FALSE(blocked.finished);
}

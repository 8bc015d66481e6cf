// Shared fixture of the capability tests (test_caps_*.cpp): simulated RAM, a root CNode, a root
// untyped, recording hooks and a CDT check over everything; and the operations as the kernel
// calls them, under the capability lock (caps/cap_lock.hpp), each checked against its decode half.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <arch/arch.hpp>
#include <arch/host/host_memory.hpp>
#include <bulkhead/platform.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cdt_check.hpp>
#include <caps/cspace.hpp>
#include <cstring>
#include <vector>

namespace caps_test {

using namespace bh;
using namespace bh::caps;

inline constexpr u64 kUntypedBase = platform::kObjectMemoryBase;  // 8 MiB of RAM untyped
inline constexpr unsigned kUntypedBits = 23;
inline constexpr u64 kRootCNodeBase = platform::kObjectMemoryBase + (8ull << 20);
inline constexpr unsigned kRootRadix = 8;  // 256 slots, 16 KiB
inline constexpr u64 kDeviceBase = 0x1000'0000;  // PCIe MMIO window: not RAM
inline constexpr unsigned kDeviceBits = 24;

struct Event {
    char kind;  // 'c' create, 'd' destroy, 'u' unmap
    ObjectType type;
    u64 object;
    unsigned size_bits;
};

struct RecordingHooks : ObjectHooks {
    std::vector<Event> events;
    int fail_create_at = -1;  // index of the create call (0-based) that refuses
    int creates = 0;
    Status create(ObjectType type, PhysAddr base, unsigned size_bits, const CapLockHeld&) override {
        if (creates++ == fail_create_at) return Status::NoMemory;
        events.push_back({'c', type, base.raw(), size_bits});
        return Status::Ok;
    }
    void destroy(const Capability& cap, const CapLockHeld&) override {
        events.push_back({'d', cap.type, cap.object, cap.size_bits});
    }
    void unmap(const Capability& cap, const CapLockHeld&) override {
        events.push_back({'u', cap.type, cap.object, cap.size_bits});
    }
    int count(char kind) const {
        int n = 0;
        for (const Event& e : events) n += e.kind == kind;
        return n;
    }
};

// The operations that change the derivation tree take the capability lock's witness; these run
// one operation under the lock, as calls/cap_invoke.cpp and the boot program do. Where an
// operation has a decode half (check_copy, check_mint, check_move, check_delete), it is asked
// first: it must refuse exactly what the operation refuses, so every test below also tests it.
inline Status copy(CapSlot& src, CapSlot& dest) {
    const Status decoded = caps::check_copy(src, dest);
    CapLockGuard guard(cap_lock);
    const Status s = caps::copy(src, dest, guard.held());
    CHECK(decoded == s);
    return s;
}
inline Status mint(CapSlot& src, CapSlot& dest, Rights mask, u64 badge) {
    const Status decoded = caps::check_mint(src, dest, badge);
    CapLockGuard guard(cap_lock);
    const Status s = caps::mint(src, dest, mask, badge, guard.held());
    CHECK(decoded == s);
    return s;
}
inline Status move(CapSlot& src, CapSlot& dest) {
    const Status decoded = caps::check_move(src, dest);
    CapLockGuard guard(cap_lock);
    const Status s = caps::move(src, dest, guard.held());
    CHECK(decoded == s);
    return s;
}
inline Status delete_cap(CapSlot& slot, ObjectHooks& hooks) {
    const Status decoded = caps::check_delete(slot, hooks);
    CapLockGuard guard(cap_lock);
    const Status s = caps::delete_cap(slot, hooks, guard.held());
    CHECK(decoded == s);
    return s;
}
inline RevokeProgress revoke(CapSlot& slot, u32 budget, ObjectHooks& hooks) {
    CapLockGuard guard(cap_lock);
    return caps::revoke(slot, budget, hooks, guard.held());
}
inline Status retype(CapSlot& untyped, ObjectType type, unsigned size_bits, CapSlot& dest_cnode, u64 first, u32 count,
                     ObjectHooks& hooks) {
    CapLockGuard guard(cap_lock);
    return caps::retype(untyped, type, size_bits, dest_cnode, first, count, hooks, guard.held());
}

inline Capability make_cap(ObjectType type, u64 object, unsigned size_bits, Rights rights) {
    Capability c{};
    c.type = type;
    c.object = object;
    c.size_bits = static_cast<u8>(size_bits);
    c.rights = rights;
    return c;
}

struct Env {
    CapSlot root{};  // the CSpace root: a CNode cap, outside any CNode
    RecordingHooks hooks;

    Env() {
        host::reset_all();
        REQUIRE(create_root(root, make_cap(ObjectType::CNode, kRootCNodeBase, kRootRadix,
                                           full_rights(ObjectType::CNode))) == Status::Ok);
        REQUIRE(create_root(slot(0), make_cap(ObjectType::Untyped, kUntypedBase, kUntypedBits,
                                              full_rights(ObjectType::Untyped))) == Status::Ok);
    }
    CapSlot* slots() const { return cnode_slots(root.cap); }
    CapSlot& slot(u64 i) const { return slots()[i]; }
    CapSlot& untyped() const { return slot(0); }
    Status retype(ObjectType type, unsigned bits, u64 first, u32 count = 1) {
        return caps_test::retype(untyped(), type, bits, root, first, count, hooks);
    }
    // Slots of a CNode cap, as the checker's "every slot" list is built by callers.
    static CapSlot* slots_of(const CapSlot& s) { return cnode_slots(s.cap); }

    // Validates the whole tree: every parentless slot of the root CNode is a root, and every
    // slot of the root CNode must be reachable.
    CdtReport check(std::vector<const CapSlot*> extra_slot_arrays_roots = {}) const {
        std::vector<const CapSlot*> roots;
        for (u64 i = 0; i < (1u << kRootRadix); ++i)
            if (!slot(i).empty() && slot(i).parent == nullptr) roots.push_back(&slot(i));
        for (const CapSlot* r : extra_slot_arrays_roots) roots.push_back(r);
        return validate_cdt(roots.data(), roots.size(), slots(), 1u << kRootRadix);
    }
};

#define CHECK_CDT(env)                                      \
    do {                                                    \
        const auto report_ = (env).check();                 \
        INFO((report_.violation ? report_.violation : "")); \
        CHECK(report_.ok());                                \
    } while (0)

inline u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }

inline bool state_equal(const CapSlot* a, const CapSlot* b, usize n) {
    return std::memcmp(a, b, n * sizeof(CapSlot)) == 0;
}

}  // namespace caps_test

namespace caps_test {

// A copy of the root CNode's slots and of the root slot: "a refused operation changes nothing".
struct Snapshot {
    std::vector<CapSlot> slots;
    CapSlot root;
    explicit Snapshot(const Env& env)
        : slots(env.slots(), env.slots() + (1u << kRootRadix)), root(env.root) {}
    bool unchanged(const Env& env) const {
        return state_equal(slots.data(), env.slots(), slots.size()) && state_equal(&root, &env.root, 1);
    }
};

}  // namespace caps_test

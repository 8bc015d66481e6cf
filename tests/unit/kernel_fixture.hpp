// A fresh host machine and Kernel, and partitions built through the boot program's operations
// (the kernel parts' own: boot space, partition table, core map, frame mapping, flow policy,
// seal), for every test that drives a whole kernel. Every partition these tests make is built
// here, so a change to how the boot program builds one changes one place.
//
// Tests name boot slots by number, as manifests do; the helpers below turn them into BootSlots.
// Operations that need the capability lock's witness take the lock for that one operation
// only: kernel paths that take it themselves (an SPI firing, a stop cancelling a wait) must
// never find it held by a test.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <arch/host/host_memory.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cspace.hpp>
#include <kernel.hpp>
#include <memory/frame_mapping.hpp>
#include <policy/seal.hpp>
#include <string>

namespace bh::test {

inline constexpr u64 kMiB = 1ull << 20;
inline constexpr u64 kRwx = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;
inline constexpr u64 kGuestRam = platform::kGuestRamIpa;
inline constexpr u64 kPartitionPa = 0x4800'0000;  // where the tests' partitions' RAM starts
inline constexpr u32 kKernelUntyped = manifest::kKernelUntypedSlot;
inline constexpr u64 kBootArg = 7;                 // x0 of every partition make() builds
inline constexpr i64 st(Status s) { return static_cast<i64>(s); }

// `expr` (an Outcome) is refused with `expected_status` and, in its own words, `why`.
#define CHECK_REFUSED(expr, expected_status, why)           \
    do {                                                   \
        const ::bh::Outcome refused_ = (expr);             \
        INFO("refused: " << refused_.reason());            \
        CHECK(refused_.status() == (expected_status));     \
        CHECK(std::string(refused_.reason()) == (why));    \
    } while (0)

// `f(held)` with the capability lock held for its duration only.
template <class F>
auto locked(F&& f) {
    CapLockGuard guard(cap_lock);
    return f(guard.held());
}

// A mapping request in the manifest's (and FrameMap's) attribute bits, decoded as the boot
// program decodes a MapFrame op: a request the decode refuses never reaches map_frame.
inline Outcome map_frame_bits(Partition& p, CapSlot& frame, u64 ipa, u64 attr_bits) {
    const Result<MapAttributes> attrs = MapAttributes::decode(attr_bits);
    if (!attrs.ok()) return attrs;
    return map_frame(p, frame, Ipa(ipa), attrs.value());
}

struct KernelFixture {
    Kernel kernel;
    u32 next_slot = manifest::kFirstFreeBootSlot;

    KernelFixture() {
        host::reset_all();
        const Outcome o = kernel.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores);
        INFO(o.reason());
        REQUIRE(o.ok());
    }
    KernelFixture(const KernelFixture&) = delete;
    KernelFixture& operator=(const KernelFixture&) = delete;

    u32 slot() { return next_slot++; }
    CapSlot& at(u32 s) { return *kernel.boot.slot(BootSlot(s)); }
    Partition& partition(u32 s) { return *kernel.partitions.in_slot(kernel.boot, BootSlot(s)); }

    // --- the boot program's operations, with boot slots by number
    Outcome create_untyped(u32 s, u64 pa, unsigned bits, bool device) {
        return kernel.boot.create_untyped(BootSlot(s), PhysAddr(pa), bits, device);
    }
    Outcome retype(u32 untyped, ObjectType type, unsigned bits, u32 first, u32 count) {
        return locked([&](const CapLockHeld& held) {
            return kernel.boot.retype(BootSlot(untyped), type, bits, BootSlot(first), count, kernel, held);
        });
    }
    Outcome create_partition(u32 object, u32 cnode, const char* name, manifest::RestartPolicy policy, u32 vcpus,
                             u64 flags = 0) {
        return locked([&](const CapLockHeld& held) {
            return kernel.partitions.create(kernel.boot, BootSlot(object), BootSlot(cnode), name, policy, vcpus, flags, held);
        });
    }
    Outcome grant(u32 source, Partition& p, u64 index, Rights mask, u64 badge = 0) {
        return locked([&](const CapLockHeld& held) {
            return kernel.boot.grant_cap(BootSlot(source), p, index, mask, badge, held);
        });
    }
    // MapFrame: attribute bits decoded as the boot program does.
    Outcome map(Partition& p, CapSlot& frame, u64 ipa, u64 attr_bits) {
        return map_frame_bits(p, frame, ipa, attr_bits);
    }
    Outcome bind_vcpu(Partition& p, u32 vcpu_slot, u32 index, u32 core) {
        return kernel.cores.bind(kernel.boot, p, BootSlot(vcpu_slot), VcpuIndex(index), CoreId(core));
    }
    Outcome set_entry(Partition& p, u32 vcpu, u64 entry, u64 arg) {
        return kernel.partitions.set_entry(p, VcpuIndex(vcpu), entry, arg);
    }
    Outcome load_image(Partition& p, u64 ipa, const u8* bytes, u64 size) {
        return kernel.partitions.load_image(p, Ipa(ipa), bytes, size);
    }
    Outcome declare_flow(const Partition& from, const Partition& to, manifest::FlowKind kind) {
        return kernel.flows.declare(kernel.partitions, from, to, kind);
    }
    Outcome create_irq_handler(u32 s, u64 intid) {
        return kernel.boot.create_irq_handler(BootSlot(s), intid, kernel.interrupts);
    }
    Outcome seal() { return bh::seal(kernel); }
    FlowGraph live() const {
        FlowGraph g;
        live_flows(kernel.partitions, g);
        return g;
    }

    // --- capability operations as the kernel makes them: under the lock, reporting to the kernel
    Status copy(CapSlot& src, CapSlot& dest) {
        return locked([&](const CapLockHeld& held) { return caps::copy(src, dest, held); });
    }
    Status mint(CapSlot& src, CapSlot& dest, Rights mask, u64 badge) {
        return locked([&](const CapLockHeld& held) { return caps::mint(src, dest, mask, badge, held); });
    }
    Status move(CapSlot& src, CapSlot& dest) {
        return locked([&](const CapLockHeld& held) { return caps::move(src, dest, held); });
    }
    Status delete_cap(CapSlot& s) {
        return locked([&](const CapLockHeld& held) { return caps::delete_cap(s, kernel, held); });
    }
    caps::RevokeProgress revoke(CapSlot& s, u32 budget) {
        return locked([&](const CapLockHeld& held) { return caps::revoke(s, budget, kernel, held); });
    }

    // --- building blocks
    // A configured partition without memory or vCPU bindings; returns its boot slot (its CSpace
    // CNode's is the next one). `flags`: manifest::partition_flag bits.
    u32 partition(const char* name, u32 vcpus = 1, manifest::RestartPolicy policy = manifest::RestartPolicy::Stop,
                  u64 flags = 0) {
        const u32 ps = slot(), cs = slot();
        REQUIRE(retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1).ok());
        REQUIRE(retype(kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs, 1).ok());
        const Outcome o = create_partition(ps, cs, name, policy, vcpus, flags);
        INFO(o.reason());
        REQUIRE(o.ok());
        return ps;
    }
    // A RAM frame of 2^bits at `pa` (its own root untyped); returns the frame's boot slot.
    u32 frame(u64 pa, unsigned bits = 21) {
        const u32 us = slot(), fs = slot();
        REQUIRE(create_untyped(us, pa, bits, false).ok());
        REQUIRE(retype(us, ObjectType::Frame, bits, fs, 1).ok());
        return fs;
    }
    // A Vcpu object from the kernel's untyped; returns its boot slot.
    u32 vcpu_object() {
        const u32 vs = slot();
        REQUIRE(retype(kKernelUntyped, ObjectType::Vcpu, 0, vs, 1).ok());
        return vs;
    }
    // A new Vcpu object bound to `p` as vCPU `vcpu` on physical core `core`.
    void bind(Partition& p, u32 vcpu, u32 core) { REQUIRE(bind_vcpu(p, vcpu_object(), vcpu, core).ok()); }

    // A partition ready for seal: one 2 MiB frame at `pa` mapped rwx at the guest RAM IPA, vCPU i
    // on core `core + i`, entry at the start of its RAM with x0 = kBootArg. Returns its slot.
    // Boot slots: Partition, CNode, untyped, frame, then one Vcpu per vCPU.
    u32 make_slot(const char* name, u64 pa, u32 core, u32 vcpus = 1,
                  manifest::RestartPolicy policy = manifest::RestartPolicy::Stop, u64 flags = 0) {
        const u32 ps = partition(name, vcpus, policy, flags);
        Partition& p = partition(ps);
        REQUIRE(map(p, at(frame(pa)), kGuestRam, kRwx).ok());
        for (u32 v = 0; v < vcpus; ++v) bind(p, v, core + v);
        REQUIRE(set_entry(p, 0, kGuestRam, kBootArg).ok());
        return ps;
    }
    Partition& make(const char* name, u64 pa, u32 core, u32 vcpus = 1,
                    manifest::RestartPolicy policy = manifest::RestartPolicy::Stop, u64 flags = 0) {
        return partition(make_slot(name, pa, core, vcpus, policy, flags));
    }
};

}  // namespace bh::test

// A fresh host machine and System, and partitions built through the boot program's operations,
// for the tests that drive the System (test_system, test_notification, test_channels,
// test_interrupts). Every partition these tests make is built here, so a change to how the
// boot program builds one changes one place.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <arch/host/host_memory.hpp>
#include <system.hpp>

namespace bh::test {

inline constexpr u64 kMiB = 1ull << 20;
inline constexpr u64 kRwx = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;
inline constexpr u64 kGuestRam = platform::kGuestRamIpa;
inline constexpr u64 kPartitionPa = 0x4800'0000;  // where the tests' partitions' RAM starts
inline constexpr u32 kKernelUntyped = manifest::kKernelUntypedSlot;
inline constexpr u64 kBootArg = 7;                 // x0 of every partition make() builds
inline constexpr i64 st(Status s) { return static_cast<i64>(s); }

struct SystemFixture {

    System system;
    u32 next_slot = manifest::kFirstFreeBootSlot;

    SystemFixture() {
        host::reset_all();
        REQUIRE(ok(system.init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores)));
    }
    u32 slot() { return next_slot++; }
    CapSlot& at(u32 s) { return *system.boot_slot(s); }
    Partition& partition(u32 s) { return *system.partition_in_slot(s); }

    // A configured partition without memory or vCPU bindings; returns its boot slot.
    u32 partition(const char* name, u32 vcpus = 1, manifest::RestartPolicy policy = manifest::RestartPolicy::Stop,
                  manifest::FaultPolicy faults = manifest::FaultPolicy::Stop) {
        const u32 ps = slot(), cs = slot();
        REQUIRE(ok(system.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1)));
        REQUIRE(ok(system.retype(kKernelUntyped, ObjectType::CNode, System::kCSpaceRadix, cs, 1)));
        REQUIRE(ok(system.create_partition(ps, cs, name, policy, vcpus, faults)));
        return ps;
    }
    // A RAM frame of 2^bits at `pa` (its own root untyped); returns the frame's boot slot.
    u32 frame(u64 pa, unsigned bits = 21) {
        const u32 us = slot(), fs = slot();
        REQUIRE(ok(system.create_untyped(us, PhysAddr(pa), bits, false)));
        REQUIRE(ok(system.retype(us, ObjectType::Frame, bits, fs, 1)));
        return fs;
    }
    // A Vcpu object from the kernel's untyped; returns its boot slot.
    u32 vcpu_object() {
        const u32 vs = slot();
        REQUIRE(ok(system.retype(kKernelUntyped, ObjectType::Vcpu, 0, vs, 1)));
        return vs;
    }
    // A new Vcpu object bound to `p` as vCPU `vcpu` on physical core `core`.
    void bind(Partition& p, u32 vcpu, u32 core) { REQUIRE(ok(system.bind_vcpu(p, vcpu_object(), vcpu, core))); }

    // A partition ready for seal: one 2 MiB frame at `pa` mapped rwx at the guest RAM IPA, vCPU i
    // on core `core + i`, entry at the start of its RAM with x0 = kBootArg. Returns its slot.
    u32 make_slot(const char* name, u64 pa, u32 core, u32 vcpus = 1,
                  manifest::RestartPolicy policy = manifest::RestartPolicy::Stop,
                  manifest::FaultPolicy faults = manifest::FaultPolicy::Stop) {
        const u32 ps = partition(name, vcpus, policy, faults);
        Partition& p = partition(ps);
        REQUIRE(ok(system.map_frame(p, at(frame(pa)), Ipa(kGuestRam), kRwx)));
        for (u32 v = 0; v < vcpus; ++v) bind(p, v, core + v);
        REQUIRE(ok(system.set_entry(p, 0, kGuestRam, kBootArg)));
        return ps;
    }
    Partition& make(const char* name, u64 pa, u32 core, u32 vcpus = 1,
                    manifest::RestartPolicy policy = manifest::RestartPolicy::Stop,
                    manifest::FaultPolicy faults = manifest::FaultPolicy::Stop) {
        return partition(make_slot(name, pa, core, vcpus, policy, faults));
    }
};

}  // namespace bh::test

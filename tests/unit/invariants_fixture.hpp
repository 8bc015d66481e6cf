// Shared by the invariant checker's tests (test_invariants_*.cpp): kernels built the way the
// boot program builds them, every operation followed by a full check, and the ways a kernel bug
// would corrupt state behind the kernel's back (a hand-written stage-2 descriptor, a changed
// region record).
#pragma once

#include <catch2/catch_test_macros.hpp>

#include "guest_exits.hpp"
#include "invariant_text.hpp"
#include "kernel_fixture.hpp"

#include <arch/arch.hpp>
#include <arch/stage2.hpp>
#include <invariants/invariants.hpp>
#include <set>
#include <string>

namespace bh::test::inv {

namespace attr = bh::manifest::attr;

inline constexpr u64 kPage = 0x1000;
inline constexpr u64 kRw = attr::kRead | attr::kWrite;
inline constexpr u64 kDev = kRw | attr::kDevice;  // what a DeviceMmio mapping of kRw is recorded as
inline constexpr u64 kPaA = 0x4800'0000;
inline constexpr u64 kPaB = 0x4900'0000;
inline constexpr u64 kRtc = 0x0901'0000;
inline constexpr u32 kPages = 16;  // the fixture's partitions: 16 frames of 4 KiB at kGuestRam
inline const Rights kRwg = Rights::read() | Rights::write() | Rights::grant();

inline MapAttributes attrs_of(u64 attr_bits) { return MapAttributes::from_bits(attr_bits); }

inline std::set<std::string> ids(const InvariantReport& r) {
    std::set<std::string> out;
    for (u32 i = 0; i < r.stored; ++i) out.insert(invariant_code(r.violations[i].id));
    return out;
}

// The helper for every test that drives the kernel: run one operation, then the checker. An
// operation may be refused, but whatever it returns, the state after it must be clean.
template <class Op>
auto checked(const Kernel& kernel, const char* what, Op&& op) {
    auto result = op();
    const InvariantReport report = check_invariants(kernel);
    INFO("after " << what << ": " << describe(report));
    REQUIRE(report.ok());
    return result;
}

template <class Op>
auto checked(const KernelFixture& f, const char* what, Op&& op) {
    return checked(f.kernel, what, static_cast<Op&&>(op));
}

inline CapSlot* cspace(const Partition& p) { return caps::cnode_slots(p.cspace_root); }
inline u8* ram(u64 pa) { return static_cast<u8*>(arch::phys_to_virt(PhysAddr(pa))); }

// Builds kernels the way the boot program does: objects retyped from the kernel Untyped in boot
// slot 1, frames from their own root untyped; partitions get 16 pages of RAM.
struct Fixture : KernelFixture {
    // Per partition index: the boot slot of its Partition cap (its CSpace CNode cap is the
    // next one), of its RAM's root untyped and of its first frame.
    u32 part_slot[manifest::kMaxPartitions] = {};
    u32 ram_untyped[manifest::kMaxPartitions] = {};
    u32 first_frame[manifest::kMaxPartitions] = {};

    u32 slots(u32 count) {
        const u32 s = next_slot;
        next_slot += count;
        return s;
    }
    // A configured partition without memory; returns its boot slot.
    u32 configured(const char* name, manifest::RestartPolicy policy = manifest::RestartPolicy::Stop) {
        const u32 ps = partition(name, 1, policy);
        part_slot[partition(ps).index.raw()] = ps;
        return ps;
    }
    // `count` frames of 2^bits from a new root untyped of 2^untyped_bits at `pa`; returns the
    // first frame's boot slot.
    u32 frames(u64 pa, unsigned bits, u32 count, unsigned untyped_bits) {
        const u32 us = slot(), fs = slots(count);
        REQUIRE(create_untyped(us, pa, untyped_bits, false).ok());
        REQUIRE(retype(us, ObjectType::Frame, bits, fs, count).ok());
        return fs;
    }
    // One DeviceMmio page at `pa` (its own device untyped); returns its boot slot.
    u32 device(u64 pa) {
        const u32 us = slot(), ds = slot();
        REQUIRE(create_untyped(us, pa, 12, true).ok());
        REQUIRE(retype(us, ObjectType::DeviceMmio, 12, ds, 1).ok());
        return ds;
    }
    // A complete partition: 16 pages of RAM from `pa` at kGuestRam (page-granular, so there is
    // always a level-3 table under kGuestRam .. kGuestRam + 2 MiB), vCPU 0 on `core`.
    Partition& make(const char* name, u64 pa, u32 core,
                    manifest::RestartPolicy policy = manifest::RestartPolicy::Stop) {
        Partition& p = partition(configured(name, policy));
        ram_untyped[p.index.raw()] = next_slot;
        const u32 fs = frames(pa, 12, kPages, 21);
        first_frame[p.index.raw()] = fs;
        for (u32 k = 0; k < kPages; ++k) {
            CapSlot& fr = at(fs + k);
            REQUIRE(map(p, fr, kGuestRam + (fr.cap.object - pa), kRwx).ok());
        }
        bind(p, 0, core);
        REQUIRE(set_entry(p, 0, kGuestRam, 0).ok());
        return p;
    }
    CapSlot& frame_of(const Partition& p, u32 k) { return at(first_frame[p.index.raw()] + k); }
};

// The descriptor slot for `ipa` at `level` in `t`, following existing tables (nullptr when a
// table on the way is missing). Writing through it is exactly what a kernel bug would do.
inline u64* slot(const Stage2Table& t, u64 ipa, unsigned level) {
    PhysAddr table = t.root();
    for (unsigned l = stage2::kFirstLevel;; ++l) {
        u64* entries = static_cast<u64*>(arch::phys_to_virt(table));
        REQUIRE(entries != nullptr);
        u64* e = &entries[stage2::entry_index(l, ipa)];
        if (l == level) return e;
        if (!stage2::is_table(l, *e)) return nullptr;
        table = PhysAddr(*e & stage2::kAddressMask);
    }
}

inline void write_page_leaf(const Partition& p, u64 ipa, u64 pa, u64 attr_bits) {
    u64* e = slot(p.stage2, ipa, 3);
    REQUIRE(e != nullptr);
    REQUIRE(*e == 0);
    *e = stage2::make_leaf(3, pa, attrs_of(attr_bits));
}

}  // namespace bh::test::inv

// The invariant checker (invariants/invariants.hpp) after every operation: a kernel built and
// run through its own operations — boot ops, capability operations, hypercalls, a contained
// fault, a restart, a guest powering off — satisfies every checked invariant after each of
// them, accepted or refused.
#include <catch2/catch_test_macros.hpp>

#include "invariants_fixture.hpp"

#include <string>

using namespace bh;
using namespace bh::test;
using namespace bh::test::inv;

TEST_CASE("a demo-like system is checked after every operation", "[invariants][INV-1][INV-6][T-51]") {
    Fixture s;
    REQUIRE(check_invariants(s.kernel).ok());
    static const u8 image[] = {0x1f, 0x20, 0x03, 0xd5, 0, 0, 0, 0x14};  // nop; b .
    u32 next = manifest::kFirstFreeBootSlot;
    auto retype = [&](const char* what, u32 from, ObjectType type, unsigned bits, u32 count) {
        const u32 first = next;
        next += count;
        CHECK(ok(checked(s, what, [&] { return s.retype(from, type, bits, first, count); })));
        return first;
    };
    auto untyped = [&](u64 pa, unsigned bits, bool device) {
        const u32 us = next++;
        CHECK(ok(checked(s, "create_untyped", [&] { return s.create_untyped(us, pa, bits, device); })));
        return us;
    };
    auto map = [&](const char* what, Partition& p, u32 fs, u64 ipa, u64 attrs) {
        return checked(s, what, [&] { return s.map(p, s.at(fs), ipa, attrs); });
    };
    struct Made {
        Partition* p;
        u32 slot;
    };
    auto create = [&](const char* name, manifest::RestartPolicy policy) {
        const u32 ps = retype("retype partition", kKernelUntyped, ObjectType::Partition, 16, 1);
        const u32 cs = retype("retype cnode", kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, 1);
        CHECK(ok(checked(s, "create_partition", [&] { return s.create_partition(ps, cs, name, policy, 1); })));
        Partition* p = s.kernel.partitions.in_slot(s.kernel.boot, BootSlot(ps));
        REQUIRE(p != nullptr);
        return Made{p, ps};
    };
    const Made made[] = {create("alpha", manifest::RestartPolicy::Stop), create("beta", manifest::RestartPolicy::Restart),
                         create("attacker", manifest::RestartPolicy::Stop)};
    Partition* alpha = made[0].p;
    Partition* beta = made[1].p;
    Partition* attacker = made[2].p;
    u64 pa = kPaA;
    u32 alpha_big = 0, alpha_small = 0;
    for (const Made& m : made) {
        Partition& p = *m.p;
        // 16 MiB of RAM: two 2 MiB frames mapped as blocks, four 4 KiB pages after them.
        const u32 us = untyped(pa, 24, false);
        const u32 big = retype("retype 2 MiB frames", us, ObjectType::Frame, 21, 2);
        const u32 small = retype("retype 4 KiB frames", us, ObjectType::Frame, 12, 4);
        if (&p == alpha) alpha_big = big, alpha_small = small;
        CHECK(ok(map("map block", p, big, kGuestRam, kRwx)));
        CHECK(ok(map("map block 2", p, big + 1, kGuestRam + 2 * kMiB, kRw)));
        for (u32 k = 0; k < 4; ++k) CHECK(ok(map("map page", p, small + k, kGuestRam + 4 * kMiB + k * kPage, kRw)));
        CHECK(ok(checked(s, "load_image", [&] { return s.load_image(p, kGuestRam, image, sizeof image); })));
        // Its own CSpace in slot 1, one of its pages in slot 2.
        CHECK(ok(checked(s, "grant cnode", [&] { return s.grant(m.slot + 1, p, 1, kRwg); })));
        CHECK(ok(checked(s, "grant page", [&] { return s.grant(small, p, 2, kRwg); })));
        pa += 16 * kMiB;
    }
    // Extra shapes: a read-only mint of a page mapped elsewhere in alpha, a device page.
    const u32 ro = next++;
    CHECK(ok(checked(s, "mint ro", [&] { return s.mint(s.at(alpha_small + 1), s.at(ro), Rights::read(), 0); })));
    CHECK(ok(map("map ro", *alpha, ro, 0x5000'0000, attr::kRead)));
    const u32 rtc = retype("retype rtc", untyped(kRtc, 12, true), ObjectType::DeviceMmio, 12, 1);
    CHECK(ok(map("map rtc", *alpha, rtc, kRtc, kRw)));
    // Copies and mints inside a partition's CSpace, a delete and a move.
    CapSlot* acs = cspace(*alpha);
    CHECK(ok(checked(s, "mint in cspace", [&] { return s.mint(acs[2], acs[3], Rights::read() | Rights::grant(), 0); })));
    CHECK(ok(checked(s, "copy in cspace", [&] { return s.copy(acs[3], acs[4]); })));
    CHECK(ok(checked(s, "move in cspace", [&] { return s.move(acs[4], acs[5]); })));
    CHECK(ok(checked(s, "delete in cspace", [&] { return s.delete_cap(acs[3]); })));
    CHECK(ok(checked(s, "map from cspace", [&] { return s.map(*alpha, acs[5], 0x5000'1000, attr::kRead); })));
    // A revoke from the boot CNode removes the partition's derived caps and their mappings.
    CHECK(checked(s, "revoke", [&] { return s.revoke(s.at(alpha_small + 1), 64); }).done);
    CHECK(s.at(ro).empty());
    CHECK_FALSE(alpha->stage2.translate(Ipa(0x5000'0000)).ok());

    // Refused operations change nothing, so the state stays clean.
    const u32 stolen = next++;
    CHECK(ok(checked(s, "copy alpha's block", [&] { return s.copy(s.at(alpha_big), s.at(stolen)); })));
    CHECK(map("overlap", *attacker, stolen, 0x6000'0000, kRw).status() == Status::Overlap);
    CHECK(checked(s, "grant other's frame", [&] {
        return s.grant(stolen, *attacker, 3, kRwg);  // granted, but it cannot be mapped
    }).status() == Status::Ok);
    CHECK(checked(s, "map granted", [&] { return s.map(*attacker, cspace(*attacker)[3], 0x6000'0000, kRw); }).status() ==
          Status::Overlap);
    CHECK(checked(s, "object memory", [&] {
        return s.create_untyped(next, platform::kObjectMemoryBase, 21, false);
    }).status() == Status::Denied);
    CHECK(checked(s, "gic", [&] { return s.create_untyped(next, platform::kGicdBase, 12, true); }).status() ==
          Status::Denied);
    CHECK(checked(s, "rtc again", [&] { return s.create_untyped(next, kRtc, 12, true); }).status() == Status::Overlap);
    CHECK(checked(s, "grant untyped", [&] { return s.grant(kKernelUntyped, *attacker, 4, kRwg); }).status() ==
          Status::InvalidArgument);
    CHECK(checked(s, "retype too much", [&] {
        return s.retype(kKernelUntyped, ObjectType::Partition, 20, next, 64);
    }).status() == Status::NoMemory);
    CHECK(map("ipa in use", *attacker, stolen, kGuestRam, kRw).status() != Status::Ok);
    CHECK(map("executable device", *alpha, rtc, kRtc, kRwx).status() != Status::Ok);
    u32 core = 1;
    for (const Made& m : made) {
        const u32 c = core++;
        const u32 vs = next++;
        CHECK(ok(checked(s, "retype vcpu", [&] { return s.retype(kKernelUntyped, ObjectType::Vcpu, 0, vs, 1); })));
        CHECK(ok(checked(s, "bind_vcpu", [&] { return s.bind_vcpu(*m.p, vs, 0, c); })));
        CHECK(ok(checked(s, "set_entry", [&] { return s.set_entry(*m.p, 0, kGuestRam, 12); })));
    }
    const u32 spare_vcpu = next++;
    CHECK(ok(checked(s, "retype spare vcpu", [&] { return s.retype(kKernelUntyped, ObjectType::Vcpu, 0, spare_vcpu, 1); })));
    CHECK(checked(s, "bind taken core", [&] { return s.bind_vcpu(*attacker, spare_vcpu, 0, 1); }).status() == Status::Exists);
    // The frame granted to the attacker cannot be mapped while alpha maps it, but holding it is an
    // information flow nobody declared (INV-6): seal refuses it until the grant is undone.
    CHECK_REFUSED(checked(s, "seal with a stolen frame", [&] { return s.seal(); }), Status::Denied,
                  "capabilities allow an undeclared information flow");
    CHECK(ok(checked(s, "delete the stolen grant", [&] { return s.delete_cap(cspace(*attacker)[3]); })));
    CHECK(ok(checked(s, "seal", [&] { return s.seal(); })));

    // Run time: capability invocations, a contained fault, a restart, a guest powering off.
    using F = hvc::Function;
    Vcpu& v = alpha->vcpus[0];
    auto call = [&](const char* what, F fn, std::initializer_list<u64> args) {
        return checked(s, what, [&] { return call_status(s.kernel, v, fn, args); });
    };
    CHECK(call("CapMint", F::CapMint, {2, 10, Rights::kRead | Rights::kGrant, 0}) == 0);
    CHECK(call("FrameMap", F::FrameMap, {10, 0x6000'0000, attr::kRead}) == 0);
    CHECK(call("CapCopy", F::CapCopy, {10, 11}) == 0);
    CHECK(call("CapMove", F::CapMove, {11, 12}) == 0);
    CHECK(call("FrameMap copy", F::FrameMap, {12, 0x6000'1000, attr::kRead}) == 0);
    CHECK(call("FrameMap beyond rights", F::FrameMap, {12, 0x6000'2000, kRw}) != 0);
    CHECK(call("CapRevoke", F::CapRevoke, {2}) == 0);
    CHECK(v.regs.x[1] == 3);  // 10, 12 and the cap moved to slot 5 earlier
    CHECK_FALSE(alpha->stage2.translate(Ipa(0x6000'0000)).ok());
    CHECK(call("FrameMap own", F::FrameMap, {2, 0x6000'0000, kRw}) == 0);
    CHECK(call("FrameUnmap", F::FrameUnmap, {2}) == 0);
    CHECK(call("CapDelete", F::CapDelete, {2}) == 0);
    CHECK(call("FrameUnmap boot mapping", F::FrameUnmap, {1}) != 0);

    Vcpu& a = attacker->vcpus[0];
    checked(s, "attacker fault",
            [&] { return exit_with(s.kernel, a, ExitVector::Sync, kEsrDataAbortWrite, kPaA, (kPaA >> 12) << 4); });
    CHECK(attacker->load_state() == PartitionState::Stopped);
    Vcpu& b = beta->vcpus[0];
    checked(s, "beta fault + restart",
            [&] { return exit_with(s.kernel, b, ExitVector::Sync, kEsrDataAbortWrite, kPaA, (kPaA >> 12) << 4); });
    CHECK(beta->restarts == 1);
    checked(s, "alpha system off", [&] { return hypercall(s.kernel, v, hvc::psci::kSystemOff); });
    CHECK(alpha->load_state() == PartitionState::Stopped);
}

// System::map_memory once checked device MMIO against the assignable windows only, so it
// accepted one MMIO page for two partitions (an undeclared channel, INV-6); commit 432a564 made
// devices exclusive. With capabilities, one DeviceMmio object per page and "one frame, one
// partition" in map_frame keep it so. Whatever the kernel answers, the state stays clean.
TEST_CASE("every operation keeps the invariants: MMIO for a second partition", "[invariants][INV-1][INV-6][T-7]") {
    Fixture f;
    Partition& a = f.make("alpha", kPaA, 1);
    Partition& b = f.make("beta", kPaB, 2);
    Fixture& s = f;
    const u32 rtc = f.device(kRtc);
    const u32 copy = f.slot();
    CHECK(ok(checked(s, "rtc to alpha", [&] { return s.map(a, f.at(rtc), kRtc, kRw); })));
    CHECK(ok(checked(s, "copy rtc", [&] { return s.copy(f.at(rtc), f.at(copy)); })));
    CHECK(checked(s, "rtc to beta", [&] { return s.map(b, f.at(copy), kRtc, kRw); }).status() == Status::Overlap);
    CHECK(checked(s, "rtc granted to beta", [&] { return s.grant(rtc, b, 2, kRwg); }).status() == Status::Ok);
    CHECK(checked(s, "beta maps its grant", [&] { return s.map(b, cspace(b)[2], kRtc, kRw); }).status() ==
          Status::Overlap);
    CHECK(checked(s, "a second device untyped", [&] { return s.create_untyped(f.slot(), kRtc, 12, true); }).status() ==
          Status::Overlap);
    CHECK(checked(s, "rtc twice to alpha", [&] { return s.map(a, f.at(copy), 0x0a00'0000, kRw); }).status() ==
          Status::Ok);  // same partition: allowed, and still exclusive
    CHECK(checked(s, "revoke rtc", [&] { return s.revoke(f.at(rtc), 64); }).done);
    CHECK_FALSE(a.stage2.translate(Ipa(0x0a00'0000)).ok());
    CHECK(a.stage2.translate(Ipa(kRtc)).ok());
}

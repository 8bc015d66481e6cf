// CapIdentify without the capability lock (kernel/calls/identify_unlocked.hpp): a capability
// operation that runs between the reader's reads makes it go the full way, never answer a mix of
// the slot's old and new cap; one that ran before it is seen whole. Deterministic: the writer
// runs at the reader's hook between the slot's two halves, as another core could.
// tests/CMakeLists.txt also builds these tests against a copy of the reader without its second
// look at the sequence count (tests/unit/planted/identify-skips-recheck.patch), where the first
// test must fail: it is the test of that check.
#include <catch2/catch_test_macros.hpp>
#include "kernel_fixture.hpp"

#include <array>
#include <calls/identify.hpp>
#include <calls/identify_unlocked.hpp>
#include <caps/cnode.hpp>

using namespace bh;
using namespace bh::test;

namespace {

// "caller" holds in slot 2 a Notification cap (Write, badge 0x4); `frame` is a boot slot with
// a 2 MiB frame mapped nowhere, from which a writer puts a Read cap of it in that slot.
struct Slots : KernelFixture {
    Partition* caller = nullptr;
    u32 caller_slot = 0;
    u32 note = 0;
    u32 frame_cap = 0;
    Slots() {
        caller_slot = make_slot("caller", kPartitionPa, 0);
        caller = &partition(caller_slot);
        note = slot();
        REQUIRE(ok(retype(kKernelUntyped, ObjectType::Notification, 0, note, 1)));
        REQUIRE(ok(grant(note, *caller, 2, Rights::write(), 0x4)));
        frame_cap = frame(kPartitionPa + 4 * kMiB);
    }
    CapSlot& cspace(u64 index) { return caps::cnode_slots(caller->cspace_root)[index]; }
    // Slot 2 becomes the frame's Read cap: both halves of the slot change (type, rights and
    // size_bits in the first; badge in the second).
    void replace_slot_2() {
        REQUIRE(ok(delete_cap(cspace(2))));
        REQUIRE(ok(mint(at(frame_cap), cspace(2), Rights::read(), 0)));
    }
};

using Answer = std::array<u64, 7>;  // x0..x6

// What identify() under the lock answers about slot `index` now.
Answer locked_answer(Slots& s, u64 index) {
    arch::GuestRegs r{};
    locked([&](const CapLockHeld&) { identify(s.cspace(index).cap, *s.caller, r); });
    Answer a{};
    for (unsigned i = 1; i < 7; ++i) a[i] = r.x[i];
    return a;  // x0 = Ok = 0
}

struct Read {
    bool answered = false;
    Answer x{};
    bool untouched = true;  // not answered: x0..x7 still the caller's
};

// The reader on slot `cptr`, with `writer` between its reads.
template <typename Writer>
Read read_unlocked(Slots& s, u64 cptr, Writer&& writer) {
    arch::GuestRegs r{};
    for (unsigned i = 0; i < 31; ++i) r.x[i] = 0x5555 * (i + 1);
    r.x[1] = cptr;
    const arch::GuestRegs before = r;
    Read out;
    out.answered = fast_path::identify_unlocked(*s.caller, r, writer);
    for (unsigned i = 0; i < 7; ++i) out.x[i] = r.x[i];
    for (unsigned i = 0; i < 31; ++i)
        if (!out.answered && r.x[i] != before.x[i]) out.untouched = false;
    return out;
}

}  // namespace

TEST_CASE("identify without the lock: a writer between the reads gives the old answer, the new one or the full path, never a mix",
          "[fast-path][capability][seqlock][torn-read][T-36]") {
    Slots s;
    const Answer old_answer = locked_answer(s, 2);
    const Read r = read_unlocked(s, 2, [&s] { s.replace_slot_2(); });
    const Answer new_answer = locked_answer(s, 2);
    // The two caps differ in both halves, so a reader that combined them would be seen.
    REQUIRE(old_answer[1] != new_answer[1]);
    REQUIRE(old_answer[3] != new_answer[3]);
    INFO("the reader returned a torn answer: type " << r.x[1] << " badge " << r.x[3]);
    CHECK((!r.answered || r.x == old_answer || r.x == new_answer));
    // Here the writer ran inside the read: the full path decides, and nothing was written.
    CHECK_FALSE(r.answered);
    CHECK(r.untouched);
}

TEST_CASE("identify without the lock: a change made before the read is seen whole", "[fast-path][capability][seqlock]") {
    Slots s;
    s.replace_slot_2();
    const Read r = read_unlocked(s, 2, [] {});
    CHECK(r.answered);
    CHECK(r.x == locked_answer(s, 2));
    CHECK(r.x[1] == static_cast<u64>(ObjectType::Frame));
}

TEST_CASE("identify without the lock answers as identify under the lock, a mapped cap's mapping included",
          "[fast-path][capability][seqlock]") {
    Slots s;
    // The caller's RAM frame cap, mapped in the caller at the guest RAM IPA (make_slot: Partition,
    // CNode, untyped, frame), moved into its own CSpace with its mapping.
    REQUIRE(ok(s.move(s.at(s.caller_slot + 3), s.cspace(6))));
    const Answer mapped = locked_answer(s, 6);
    REQUIRE(mapped[5] == 1);
    REQUIRE(mapped[6] == kGuestRam);
    for (u64 index : {0ull, 1ull, 2ull, 6ull, 7ull}) {
        INFO("slot " << index);
        const Read r = read_unlocked(s, index, [] {});
        CHECK(r.answered);
        CHECK(r.x == locked_answer(s, index));
    }
}

TEST_CASE("identify without the lock: any capability operation meanwhile, or one in progress, sends it the full way",
          "[fast-path][capability][seqlock]") {
    Slots s;
    // A critical section that changes nothing still counts: the reader cannot tell.
    const Read quiet = read_unlocked(s, 2, [] { locked([](const CapLockHeld&) {}); });
    CHECK_FALSE(quiet.answered);
    CHECK(quiet.untouched);
    // Another core holds the lock while the reader reads (its writes may be half done).
    {
        CapLockGuard held(cap_lock);
        const Read busy = read_unlocked(s, 2, [] {});
        CHECK_FALSE(busy.answered);
        CHECK(busy.untouched);
    }
    // The CSpace root goes away meanwhile (its CNode destroyed): the full path answers.
    const Read rootless =
        read_unlocked(s, 2, [&s] { locked([&s](const CapLockHeld& h) { s.caller->set_cspace_root(Capability{}, h); }); });
    CHECK_FALSE(rootless.answered);
    CHECK(rootless.untouched);
    // And without a root the reader reads no slot at all.
    const Read none = read_unlocked(s, 0, [] { FAIL("a slot was read without a root"); });
    CHECK_FALSE(none.answered);
}

TEST_CASE("identify without the lock reads only slots of the root: every other cptr goes the full way",
          "[fast-path][capability][seqlock]") {
    Slots s;
    const u64 count = caps::cnode_slot_count(s.caller->cspace_root);
    for (u64 cptr : std::array<u64, 5>{count, count + 1, 2 * count, 1ull << 40, ~0ull}) {
        INFO("cptr " << cptr);
        const Read r = read_unlocked(s, cptr, [] { FAIL("a slot was read for a cptr beyond the root"); });
        CHECK_FALSE(r.answered);
        CHECK(r.untouched);
    }
    const Read last = read_unlocked(s, count - 1, [] {});
    CHECK(last.answered);
    CHECK(last.x == locked_answer(s, count - 1));
}

// CapIdentify without the capability lock: the most frequent capability call reads one slot,
// so it reads it as a seqlock reader (caps/cap_lock.hpp) and never waits for another core's
// capability operation. docs/capabilities.md ("Reading a slot without the lock") argues why the
// answer is one the call could have given under the lock, and why a torn read is never returned.
#pragma once

#include <arch/guest.hpp>
#include <calls/guest_call.hpp>
#include <calls/identify.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cap_slot.hpp>
#include <partition/partition.hpp>

namespace bh::fast_path {

namespace detail {
// One load the compiler may neither split, repeat after the check nor move across the fences
// (a volatile access of an aligned word: a single ldr whose offset the compiler may fold, which
// it does not for a relaxed __atomic_load).
template <typename T>
[[gnu::always_inline]] inline T load_once(const T& field) {
    static_assert(sizeof(T) == 8);
    return *static_cast<const volatile T*>(&field);
}
// The first eight bytes of a Capability, read as one word.
using WordAlias [[gnu::may_alias]] = u64;
static_assert(__builtin_offsetof(Capability, object) == sizeof(u64));
}  // namespace detail

// CapIdentify of slot x1 of `caller`'s one-level CSpace (every partition's: hvc.hpp), into
// r.x[0..6] (x0 = Ok), as identify() under the lock would answer. False, with nothing written:
// x1 names no slot of the root, there is no root, or a capability operation ran meanwhile; the
// full path then decides (and gives any refusal). `between_reads` runs between the reads of the
// slot's first and second half: nothing in the kernel, a writer in the tests
// (tests/unit/test_identify_unlocked.cpp).
//
// Every value read may be torn or stale until still_unchanged says otherwise, so nothing read
// decides where the next read goes except the root word, whose mask bounds the index to a slot
// of a CNode that was the root: every read stays inside kernel memory whatever it returns.
template <typename BetweenReads>
[[gnu::always_inline]] inline bool identify_unlocked(const Partition& caller, arch::GuestRegs& r,
                                                     BetweenReads&& between_reads) {
    using detail::load_once;
    const u64 cptr = r.x[1];
    const u32 begin = cap_lock.begin_read();
    const CapSlot* slot = Partition::root_slot(caller.root_slots_and_mask.load_relaxed(), cptr);
    if (slot == nullptr) return false;
    // The cap's first word holds type, rights, size_bits, flags and word32 (capability.hpp).
    const u64 head = load_once(*reinterpret_cast<const detail::WordAlias*>(&slot->cap));
    between_reads();
    const u64 badge = load_once(slot->cap.badge);
    const u64 word64 = load_once(slot->cap.word64);
    if (!cap_lock.still_unchanged(begin)) return false;
    Capability cap;
    __builtin_memcpy(&cap, &head, sizeof head);
    cap.object = 0;
    cap.badge = badge;
    cap.word64 = word64;
    identify(cap, caller, r);
    r.x[0] = status_value(Status::Ok);
    return true;
}

}  // namespace bh::fast_path

// The capability operations. Each one decodes (validates every argument) before it invokes
// (changes state): a refused operation changes nothing. The check_* functions are the decode
// halves alone, for callers that decide before they act (calls/cap_invoke.cpp). Every operation
// that changes the derivation tree runs under the capability lock (its witness is a parameter). Slots are found with lookup()
// (cnode.hpp), which checks the CNode rights along the path; the operations themselves check
// the rights of the caps they act on. docs/capabilities.md states every rule and why.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

#include "caps/cap_slot.hpp"
#include "caps/cdt.hpp"
#include "caps/cnode.hpp"
#include "caps/untyped.hpp"

namespace bh::caps {

// Boot only (the boot program, before any partition runs): installs an original cap with no
// parent — the untyped regions of RAM and devices, and the IRQ handler and DMA stream caps,
// each created exactly once (the caller guarantees there is one per IRQ/stream/region).
//   Exists           dest occupied
//   InvalidArgument  Null or malformed cap (caps::well_formed), a mapped cap, an untyped with
//                    a non-zero watermark
//   Misaligned       memory object not aligned to its size
//   OutOfRange       RAM (non-device) memory not reachable through arch::phys_to_virt
Status create_root(CapSlot& dest, const Capability& cap);

// dest := src with the same rights and badge, unmapped, as a child of src.
//   NotFound src empty; Exists dest occupied; InvalidArgument src is Untyped (never derived);
//   Denied src lacks Grant.
Status copy(CapSlot& src, CapSlot& dest, const CapLockHeld& held);
Status check_copy(const CapSlot& src, const CapSlot& dest);

// dest := src with rights src & mask (never more), as a child of src, unmapped. A non-zero
// badge may be set only on a Notification/Channel cap that has none; badge 0 keeps src's.
//   as copy, plus: InvalidArgument badge on a type without badges; Denied src already badged.
Status mint(CapSlot& src, CapSlot& dest, Rights mask, u64 badge, const CapLockHeld& held);
Status check_mint(const CapSlot& src, const CapSlot& dest, u64 badge);

// dest := src, src emptied; the cap keeps its place in the CDT (and its mapping).
//   NotFound src empty; Exists dest occupied (also when dest is src).
Status move(CapSlot& src, CapSlot& dest, const CapLockHeld& held);
Status check_move(const CapSlot& src, const CapSlot& dest);

// Empties the slot. The cap's children take its place under its parent, in order. A mapped
// Frame/DeviceMmio/Channel cap is unmapped first (hook); the last cap to an object destroys it
// (hook).
//   NotFound empty slot; Busy the last cap to a CNode that still holds caps other than itself
//   (delete those first, or revoke an ancestor: revoke empties such CNodes), or the last cap to
//   an object the kernel still uses (ObjectHooks::in_use: a bound Vcpu).
Status delete_cap(CapSlot& slot, ObjectHooks& hooks, const CapLockHeld& held);
Status check_delete(const CapSlot& slot, const ObjectHooks& hooks);

struct RevokeProgress {
    Status status;
    u32 deleted;  // caps deleted by this call
    bool done;    // the slot has no descendants left
};

// Deletes every descendant of the cap in `slot`, leaves first, at most `budget` deletions per
// call; call again until done. The cap itself stays. Before the last cap to a CNode is
// deleted, the caps that CNode holds are deleted (they are counted too), so that no slot
// survives in freed memory.
//   NotFound empty slot; InvalidArgument budget 0;
//   Busy (done = false) a CNode to be emptied holds the revoked cap itself, or CNodes hold each
//   other's last caps deeper than kMaxCNodeChain (a cycle), or a descendant is the last cap to
//   an object in use: see docs/capabilities.md.
inline constexpr unsigned kMaxCNodeChain = 8;
RevokeProgress revoke(CapSlot& slot, u32 budget, ObjectHooks& hooks, const CapLockHeld& held);

}  // namespace bh::caps

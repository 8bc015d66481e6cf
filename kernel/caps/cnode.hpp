// CNodes: arrays of 2^radix CapSlots in memory retyped from RAM untyped (at least one page,
// see capability.hpp), and capability-address lookup through them.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

#include "caps/cap_slot.hpp"

namespace bh::caps {

// The slots of the CNode `cnode` names; nullptr when it is not a CNode cap or its memory is not
// reachable through arch::phys_to_virt.
CapSlot* cnode_slots(const Capability& cnode);
inline u64 cnode_slot_count(const Capability& cnode) {
    return cnode.type == ObjectType::CNode ? 1ull << cnode.size_bits : 0;
}

// True when every slot of the CNode except `except` (may be nullptr) is empty.
bool cnode_empty_except(const Capability& cnode, const CapSlot* except);

// seL4-style capability addressing without guards. Resolves the low `depth` bits of `cptr`,
// most significant first: the root CNode (the cap in `root`) consumes its radix bits as a slot
// index; while bits remain, that slot must hold a CNode cap, which consumes the next radix
// bits, and so on. `depth` must be consumed exactly. Every CNode cap on the path, the root's
// included, must hold the rights `need` (Read to look a cap up, Read|Write to change a slot).
// The resolved slot may be empty (it may be a destination).
//   InvalidArgument  depth 0 or > 64, bits of cptr set above depth, root not a CNode cap
//   Denied           a CNode cap on the path lacks `need`
//   OutOfRange       a level's radix is larger than the bits left (depth not a sum of radices)
//   NotFound         bits remain but the slot reached is empty or not a CNode cap, or a
//                    CNode's memory is unreachable
//   Corrupt          a CNode cap with a radix outside 1..12 (never produced by the kernel)
Result<CapSlot*> lookup(const CapSlot& root, u64 cptr, unsigned depth, Rights need = Rights::read());

}  // namespace bh::caps

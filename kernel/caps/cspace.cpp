#include "caps/cspace.hpp"

#include "arch/arch.hpp"

namespace bh {

Status ObjectHooks::create(ObjectType, PhysAddr, unsigned, const CapLockHeld&) { return Status::Ok; }
void ObjectHooks::destroy(const Capability&, const CapLockHeld&) {}
void ObjectHooks::unmap(const Capability&, const CapLockHeld&) {}
bool ObjectHooks::in_use(const Capability&) const { return false; }

namespace caps {
namespace {

// The last cap to a CNode whose slots hold caps other than this one (deleting it would leave
// those caps in freed memory), or to an object the kernel still uses.
bool blocks_delete(const CapSlot& slot, const ObjectHooks& hooks) {
    if (!cdt_is_final(slot)) return false;
    if (slot.cap.type == ObjectType::CNode && !cnode_empty_except(slot.cap, &slot)) return true;
    return hooks.in_use(slot.cap);
}

// The invoke half of delete: no checks left to make.
void delete_now(CapSlot& slot, ObjectHooks& hooks, const CapLockHeld& held) {
    const bool final = cdt_is_final(slot);
    if (slot.cap.mapped()) hooks.unmap(slot.cap, held);
    cdt_unlink(slot);
    const Capability old = slot.cap;
    slot.cap = Capability{};
    if (final) hooks.destroy(old, held);
}

Status derive(CapSlot& src, CapSlot& dest, Rights rights, u64 badge) {
    dest.cap = src.cap;
    dest.cap.rights = rights;
    dest.cap.badge = badge;
    if (records_use(dest.cap.type)) dest.cap.set_mapping(PartitionId::none(), 0);  // a mapping or binding belongs to one cap
    cdt_insert_child(src, dest);
    return Status::Ok;
}

Status check_derivable(const CapSlot& src, const CapSlot& dest) {
    if (src.empty()) return Status::NotFound;
    if (!dest.empty()) return Status::Exists;
    if (src.cap.type == ObjectType::Untyped) return Status::InvalidArgument;
    if (!src.cap.rights.has(Rights::grant())) return Status::Denied;
    return Status::Ok;
}

}  // namespace

Status create_root(CapSlot& dest, const Capability& cap) {
    if (!dest.empty()) return Status::Exists;
    if (cap.type == ObjectType::Null || !object_type_valid(static_cast<u8>(cap.type)))
        return Status::InvalidArgument;
    const unsigned bits = object_bits(cap.type, cap.size_bits);
    if (bits != 0 && !is_aligned(cap.object, 1ull << bits)) return Status::Misaligned;
    if (!well_formed(cap) || cap.mapped() || (cap.type == ObjectType::Untyped && cap.watermark() != 0))
        return Status::InvalidArgument;
    const bool ram = bits != 0 && cap.type != ObjectType::DeviceMmio && !cap.device();
    if (ram && (arch::phys_to_virt(PhysAddr(cap.object)) == nullptr ||
                arch::phys_to_virt(PhysAddr(cap.object + (cap.object_size() - 1))) == nullptr))
        return Status::OutOfRange;
    dest = CapSlot{};
    dest.cap = cap;
    return Status::Ok;
}

Status check_copy(const CapSlot& src, const CapSlot& dest) { return check_derivable(src, dest); }

Status copy(CapSlot& src, CapSlot& dest, const CapLockHeld&) {
    if (const Status s = check_copy(src, dest); s != Status::Ok) return s;
    return derive(src, dest, src.cap.rights, src.cap.badge);
}

Status check_mint(const CapSlot& src, const CapSlot& dest, u64 badge) {
    if (const Status s = check_derivable(src, dest); s != Status::Ok) return s;
    if (badge != 0) {
        if (!badgeable(src.cap.type)) return Status::InvalidArgument;
        if (src.cap.badge != 0) return Status::Denied;  // re-badging would let a holder pose as another sender
    }
    return Status::Ok;
}

Status mint(CapSlot& src, CapSlot& dest, Rights mask, u64 badge, const CapLockHeld&) {
    if (const Status s = check_mint(src, dest, badge); s != Status::Ok) return s;
    return derive(src, dest, src.cap.rights & mask, badge != 0 ? badge : src.cap.badge);
}

Status check_move(const CapSlot& src, const CapSlot& dest) {
    if (src.empty()) return Status::NotFound;
    if (!dest.empty()) return Status::Exists;
    return Status::Ok;
}

Status move(CapSlot& src, CapSlot& dest, const CapLockHeld&) {
    if (const Status s = check_move(src, dest); s != Status::Ok) return s;
    cdt_relocate(src, dest);
    return Status::Ok;
}

Status check_delete(const CapSlot& slot, const ObjectHooks& hooks) {
    if (slot.empty()) return Status::NotFound;
    if (blocks_delete(slot, hooks)) return Status::Busy;
    return Status::Ok;
}

Status delete_cap(CapSlot& slot, ObjectHooks& hooks, const CapLockHeld& held) {
    if (const Status s = check_delete(slot, hooks); s != Status::Ok) return s;
    delete_now(slot, hooks, held);
    return Status::Ok;
}

namespace {

// The next cap revoke may delete to make progress on `victim` (a leaf of the revoked subtree):
// the victim itself, or, when it is the last cap to a CNode that still holds caps, one of those
// caps (one that can be deleted now in preference, else the chain goes one CNode deeper). Busy
// when what blocks is an object in use (ObjectHooks::in_use): no deletion can make progress.
Result<CapSlot*> next_deletable(CapSlot& victim, const CapSlot& root, const ObjectHooks& hooks) {
    CapSlot* cur = &victim;
    for (unsigned depth = 0; depth < kMaxCNodeChain; ++depth) {
        if (!blocks_delete(*cur, hooks)) return cur;
        if (cur->cap.type != ObjectType::CNode) return Status::Busy;
        CapSlot* const slots = cnode_slots(cur->cap);
        const u64 n = cnode_slot_count(cur->cap);
        CapSlot* deeper = nullptr;
        for (u64 i = 0; i < n; ++i) {
            CapSlot& s = slots[i];
            if (&s == cur || s.empty()) continue;
            if (&s == &root) return Status::Busy;  // would delete the cap being revoked
            if (!blocks_delete(s, hooks)) return &s;
            if (deeper == nullptr) deeper = &s;
        }
        if (deeper == nullptr) return Status::Busy;  // unreachable: blocks_delete(*cur) saw an occupied slot
        cur = deeper;
    }
    return Status::Busy;
}

}  // namespace

RevokeProgress revoke(CapSlot& slot, u32 budget, ObjectHooks& hooks, const CapLockHeld& held) {
    if (slot.empty()) return RevokeProgress{Status::NotFound, 0, false};
    if (budget == 0) return RevokeProgress{Status::InvalidArgument, 0, slot.first_child == nullptr};
    u32 deleted = 0;
    while (deleted < budget && slot.first_child != nullptr) {
        CapSlot* leaf = slot.first_child;
        while (leaf->first_child != nullptr) leaf = leaf->first_child;
        const Result<CapSlot*> next = next_deletable(*leaf, slot, hooks);
        if (!next.ok()) return RevokeProgress{next.status(), deleted, false};
        delete_now(*next.value(), hooks, held);
        ++deleted;
    }
    return RevokeProgress{Status::Ok, deleted, slot.first_child == nullptr};
}

}  // namespace caps
}  // namespace bh

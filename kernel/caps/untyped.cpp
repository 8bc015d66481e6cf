#include "caps/untyped.hpp"

#include "arch/arch.hpp"
#include "caps/cdt.hpp"
#include "caps/cnode.hpp"

namespace bh::caps {
namespace {

Capability new_cap(ObjectType type, u64 base, unsigned cap_bits, bool device) {
    Capability c{};
    c.type = type;
    c.rights = full_rights(type);
    c.size_bits = static_cast<u8>(cap_bits);
    c.flags = (type == ObjectType::Untyped && device) ? Capability::kFlagDevice : 0;
    c.object = base;
    return c;
}

}  // namespace

Status retype(CapSlot& untyped, ObjectType type, unsigned size_bits, CapSlot& dest_cnode, u64 first, u32 count,
              ObjectHooks& hooks, const CapLockHeld& held) {
    // ---- decode: nothing below changes state until every check has passed
    const Capability& ut = untyped.cap;
    if (ut.type == ObjectType::Null) return Status::NotFound;
    if (ut.type != ObjectType::Untyped) return Status::InvalidArgument;
    if (!ut.rights.has(Rights::write())) return Status::Denied;
    if (!retype_type_allowed(type, ut.device())) return Status::InvalidArgument;
    if (!retype_size_valid(type, size_bits, ut.size_bits)) return Status::InvalidArgument;
    if (count == 0 || count > kMaxRetypeCount) return Status::InvalidArgument;

    const Capability& dest = dest_cnode.cap;
    if (dest.type == ObjectType::Null) return Status::NotFound;
    if (dest.type != ObjectType::CNode) return Status::InvalidArgument;
    if (!dest.rights.has(Rights::write())) return Status::Denied;
    CapSlot* const slots = cnode_slots(dest);
    if (slots == nullptr) return Status::OutOfRange;
    const u64 slot_count = cnode_slot_count(dest);
    if (first >= slot_count || count > slot_count - first) return Status::OutOfRange;
    for (u32 i = 0; i < count; ++i)
        if (!slots[first + i].empty()) return Status::Exists;

    const unsigned cap_bits = retype_cap_bits(type, size_bits);
    const unsigned obj_bits = object_bits(type, cap_bits);  // 12 .. 48
    const u64 obj_size = 1ull << obj_bits;
    const u64 ut_size = 1ull << ut.size_bits;  // size_bits <= 48 for a well-formed cap
    if (!is_aligned(ut.object, obj_size)) return Status::Misaligned;
    // With no children nothing made from this untyped is alive: its whole region is free.
    const u64 watermark = untyped.first_child == nullptr ? 0 : ut.watermark();
    if (watermark > ut_size) return Status::NoMemory;  // corrupt cap; keeps the math below exact
    // All offsets are <= 2^48 and count <= 256: nothing below can overflow 64 bits.
    const u64 start = align_up(watermark, obj_size);
    if (start > ut_size || count > ((ut_size - start) >> obj_bits)) return Status::NoMemory;
    const u64 total = static_cast<u64>(count) << obj_bits;
    const u64 base = ut.object + start;
    const bool zero = !ut.device() && type != ObjectType::Untyped;
    if (zero) {
        // RAM is one contiguous range to the arch layer: both ends reachable, all of it is.
        if (arch::phys_to_virt(PhysAddr(base)) == nullptr || arch::phys_to_virt(PhysAddr(base + (total - 1))) == nullptr)
            return Status::OutOfRange;
    }

    // ---- invoke
    // Memory above the watermark is free (and, after a reset, nothing references any of it), so
    // zeroing it before a hook refuses changes nothing anyone can observe.
    // The zeroes must be in DRAM, not only in the kernel's cache, before anyone can map this
    // memory (a partition with its caches off reads DRAM directly). A partition's first launch
    // relies on them (docs/isolation.md, "Zeroed once").
    if (zero) arch::zero_to_poc(PhysAddr(base), total);
    for (u32 i = 0; i < count; ++i) {
        const Status s = hooks.create(type, PhysAddr(base + (static_cast<u64>(i) << obj_bits)), cap_bits, held);
        if (s != Status::Ok) {
            while (i-- > 0)
                hooks.destroy(new_cap(type, base + (static_cast<u64>(i) << obj_bits), cap_bits, ut.device()), held);
            return s;
        }
    }
    // Inserted newest-first, so the untyped's children read in creation order.
    for (u32 i = count; i-- > 0;) {
        CapSlot& slot = slots[first + i];
        slot.cap = new_cap(type, base + (static_cast<u64>(i) << obj_bits), cap_bits, ut.device());
        cdt_insert_child(untyped, slot);
    }
    untyped.cap.word64 = start + total;
    return Status::Ok;
}

}  // namespace bh::caps

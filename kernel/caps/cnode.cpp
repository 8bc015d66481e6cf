#include "caps/cnode.hpp"

#include "arch/arch.hpp"

namespace bh::caps {

CapSlot* cnode_slots(const Capability& cnode) {
    if (cnode.type != ObjectType::CNode) return nullptr;
    return static_cast<CapSlot*>(arch::phys_to_virt(PhysAddr(cnode.object)));
}

bool cnode_empty_except(const Capability& cnode, const CapSlot* except) {
    CapSlot* const slots = cnode_slots(cnode);
    if (slots == nullptr) return true;
    const u64 n = cnode_slot_count(cnode);
    for (u64 i = 0; i < n; ++i)
        if (&slots[i] != except && !slots[i].empty()) return false;
    return true;
}

Result<CapSlot*> lookup(const CapSlot& root, u64 cptr, unsigned depth, Rights need) {
    if (depth == 0 || depth > 64) return Status::InvalidArgument;
    if (depth < 64 && (cptr >> depth) != 0) return Status::InvalidArgument;
    if (root.cap.type != ObjectType::CNode) return Status::InvalidArgument;
    const CapSlot* node = &root;
    unsigned remaining = depth;
    for (;;) {
        const Capability& cnode = node->cap;
        if (!cnode.rights.has(need)) return Status::Denied;
        const unsigned radix = cnode.size_bits;
        // Only a corrupt cap has another radix; without this a radix of 0 would never finish.
        if (radix < kMinCNodeRadix || radix > kMaxCNodeRadix) return Status::Corrupt;
        if (radix > remaining) return Status::OutOfRange;
        CapSlot* const slots = cnode_slots(cnode);
        if (slots == nullptr) return Status::NotFound;
        remaining -= radix;
        // remaining <= 63 here (radix >= 1), so the shift is defined.
        const u64 index = (cptr >> remaining) & ((1ull << radix) - 1);
        CapSlot* const slot = &slots[index];
        if (remaining == 0) return slot;
        if (slot->cap.type != ObjectType::CNode) return Status::NotFound;
        node = slot;
    }
}

}  // namespace bh::caps

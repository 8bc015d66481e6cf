// A slot holding one capability, and its place in the capability derivation tree (CDT).
//
// The CDT is an explicit tree (parent, first child, doubly linked siblings) rather than seL4's
// depth-ordered linked list: "the descendants of c" is simply c's subtree, revoke is a
// post-order walk of it, delete splices the children into the parent in place, and every link
// has a symmetric partner that the checker can verify (cdt.hpp). A cap derived from another
// (copy, mint) or created from an Untyped (retype) is a child of its source.
//
// An empty slot holds a Null cap and has no links. Zeroed memory is a valid empty slot, which
// is how a freshly retyped CNode starts.
#pragma once

#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

#include <type_traits>

#include "caps/cap_lock.hpp"
#include "caps/capability.hpp"

namespace bh {

struct CapSlot {
    Capability cap;
    CapSlot* parent;
    CapSlot* first_child;
    CapSlot* next_sibling;
    CapSlot* prev_sibling;

    bool empty() const { return cap.type == ObjectType::Null; }
};
static_assert(std::is_trivial_v<CapSlot> && std::is_standard_layout_v<CapSlot>);
static_assert(sizeof(void*) != 8 || sizeof(CapSlot) == (1u << caps::kCapSlotBits),
              "a CNode of radix r occupies 2^(r + kCapSlotBits) bytes");

// How capability operations tell the owner of the objects (the Kernel) what happened to them.
// The defaults do nothing. Order guarantees (docs/capabilities.md, "Hooks"):
//   * create: once per new object, after the whole retype has been validated and the object's
//     memory zeroed, before any slot changes. It may refuse (non-Ok): the retype then calls
//     destroy for the objects of this retype already created, newest first, and returns that
//     status with no slot or watermark changed.
//   * unmap: when a mapped Frame/DeviceMmio/Channel cap or a bound DmaStream cap is deleted
//     (also by revoke), while the cap is still in its slot. The cap's mapping (binding) must be
//     gone when it returns.
//   * destroy: when the last cap to an object is deleted, after its slot was emptied; it gets
//     a copy of that final cap.
//   * in_use: asked before the last cap to an object would be deleted (by delete or revoke);
//     true refuses the deletion with Busy, as for a CNode that still holds caps. An object the
//     kernel uses for good (a bound Vcpu) outlives its caps' holders' wishes, so destroy never
//     has to tear down what is running, under a lock the teardown itself would need.
// Hooks must not call back into capability operations. They run under the capability lock, as
// the operations that call them do.
class ObjectHooks {
public:
    virtual Status create(ObjectType type, PhysAddr base, unsigned size_bits, const CapLockHeld& held);
    virtual void destroy(const Capability& final_cap, const CapLockHeld& held);
    virtual void unmap(const Capability& cap, const CapLockHeld& held);
    virtual bool in_use(const Capability& final_cap) const;

protected:
    ~ObjectHooks() = default;
};

// Hooks that do nothing, for callers (and tests) that keep no object state.
class NoObjectHooks final : public ObjectHooks {};

}  // namespace bh

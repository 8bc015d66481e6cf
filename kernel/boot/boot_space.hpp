// The boot program's workspace: the boot CNode (4096 slots at platform::kBootCNodeBase, whose
// cap the kernel holds for good) and the registry of root Untypeds the program created over RAM
// and device windows. The operations here are the manifest ops that create capabilities from
// nothing (CreateUntyped, CreateIrqHandler) or from the boot CNode's caps (Retype, GrantCap).
// Each validates all of its arguments before it changes anything. After seal the space is
// closed: every construction op is refused, while the caps it holds stay alive (partitions'
// caps descend from them).
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/status.hpp>
#include <caps/cspace.hpp>
#include <lib/ids.hpp>

namespace bh {

class InterruptTable;
class Partition;

class BootSpace {
public:
    static constexpr unsigned kMaxRootUntypeds = 256;

    // Zeroes the boot CNode and installs the Untyped cap of the kernel's object memory in boot
    // slot manifest::kKernelUntypedSlot. RAM is [ram_base, ram_base + ram_size).
    Outcome init(u64 ram_base, u64 ram_size);

    // The slot, or nullptr outside the boot CNode.
    CapSlot* slot(BootSlot s) const;
    const CapSlot& cnode() const { return cnode_; }
    u64 ram_base() const { return ram_base_; }
    u64 ram_size() const { return ram_size_; }
    // The kernel's object memory and how much of it has been retyped (its Untyped's watermark).
    struct ObjectMemoryView {
        PhysAddr base;
        u64 size;
        u64 used;
    };
    ObjectMemoryView object_memory() const;

    // --- boot program operations (refused once closed)
    // slot := a root Untyped over [pa, pa + 2^size_bits): RAM outside the kernel region, or
    // (device) inside one assignable MMIO window; disjoint from every other root.
    Outcome create_untyped(BootSlot slot, PhysAddr pa, unsigned size_bits, bool device);
    // caps::retype from the Untyped in `untyped` into boot slots first .. first + count - 1.
    Outcome retype(BootSlot untyped, ObjectType type, unsigned size_bits, BootSlot first, u32 count,
                   ObjectHooks& hooks, const CapLockHeld& held);
    // slot := the IrqHandler cap of SPI `intid`, once per SPI.
    Outcome create_irq_handler(BootSlot slot, u64 intid, InterruptTable& interrupts);
    // A mint of the cap in `source` into `p`'s CSpace root at `index`, with `mask` and `badge`
    // (0 keeps the source's; a badge only on an unbadged Notification or Channel cap).
    Outcome grant_cap(BootSlot source, Partition& p, u64 index, Rights mask, u64 badge, const CapLockHeld& held) const;

    void close() { closed_ = true; }
    bool closed() const { return closed_; }

private:
    Outcome check_root_untyped(PhysAddr pa, u64 size, bool device) const;

    CapSlot cnode_{};  // the boot CNode's cap: a root held by the kernel itself
    struct RootUntyped {
        u64 base;
        u64 size;
    };
    RootUntyped roots_[kMaxRootUntypeds] = {};
    u32 root_count_ = 0;
    u64 ram_base_ = 0;
    u64 ram_size_ = 0;
    bool closed_ = false;
};

// The refusal of every construction op after seal.
inline constexpr Outcome kSealed{Status::Denied, "system is sealed"};

}  // namespace bh

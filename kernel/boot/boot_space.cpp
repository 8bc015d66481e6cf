#include <arch/arch.hpp>
#include <boot/boot_space.hpp>
#include <bulkhead/platform.hpp>
#include <irq/interrupts.hpp>
#include <lib/bulk_memory.hpp>
#include <partition/partition.hpp>

namespace bh {

Outcome BootSpace::init(u64 ram_base, u64 ram_size) {
    if (!range_valid(ram_base, ram_size)) return refuse(Status::OutOfRange, "RAM range");
    void* slots = arch::phys_to_virt(PhysAddr(platform::kBootCNodeBase));
    if (slots == nullptr) return refuse(Status::OutOfRange, "boot CNode not reachable");
    scrub(slots, u64{manifest::kBootSlots} << caps::kCapSlotBits);
    *this = BootSpace{};
    cnode_.cap.type = ObjectType::CNode;
    cnode_.cap.rights = caps::full_rights(ObjectType::CNode);
    cnode_.cap.size_bits = manifest::kBootCNodeRadix;
    cnode_.cap.object = platform::kBootCNodeBase;

    Capability objects{};
    objects.type = ObjectType::Untyped;
    objects.rights = caps::full_rights(ObjectType::Untyped);
    objects.size_bits = platform::kObjectMemoryBits;
    objects.object = platform::kObjectMemoryBase;
    const Status s = caps::create_root(*slot(BootSlot(manifest::kKernelUntypedSlot)), objects);
    if (!ok(s)) return refuse(s, "object memory");
    ram_base_ = ram_base;
    ram_size_ = ram_size;
    return Status::Ok;
}

CapSlot* BootSpace::slot(BootSlot s) const {
    if (s.raw() == 0 || s.raw() >= manifest::kBootSlots) return nullptr;
    return caps::cnode_slots(cnode_.cap) + s.raw();
}

BootSpace::ObjectMemoryView BootSpace::object_memory() const {
    const CapSlot* untyped = slot(BootSlot(manifest::kKernelUntypedSlot));
    const u64 used = untyped != nullptr && untyped->cap.type == ObjectType::Untyped ? untyped->cap.watermark() : 0;
    return ObjectMemoryView{PhysAddr(platform::kObjectMemoryBase), platform::kObjectMemorySize, used};
}

Outcome BootSpace::check_root_untyped(PhysAddr pa, u64 size, bool device) const {
    if (device) {
        bool inside = false;
        for (const platform::MmioWindow& w : platform::kAssignableMmio)
            inside = inside || range_inside(pa.raw(), size, w.base, w.size);
        if (!inside) return refuse(Status::Denied, "MMIO not assignable to partitions");
    } else {
        if (!range_inside(pa.raw(), size, ram_base_, ram_size_)) return refuse(Status::OutOfRange, "memory outside RAM");
        if (ranges_overlap(pa.raw(), size, platform::kKernelRegionBase, platform::kKernelRegionSize))
            return refuse(Status::Denied, "memory overlaps the kernel region");
    }
    for (u32 i = 0; i < root_count_; ++i)
        if (ranges_overlap(pa.raw(), size, roots_[i].base, roots_[i].size))
            return refuse(Status::Overlap, "memory already given to a partition");
    return Status::Ok;
}

Outcome BootSpace::create_untyped(BootSlot slot_index, PhysAddr pa, unsigned size_bits, bool device) {
    if (closed_) return kSealed;
    CapSlot* dest = slot(slot_index);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (root_count_ >= kMaxRootUntypeds) return refuse(Status::NoMemory, "too many untyped regions");
    if (size_bits < caps::kMinObjectBits || size_bits >= caps::kMaxUntypedBits)
        return refuse(Status::InvalidArgument, "untyped size out of range");
    const u64 size = 1ull << size_bits;
    if (!pa.aligned(size)) return refuse(Status::Misaligned, "untyped not aligned to its size");
    // Memory exclusivity starts here: every frame a partition can ever get comes from one of
    // these regions, and no two of them overlap.
    if (const Outcome o = check_root_untyped(pa, size, device); !o.ok()) return o;
    Capability cap{};
    cap.type = ObjectType::Untyped;
    cap.rights = caps::full_rights(ObjectType::Untyped);
    cap.size_bits = static_cast<u8>(size_bits);
    cap.flags = device ? Capability::kFlagDevice : 0;
    cap.object = pa.raw();
    const Status s = caps::create_root(*dest, cap);
    if (!ok(s)) return refuse(s, "cannot install the untyped cap");
    roots_[root_count_++] = RootUntyped{pa.raw(), size};
    return Status::Ok;
}

Outcome BootSpace::retype(BootSlot untyped, ObjectType type, unsigned size_bits, BootSlot first, u32 count,
                          ObjectHooks& hooks, const CapLockHeld& held) {
    if (closed_) return kSealed;
    CapSlot* source = slot(untyped);
    if (source == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    // Kernel memory (the object-memory Untyped) makes kernel objects only: a Frame or Channel
    // carved from it could be mapped into a partition, handing it partition objects and stage-2
    // tables (found by the Z3 model, proofs/: KF-1).
    const Capability& u = source->cap;
    if ((type == ObjectType::Frame || type == ObjectType::Channel || type == ObjectType::DeviceMmio) &&
        u.type == ObjectType::Untyped &&
        ranges_overlap(u.object, 1ull << u.size_bits, platform::kKernelRegionBase, platform::kKernelRegionSize))
        return refuse(Status::Denied, "kernel memory cannot become mappable memory");
    const Status s = caps::retype(*source, type, size_bits, cnode_, first.raw(), count, hooks, held);
    return ok(s) ? Outcome() : refuse(s, "retype refused");
}

Outcome BootSpace::create_irq_handler(BootSlot slot_index, u64 intid, InterruptTable& interrupts) {
    if (closed_) return kSealed;
    CapSlot* dest = slot(slot_index);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    switch (const Status s = interrupts.create_handler(*dest, intid)) {
        case Status::Ok: return s;
        case Status::Denied: return refuse(s, "interrupt not assignable to partitions");
        default: return refuse(s, "interrupt handler already created or slot occupied");
    }
}

Outcome BootSpace::grant_cap(BootSlot source_index, Partition& p, u64 index, Rights mask, u64 badge,
                             const CapLockHeld& held) const {
    if (closed_) return kSealed;
    CapSlot* source = slot(source_index);
    if (source == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (p.cspace_root.type != ObjectType::CNode || index == 0 || index >= caps::cnode_slot_count(p.cspace_root))
        return refuse(Status::OutOfRange, "no such slot in the partition's CSpace");
    CapSlot& dest = caps::cnode_slots(p.cspace_root)[index];
    // Grant of the boot program's full caps: a mint, so the partition never gets more than the
    // mask and the kernel keeps the original (which may hold the boot mapping). The badge, if
    // any, is the mint's: only on an unbadged Notification or Channel cap.
    if (badge != 0 && !caps::badgeable(source->cap.type))
        return refuse(Status::InvalidArgument, "badge on a cap that is not a Notification or Channel");
    const Status s = caps::mint(*source, dest, mask, badge, held);
    return ok(s) ? Outcome() : refuse(s, "grant refused");
}

}  // namespace bh

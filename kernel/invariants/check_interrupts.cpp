// INV-5 interrupt ownership.
#include <invariants/checker.hpp>

namespace bh::checker {

// ---- INV-5: every IrqHandler cap names an SPI the kernel made one for; the caps of one SPI
// are in at most one partition's CSpace; a binding is made by a live partition no other
// partition shares the SPI with, to a live Notification (or, delivered virtually, to the owner's
// virtual GIC), routed to one of the machine's cores.
void Checker::interrupts() {
    const InterruptTable& table = s_.interrupts;
    PartitionId holder[InterruptTable::kLines];
    for (u32 v = 0; v < view_count_; ++v) {
        PartitionId partition;  // none: view 0 is the boot CNode (the kernel's)
        for (u32 i = 0; i < count_ && v != 0; ++i)
            if (cspace_view_[i] == v) partition = PartitionId(i);
        for_each_occupied(views_[v], [&](const CapSlot& slot) {
            if (slot.cap.type != ObjectType::IrqHandler) return;
            const u32 intid = slot.cap.irq();
            const InterruptTable::Binding* b = table.binding(intid);
            if (b == nullptr || !b->created) {
                locate(value(add(InvariantId::InterruptOwnership,
                                 "an IrqHandler cap names an SPI the kernel made no handler for"),
                             intid),
                       &slot);
                return;
            }
            if (partition.is_none()) return;
            PartitionId& h = holder[platform::assignable_spi_number(intid)];
            if (!h.is_none() && h != partition)
                locate(value(add(InvariantId::InterruptOwnership, "an SPI's IrqHandler caps are in two partitions"),
                             intid),
                       &slot);
            h = partition;
        });
    }
    // After seal (seal refuses otherwise): the Read caps of a notification are in one
    // partition, so an interrupt bound to it reaches its owner only.
    if (s_.sealed()) {
        for (u32 i = 0; i < count_; ++i) {
            if (cspace_view_[i] == 0) continue;
            for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
                const Capability& c = slot.cap;
                if (c.type != ObjectType::Notification || !c.rights.has(Rights::read())) return;
                for (u32 j = i + 1; j < count_; ++j) {
                    if (cspace_view_[j] == 0) continue;
                    bool shared = false;
                    for_each_occupied(views_[cspace_view_[j]], [&](const CapSlot& other) {
                        shared = shared || (other.cap.type == ObjectType::Notification &&
                                            other.cap.object == c.object && other.cap.rights.has(Rights::read()));
                    });
                    if (shared)
                        locate(add(InvariantId::InterruptOwnership, "a notification can be waited on by two partitions"),
                               &slot);
                }
            });
        }
    }
    for (u32 k = 0; k < InterruptTable::kLines; ++k) {
        const u32 intid = platform::assignable_spi_intid(k);
        const InterruptTable::Binding& b = *table.binding(intid);
        if (!b.bound()) {
            if (b.masked || !b.owner.is_none())
                value(add(InvariantId::InterruptOwnership, "an unbound SPI keeps binding state"), intid);
            continue;
        }
        if (!b.created || b.owner.raw() >= count_ || !live_[b.owner.raw()])
            value(add(InvariantId::InterruptOwnership, "an SPI is bound for no live partition"), intid);
        else if (!holder[k].is_none() && holder[k] != b.owner)
            value(add(InvariantId::InterruptOwnership, "an SPI is bound by one partition and held by another"), intid);
        if (b.core.raw() >= s_.cores.online())
            value(add(InvariantId::InterruptOwnership, "an SPI is routed to no core of the machine"), intid);
        if (b.virtual_delivery) {
            // Delivered through its owner's virtual GIC: a partition that has one, holding the
            // SPI's cap (checked above), and to no notification.
            const Partition* owner = s_.partitions[b.owner];
            if (b.notification != 0 || owner == nullptr || !owner->has_vgic())
                value(add(InvariantId::InterruptOwnership,
                          "an SPI is delivered virtually to a partition without a virtual GIC"),
                      intid);
            continue;
        }
        if (!names_object(ObjectType::Notification, arch::phys_to_virt(PhysAddr(b.notification))))
            value(add(InvariantId::InterruptOwnership, "an SPI is bound to a notification no cap names"), intid);
        // The interrupt reaches its owner or nobody: no other partition can wait on it.
        for (u32 i = 0; i < count_; ++i) {
            if (PartitionId(i) == b.owner || cspace_view_[i] == 0) continue;
            bool waits = false;
            for_each_occupied(views_[cspace_view_[i]], [&](const CapSlot& slot) {
                waits = waits || (slot.cap.type == ObjectType::Notification && slot.cap.object == b.notification &&
                                  slot.cap.rights.has(Rights::read()));
            });
            if (waits)
                value(about(add(InvariantId::InterruptOwnership,
                                "an SPI is bound to a notification another partition can wait on"),
                            part(i)),
                      intid);
        }
    }
}

// Some cap in the boot CNode or a CSpace names the object of `type` that the kernel reaches
// at `object` (arch::phys_to_virt of its physical address).
bool Checker::names_object(ObjectType type, const void* object) const {
    if (object == nullptr) return false;
    bool found = false;
    for (u32 v = 0; v < view_count_ && !found; ++v)
        for_each_occupied(views_[v], [&](const CapSlot& slot) {
            found = found || (slot.cap.type == type &&
                              arch::phys_to_virt(PhysAddr(slot.cap.object)) == object);
        });
    return found;
}

}  // namespace bh::checker

// Interrupt ownership (invariant INV-5; docs/capabilities.md "Interrupts"): each
// shared peripheral interrupt a partition may have is reached only through its IrqHandler
// capability, created once at boot (manifest op CreateIrqHandler) and granted to one partition.
// The holder binds the SPI to a Notification it waits on (a Read cap: an interrupt reaches only
// its owner, which passes work on to others through its own signal caps, so binding adds no
// information flow); when the SPI fires, the kernel disables it at the distributor, ORs the
// binding's badge into the notification's word (waking the owner), and
// enables it again only when the holder acknowledges (IrqAck), after its driver has quietened
// the device. So an SPI reaches exactly one notification, and a device that keeps its line
// asserted costs its owner's core one exit per acknowledgement, not an interrupt storm.
//
// seL4's IRQHandler, simplified; this serves bare-metal driver partitions. A partition with a
// virtual GIC receives its SPIs as virtual interrupts instead (the second binding kind,
// `virtual_delivery`, made by bind_virtual when it starts): the SPI follows the enable and route
// its guest gives it at the emulated distributor, and when it fires it is forwarded to the
// target vCPU through a list register with HW = 1, staying active until the guest deactivates it
// (kernel/vgic, docs/vgic.md).
//
// Locking: the table is guarded by the capability lock, like notifications; fired() and
// partition_stopped() take it themselves, the other calls take its witness.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cap_slot.hpp>
#include <lib/ids.hpp>

namespace bh {

class InterruptTable {
public:
    // State only for the SPIs a partition may be given (platform::kAssignableSpis).
    static constexpr u32 kLines = platform::kAssignableSpiCount;

    struct Binding {
        u64 notification = 0;  // physical address of the Notification object; 0: not bound
        u64 badge = 0;         // ORed into its word when the SPI fires (chosen by the owner)
        PartitionId owner;     // the partition that bound it
        CoreId core;           // the core the SPI is routed to: the binding vCPU's
        bool masked = false;   // fired, disabled at the distributor until IrqAck
        bool created = false;  // its IrqHandler cap exists (made at most once)
        // Delivered through the owner's virtual GIC, not a notification (then notification = 0).
        bool virtual_delivery = false;
        bool bound() const { return notification != 0 || virtual_delivery; }
    };

    // What the arch IRQ path does with an SPI that fired (fired()).
    struct Fired {
        bool forward = false;  // a virtual-delivery SPI: hand it to `owner`'s vGIC, leave it active
        PartitionId owner;     // when `forward`
    };

    // Boot: dest := the IrqHandler cap (Control, Grant) of `intid`.
    //   Denied not an assignable SPI (platform::assignable_spi); Exists already created or dest
    //   occupied.
    Status create_handler(CapSlot& dest, u64 intid);

    // --- capability calls: each check_* is the decode half of the call after it, which then
    // cannot fail. `irq` is the invoked cap.
    // Binding the SPI to the Notification `notification` names (which needs Read: the caller
    // waits on it) with `badge` (non-zero: the bits that tell this interrupt apart from the
    // notification's signallers), routed to `core`, enabled unless it awaits an
    // acknowledgement. Rebinding replaces the target and badge.
    //   InvalidArgument irq not an IrqHandler cap, notification not a Notification cap, badge 0,
    //   no such core; Denied irq without Control or notification without Read, or the SPI is
    //   delivered through its partition's virtual GIC (also for ack and unbind).
    Status check_bind(const Capability& irq, const Capability& notification, u64 badge, CoreId core,
                      const CapLockHeld&) const;
    void bind(const Capability& irq, const Capability& notification, u64 badge, PartitionId owner, CoreId core,
              const CapLockHeld&);
    // Ack (enable a fired SPI again) and unbind (disable it, forget the binding).
    //   InvalidArgument / Denied as bind; NotFound not bound.
    Status check_bound(const Capability& irq, const CapLockHeld&) const;
    void ack(const Capability& irq, const CapLockHeld&);
    void unbind(const Capability& irq, const CapLockHeld&);

    // The SPI fired (the arch IRQ path, on the core it is routed to; takes the capability lock):
    // disable it, then signal its notification. An SPI with no binding is only disabled. A
    // virtual-delivery SPI is left as it is and returned to be forwarded.
    Fired fired(u32 intid);

    // --- virtual delivery (a partition with a virtual GIC; take the capability lock)
    // When the partition `owner` starts: its IrqHandler cap `irq` makes the SPI one of its
    // virtual SPIs, disabled until its guest enables it. InvalidArgument / Denied as bind; Busy
    // when the SPI is bound to a notification.
    Status bind_virtual(const Capability& irq, PartitionId owner);
    // The guest's enable and route of a virtual-delivery SPI of `owner`: on and routed to
    // `core`, or off (`enable` false, or its route names no vCPU). Ignored for any other SPI.
    void virtual_update(u32 intid, PartitionId owner, bool enable, CoreId core);

    // --- object life cycle (the kernel's hooks, under the capability lock)
    void notification_destroyed(u64 object, const CapLockHeld&);
    void handler_destroyed(u32 intid, const CapLockHeld&);
    // A partition stops or restarts: the bindings it made go (a restarted partition binds anew,
    // so nothing of its previous run decides where an interrupt goes). Takes the lock.
    void partition_stopped(PartitionId partition);

    // Read-only view for the invariant checker; nullptr for an SPI that is not assignable.
    const Binding* binding(u64 intid) const {
        const u32 n = platform::assignable_spi_number(intid);
        return n < kLines ? &lines_[n] : nullptr;
    }

private:
    Binding* line(u64 intid) {
        return const_cast<Binding*>(static_cast<const InterruptTable*>(this)->binding(intid));
    }
    void forget(u32 intid);

    Binding lines_[kLines] = {};
};

}  // namespace bh

// Interrupt ownership (design.md invariant 5; docs/capabilities.md "Interrupts"): each
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
// Locking: the table is guarded by cap_lock, like notifications; fired() and
// partition_stopped() take it themselves, the other calls run under it.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <caps/cap_slot.hpp>

namespace bh {

class InterruptTable {
public:
    // State only for the SPIs a partition may be given (platform::kAssignableSpis).
    static constexpr u32 kLines = platform::kAssignableSpiCount;

    struct Binding {
        u64 notification = 0;  // physical address of the Notification object; 0: not bound
        u64 badge = 0;         // ORed into its word when the SPI fires (chosen by the owner)
        u32 owner_plus1 = 0;   // the partition that bound it (index + 1)
        u32 core = 0;          // the core the SPI is routed to: the binding vCPU's
        bool masked = false;   // fired, disabled at the distributor until IrqAck
        bool created = false;  // its IrqHandler cap exists (made at most once)
        // Delivered through the owner's virtual GIC, not a notification (then notification = 0).
        bool virtual_delivery = false;
        bool bound() const { return notification != 0 || virtual_delivery; }
    };

    // What the arch IRQ path does with an SPI that fired (fired()).
    struct Fired {
        bool forward = false;  // a virtual-delivery SPI: hand it to `owner`'s vGIC, leave it active
        u32 owner = 0;         // partition index, when `forward`
    };

    // Boot: dest := the IrqHandler cap (Control, Grant) of `intid`.
    //   Denied not an assignable SPI (platform::assignable_spi); Exists already created or dest
    //   occupied.
    Status create_handler(CapSlot& dest, u64 intid);

    // --- capability calls (cap_lock held). `irq` is the invoked cap.
    // Binds the SPI to the Notification `notification` names (which needs Read: the caller
    // waits on it) with `badge` (non-zero: the bits that tell this interrupt apart from the
    // notification's signallers), routes it to `core` and enables it unless it awaits an
    // acknowledgement. Rebinding replaces the target and badge.
    //   InvalidArgument irq not an IrqHandler cap, notification not a Notification cap, badge 0;
    //   Denied irq without Control or notification without Read, or the SPI is delivered
    //   through the partition's virtual GIC (also for ack and unbind).
    Status bind(const Capability& irq, const Capability& notification, u64 badge, u32 owner_index, unsigned core);
    // Enables a fired SPI again. InvalidArgument / Denied as bind; NotFound not bound.
    Status ack(const Capability& irq);
    // Disables the SPI and forgets its binding. InvalidArgument / Denied as bind; NotFound not bound.
    Status unbind(const Capability& irq);

    // The SPI fired (the arch IRQ path, on the core it is routed to; takes cap_lock): disable
    // it, then signal its notification. An SPI with no binding is only disabled. A
    // virtual-delivery SPI is left as it is and returned to be forwarded.
    Fired fired(u32 intid);

    // --- virtual delivery (a partition with a virtual GIC; takes cap_lock)
    // When the partition `owner_index` starts: its IrqHandler cap `irq` makes the SPI one of its
    // virtual SPIs, disabled until its guest enables it. InvalidArgument / Denied as bind; Busy
    // when the SPI is bound to a notification.
    Status bind_virtual(const Capability& irq, u32 owner_index);
    // The guest's enable and route of a virtual-delivery SPI of `owner_index`: on and routed to
    // `core`, or off (`enable` false, or its route names no vCPU). Ignored for any other SPI.
    void virtual_update(u32 intid, u32 owner_index, bool enable, unsigned core);

    // --- object life cycle (System's hooks, cap_lock held or boot)
    void notification_destroyed(u64 object);
    void handler_destroyed(u32 intid);
    // A partition stops or restarts: the bindings it made go (a restarted partition binds anew,
    // so nothing of its previous run decides where an interrupt goes). Takes cap_lock.
    void partition_stopped(u32 partition_index);

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

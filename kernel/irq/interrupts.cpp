#include <arch/arch.hpp>
#include <arch/vgic_hw.hpp>
#include <caps/cspace.hpp>
#include <ipc/notification.hpp>
#include <irq/interrupts.hpp>

namespace bh {

namespace {

// The SPI an invoked IrqHandler cap names: InvalidArgument for another type, Denied without
// Control. A well-formed IrqHandler cap only exists for an assignable SPI (create_handler).
Status check_handler(const Capability& irq) {
    if (irq.type != ObjectType::IrqHandler) return Status::InvalidArgument;
    if (!irq.rights.has(Rights::control())) return Status::Denied;
    if (platform::assignable_spi(irq.irq()) == nullptr) return Status::InvalidArgument;  // corrupt cap
    return Status::Ok;
}

}  // namespace

Status InterruptTable::create_handler(CapSlot& dest, u64 intid) {
    Binding* line_of = line(intid);
    if (line_of == nullptr) return Status::Denied;  // not an assignable SPI
    Binding& b = *line_of;
    if (b.created || !dest.empty()) return Status::Exists;
    Capability cap{};
    cap.type = ObjectType::IrqHandler;
    cap.rights = caps::full_rights(ObjectType::IrqHandler);
    cap.object = intid;
    const Status s = caps::create_root(dest, cap);
    if (ok(s)) b.created = true;
    return s;
}

Status InterruptTable::check_bind(const Capability& irq, const Capability& notification, u64 badge, CoreId core,
                                  const CapLockHeld&) const {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    if (notification.type != ObjectType::Notification || badge == 0) return Status::InvalidArgument;
    if (!notification.rights.has(Rights::read())) return Status::Denied;
    if (core.raw() >= platform::kMaxCores) return Status::InvalidArgument;
    if (binding(irq.irq())->virtual_delivery) return Status::Denied;
    return Status::Ok;
}

void InterruptTable::bind(const Capability& irq, const Capability& notification, u64 badge, PartitionId owner,
                          CoreId core, const CapLockHeld&) {
    Binding& b = *line(irq.irq());
    // The distributor's configuration of an SPI may change only while it is disabled.
    if (b.bound()) arch::irq_disable(irq.irq());
    b.notification = notification.object;
    b.badge = badge;
    b.owner = owner;
    b.core = core;
    if (!b.masked) arch::irq_enable(irq.irq(), core.raw());
}

Status InterruptTable::check_bound(const Capability& irq, const CapLockHeld&) const {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    if (binding(irq.irq())->virtual_delivery) return Status::Denied;
    return binding(irq.irq())->bound() ? Status::Ok : Status::NotFound;
}

void InterruptTable::ack(const Capability& irq, const CapLockHeld&) {
    Binding& b = *line(irq.irq());
    if (b.masked) {
        b.masked = false;
        arch::irq_enable(irq.irq(), b.core.raw());
    }
}

void InterruptTable::unbind(const Capability& irq, const CapLockHeld&) { forget(irq.irq()); }

Status InterruptTable::bind_virtual(const Capability& irq, PartitionId owner) {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    CapLockGuard guard(cap_lock);
    Binding& b = *line(irq.irq());
    if (b.bound()) return b.virtual_delivery && b.owner == owner ? Status::Ok : Status::Busy;
    arch::irq_disable(irq.irq());
    b.virtual_delivery = true;
    b.owner = owner;
    b.core = CoreId(0);
    return Status::Ok;
}

void InterruptTable::virtual_update(u32 intid, PartitionId owner, bool enable, CoreId core) {
    Binding* b = line(intid);
    if (b == nullptr || core.raw() >= platform::kMaxCores) return;
    CapLockGuard guard(cap_lock);
    if (!b->virtual_delivery || b->owner != owner) return;
    if (enable) {
        b->core = core;
        arch::irq_enable(intid, core.raw());
    } else {
        arch::irq_disable(intid);
    }
}

void InterruptTable::forget(u32 intid) {
    Binding& b = *line(intid);
    arch::irq_disable(intid);
    // A forwarded SPI may be active in a list register of a vCPU that will never deactivate it
    // (its partition stops): it must not stay active at the distributor for good.
    if (b.virtual_delivery) arch::irq_deactivate(intid, b.core.raw());
    const bool created = b.created;
    b = Binding{};
    b.created = created;
}

InterruptTable::Fired InterruptTable::fired(u32 intid) {
    Binding* b = line(intid);
    if (b == nullptr) {
        // Never enabled by the kernel: whatever enabled it, it stays off.
        if (intid >= platform::kFirstSpi && intid < platform::kSpiLimit) arch::irq_disable(intid);
        return Fired{};
    }
    CapLockGuard guard(cap_lock);
    if (b->virtual_delivery) return Fired{true, b->owner};
    arch::irq_disable(intid);
    if (!b->bound()) return Fired{};  // unbound meanwhile on another core: it stays disabled
    b->masked = true;
    if (auto* n = static_cast<Notification*>(arch::phys_to_virt(PhysAddr(b->notification))))
        notification_signal(*n, b->badge, guard.held());
    return Fired{};
}

void InterruptTable::notification_destroyed(u64 object, const CapLockHeld&) {
    for (u32 i = 0; i < kLines; ++i)
        if (lines_[i].bound() && lines_[i].notification == object) forget(platform::assignable_spi_intid(i));
}

void InterruptTable::handler_destroyed(u32 intid, const CapLockHeld&) {
    if (line(intid) == nullptr) return;
    forget(intid);
    line(intid)->created = false;
}

void InterruptTable::partition_stopped(PartitionId partition) {
    CapLockGuard guard(cap_lock);
    for (u32 i = 0; i < kLines; ++i)
        if (lines_[i].owner == partition) forget(platform::assignable_spi_intid(i));
}

}  // namespace bh

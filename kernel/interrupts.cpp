#include <arch/arch.hpp>
#include <arch/vgic_hw.hpp>
#include <caps/cspace.hpp>
#include <interrupts.hpp>
#include <notification.hpp>

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

Status InterruptTable::bind(const Capability& irq, const Capability& notification, u64 badge, u32 owner_index,
                            unsigned core) {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    if (notification.type != ObjectType::Notification || badge == 0) return Status::InvalidArgument;
#ifndef BH_PLANTED_BUG_IRQ_BIND_WITHOUT_READ  // test-only planted bug (docs/fuzzing.md): binds into others' notifications
    if (!notification.rights.has(Rights::read())) return Status::Denied;
#endif
    if (core >= platform::kMaxCores) return Status::InvalidArgument;
    Binding& b = *line(irq.irq());
    if (b.virtual_delivery) return Status::Denied;
    // The distributor's configuration of an SPI may change only while it is disabled.
    if (b.bound()) arch::irq_disable(irq.irq());
    b.notification = notification.object;
    b.badge = badge;
    b.owner_plus1 = owner_index + 1;
    b.core = core;
    if (!b.masked) arch::irq_enable(irq.irq(), core);
    return Status::Ok;
}

Status InterruptTable::ack(const Capability& irq) {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    Binding& b = *line(irq.irq());
    if (b.virtual_delivery) return Status::Denied;
    if (!b.bound()) return Status::NotFound;
    if (b.masked) {
        b.masked = false;
        arch::irq_enable(irq.irq(), b.core);
    }
    return Status::Ok;
}

Status InterruptTable::unbind(const Capability& irq) {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    if (line(irq.irq())->virtual_delivery) return Status::Denied;
    if (!line(irq.irq())->bound()) return Status::NotFound;
    forget(irq.irq());
    return Status::Ok;
}

Status InterruptTable::bind_virtual(const Capability& irq, u32 owner_index) {
    if (const Status s = check_handler(irq); !ok(s)) return s;
    LockGuard guard(cap_lock);
    Binding& b = *line(irq.irq());
    if (b.bound()) return b.virtual_delivery && b.owner_plus1 == owner_index + 1 ? Status::Ok : Status::Busy;
    arch::irq_disable(irq.irq());
    b.virtual_delivery = true;
    b.owner_plus1 = owner_index + 1;
    b.core = 0;
    return Status::Ok;
}

void InterruptTable::virtual_update(u32 intid, u32 owner_index, bool enable, unsigned core) {
    Binding* b = line(intid);
    if (b == nullptr || core >= platform::kMaxCores) return;
    LockGuard guard(cap_lock);
    if (!b->virtual_delivery || b->owner_plus1 != owner_index + 1) return;
    if (enable) {
        b->core = core;
        arch::irq_enable(intid, core);
    } else {
        arch::irq_disable(intid);
    }
}

void InterruptTable::forget(u32 intid) {
    Binding& b = *line(intid);
    arch::irq_disable(intid);
    // A forwarded SPI may be active in a list register of a vCPU that will never deactivate it
    // (its partition stops): it must not stay active at the distributor for good.
    if (b.virtual_delivery) arch::irq_deactivate(intid, b.core);
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
    LockGuard guard(cap_lock);
    if (b->virtual_delivery) return Fired{true, b->owner_plus1 - 1};
    arch::irq_disable(intid);
    if (!b->bound()) return Fired{};  // unbound meanwhile on another core: it stays disabled
    b->masked = true;
    notification_signal_object(b->notification, b->badge);
    return Fired{};
}

void InterruptTable::notification_destroyed(u64 object) {
    for (u32 i = 0; i < kLines; ++i)
        if (lines_[i].bound() && lines_[i].notification == object) forget(platform::assignable_spi_intid(i));
}

void InterruptTable::handler_destroyed(u32 intid) {
    if (line(intid) == nullptr) return;
    forget(intid);
    line(intid)->created = false;
}

void InterruptTable::partition_stopped(u32 partition_index) {
    LockGuard guard(cap_lock);
    for (u32 i = 0; i < kLines; ++i)
        if (lines_[i].owner_plus1 == partition_index + 1) forget(platform::assignable_spi_intid(i));
}

}  // namespace bh

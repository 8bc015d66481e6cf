#include <arch/vgic_hw.hpp>
#include <bulkhead/platform.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cnode.hpp>
#include <devices/mmio_forward.hpp>
#include <devices/virtual_devices.hpp>
#include <devices/virtual_uart.hpp>
#include <kernel.hpp>
#include <lib/format.hpp>

namespace bh {

namespace {

using namespace manifest::partition_flag;

enum class Device { Distributor, Redistributors, Uart };

struct Window {
    Device device;
    u64 base;
    u64 size;
    const char* name;
};

constexpr u64 kUartWindow = kPageSize;

// The windows `p`'s devices occupy; returns how many.
unsigned windows_of(const Partition& p, Window (&out)[3]) {
    unsigned n = 0;
    if (p.has_vgic()) {
        out[n++] = Window{Device::Distributor, platform::kGicdBase, vgic::kDistributorSize, "GIC distributor"};
        out[n++] = Window{Device::Redistributors, platform::kGicrBase, p.vcpu_count * vgic::kRedistributorStride,
                          "GIC redistributor"};
    }
    if (p.has_uart()) out[n++] = Window{Device::Uart, platform::kUartBase, kUartWindow, "UART"};
    return n;
}

// Each refusal is the partition's fault; with fault policy "inject" it comes back to the
// partition, which can repeat it at will, so these lines share the console under a budget of
// their own as the fault reports do (T-34): the first burst and then a few a second.
void log_not_emulated(Partition& p, const Window& w, u64 ipa, const char* why) {
    if (!p.emulation_reports.admit(arch::counter_now(), arch::counter_frequency() / ReportBudget::kRefillsPerSecond))
        return;
    const u64 skipped = p.emulation_reports.take_suppressed();
    if (skipped != 0) log("partition '", p.name, "': ", skipped, " more device accesses not emulated, not reported");
    log("partition '", p.name, "': ", w.name, " access at IPA ", Hex{ipa}, " not emulated: ", why);
}

Emulation emulate_mmio(InterruptTable& interrupts, Vcpu& v, const arch::GuestExit& e) {
    Partition& p = *v.partition;
    const u64 ipa = e.ipa.raw();
    Window windows[3];
    const unsigned count = windows_of(p, windows);
    const Window* w = nullptr;
    for (unsigned i = 0; i < count && w == nullptr; ++i)
        if (range_inside(ipa, 1, windows[i].base, windows[i].size)) w = &windows[i];
    if (w == nullptr) {
        switch (forward_access(v, e)) {
            case Forwarded::NotForwarded: return Emulation::NotEmulated;
            case Forwarded::Parked: return Emulation::Parked;
            case Forwarded::Completed: return Emulation::Resume;
            case Forwarded::Fault: return Emulation::Fault;
        }
    }
    if (!e.mmio.ok()) {
        log_not_emulated(p, *w, ipa, e.mmio.refusal);
        return Emulation::Fault;
    }
    const arch::MmioAccess& a = e.mmio.access;
    const u64 offset = ipa - w->base;
    u64 value = a.write ? arch::store_value(a, v.regs) : 0;
    const char* why = nullptr;
    switch (w->device) {
        case Device::Distributor: why = vgic::distributor_access(v, interrupts, offset, a.size, a.write, value); break;
        case Device::Redistributors: why = vgic::redistributor_access(v, offset, a.size, a.write, value); break;
        case Device::Uart: why = vuart::access(v, offset, a.size, a.write, value); break;
    }
    if (why != nullptr) {
        log_not_emulated(p, *w, ipa, why);
        return Emulation::Fault;
    }
    if (!a.write) arch::complete_load(a, v.regs, value);
    v.regs.elr += 4;  // ESR.IL: every AArch64 instruction is 4 bytes
    return Emulation::Resume;
}

// An OS guest's access to a debug or PMU register it programs at boot (arch/aarch64/
// os_registers.hpp): a read gives zero, a write is dropped, and the guest moves past the
// instruction. Nothing reaches the physical register, so no breakpoint, watchpoint or counter is
// ever armed: the isolation the traps give stays whole. Every other trapped register stays the
// partition's fault, and so does every one of these for a partition that is not an OS guest.
Emulation emulate_sysreg(Vcpu& v, const arch::GuestExit& e) {
    const arch::SysRegAccess& r = e.sysreg;
    if (arch::is_sgi_register(r) && !r.read && emulate_sgi_write(v, r.rt == 31 ? 0 : v.regs.x[r.rt], r.op2 == 5))
        return Emulation::Resume;
    if (!v.partition->os_guest() || !e.os_quiet) return Emulation::NotEmulated;
    if (r.read && r.rt != 31) v.regs.x[r.rt] = 0;
    v.regs.skip_trapped_instruction();  // a trapped MRS/MSR returns to itself
    return Emulation::Resume;
}

Partition* console_input_partition(const PartitionTable& partitions) {
    Partition* found = nullptr;
    partitions.for_each([&found](Partition& p) {
        if (p.has_console_input()) found = &p;
    });
    return found;
}

}  // namespace

bool overlaps_emulated_window(const Partition& p, Ipa ipa, u64 size) {
    Window windows[3];
    const unsigned count = windows_of(p, windows);
    for (unsigned i = 0; i < count; ++i)
        if (ranges_overlap(ipa.raw(), size, windows[i].base, windows[i].size)) return true;
    return false;
}

void virtual_devices_launch(InterruptTable& interrupts, Partition& p) {
    u32 hardware = 0;
    if (p.has_vgic() && p.cspace_root.type == ObjectType::CNode) {
        const CapSlot* slots = caps::cnode_slots(p.cspace_root);
        for (u64 k = 0; slots != nullptr && k < caps::cnode_slot_count(p.cspace_root); ++k) {
            const Capability& c = slots[k].cap;
            if (c.type != ObjectType::IrqHandler || c.irq() < vgic::kSpiBase || c.irq() >= vgic::kInterrupts) continue;
            if (ok(interrupts.bind_virtual(c, p.index))) hardware |= 1u << (c.irq() - vgic::kSpiBase);
        }
    }
    if (p.has_vgic()) vgic::reset_distributor(p, hardware, p.has_uart(), p.forward.spi);
    if (p.has_uart()) vuart::reset(p);
    if (p.has_console_input()) {
        CapLockGuard guard(cap_lock);  // the distributor's configuration words, as for irq_enable
        arch::console_input_route(p.vcpus[0].core.raw());
    }
}

void virtual_devices_enter(Vcpu& v, bool reset) {
    if (v.partition->has_vgic()) vgic::enter(v, reset);
}

void virtual_devices_leave(Vcpu& v) {
    if (v.partition->has_vgic()) vgic::leave(v);
}

Emulation emulate_sync_exit(InterruptTable& interrupts, Vcpu& v, const arch::GuestExit& e) {
    switch (e.cause) {
        case arch::GuestExit::Cause::MemoryAbort: return emulate_mmio(interrupts, v, e);
        case arch::GuestExit::Cause::SystemRegister: return emulate_sysreg(v, e);
        default: return Emulation::NotEmulated;
    }
}

bool physical_interrupt(Kernel& k, CoreId core, u32 intid, bool in_exit) {
    if (intid < vgic::kSgis) return false;  // SGI 0: a kick; the exit itself was the point
    if (intid < vgic::kPrivateInterrupts) {
        Vcpu* v = k.cores.on(core);
        const bool virtual_gic = v != nullptr && v->partition != nullptr && v->partition->has_vgic();
        if (intid == vgic::kMaintenancePpi) {
            if (virtual_gic && in_exit) vgic::maintenance(*v);
            return false;
        }
        if (intid == vgic::kTimerPpi) {
            if (virtual_gic) {
                vgic::timer_fired(*v);
                return true;
            }
            arch::local_ppi_enable(vgic::kTimerPpi, false);  // no virtual GIC here to take it
        }
        return false;
    }
    if (intid == platform::kUartSpi) {
        Partition* p = console_input_partition(k.partitions);
        if (p != nullptr && p->load_state() == PartitionState::Running) {
            vuart::console_input(*p);
        } else {
            u8 discarded = 0;  // nobody to read it (yet): not kept, so the line cannot storm
            while (arch::console_read(discarded)) {
            }
        }
        return false;
    }
    const InterruptTable::Fired f = k.interrupts.fired(intid);
    if (!f.forward) return false;
    Partition* p = k.partitions[f.owner];
    if (p != nullptr && vgic::raise_spi(*p, intid)) return true;
    // Its route names no vCPU: off until the guest routes it somewhere (it stays pending at the
    // device), rather than firing again at once.
    k.interrupts.virtual_update(intid, f.owner, false, CoreId(0));
    return false;
}

}  // namespace bh

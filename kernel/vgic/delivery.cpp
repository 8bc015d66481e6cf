// Virtual interrupts into list registers: raising an interrupt for a vCPU (from any core),
// filling its core's list registers before the guest resumes, the maintenance interrupt, and a
// vCPU's virtual CPU interface entering and leaving its core (docs/vgic.md, "Delivery").
#include <arch/arch.hpp>
#include <arch/vgic_hw.hpp>
#include <vgic/vgic.hpp>
#include <vgic/vgic_internal.hpp>
#include <devices/virtual_uart.hpp>

namespace bh::vgic {

using namespace detail;

namespace {

// The SPIs the distributor forwards now.
u32 deliverable_spis(const Partition& p) {
    if ((p.vgic.ctlr.load() & kCtlrEnableGrp1) == 0) return 0;
    return p.vgic.enabled.load() & p.vgic.visible;
}

// Puts `intid` into a list register. `in_use`: registers holding something when the fill began;
// `empty`: the free ones left (updated). False when none is free.
bool place(const Partition& p, Vcpu& v, u32 intid, u32 in_use, u32& empty) {
    VgicCpu& c = v.vgic;
    for (u32 used = in_use; used != 0; used &= used - 1) {
        const unsigned i = lowest(used);
        if (c.lr_intid[i] != intid) continue;
        const u64 lr = arch::vgic_read_lr(i);
        const u64 state = lr & arch::lr::kStateMask;
        if ((state & arch::lr::kPending) != 0) return true;  // raised again before it was taken: one
        if (state == arch::lr::kActive) {
            // Raised again while the guest handles it: pending and active (an edge, or the UART
            // level seen again). An HW interrupt cannot be: its physical source stays active.
            if ((lr & arch::lr::kHw) == 0) arch::vgic_write_lr(i, lr | arch::lr::kPending);
            return true;
        }
        arch::vgic_write_lr(i, list_register(p, v, intid));  // ended, its EOI maintenance not yet taken
        return true;
    }
    if (empty == 0) return false;
    const unsigned i = lowest(empty);
    empty &= empty - 1;
    c.lr_intid[i] = intid;
    arch::vgic_write_lr(i, list_register(p, v, intid));
    return true;
}

static_assert(kUnderflowArmed == arch::ich::kUnderflow);

void set_underflow(VgicCpu& c, bool armed) {
    const u32 hcr = armed ? (c.hcr | arch::ich::kUnderflow) : (c.hcr & ~arch::ich::kUnderflow);
    if (hcr == c.hcr) return;
    c.hcr = hcr;
    arch::vgic_set_control(hcr);
}

// Ends the physical interrupts that `v` holds on its core (forwarded with HW = 1): in its saved
// list registers and pending for it. `spis`: its SPIs too; false when the partition restarted
// since the vCPU last ran (the stop deactivated its SPIs then, and they may belong to the new
// run now).
void release_physical(Vcpu& v, bool spis) {
    VgicCpu& c = v.vgic;
    const Partition& p = *v.partition;
    for (unsigned i = 0; i < arch::vgic_list_registers(); ++i) {
        const u64 lr = c.saved.lr[i];
        if ((lr & arch::lr::kHw) == 0 || (lr & arch::lr::kStateMask) == 0) continue;
        const u32 physical = static_cast<u32>((lr & arch::lr::kPhysicalMask) >> arch::lr::kPhysicalShift);
        if (physical < kPrivateInterrupts || spis) arch::irq_deactivate(physical, v.core.raw());
    }
    if ((c.pending.exchange(0) & (1u << kTimerPpi)) != 0) arch::irq_deactivate(kTimerPpi, v.core.raw());
    const u32 held = c.pending_spi.exchange(0) & p.vgic.hardware;
    for (u32 bits = spis ? held : 0; bits != 0; bits &= bits - 1) arch::irq_deactivate(kSpiBase + lowest(bits), v.core.raw());
}

}  // namespace

u64 detail::list_register_intids(const Vcpu& v, u64 state) {
    u64 bits = 0;
    const u32 empty = arch::vgic_empty_lrs();
    for (unsigned i = 0; i < arch::vgic_list_registers(); ++i) {
        if ((empty >> i & 1) != 0 || v.vgic.lr_intid[i] >= kInterrupts) continue;
        if ((arch::vgic_read_lr(i) & state) != 0) bits |= 1ull << v.vgic.lr_intid[i];
    }
    return bits;
}

void raise(Vcpu& target, u32 intid) {
    if (intid < kPrivateInterrupts) {
        target.vgic.pending.fetch_or(1u << intid);
    } else if (intid < kInterrupts) {
        target.vgic.pending_spi.fetch_or(spi_bit(intid));
    } else {
        return;
    }
    // Its own core fills list registers before every resume through the full path; a core in
    // the guest must leave it to do so, and so must one answering a fast call (calls/fast_call.cpp,
    // calls/fast_identify.cpp), which resumes without that look: the vCPU is Running throughout,
    // so the kick comes. The pending bit is published first, so a core that is just resuming
    // either sees it or is kicked after. On its own core nothing raises during a fast call.
    if (target.core.raw() != arch::current_core() && target.load_state() == VcpuState::Running)
        arch::kick_core(target.core.raw());
}

void flush_pending(Vcpu& v) {
    VgicCpu& c = v.vgic;
    const Partition& p = *v.partition;
    const u32 pending = c.pending.load(), pending_spi = c.pending_spi.load();
    const u32 own = pending & c.enabled.load();
    const u32 spis = pending_spi != 0 ? pending_spi & deliverable_spis(p) : 0;
    if ((own | spis) == 0) {
        set_underflow(c, false);
        return;
    }
    // Others only ever set bits: taking exactly these leaves whatever they add meanwhile.
    if (own != 0) c.pending.fetch_and(~own);
    if (spis != 0) c.pending_spi.fetch_and(~spis);
    u32 empty = arch::vgic_empty_lrs() & c.lr_mask;
    const u32 in_use = ~empty & c.lr_mask;
    u32 left = 0, left_spis = 0;
    for (u32 bits = own; bits != 0; bits &= bits - 1)
        if (!place(p, v, lowest(bits), in_use, empty)) left |= bits & -bits;
    for (u32 bits = spis; bits != 0; bits &= bits - 1)
        if (!place(p, v, kSpiBase + lowest(bits), in_use, empty)) left_spis |= bits & -bits;
    // What did not fit waits for the list registers to drain (underflow: at most one in use).
    if (left != 0) c.pending.fetch_or(left);
    if (left_spis != 0) c.pending_spi.fetch_or(left_spis);
    set_underflow(c, (left | left_spis) != 0);
}

void maintenance(Vcpu& v) {
    Partition& p = *v.partition;
    if ((arch::vgic_maintenance_status() & arch::ich::kEoi) != 0) {
        for (u32 ended = arch::vgic_eoi_lrs() & v.vgic.lr_mask; ended != 0; ended &= ended - 1) {
            const unsigned i = lowest(ended);
            const u32 intid = v.vgic.lr_intid[i];
            arch::vgic_write_lr(i, 0);
            if (intid == kUartSpi && p.has_uart()) vuart::interrupt_completed(p);
        }
    }
    flush_pending(v);
}

void timer_fired(Vcpu& v) { raise(v, kTimerPpi); }

bool raise_spi(Partition& p, u32 intid) {
    if (intid < kSpiBase || intid >= kInterrupts) return false;
    Vcpu* target = route_target(p, p.vgic.route[intid - kSpiBase].load());
    if (target == nullptr) return false;
    raise(*target, intid);
    return true;
}

void enter(Vcpu& v, bool reset) {
    VgicCpu& c = v.vgic;
    if (reset) {
        release_physical(v, c.run == v.partition->restarts);
        c.enabled.store(0);
        c.ppi_config.store(0);
        c.sleep.store(1);  // GICR_WAKER.ProcessorSleep resets to 1
        for (Atomic<u8>& b : c.priority) b.store(0);
        for (u32& i : c.lr_intid) i = 0;
        c.saved = CpuInterfaceState{};
        c.run = v.partition->restarts;
    }
    c.lr_mask = (1u << arch::vgic_list_registers()) - 1;
    arch::vgic_restore(c.saved);
    c.hcr = arch::ich::kEnable;
    arch::vgic_set_control(c.hcr);
    arch::local_ppi_enable(kMaintenancePpi, true);
    arch::local_ppi_enable(kTimerPpi, true);
    flush_pending(v);
}

void leave(Vcpu& v) {
    VgicCpu& c = v.vgic;
    arch::local_ppi_enable(kTimerPpi, false);
    arch::local_ppi_enable(kMaintenancePpi, false);
    arch::vgic_save(c.saved);
    c.hcr = 0;
    arch::vgic_set_control(0);
}

}  // namespace bh::vgic

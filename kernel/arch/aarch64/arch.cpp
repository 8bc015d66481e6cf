// kernel/arch/arch.hpp on the reference machine.
#include <arch/arch.hpp>
#include <bulkhead/platform.hpp>
#include <lib/format.hpp>
#include <lib/spinlock.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::arch {

namespace {
SpinLock console_lock;
}

void* phys_to_virt(PhysAddr pa) {
    // EL2 maps RAM 1:1 (mmu.cpp); nothing else is reachable through this.
    if (!range_inside(pa.raw(), 1, platform::kRamBase, platform::kDefaultRamSize)) return nullptr;
    return reinterpret_cast<void*>(pa.raw());
}

void console_write(const char* text, usize length) {
    LockGuard guard(console_lock);
    for (usize i = 0; i < length; ++i) {
        if (text[i] == '\n') aarch64::uart_putc('\r');
        aarch64::uart_putc(text[i]);
    }
}

void stage2_tlb_invalidate_vmid(u16 vmid) {
    // TLBI VMALLS12E1IS acts on the VMID in VTTBR_EL2, so borrow it, over the empty root (never
    // a table at address 0); being at EL2 no guest of this core runs meanwhile. The IS form
    // reaches every core of the inner shareable domain.
    u64 saved = BH_READ_SYSREG(vttbr_el2);
    BH_WRITE_SYSREG(vttbr_el2, aarch64::empty_stage2_vttbr(vmid));
    aarch64::isb();
    aarch64::dsb_ish();
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    aarch64::dsb_ish();
    BH_WRITE_SYSREG(vttbr_el2, saved);
    aarch64::isb();
    // The partition's DMA streams walk the same tables with the same VMID.
    aarch64::smmu_invalidate_vmid(vmid);
}

void publish_memory_writes() {
    aarch64::dsb_ish();
    aarch64::isb();
}

void write_descriptor(u64* entry, u64 value) { reinterpret_cast<Atomic<u64>*>(entry)->store_relaxed(value); }

void panic(const char* what) {
    log("PANIC: ", what);
    aarch64::psci_system_off();
}

unsigned current_core() { return static_cast<unsigned>(BH_READ_SYSREG(mpidr_el1) & 0xff); }

void clean_invalidate_to_poc(PhysAddr pa, u64 size) {
    u64 ctr = BH_READ_SYSREG(ctr_el0);
    u64 line = 4ull << ((ctr >> 16) & 0xf);  // DminLine, in bytes
    for (u64 a = align_down(pa.raw(), line); a < pa.raw() + size; a += line) asm volatile("dc civac, %0" ::"r"(a) : "memory");
    aarch64::dsb_ish();
    // The memory may hold new code: no core may keep stale instructions for it.
    asm volatile("ic ialluis" ::: "memory");
    aarch64::dsb_ish();
    aarch64::isb();
}

void kick_core(unsigned core) {
    aarch64::gic_send_kick(core);
    // A core waiting in the kernel (wait_for_event) has IRQs masked at EL2: a masked interrupt
    // need not end a WFE, the event does.
    wake_cores();
}

void wake_cores() {
    aarch64::dsb_ish();
    asm volatile("sev" ::: "memory");
}

void wake_core(unsigned core) {
    // The caller's own core looks at its vCPU again before it sleeps: no interrupt needed.
    if (core != current_core()) aarch64::gic_send_kick(core);
}

void wait_for_event() { asm volatile("wfe" ::: "memory"); }

bool interrupt_pending() {
    // At EL2, ISR_EL1 shows the physical interrupts pending for this core (I: bit 7, F: bit 6).
    return (BH_READ_SYSREG(isr_el1) & 0xc0) != 0;
}

void cpu_relax() { asm volatile("yield" ::: "memory"); }

u64 counter_now() {
    aarch64::isb();
    return BH_READ_SYSREG(cntpct_el0);
}

void system_off() { aarch64::psci_system_off(); }

void irq_enable(u32 intid, unsigned core) { aarch64::gic_spi_enable(intid, core); }
void irq_disable(u32 intid) { aarch64::gic_spi_disable(intid); }

}  // namespace bh::arch

// Interfaces between the files of the aarch64 arch layer (not visible to generic code).
#pragma once

#include <bulkhead/types.hpp>

#include <arch/guest.hpp>

namespace bh {
struct Vcpu;
}

namespace bh::aarch64 {

struct PerCpu {
    u64 stack_top;  // read by vectors.S (PERCPU_STACK_TOP)
    Vcpu* vcpu;     // the vCPU this core runs (opaque here: handed back to the kernel on exits)
    u32 core;
};

PerCpu& this_cpu();
void percpu_init(unsigned core);

void uart_init();
// FEAT_CRC32 (arch::crc32_update uses its instructions).
[[nodiscard]] bool crc32_supported();
void uart_putc(char c);
[[nodiscard]] bool uart_getc(u8& byte);
void uart_rx_interrupt(bool enable);
void mmu_build_tables();
void mmu_enable();
void gic_init_distributor();
void gic_init_cpu(unsigned core);
void gic_send_kick(unsigned core);
// Acknowledges every pending interrupt and passes it to `handler`, then drops the running
// priority; deactivates it too unless the handler returns true: it forwarded the interrupt to a
// vCPU through a list register with HW = 1, whose guest deactivates it (ICC_CTLR_EL1.EOImode 1).
void gic_acknowledge_all(bool (*handler)(u32 intid));
void gic_spi_enable(u32 intid, unsigned core);
void gic_spi_disable(u32 intid);
void gic_spi_pending(u32 intid, bool pending);
void gic_deactivate(u32 intid, unsigned core);
void gic_local_ppi_enable(u32 intid, bool enable);
void el2_configure_core();
// A vCPU's (re)start: the virtual GIC CPU interface state the guest reads at EL1 (ICH_VMCR_EL2,
// ICH_AP<g>R<n>_EL2) back to its reset values (virtual_cpu_interface.cpp).
void reset_virtual_cpu_interface();
// VTTBR_EL2 for `vmid` over an all-invalid stage-2 root (for TLB maintenance by VMID).
u64 empty_stage2_vttbr(u16 vmid);
[[nodiscard]] bool smmu_abort_all_dma();
// Stream table (every stream abort), queues, SMMU on; nullptr, or why the SMMU stays disabled.
const char* smmu_enable();
// TLBI_S12_VMALL `vmid`, completed (CMD_SYNC).
void smmu_invalidate_vmid(u16 vmid);
// The kernel's own SPIs (the SMMU's): edge-triggered, routed to `core`, enabled.
void gic_kernel_spi_enable(u32 intid, unsigned core);
i64 psci_cpu_on(u64 mpidr, u64 entry, u64 context);
[[noreturn]] void psci_system_off();

}  // namespace bh::aarch64

extern "C" {
[[noreturn]] void bh_core_loop();
[[noreturn]] void bh_guest_resume(bh::arch::GuestRegs* frame);
void bh_clear_fp_state();
extern char bh_el2_vectors[];
extern char secondary_entry[];
}

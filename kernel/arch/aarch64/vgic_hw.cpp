// kernel/arch/vgic_hw.hpp at EL2: the ICH_*_EL2 registers (GICv3 architecture specification,
// chapter 12.4) and the physical GIC and UART operations under the virtual GIC.
#include <arch/vgic_hw.hpp>
#include <bulkhead/platform.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::arch {

namespace {

// ICH_VTR_EL2.ListRegs, read once per core at its first use (every core of the machine is alike).
unsigned list_registers_ = 0;

// The list registers and active-priority registers are separate system registers: one accessor
// per index, selected by a switch.
#define BH_LR_CASE(n, crm, op2)                                   \
    case n:                                                       \
        if (write) BH_WRITE_SYSREG(S3_4_C12_##crm##_##op2, value); \
        else value = BH_READ_SYSREG(S3_4_C12_##crm##_##op2);       \
        break;

u64 lr_access(unsigned index, bool write, u64 value) {
    switch (index) {
        BH_LR_CASE(0, C12, 0) BH_LR_CASE(1, C12, 1) BH_LR_CASE(2, C12, 2) BH_LR_CASE(3, C12, 3)
        BH_LR_CASE(4, C12, 4) BH_LR_CASE(5, C12, 5) BH_LR_CASE(6, C12, 6) BH_LR_CASE(7, C12, 7)
        BH_LR_CASE(8, C13, 0) BH_LR_CASE(9, C13, 1) BH_LR_CASE(10, C13, 2) BH_LR_CASE(11, C13, 3)
        BH_LR_CASE(12, C13, 4) BH_LR_CASE(13, C13, 5) BH_LR_CASE(14, C13, 6) BH_LR_CASE(15, C13, 7)
        default: break;
    }
    return value;
}

// ICH_AP0R<n>_EL2 (CRm 8) and ICH_AP1R<n>_EL2 (CRm 9).
u32 apr_access(unsigned group, unsigned index, bool write, u32 in) {
    u64 value = in;
    switch (group * 4 + index) {
        BH_LR_CASE(0, C8, 0) BH_LR_CASE(1, C8, 1) BH_LR_CASE(2, C8, 2) BH_LR_CASE(3, C8, 3)
        BH_LR_CASE(4, C9, 0) BH_LR_CASE(5, C9, 1) BH_LR_CASE(6, C9, 2) BH_LR_CASE(7, C9, 3)
        default: break;
    }
    return static_cast<u32>(value);
}
#undef BH_LR_CASE

// 1 << (PREbits - 5) active-priority registers per group (ICH_VTR_EL2.PREbits holds PREbits - 1).
unsigned apr_registers() {
    const u64 prebits = ((BH_READ_SYSREG(S3_4_C12_C11_1) >> 26) & 7) + 1;
    return prebits <= 5 ? 1 : 1u << (prebits - 5);
}

}  // namespace

unsigned vgic_list_registers() {
    if (list_registers_ == 0) {
        const unsigned n = static_cast<unsigned>(BH_READ_SYSREG(S3_4_C12_C11_1) & 0x1f) + 1;  // ICH_VTR_EL2
        list_registers_ = n <= kMaxListRegisters ? n : kMaxListRegisters;
    }
    return list_registers_;
}

u64 vgic_read_lr(unsigned index) { return lr_access(index, false, 0); }
void vgic_write_lr(unsigned index, u64 value) { lr_access(index, true, value); }
void vgic_write_first_lr(u64 value) { BH_WRITE_SYSREG(S3_4_C12_C12_0, value); }  // ICH_LR0_EL2
u32 vgic_empty_lrs() { return static_cast<u32>(BH_READ_SYSREG(S3_4_C12_C11_5)); }
u32 vgic_eoi_lrs() { return static_cast<u32>(BH_READ_SYSREG(S3_4_C12_C11_3)); }
u32 vgic_maintenance_status() { return static_cast<u32>(BH_READ_SYSREG(S3_4_C12_C11_2)); }
void vgic_set_control(u32 hcr) { BH_WRITE_SYSREG(S3_4_C12_C11_0, hcr); }

void vgic_save(CpuInterfaceState& out) {
    out.vmcr = static_cast<u32>(BH_READ_SYSREG(S3_4_C12_C11_7));
    const unsigned aprs = apr_registers();
    for (unsigned i = 0; i < aprs && i < kMaxActivePriorityRegisters; ++i) {
        out.ap0r[i] = apr_access(0, i, false, 0);
        out.ap1r[i] = apr_access(1, i, false, 0);
    }
    for (unsigned i = 0; i < vgic_list_registers(); ++i) out.lr[i] = vgic_read_lr(i);
}

void vgic_restore(const CpuInterfaceState& in) {
    BH_WRITE_SYSREG(S3_4_C12_C11_7, in.vmcr);
    const unsigned aprs = apr_registers();
    for (unsigned i = 0; i < aprs && i < kMaxActivePriorityRegisters; ++i) {
        apr_access(0, i, true, in.ap0r[i]);
        apr_access(1, i, true, in.ap1r[i]);
    }
    for (unsigned i = 0; i < vgic_list_registers(); ++i) vgic_write_lr(i, in.lr[i]);
    aarch64::isb();
}

void irq_deactivate(u32 intid, unsigned core) { aarch64::gic_deactivate(intid, core); }
void irq_set_pending(u32 intid) { aarch64::gic_spi_pending(intid, true); }
void irq_clear_pending(u32 intid) { aarch64::gic_spi_pending(intid, false); }
void local_ppi_enable(u32 intid, bool enable) { aarch64::gic_local_ppi_enable(intid, enable); }

bool console_read(u8& byte) { return aarch64::uart_getc(byte); }
void console_input_route(unsigned core) {
    aarch64::gic_spi_enable(platform::kUartSpi, core);
    aarch64::uart_rx_interrupt(true);
}

void console_input_hold(bool hold) { aarch64::uart_rx_interrupt(!hold); }

}  // namespace bh::arch

// The machine under a virtual GIC (kernel/vgic): the virtual CPU interface of the core the
// caller runs on (GICv3 ICH_*_EL2 registers: list registers, maintenance status, saved state),
// the few physical-GIC operations that forwarding a physical interrupt to a vCPU needs, and the
// receive side of the kernel's console UART for the partition that gets its input. Part of the
// arch interface (kernel/arch/arch.hpp): kernel/arch/aarch64/vgic_hw.cpp implements it at EL2,
// kernel/arch/host/vgic_hw_host.cpp over arrays that model what the hardware does with them, so
// the generic vGIC runs unchanged in unit tests and fuzzers.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::arch {

inline constexpr unsigned kMaxListRegisters = 16;  // the architecture's limit; ICH_VTR_EL2 says how many
inline constexpr unsigned kMaxActivePriorityRegisters = 4;

// One vCPU's virtual CPU interface registers (ICH_*_EL2) while the vCPU is off its core.
struct CpuInterfaceState {
    u64 lr[kMaxListRegisters] = {};
    u32 vmcr = 0;
    u32 ap0r[kMaxActivePriorityRegisters] = {};
    u32 ap1r[kMaxActivePriorityRegisters] = {};
};

// ICH_LR<n>_EL2 fields (GICv3 architecture specification, 12.4.6).
namespace lr {
inline constexpr u64 kPending = 1ull << 62;
inline constexpr u64 kActive = 1ull << 63;
inline constexpr u64 kStateMask = kPending | kActive;
inline constexpr u64 kHw = 1ull << 61;
inline constexpr u64 kGroup1 = 1ull << 60;
inline constexpr unsigned kPriorityShift = 48;
inline constexpr u64 kEoi = 1ull << 41;  // HW = 0: a maintenance interrupt when it is deactivated
inline constexpr unsigned kPhysicalShift = 32;
inline constexpr u64 kVirtualMask = 0xffff'ffffull;
inline constexpr u64 kPhysicalMask = 0x1fffull << kPhysicalShift;
}  // namespace lr

// ICH_HCR_EL2 and ICH_MISR_EL2 bits the kernel uses.
namespace ich {
inline constexpr u32 kEnable = 1u << 0;     // HCR.En: the virtual CPU interface is on
inline constexpr u32 kUnderflow = 1u << 1;  // HCR.UIE / MISR.U: at most one list register in use
inline constexpr u32 kEoi = 1u << 0;        // MISR.EOI: a list register with EOI set was deactivated
}  // namespace ich

// --- the virtual CPU interface of this core
unsigned vgic_list_registers();  // ICH_VTR_EL2.ListRegs + 1 (at most kMaxListRegisters)
u64 vgic_read_lr(unsigned index);
void vgic_write_lr(unsigned index, u64 value);
void vgic_write_first_lr(u64 value);  // list register 0 without the index's switch: a self-IPI's
u32 vgic_empty_lrs();           // ICH_ELRSR_EL2: bit n, list register n holds nothing
u32 vgic_eoi_lrs();             // ICH_EISR_EL2: bit n, list register n was deactivated with EOI set
u32 vgic_maintenance_status();  // ICH_MISR_EL2
void vgic_set_control(u32 hcr);  // ICH_HCR_EL2
// The interface as a whole (VMCR, active priorities, list registers), for a vCPU leaving or
// entering its core.
void vgic_save(CpuInterfaceState& out);
void vgic_restore(const CpuInterfaceState& in);

// --- physical interrupts forwarded to vCPUs
// Ends the active state of `intid`: a PPI on `core`'s redistributor, an SPI at the distributor.
// For an interrupt the kernel forwarded (HW = 1) whose vCPU will never deactivate it.
void irq_deactivate(u32 intid, unsigned core);
// An SPI's pending state at the distributor (a partition's GICD_ISPENDR/ICPENDR write).
void irq_set_pending(u32 intid);
void irq_clear_pending(u32 intid);
// The maintenance and timer PPIs of this core: on while a vCPU with a virtual GIC runs on it.
void local_ppi_enable(u32 intid, bool enable);

// --- the console's receive side
// One byte the console UART received, if any (never blocks).
bool console_read(u8& byte);
// The UART's receive interrupt (SPI 33) on and routed to `core`. Called under the capability
// lock, like irq_enable (the distributor's configuration words are shared between SPIs).
void console_input_route(unsigned core);
// Holds the UART's receive interrupt off (at the UART) while its reader has no room, or lets
// it through again.
void console_input_hold(bool hold);

}  // namespace bh::arch

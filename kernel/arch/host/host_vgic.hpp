// Test-side controls of the host model of kernel/arch/vgic_hw.hpp (vgic_hw_host.cpp): per core,
// the virtual CPU interface's list registers behave as GICv3 specifies (ELRSR, EISR, MISR are
// computed from them), and a test plays the guest's part by acknowledging and deactivating the
// interrupts they hold. Host-only: generic kernel code never includes this.
#pragma once

#include <string>
#include <vector>

#include <bulkhead/types.hpp>

namespace bh::host {

inline constexpr unsigned kHostListRegisters = 4;  // as QEMU's Cortex-A53 model

// The guest on `core` reads ICC_IAR1_EL1: its highest-priority pending list register becomes
// active; returns its vINTID, or 1023 (spurious) when none is pending or the interface is off.
u32 guest_acknowledge(unsigned core);
// The guest on `core` writes ICC_EOIR1_EL1 (EOImode 0) for `intid`: its active list register is
// deactivated, and with it the physical interrupt of an HW = 1 register. False: none was active.
bool guest_end_of_interrupt(unsigned core, u32 intid);

u64 list_register(unsigned core, unsigned index);
u32 ich_control(unsigned core);  // ICH_HCR_EL2 as last written
const u32* active_priorities(unsigned core);  // ICH_AP1R0..3_EL2

// Physical interrupts ended by arch::irq_deactivate or by a guest's deactivation of an HW list
// register, in order: (INTID, core). PPIs record the core, SPIs the core of the call.
struct Deactivation {
    u32 intid;
    unsigned core;
    bool operator==(const Deactivation&) const = default;
};
const std::vector<Deactivation>& deactivations();
bool spi_pending(u32 intid);                          // arch::irq_set_pending / irq_clear_pending
bool local_ppi_enabled(unsigned core, u32 intid);     // arch::local_ppi_enable

// The console's receive side: bytes the UART will deliver, the core its interrupt is routed to
// (-1: never routed) and whether the UART holds it off.
void console_receive(const std::string& bytes);
u64 console_bytes_waiting();
int console_input_core();
bool console_input_held();

// Everything above back to reset (called by reset_all).
void reset_vgic();

}  // namespace bh::host

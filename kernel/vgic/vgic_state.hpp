// The state of a partition's virtual GICv3 (docs/vgic.md): what its emulated distributor holds
// (VgicDistributor, one per partition, in the Partition object) and what each vCPU's emulated
// redistributor and virtual CPU interface hold (VgicCpu, in the Vcpu object). Plain data, so
// that Vcpu and Partition can embed it; the operations are in kernel/vgic/vgic.hpp.
#pragma once

#include <bulkhead/types.hpp>
#include <lib/spinlock.hpp>

namespace bh::vgic {

inline constexpr u32 kPrivateInterrupts = 32;  // SGIs 0-15 and PPIs 16-31, per vCPU
inline constexpr u32 kSgis = 16;
inline constexpr u32 kSpiBase = 32;
// The virtual distributor implements INTIDs up to 63 (GICD_TYPER.ITLinesNumber = 1): every SPI a
// partition can be given (platform::kAssignableSpis) and the virtual UART's 33 lie below 64.
inline constexpr u32 kSpis = 32;
inline constexpr u32 kInterrupts = kSpiBase + kSpis;
inline constexpr u32 kMaintenancePpi = 25;  // physical: the virtual CPU interface needs the kernel
inline constexpr u32 kTimerPpi = 27;        // physical and virtual: the EL1 virtual timer (CNTV)
inline constexpr u32 kUartSpi = 33;         // virtual: the emulated PL011 (the machine's UART SPI)
inline constexpr u32 kMaxListRegisters = 16;  // the architecture's limit; ICH_VTR_EL2 says how many
inline constexpr u32 kMaxAprs = 4;

// One vCPU's virtual CPU interface registers (ICH_*_EL2) while the vCPU is off its core.
struct CpuInterfaceState {
    u64 lr[kMaxListRegisters] = {};
    u32 vmcr = 0;
    u32 ap0r[kMaxAprs] = {};
    u32 ap1r[kMaxAprs] = {};
};

// A vCPU's private interrupts (its emulated redistributor) and the bookkeeping of its list
// registers. The other vCPUs of its partition write the redistributor words through this vCPU's
// GICR frame and raise interrupts for it from their cores, so `enabled`, `pending*` and
// `priority` are accessed atomically; the rest belongs to the vCPU's own core.
struct VgicCpu {
    u32 enabled = 0;      // GICR_ISENABLER0: bit n, private INTID n
    u32 pending = 0;      // private INTIDs raised for this vCPU and not yet in a list register
    u32 pending_spi = 0;  // bit n: SPI 32 + n raised for this vCPU, not yet in a list register
    u32 ppi_config = 0;   // GICR_ICFGR1 as written (kept for reads: the timer is level whatever it says)
    u32 sleep = 0;        // GICR_WAKER.ProcessorSleep
    u8 priority[kPrivateInterrupts] = {};
    // Own core only: the vINTID each list register was last written with (meaningful while
    // ICH_ELRSR_EL2 says the register is in use) and ICH_HCR_EL2 as last written.
    u32 lr_intid[kMaxListRegisters] = {};
    u32 lr_mask = 0;  // one bit per list register the core has
    u32 hcr = 0;
    u32 run = 0;  // the partition's restart count when the vCPU last (re)started
    CpuInterfaceState saved;  // the interface while the vCPU is off its core
};

// The emulated distributor of one partition. Register writes of its vCPUs are serialised by
// `lock`; the words that the interrupt paths read are accessed atomically.
struct VgicDistributor {
    SpinLock lock;
    u32 ctlr = 0;      // GICD_CTLR.EnableGrp1 (bit 1); ARE and DS read as one
    u32 enabled = 0;   // bit n: SPI 32 + n enabled
    u32 edge = 0;      // bit n: SPI 32 + n configured edge-triggered (GICD_ICFGR), kept for reads
    u32 hardware = 0;  // bit n: SPI 32 + n is the partition's physical SPI (an IrqHandler cap it holds)
    u32 visible = 0;   // bit n: SPI 32 + n exists for this partition: `hardware` and its UART's
    u8 priority[kSpis] = {};
    u64 route[kSpis] = {};  // GICD_IROUTER: affinity as written (Aff0 is the vCPU index)
};

}  // namespace bh::vgic

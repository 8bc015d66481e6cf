// The state of a partition's virtual GICv3 (docs/vgic.md): what its emulated distributor holds
// (VgicDistributor, one per partition, in the Partition object) and what each vCPU's emulated
// redistributor and virtual CPU interface hold (VgicCpu, in the Vcpu object). Plain data, so
// that Vcpu and Partition can embed it; the operations are in kernel/vgic/vgic.hpp.
#pragma once

#include <arch/vgic_hw.hpp>
#include <bulkhead/types.hpp>
#include <lib/atomic.hpp>
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
using arch::CpuInterfaceState;

// A vCPU's private interrupts (its emulated redistributor) and the bookkeeping of its list
// registers. The other vCPUs of its partition write the redistributor words through this vCPU's
// GICR frame and raise interrupts for it from their cores, so those are Atomic; the rest belongs
// to the vCPU's own core.
struct VgicCpu {
    Atomic<u32> enabled;      // GICR_ISENABLER0: bit n, private INTID n
    Atomic<u32> pending;      // private INTIDs raised for this vCPU and not yet in a list register
    Atomic<u32> pending_spi;  // bit n: SPI 32 + n raised for this vCPU, not yet in a list register
    Atomic<u32> ppi_config;   // GICR_ICFGR1 as written (kept for reads: the timer is level whatever it says)
    Atomic<u32> sleep;        // GICR_WAKER.ProcessorSleep
    Atomic<u8> priority[kPrivateInterrupts];
    // Own core only: the vINTID each list register was last written with (meaningful while
    // ICH_ELRSR_EL2 says the register is in use), which list registers the core has, and
    // ICH_HCR_EL2 as last written.
    u32 lr_intid[arch::kMaxListRegisters] = {};
    u32 lr_mask = 0;
    u32 hcr = 0;
    u32 run = 0;  // the partition's restart count when the vCPU last (re)started
    CpuInterfaceState saved;  // the interface while the vCPU is off its core
};

// The emulated distributor of one partition. Register writes of its vCPUs are serialised by
// `lock`; the words that the interrupt paths read are Atomic.
struct VgicDistributor {
    SpinLock lock;
    Atomic<u32> ctlr;     // GICD_CTLR.EnableGrp1 (bit 1); ARE and DS read as one
    Atomic<u32> enabled;  // bit n: SPI 32 + n enabled
    Atomic<u32> edge;     // bit n: SPI 32 + n configured edge-triggered (GICD_ICFGR), kept for reads
    u32 hardware = 0;     // bit n: SPI 32 + n is the partition's physical SPI (an IrqHandler cap it holds)
    u32 visible = 0;      // bit n: SPI 32 + n exists for this partition: `hardware` and its UART's
    Atomic<u8> priority[kSpis];
    Atomic<u64> route[kSpis];  // GICD_IROUTER: affinity as written (Aff0 is the vCPU index)
};

}  // namespace bh::vgic

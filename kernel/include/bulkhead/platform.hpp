// The reference machine's physical memory map and the kernel's reserved region.
// QEMU -M virt,virtualization=on,gic-version=3,iommu=smmuv3 -cpu cortex-a53 -smp 4 -m 2G.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::platform {

inline constexpr u64 kRamBase = 0x4000'0000;
inline constexpr u64 kDefaultRamSize = 2ull << 30;
// The RAM a manifest may be compiled against (its header's ram_base, ram_size): the kernel
// runs on kDefaultRamSize at kRamBase and refuses a manifest that claims RAM it does not have.
constexpr bool manifest_ram_supported(u64 base, u64 size) {
    return base == kRamBase && size != 0 && size <= kDefaultRamSize;
}
inline constexpr unsigned kMaxCores = 4;

// The first 128 MiB of RAM belong to the kernel and are never mapped into a partition:
//   [0x4000_0000, 0x4010_0000)  left to QEMU (it places its DTB at the start of RAM)
//   [0x4010_0000, 0x40f0_0000)  kernel image: text, rodata, data, bss, stacks, EL2 tables
//   [0x40f0_0000, 0x4100_0000)  the boot CNode (4096 capability slots)
//   [0x4100_0000, 0x4200_0000)  kernel object memory: the Untyped that partitions, their CSpace
//                               CNodes and their stage-2 tables are retyped from
//   [0x4200_0000, 0x4800_0000)  boot payload: the manifest and the partitions' images (96 MiB:
//                               a Linux partition's kernel Image alone is over 31 MiB)
inline constexpr u64 kKernelRegionBase = kRamBase;
inline constexpr u64 kKernelRegionSize = 128ull << 20;
inline constexpr u64 kKernelImageBase = 0x4010'0000;
inline constexpr u64 kKernelImageLimit = 0x40f0'0000;
inline constexpr u64 kBootCNodeBase = 0x40f0'0000;
inline constexpr u64 kBootCNodeSize = 1ull << 20;
inline constexpr u64 kObjectMemoryBase = 0x4100'0000;
inline constexpr u64 kObjectMemorySize = 16ull << 20;
inline constexpr u64 kPayloadBase = 0x4200'0000;
inline constexpr u64 kPayloadMaxSize = 96ull << 20;

static_assert(kKernelImageLimit <= kBootCNodeBase && kBootCNodeBase + kBootCNodeSize <= kObjectMemoryBase);
inline constexpr unsigned kObjectMemoryBits = 24;
static_assert(kObjectMemorySize == 1ull << kObjectMemoryBits && kObjectMemoryBase % kObjectMemorySize == 0);
static_assert(kObjectMemoryBase + kObjectMemorySize <= kPayloadBase);
static_assert(kPayloadBase + kPayloadMaxSize == kKernelRegionBase + kKernelRegionSize);

// MMIO of the devices the kernel itself drives.
inline constexpr u64 kUartBase = 0x0900'0000;
inline constexpr u64 kGicdBase = 0x0800'0000;
inline constexpr u64 kGicrBase = 0x080A'0000;
inline constexpr u64 kGicrStride = 0x2'0000;  // RD_base + SGI_base frames per core
inline constexpr u64 kSmmuBase = 0x0905'0000;
inline constexpr u32 kUartSpi = 33;  // the console UART's interrupt (INTID), the kernel's

// Device MMIO a partition may be given (default deny: everything else, notably the GIC, the
// UART, fw_cfg with its DMA interface, the SMMU and the PCIe ECAM, stays with the kernel).
// virtio-mmio transports are not assignable: they sit in front of no SMMU, so a backend's DMA
// would reach all of memory. PCIe devices' DMA goes through the SMMU, which aborts by default.
struct MmioWindow {
    u64 base;
    u64 size;
    const char* name;
};
inline constexpr MmioWindow kAssignableMmio[] = {
    {0x0901'0000, 0x1000, "rtc"},
    {0x0903'0000, 0x1000, "gpio"},
    {0x1000'0000, 0x2eff'0000, "pcie-mmio"},
    {0x80'0000'0000, 0x80'0000'0000, "pcie-mmio-high"},
};

// Shared peripheral interrupts (SPIs) a partition may be given an IrqHandler capability for,
// by the device they belong to (QEMU virt's irqmap; INTID = 32 + its SPI number). Default deny:
// the UART's line stays with the kernel console, the SMMU's event and GERROR lines with the
// kernel that drives the SMMU; virtio-mmio lines belong to devices that are not assignable.
struct SpiRange {
    u32 first;  // INTID
    u32 count;
    const char* name;
};
inline constexpr SpiRange kAssignableSpis[] = {
    {34, 1, "rtc"},        // PL031 alarm
    {35, 4, "pcie-intx"},  // PCIe INTA..INTD
    {39, 1, "gpio"},       // PL061
};
inline constexpr u32 kFirstSpi = 32;
inline constexpr u32 kSpiLimit = 288;  // one past the last INTID of virt's GIC (256 SPIs)

// The assignable device `intid` belongs to, or nullptr when it may not be given to a partition.
constexpr const char* assignable_spi(u64 intid) {
    for (const SpiRange& r : kAssignableSpis) {
        if (intid >= r.first && intid - r.first < r.count) return r.name;
    }
    return nullptr;
}
// The assignable SPIs numbered 0 .. kAssignableSpiCount - 1 in table order (the kernel keeps
// state for these only): the number of `intid`, or kAssignableSpiCount when not assignable.
constexpr u32 assignable_spi_count() {
    u32 n = 0;
    for (const SpiRange& r : kAssignableSpis) n += r.count;
    return n;
}
inline constexpr u32 kAssignableSpiCount = assignable_spi_count();
constexpr u32 assignable_spi_number(u64 intid) {
    u32 base = 0;
    for (const SpiRange& r : kAssignableSpis) {
        if (intid >= r.first && intid - r.first < r.count) return base + static_cast<u32>(intid - r.first);
        base += r.count;
    }
    return kAssignableSpiCount;
}
constexpr u32 assignable_spi_intid(u32 number) {
    for (const SpiRange& r : kAssignableSpis) {
        if (number < r.count) return r.first + number;
        number -= r.count;
    }
    return 0;
}
static_assert(assignable_spi(34) != nullptr && assignable_spi(33) == nullptr && assignable_spi(40) == nullptr);
static_assert(kAssignableSpiCount == 6 && assignable_spi_number(39) == 5 && assignable_spi_intid(5) == 39 &&
              assignable_spi_number(33) == kAssignableSpiCount);

// ---- PCIe and the SMMU (docs/isolation.md "DMA and PCIe"). The SMMU sits in front of the PCIe
// root complex only; `iommu-map` makes a function's stream ID its requester ID. Partitions get
// functions of bus 0 (the root bus: 32 devices x 8 functions, device 0 is the host bridge), so
// the kernel's stream table covers requester IDs 0..255.
inline constexpr u64 kPcieEcamBase = 0x40'1000'0000;      // configuration space, kernel-owned
inline constexpr u64 kPcieBusConfigSize = 1ull << 20;      // one bus: 256 functions x 4 KiB
inline constexpr u64 kPcieFunctionConfigSize = 4096;
inline constexpr u32 kStreamCount = 256;
inline constexpr u32 kStreamBits = 8;
static_assert(kStreamCount == 1u << kStreamBits && kPcieBusConfigSize == kStreamCount * kPcieFunctionConfigSize);
// Where BARs go: the 32-bit MMIO window (pcie-mmio above), placed by bhcc, never moved.
inline constexpr u64 kPcieMmio32Base = 0x1000'0000;
inline constexpr u64 kPcieMmio32Size = 0x2eff'0000;
// A partition that owns functions sees bus 0's configuration space, reduced to its own functions,
// at this IPA (where virt's ECAM is, so a driver written for virt finds it where it expects).
inline constexpr u64 kPciConfigWindowIpa = kPcieEcamBase;

constexpr u32 pci_bdf(u32 device, u32 function) { return (device << 3) | function; }
constexpr u32 pci_device(u32 bdf) { return (bdf >> 3) & 0x1f; }
constexpr u32 pci_function(u32 bdf) { return bdf & 7; }
// INTx: the root complex swizzles pin p (1 = INTA) of device d onto SPI 3 + (d + p - 1) % 4
// (virt's interrupt-map), INTIDs 35..38 (kAssignableSpis "pcie-intx").
constexpr u32 pci_intx_intid(u32 device, u32 pin) { return 35 + (device + pin - 1) % 4; }
static_assert(pci_intx_intid(0, 1) == 35 && pci_intx_intid(1, 1) == 36 && pci_intx_intid(3, 1) == 38 &&
              pci_intx_intid(4, 1) == 35 && pci_intx_intid(3, 2) == 35);

// The SMMU's own interrupts (virt: SPIs 74..77 = eventq, priq, cmdq-sync, gerror; edge): the
// kernel's, never assignable.
inline constexpr u32 kSmmuEventqIntid = 106;
inline constexpr u32 kSmmuGerrorIntid = 109;
static_assert(assignable_spi(kSmmuEventqIntid) == nullptr && assignable_spi(kSmmuGerrorIntid) == nullptr);

// Guest-visible IPA where bare-metal partitions conventionally place their RAM (mirrors virt).
inline constexpr u64 kGuestRamIpa = 0x4000'0000;

// Stage 2 covers a 40-bit IPA space (the platform's PCIe high MMIO window sits at 2^39).
inline constexpr unsigned kIpaBits = 40;

}  // namespace bh::platform

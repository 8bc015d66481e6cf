// The reference machine's physical memory map and the kernel's reserved region.
// QEMU -M virt,virtualization=on,gic-version=3,iommu=smmuv3 -cpu cortex-a53 -smp 4 -m 2G.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::platform {

inline constexpr u64 kRamBase = 0x4000'0000;
inline constexpr u64 kDefaultRamSize = 2ull << 30;
inline constexpr unsigned kMaxCores = 4;

// The first 64 MiB of RAM belong to the kernel and are never mapped into a partition:
//   [0x4000_0000, 0x4010_0000)  left to QEMU (it places its DTB at the start of RAM)
//   [0x4010_0000, 0x40f0_0000)  kernel image: text, rodata, data, bss, stacks, EL2 tables
//   [0x40f0_0000, 0x4100_0000)  the boot CNode (4096 capability slots)
//   [0x4100_0000, 0x4200_0000)  kernel object memory: the Untyped that partitions, their CSpace
//                               CNodes and their stage-2 tables are retyped from
//   [0x4200_0000, 0x4400_0000)  boot payload: the manifest and the partitions' images
inline constexpr u64 kKernelRegionBase = kRamBase;
inline constexpr u64 kKernelRegionSize = 64ull << 20;
inline constexpr u64 kKernelImageBase = 0x4010'0000;
inline constexpr u64 kKernelImageLimit = 0x40f0'0000;
inline constexpr u64 kBootCNodeBase = 0x40f0'0000;
inline constexpr u64 kBootCNodeSize = 1ull << 20;
inline constexpr u64 kObjectMemoryBase = 0x4100'0000;
inline constexpr u64 kObjectMemorySize = 16ull << 20;
inline constexpr u64 kPayloadBase = 0x4200'0000;
inline constexpr u64 kPayloadMaxSize = 32ull << 20;

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

// Guest-visible IPA where bare-metal partitions conventionally place their RAM (mirrors virt).
inline constexpr u64 kGuestRamIpa = 0x4000'0000;

// Stage 2 covers a 40-bit IPA space (the platform's PCIe high MMIO window sits at 2^39).
inline constexpr unsigned kIpaBits = 40;

}  // namespace bh::platform

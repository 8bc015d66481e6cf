// The device tree a Linux partition boots with, generated from its description: what the
// partition has and nothing else. Its memory regions, one cpu per vCPU (reg = the vCPU index,
// which is Aff0 of the virtual MPIDR the kernel gives it), PSCI over HVC (the kernel emulates
// it), the GICv3 distributor and this partition's own redistributor frames (emulated by the
// kernel: they trap), the architected timer, the PL011 the kernel emulates for the partition,
// and /chosen (bootargs, stdout-path, initramfs), and its forwarded windows as virtio-mmio
// devices (GuestVirtioDevice). No ITS, PMU, PCIe, fw_cfg, RTC, GPIO:
// a partition is given none of them (devices it is given are mapped, not described), and no
// kaslr-seed or rng-seed: a seed packed into the image would be the same at every boot.
#pragma once

#include <bhcc/linux_layout.hpp>
#include <bhcc/system_description.hpp>

#include <bulkhead/platform.hpp>

#include <vector>

namespace bhcc {

// What the guest sees where the machine has it (QEMU virt): the windows the kernel traps and
// emulates for a partition with a virtual GIC and UART, and the interrupts they raise.
namespace guest_platform {
inline constexpr bh::u64 kGicdIpa = bh::platform::kGicdBase;
inline constexpr bh::u64 kGicdSize = 0x1'0000;
inline constexpr bh::u64 kGicrIpa = bh::platform::kGicrBase;          // vCPU i's frames at + i * stride
inline constexpr bh::u64 kGicrStride = bh::platform::kGicrStride;
inline constexpr bh::u64 kUartIpa = bh::platform::kUartBase;
inline constexpr bh::u64 kUartSize = 0x1000;
inline constexpr bh::u32 kUartSpi = 1;                  // INTID 33
inline constexpr bh::u32 kUartClockHz = 24'000'000;     // virt's apb-pclk
// Timer PPIs as virt numbers them (INTID - 16): secure physical 13, non-secure physical 14,
// virtual 11 (INTID 27, the one a guest at EL1 uses), hypervisor 10.
inline constexpr bh::u32 kTimerPpis[] = {13, 14, 11, 10};
inline constexpr bh::u32 kIrqLevelHigh = 4;
}  // namespace guest_platform

// A forwarded window of the partition (`/forwards`), described as a virtio-mmio device: its
// registers, its interrupt (INTID, 0: none) and its DMA window (size 0: none). With a DMA window
// the window is also a memory node, and the device sits on a bus whose dma-ranges are the window
// alone: Linux then bounces every streaming DMA buffer elsewhere through swiotlb and allocates
// coherent memory (the virtqueues) in ZONE_DMA, which the layout rule (forward_rules.hpp) makes
// the window itself.
struct GuestVirtioDevice {
    bh::u64 ipa = 0;
    bh::u64 size = 0;
    bh::u64 interrupt = 0;
    bh::u64 dma_ipa = 0;
    bh::u64 dma_size = 0;
};
[[nodiscard]] std::vector<GuestVirtioDevice> virtio_devices_of(const SystemDescription& system, const Partition& partition);

// The flattened device tree (version 17) for `partition`, whose boot files lie as `layout` says.
[[nodiscard]] std::vector<bh::u8> make_guest_device_tree(const Partition& partition, const LinuxLayout& layout,
                                                         const std::vector<GuestVirtioDevice>& devices = {});

}  // namespace bhcc

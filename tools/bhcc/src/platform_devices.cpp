#include <bhcc/platform_devices.hpp>

#include <bulkhead/platform.hpp>

#include <vector>

namespace bhcc {
namespace {

namespace platform = bh::platform;

// QEMU virt (virtualization=on, gic-version=3, iommu=smmuv3), as its dumped DTB lists them:
// virtio-mmio (its DMA bypasses the SMMU), the debug console, the interrupt controller (GICD, ITS and the redistributor window up to the
// UART), fw_cfg (it has a DMA interface), the SMMU, and PCIe config space (through which a
// partition could re-point devices behind the SMMU).
constexpr PlatformDevice kKernelOwned[] = {
    {"uart0", platform::kUartBase, 0x1000, false},
    {"gic", platform::kGicdBase, 0x0100'0000, false},
    {"fw-cfg", 0x0902'0000, 0x1000, false},
    {"virtio-mmio", 0x0a00'0000, 0x4000, false},
    {"smmu", platform::kSmmuBase, 0x2'0000, false},
    {"pcie-ecam", 0x40'1000'0000, 0x1000'0000, false},
};

[[nodiscard]] std::vector<PlatformDevice> make_table() {
    std::vector<PlatformDevice> table;
    for (const platform::MmioWindow& window : platform::kAssignableMmio) {
        table.push_back({window.name, window.base, window.size, true});
    }
    table.insert(table.end(), std::begin(kKernelOwned), std::end(kKernelOwned));
    return table;
}

}  // namespace

std::span<const PlatformDevice> platform_devices() {
    static const std::vector<PlatformDevice> table = make_table();
    return table;
}

const PlatformDevice* find_platform_device(std::string_view name) {
    for (const PlatformDevice& device : platform_devices()) {
        if (device.name == name) return &device;
    }
    return nullptr;
}

}  // namespace bhcc

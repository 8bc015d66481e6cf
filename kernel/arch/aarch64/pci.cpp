// PCIe configuration space of bus 0 through the ECAM, which only the kernel maps (mmu.cpp).
#include <arch/pci.hpp>
#include <bulkhead/platform.hpp>

#include "sysreg.hpp"

namespace bh::arch {

namespace {

// Callers (kernel/pci/pci_functions.cpp) pass an aligned access inside one function: the check here
// only keeps a kernel bug from reaching outside bus 0.
bool valid(u32 bdf, u32 offset, unsigned size) {
    return bdf < platform::kStreamCount && offset < platform::kPcieFunctionConfigSize &&
           (size == 1 || size == 2 || size == 4) && offset % size == 0;
}

u64 address(u32 bdf, u32 offset) { return platform::kPcieEcamBase + bdf * platform::kPcieFunctionConfigSize + offset; }

}  // namespace

u32 pci_config_read(u32 bdf, u32 offset, unsigned size) {
    if (!valid(bdf, offset, size)) return ~0u;
    switch (size) {
        case 1: return aarch64::mmio_read<u8>(address(bdf, offset));
        case 2: return aarch64::mmio_read<u16>(address(bdf, offset));
        default: return aarch64::mmio_read<u32>(address(bdf, offset));
    }
}

void pci_config_write(u32 bdf, u32 offset, unsigned size, u32 value) {
    if (!valid(bdf, offset, size)) return;
    switch (size) {
        case 1: aarch64::mmio_write<u8>(address(bdf, offset), static_cast<u8>(value)); break;
        case 2: aarch64::mmio_write<u16>(address(bdf, offset), static_cast<u16>(value)); break;
        default: aarch64::mmio_write<u32>(address(bdf, offset), value); break;
    }
    aarch64::dsb_ish();  // the write has reached the root complex before the kernel goes on
}

}  // namespace bh::arch

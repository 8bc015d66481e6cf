// The SMMUv3 until stream binding exists: its global bypass attribute set to abort, so that no
// PCIe device can reach memory. Out of reset the SMMU is disabled and lets DMA bypass it.
#include <bulkhead/platform.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::aarch64 {

namespace {
constexpr u64 kCr0 = platform::kSmmuBase + 0x20;
constexpr u64 kGbpa = platform::kSmmuBase + 0x44;
constexpr u32 kCr0SmmuEnable = 1u << 0;
constexpr u32 kGbpaAbort = 1u << 20;
constexpr u32 kGbpaUpdate = 1u << 31;
}  // namespace

bool smmu_abort_all_dma() {
    if ((mmio_read<u32>(kCr0) & kCr0SmmuEnable) != 0) return false;  // firmware left it on: refuse
    mmio_write<u32>(kGbpa, kGbpaUpdate | kGbpaAbort);
    while ((mmio_read<u32>(kGbpa) & kGbpaUpdate) != 0) {
    }
    return (mmio_read<u32>(kGbpa) & kGbpaAbort) != 0;
}

}  // namespace bh::aarch64

// The kernel's own EL2 translation tables: RAM identity mapped, the kernel image with page
// granularity so that text is read-only executable, read-only data is read-only, and nothing
// writable is executable (SCTLR_EL2.WXN enforces the last part in hardware as well).
#include <bulkhead/platform.hpp>

#include "aarch64.hpp"
#include "asm_defs.h"
#include "sysreg.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], bh_stacks[];

namespace bh::aarch64 {

namespace {

constexpr u64 kValid = 1ull << 0;
constexpr u64 kTableOrPage = 1ull << 1;  // table at levels 1-2, page at level 3
constexpr u64 kAttrDevice = 0ull << 2;   // MAIR index 0
constexpr u64 kAttrNormal = 1ull << 2;   // MAIR index 1
constexpr u64 kApRes1 = 1ull << 6;       // AP[1] is RES1 in the single-privilege EL2 regime
constexpr u64 kReadOnly = 1ull << 7;     // AP[2]
constexpr u64 kInnerShareable = 3ull << 8;
constexpr u64 kAccessFlag = 1ull << 10;
constexpr u64 kExecuteNever = 1ull << 54;

constexpr u64 kDeviceBlock = kValid | kAttrDevice | kApRes1 | kAccessFlag | kExecuteNever;
constexpr u64 kNormalData = kValid | kAttrNormal | kApRes1 | kInnerShareable | kAccessFlag | kExecuteNever;

// MAIR: 0 = Device-nGnRE, 1 = Normal write-back read/write-allocate.
constexpr u64 kMair = 0x04ull | (0xffull << 8);
// TCR_EL2: T0SZ=25 (39-bit VA, walk starts at level 1), WBWA inner shareable walks, 4 KiB
// granule, 40-bit PA, RES1 bits 23 and 31.
constexpr u64 kTcr = 25ull | (1ull << 8) | (1ull << 10) | (3ull << 12) | (2ull << 16) | (1ull << 23) | (1ull << 31);
// SCTLR_EL2: M, C, SA, I, WXN and the RES1 bits.
constexpr u64 kSctlr = (1ull << 0) | (1ull << 2) | (1ull << 3) | (1ull << 12) | (1ull << 19) | 0x30C5'0830ull;
static_assert((kSctlr & 0x30C5'0830ull) == 0x30C5'0830ull);

constexpr u64 kGiB = 1ull << 30;
constexpr u64 kMiB2 = 2ull << 20;
constexpr unsigned kKernelL3Tables = 2;  // 4 MiB of page-granular mappings from the RAM base

alignas(4096) u64 level1[512];
alignas(4096) u64 level2_devices[512];
alignas(4096) u64 level2_ram[512];
alignas(4096) u64 level2_pcie[512];
alignas(4096) u64 level3_kernel[kKernelL3Tables][512];

u64 table(const void* next) { return reinterpret_cast<u64>(next) | kValid | kTableOrPage; }

// One of the stacks' guard pages (cpu.cpp: the page below each core's stack).
bool stack_guard(u64 pa) {
    const u64 stacks = reinterpret_cast<u64>(bh_stacks);
    return pa >= stacks && pa < stacks + platform::kMaxCores * KERNEL_STACK_SLOT &&
           (pa - stacks) % KERNEL_STACK_SLOT < KERNEL_STACK_GUARD;
}

u64 kernel_page(u64 pa) {
    if (stack_guard(pa)) return 0;  // invalid: an overflow faults here
    u64 text_start = reinterpret_cast<u64>(__text_start), text_end = reinterpret_cast<u64>(__text_end);
    u64 ro_start = reinterpret_cast<u64>(__rodata_start), ro_end = reinterpret_cast<u64>(__rodata_end);
    u64 page = pa | kValid | kTableOrPage | kAttrNormal | kApRes1 | kInnerShareable | kAccessFlag;
    if (pa >= align_down(text_start, kPageSize) && pa < text_end) return page | kReadOnly;
    if (pa >= align_down(ro_start, kPageSize) && pa < ro_end) return page | kReadOnly | kExecuteNever;
    return page | kExecuteNever;
}

}  // namespace

void mmu_build_tables() {
    // Devices: GIC (0x0800_0000..) and the UART/SMMU block (0x0900_0000..), 2 MiB blocks.
    for (u64 pa = platform::kGicdBase; pa < platform::kGicdBase + (16ull << 20); pa += kMiB2)
        level2_devices[pa / kMiB2] = pa | kDeviceBlock;
    level2_devices[platform::kUartBase / kMiB2] = align_down(platform::kUartBase, kMiB2) | kDeviceBlock;
    level1[0] = table(level2_devices);

    // The PCIe configuration space of bus 0 (platform::kPcieBusConfigSize, in one 2 MiB block):
    // the kernel reads and filters it for partitions, which never map it.
    static_assert(platform::kPcieBusConfigSize <= kMiB2 && platform::kPcieEcamBase % kMiB2 == 0);
    level2_pcie[(platform::kPcieEcamBase % kGiB) / kMiB2] = platform::kPcieEcamBase | kDeviceBlock;
    level1[platform::kPcieEcamBase / kGiB] = table(level2_pcie);

    // First GiB of RAM: the kernel image window page by page, the rest in 2 MiB blocks.
    for (unsigned t = 0; t < kKernelL3Tables; ++t) {
        for (unsigned i = 0; i < 512; ++i)
            level3_kernel[t][i] = kernel_page(platform::kRamBase + t * kMiB2 + i * kPageSize);
        level2_ram[t] = table(level3_kernel[t]);
    }
    for (unsigned i = kKernelL3Tables; i < 512; ++i) level2_ram[i] = (platform::kRamBase + i * kMiB2) | kNormalData;
    level1[platform::kRamBase / kGiB] = table(level2_ram);

    // The rest of RAM in 1 GiB blocks.
    for (u64 pa = platform::kRamBase + kGiB; pa < platform::kRamBase + platform::kDefaultRamSize; pa += kGiB)
        level1[pa / kGiB] = pa | kNormalData;
}

void mmu_enable() {
    BH_WRITE_SYSREG(mair_el2, kMair);
    BH_WRITE_SYSREG(tcr_el2, kTcr);
    BH_WRITE_SYSREG(ttbr0_el2, reinterpret_cast<u64>(level1));
    dsb_sy();
    isb();
    asm volatile("tlbi alle2" ::: "memory");
    asm volatile("ic iallu" ::: "memory");
    dsb_sy();
    isb();
    BH_WRITE_SYSREG(sctlr_el2, kSctlr);
    isb();
}

}  // namespace bh::aarch64

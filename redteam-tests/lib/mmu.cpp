#include "mmu.hpp"

namespace xtf {

namespace {

using bh::u64;

constexpr u64 kEntries = 512;
constexpr u64 kTable = 0b11;
constexpr u64 kBlock = 0b01;
constexpr u64 kAttrNormal = 1ull << 2;  // AttrIndx 1: MAIR_EL1 byte 1
constexpr u64 kInnerShareable = 3ull << 8;
constexpr u64 kAccessFlag = 1ull << 10;
constexpr u64 kMair = 0xffull << 8;     // attr 0 Device-nGnRnE, attr 1 Normal write-back
// T0SZ 24 (40-bit VA, walk from level 0), write-back walks, inner shareable, 4 KiB granule,
// TTBR1 walks off (EPD1), 40-bit IPA size (IPS 0b010).
constexpr u64 kTcr = 24 | (1ull << 8) | (1ull << 10) | (3ull << 12) | (1ull << 23) | (2ull << 32);
constexpr u64 kSctlrM = 1ull << 0;
constexpr u64 kSctlrC = 1ull << 2;
constexpr u64 kSctlrI = 1ull << 12;

alignas(4096) u64 level0[kEntries];
alignas(4096) u64 level1[2][kEntries];

}  // namespace

void mmu_identity_on() {
    for (u64 t = 0; t < 2; ++t) {
        for (u64 i = 0; i < kEntries; ++i)
            level1[t][i] = ((t * kEntries + i) << 30) | kBlock | kAttrNormal | kInnerShareable | kAccessFlag;
        level0[t] = reinterpret_cast<u64>(level1[t]) | kTable;
    }
    u64 sctlr;
    asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    asm volatile(
        "dsb ish\n\t"
        "msr mair_el1, %0\n\t"
        "msr tcr_el1, %1\n\t"
        "msr ttbr0_el1, %2\n\t"
        "isb\n\t"
        "tlbi vmalle1\n\t"
        "dsb ish\n\t"
        "isb\n\t"
        "msr sctlr_el1, %3\n\t"
        "isb"
        :
        : "r"(kMair), "r"(kTcr), "r"(reinterpret_cast<u64>(level0)), "r"(sctlr | kSctlrM | kSctlrC | kSctlrI)
        : "memory");
}

}  // namespace xtf

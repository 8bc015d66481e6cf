// Writing memory that a partition will be given and cleaning it to the point of coherency:
// retype's zeroing, a restart's scrub of a partition's RAM (128 MiB for a Linux partition) and
// the copy of its images (34 MiB). Each 64-byte line is cleaned in the same loop that writes
// it, so the loop and the address are shared, and nothing is read or walked twice: DC ZVA
// zeroes a block per instruction where eight-word stores took seven instructions per 64 bytes,
// and the copy moves eight words a step where memcpy moves one (docs/benchmarks.md).
#include <arch/arch.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::arch {
namespace {

constexpr u64 kDczidProhibited = 1u << 4;  // DCZID_EL0.DZP: DC ZVA may not be used
constexpr u64 kLine = 64;                  // the line size the fused loops are written for
constexpr unsigned kBlocksPerStep = 8;

bool line_is_64() { return (4ull << ((BH_READ_SYSREG(ctr_el0) >> 16) & 0xf)) == kLine; }  // CTR_EL0.DminLine

// After the lines are cleaned: complete, and no core keeps stale instructions for the memory.
void finish_maintenance() {
    aarch64::dsb_ish();
    asm volatile("ic ialluis" ::: "memory");
    aarch64::dsb_ish();
    aarch64::isb();
}

}  // namespace

void zero_to_poc(PhysAddr pa, u64 size) {
    const u64 dczid = BH_READ_SYSREG(dczid_el0);
    const u64 block = 4ull << (dczid & 0xf);  // DCZID_EL0.BS, in bytes
    // EL2 maps RAM 1:1 (phys_to_virt is the identity there).
    u64 a = pa.raw();
    const u64 end = a + size;
    // The fused loop needs a zeroing block that is one cache line and both ends on a step's
    // boundary: true of the reference machine (64-byte blocks and lines) for every page-aligned
    // range. Anything else takes the plain way, with the same result.
    if ((dczid & kDczidProhibited) != 0 || block != kLine || !line_is_64() || !is_aligned(a, kLine * kBlocksPerStep) ||
        !is_aligned(size, kLine * kBlocksPerStep)) {
        __builtin_memset(reinterpret_cast<void*>(a), 0, size);
        clean_invalidate_to_poc(pa, size);
        return;
    }
    while (a < end) {
        static_assert(kBlocksPerStep == 8, "the step below is written out for eight blocks");
        asm volatile(
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            "dc zva, %0\n dc civac, %0\n add %0, %0, %1\n"
            : "+r"(a)
            : "r"(kLine)
            : "memory");
    }
    finish_maintenance();
}

void copy_to_poc(PhysAddr pa, const void* source, u64 size) {
    auto* d = reinterpret_cast<u64*>(pa.raw());
    const auto* s = static_cast<const u64*>(source);
    u64 bulk = 0;
    // Whole lines, a line a step: the destination on a line, the source on a word (the kernel
    // is built with -mstrict-align). The rest, if any, by memcpy and a clean of its own.
    if (line_is_64() && is_aligned(pa.raw(), kLine) && is_aligned(reinterpret_cast<usize>(source), 8)) {
        bulk = size & ~(kLine - 1);
        for (u64 i = 0; i < bulk / 8; i += 8) {
            const u64 w0 = s[i], w1 = s[i + 1], w2 = s[i + 2], w3 = s[i + 3];
            const u64 w4 = s[i + 4], w5 = s[i + 5], w6 = s[i + 6], w7 = s[i + 7];
            d[i] = w0;
            d[i + 1] = w1;
            d[i + 2] = w2;
            d[i + 3] = w3;
            d[i + 4] = w4;
            d[i + 5] = w5;
            d[i + 6] = w6;
            d[i + 7] = w7;
            // After the line's stores (the clobber keeps them before it).
            asm volatile("dc civac, %0" ::"r"(&d[i]) : "memory");
        }
    }
    if (bulk == size) {
        finish_maintenance();
        return;
    }
    __builtin_memcpy(reinterpret_cast<u8*>(d) + bulk, static_cast<const u8*>(source) + bulk, size - bulk);
    clean_invalidate_to_poc(pa + bulk, size - bulk);
}

}  // namespace bh::arch

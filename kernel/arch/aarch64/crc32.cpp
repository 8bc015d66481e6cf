// CRC-32 with Armv8's CRC32 instructions (FEAT_CRC32: CRC32X/CRC32B use the IEEE 802.3
// polynomial, reflected, exactly the checksum's definition; CRC32CX would be Castagnoli's).
// The boot checksums the whole payload, a Linux partition's kernel and initramfs included (tens
// of MiB): the table code cost about 4 instructions per byte of every boot, this 14 per 64 bytes.
// bh_boot_primary refuses a CPU without the instructions (crc32_supported) before anything
// is checksummed.
#include <arch/arch.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::arch {

#define BH_CRC_TARGET __attribute__((target("+crc")))

BH_CRC_TARGET u32 crc32_update(u32 state, const u8* bytes, usize length) {
    // Bytes one by one up to an 8-byte boundary (the kernel is built with -mstrict-align).
    for (; length > 0 && (reinterpret_cast<usize>(bytes) & 7) != 0; --length) state = __builtin_aarch64_crc32b(state, *bytes++);
    const u64* words = reinterpret_cast<const u64*>(__builtin_assume_aligned(bytes, 8));
    // 64 bytes a step, the loads post-indexed: 14 instructions, of which the loop's own are 2.
    if (u64 steps = length / 64; steps != 0) {
        length -= steps * 64;
        u64 a, b;
        asm("1:\n"
            " ldp %[a], %[b], [%[p]], #16\n crc32x %w[s], %w[s], %[a]\n crc32x %w[s], %w[s], %[b]\n"
            " ldp %[a], %[b], [%[p]], #16\n crc32x %w[s], %w[s], %[a]\n crc32x %w[s], %w[s], %[b]\n"
            " ldp %[a], %[b], [%[p]], #16\n crc32x %w[s], %w[s], %[a]\n crc32x %w[s], %w[s], %[b]\n"
            " ldp %[a], %[b], [%[p]], #16\n crc32x %w[s], %w[s], %[a]\n crc32x %w[s], %w[s], %[b]\n"
            " subs %[n], %[n], #1\n b.ne 1b\n"
            : [s] "+r"(state), [p] "+r"(words), [n] "+r"(steps), [a] "=&r"(a), [b] "=&r"(b)
            :
            : "cc", "memory");
    }
    for (; length >= 8; length -= 8) state = __builtin_aarch64_crc32x(state, *words++);
    bytes = reinterpret_cast<const u8*>(words);
    for (; length > 0; --length) state = __builtin_aarch64_crc32b(state, *bytes++);
    return state;
}

}  // namespace bh::arch

namespace bh::aarch64 {

// ID_AA64ISAR0_EL1.CRC32, bits [19:16]: 1 when CRC32B..CRC32CX are implemented (QEMU's
// cortex-a53 reports 1, as does every Cortex-A53; Armv8.1 makes them mandatory).
bool crc32_supported() { return ((BH_READ_SYSREG(id_aa64isar0_el1) >> 16) & 0xf) != 0; }

}  // namespace bh::aarch64

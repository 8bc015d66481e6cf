// A guest's load or store that the kernel carries out itself where the partition has no mapping
// (an emulated register window: today only a partition's PCIe configuration window). It is
// decoded from the stage-2 data abort's syndrome alone (ESR_EL2.ISV = 1: a single general-purpose
// register load or store, Arm ARM D17.2.40), never from guest memory; anything else (no
// syndrome, a pair or vector access, cache maintenance, a fault on a stage-1 walk, a permission
// fault) is not an access the kernel completes and stays the partition's fault. Pure: the host
// build decodes the same syndromes.
#pragma once

#include <bulkhead/types.hpp>

#include "arch/aarch64/esr.hpp"
#include "arch/aarch64/guest_regs.hpp"

namespace bh::arch {

struct MmioAccess {
    bool valid = false;        // the rest means something
    u8 size = 0;               // bytes: 1, 2, 4 or 8
    u8 reg = 0;                // Xt; 31 is XZR (reads as zero, a load to it is discarded)
    bool sign_extend = false;  // SSE: a signed load of fewer than 64 bits
    bool sixty_four = false;   // SF: the register is X (else W: the upper half is cleared)
};

namespace mmio {
inline constexpr u32 kIsv = 1u << 24;
inline constexpr unsigned kSasShift = 22;
inline constexpr u32 kSse = 1u << 21;
inline constexpr unsigned kSrtShift = 16;
inline constexpr u32 kSf = 1u << 15;
inline constexpr u32 kCm = 1u << 8;                  // cache maintenance
inline constexpr u32 kS1ptw = 1u << 7;               // the fault was on a stage-1 table walk
inline constexpr u32 kDfscTranslation = 0b0001'00;   // 0b0001LL: translation fault, level LL
inline constexpr u64 kInstructionLength = 4;         // A64 only: AArch32 guests exit as faults
constexpr u64 size_mask(unsigned size) { return size == 8 ? ~0ull : (1ull << (8 * size)) - 1; }
}  // namespace mmio

constexpr MmioAccess decode_mmio_access(u64 esr_value) {
    if (esr::exception_class(esr_value) != esr::Class::DataAbortLower) return {};
    const u32 iss = esr::iss(esr_value);
    if ((iss & mmio::kIsv) == 0 || (iss & (mmio::kCm | mmio::kS1ptw)) != 0) return {};
    if ((esr::fault_status(esr_value) & ~3u) != mmio::kDfscTranslation) return {};
    MmioAccess a;
    a.valid = true;
    a.size = static_cast<u8>(1u << ((iss >> mmio::kSasShift) & 3));
    a.reg = static_cast<u8>((iss >> mmio::kSrtShift) & 0x1f);
    a.sign_extend = (iss & mmio::kSse) != 0;
    a.sixty_four = (iss & mmio::kSf) != 0;
    return a;
}
// LDRH w3, [x] faulting at level 3 (ISV, SAS 1, SRT 3), a store with no syndrome, a permission fault.
static_assert(decode_mmio_access((0x24ull << 26) | mmio::kIsv | (1u << 22) | (3u << 16) | 0x07).size == 2 &&
              decode_mmio_access((0x24ull << 26) | mmio::kIsv | (1u << 22) | (3u << 16) | 0x07).reg == 3);
static_assert(!decode_mmio_access((0x24ull << 26) | (1u << 6) | 0x07).valid &&
              !decode_mmio_access((0x24ull << 26) | mmio::kIsv | 0x0f).valid);

// The value a store writes (truncated to its size).
constexpr u64 mmio_store_value(const GuestRegs& regs, const MmioAccess& a) {
    return a.reg == 31 ? 0 : regs.x[a.reg] & mmio::size_mask(a.size);
}
// Completes a load with `value` (extended as the instruction says) and steps past the instruction.
constexpr void mmio_complete_load(GuestRegs& regs, const MmioAccess& a, u64 value) {
    value &= mmio::size_mask(a.size);
    if (a.sign_extend && a.size < 8 && (value >> (8 * a.size - 1)) != 0) value |= ~mmio::size_mask(a.size);
    if (!a.sixty_four) value &= 0xffff'ffffull;
    if (a.reg != 31) regs.x[a.reg] = value;
    regs.elr += mmio::kInstructionLength;
}
constexpr void mmio_complete_store(GuestRegs& regs) { regs.elr += mmio::kInstructionLength; }

}  // namespace bh::arch

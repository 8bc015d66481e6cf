// A guest load or store that stage 2 stopped in an emulated device window, decoded from the data
// abort's instruction syndrome (ESR_EL2.ISS with ISV = 1; Arm ARM D24.2.40, "ISS encoding for an
// exception from a Data Abort"), and the two halves of its emulation: the value a store writes,
// taken from the vCPU's saved registers, and the register a load fills. decode_exit
// (guest_exit_decode.hpp) runs the decoder on every data abort and hands the result to generic
// code in arch::GuestExit. Pure: built for the host as well, so that unit tests and the fuzz
// target (fuzz/targets/fuzz_vgic.cpp) decode the syndromes the hardware reports.
//
// Only what the syndrome describes completely is emulated: one general-purpose register, 1 to 8
// bytes, naturally aligned, no writeback. Anything else (ISV = 0: load/store pair, writeback,
// SIMD/FP registers, exclusives; a stage-1 walk; cache maintenance) would need the kernel to
// fetch and decode the guest's instruction from guest memory, a TOCTOU-prone interpreter the
// kernel does not have: it is the partition's fault.
#pragma once

#include <bulkhead/types.hpp>

#include "arch/aarch64/guest_regs.hpp"

namespace bh::arch {

struct MmioAccess {
    Ipa ipa;
    u8 size = 0;               // bytes: 1, 2, 4 or 8 (SAS)
    bool write = false;        // WnR
    bool sign_extend = false;  // SSE: a load sign-extends the value to the register's width
    bool wide = false;         // SF: the register is Xt; otherwise Wt, whose load clears bits [63:32]
    u8 reg = 0;                // SRT: x0..x30, or 31 = XZR (reads as 0, writes are discarded)
};

struct DecodedMmio {
    MmioAccess access;
    const char* refusal = nullptr;  // why the access cannot be emulated; nullptr: `access` is valid
    bool ok() const { return refusal == nullptr; }
};

// `esr` is ESR_EL2 of a data abort from EL1/EL0 (EC 0x24), `ipa` the faulting IPA (HPFAR|FAR).
DecodedMmio decode_mmio(u64 esr, Ipa ipa);

// The bytes a store writes: the low `size` bytes of its source register (XZR: 0).
u64 store_value(const MmioAccess& access, const GuestRegs& regs);

// Completes a load with the device's `value` (of which the low `size` bytes count): extends it as
// the instruction does and writes the destination register (nothing for XZR).
void complete_load(const MmioAccess& access, GuestRegs& regs, u64 value);

}  // namespace bh::arch

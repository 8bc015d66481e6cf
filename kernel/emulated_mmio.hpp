// Guest loads and stores the kernel carries out itself where the partition has no mapping: today
// only the PCIe configuration window of a partition that owns functions (pci_functions.hpp). The
// access is decoded from the stage-2 data abort's syndrome alone (ESR_EL2.ISV = 1: a single
// general-purpose register load or store), never from guest memory; anything else (no syndrome,
// a pair or vector access, cache maintenance, a stage-1 walk) stays the partition's fault.
#pragma once

#include <bulkhead/status.hpp>
#include <guest_exit.hpp>

namespace bh {

struct MmioAccess {
    Ipa ipa;
    unsigned size;     // bytes: 1, 2, 4 or 8
    bool write;
    u32 reg;           // Xt; 31 is XZR (reads as zero, a load to it is discarded)
    bool sign_extend;  // SSE: a signed load of fewer than 64 bits
    bool sixty_four;   // SF: the register is X (else W: the upper half is cleared)
};

// From ESR_EL2 and the faulting IPA of a data abort taken to EL2 from EL1/EL0. InvalidArgument
// unless it is a stage-2 translation fault with a valid instruction syndrome.
Result<MmioAccess> decode_mmio_access(u64 esr, Ipa ipa);
// The value a store writes (truncated to its size).
u64 mmio_store_value(const GuestRegs& regs, const MmioAccess& a);
// Completes a load with `value` (extended as the instruction says) and steps past the instruction.
void mmio_complete_load(GuestRegs& regs, const MmioAccess& a, u64 value);
void mmio_complete_store(GuestRegs& regs);

// True when the exit was such an access and has been completed: the vCPU resumes after it.
[[nodiscard]] bool emulate_mmio(System& system, Vcpu& vcpu, const ExitSyndrome& syndrome);

}  // namespace bh

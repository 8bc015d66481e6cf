// What one exit from a guest means, in words generic code understands: the syndrome registers
// (ESR_EL2, FAR_EL2, HPFAR_EL2) read by the vectors' C handler, decoded here (Arm ARM D17.2.37).
// Pure, built for the host as well, so that the tests feed the same syndromes the hardware
// reports.
#pragma once

#include <bulkhead/types.hpp>
#include <lib/format.hpp>

#include "arch/aarch64/asm_defs.h"
#include "arch/aarch64/mmio_access.hpp"

namespace bh::arch {

// The vector an exit came through (vectors.S passes EXIT_*).
enum class ExitVector : u32 { Sync = EXIT_SYNC, Irq = EXIT_IRQ, Fiq = EXIT_FIQ, SError = EXIT_SERROR, Aarch32 = EXIT_AARCH32 };

struct Syndrome {
    u64 esr = 0;
    u64 far = 0;
    u64 hpfar = 0;
};

struct GuestExit {
    enum class Cause : u8 {
        Hypercall,    // HVC; `immediate` is its #imm
        SecureCall,   // SMC, trapped (HCR_EL2.TSC): the guest resumes after it
        MemoryAbort,  // stage-2 data or instruction abort at `ipa`
        Trap,         // any other trapped instruction (system register, ...)
        Interrupt,    // a physical IRQ or FIQ taken while the guest ran
        SError,
        Aarch32,      // an exception from AArch32 state, which partitions may not use
    };
    Cause cause = Cause::Trap;
    u16 immediate = 0;
    bool write = false;  // MemoryAbort: a data write
    Ipa ipa{};           // MemoryAbort: the faulting IPA (HPFAR_EL2.FIPA with FAR's page offset)
    MmioAccess access{};  // MemoryAbort: the load or store, when the kernel could carry it out
    // Trap of an MRS/MSR of one of the debug and PMU registers an OS programs at boot
    // (os_registers.hpp): an OS guest reads it as zero into x[rt] (rt 31: XZR) or writes it to
    // no effect. Meaningless (false) for every other exit.
    bool os_quiet_register = false;
    bool register_read = false;
    u8 register_rt = 0;
    ExitVector vector = ExitVector::Sync;
    Syndrome syndrome{};  // as read, for the fault report
};

GuestExit decode_exit(ExitVector vector, const Syndrome& syndrome);

// The report of a contained fault, from the syndrome: "stage-2 data abort (write)" ...
const char* fault_kind(const GuestExit& exit);
// ... and its decoding, e.g. "data abort from EL1/EL0, translation fault level 2, write".
void describe_fault(const GuestExit& exit, LineBuffer& out);

}  // namespace bh::arch

// A vCPU's general registers as the EL2 vectors save them on every exit and restore them on
// entry (vectors.S uses the offsets; asm_defs.h repeats them for the assembler).
#pragma once

#include <bulkhead/types.hpp>

#include "arch/aarch64/asm_defs.h"

namespace bh::arch {

struct GuestRegs {
    u64 x[31];
    u64 elr;   // ELR_EL2: where the guest resumes
    u64 spsr;  // SPSR_EL2: the guest's PSTATE
    // Vendor-range calls with an ID the ABI does not define, answered NotSupported by the
    // vectors themselves this run; each 2^k-th takes the full path and is audited
    // (kernel/calls/fast_call.hpp). Here, beside the registers, because the vectors reach it
    // from SP_EL2 before anything else is loaded.
    u64 unknown_calls;

    // PSTATE a vCPU starts with: EL1h, D, A, I and F masked.
    static constexpr u64 kInitialSpsr = 0x3c5;

    // A clean register file that enters the guest at `entry` with x0 = `arg`.
    void reset(u64 entry, u64 arg) {
        for (u64& r : x) r = 0;
        x[0] = arg;
        elr = entry;
        spsr = kInitialSpsr;
        unknown_calls = 0;
    }
    // A trapped SMC, MRS or MSR returns to itself (unlike HVC): the guest resumes after it.
    void skip_trapped_instruction() { elr += 4; }
};
static_assert(sizeof(GuestRegs) == GUEST_FRAME_SIZE && __builtin_offsetof(GuestRegs, elr) == GUEST_FRAME_ELR &&
              __builtin_offsetof(GuestRegs, spsr) == GUEST_FRAME_ELR + 8 &&
              __builtin_offsetof(GuestRegs, unknown_calls) == GUEST_FRAME_UNKNOWN_CALLS);

}  // namespace bh::arch

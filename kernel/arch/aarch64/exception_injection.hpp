// The EL1 exception an AArch64 guest receives for an exit the kernel contains under the fault
// policy "inject" (calls/fault_injection.hpp, docs/isolation.md "Fault policy"), in the
// architecture's own terms (Arm ARM D1.10, D17.2.40 ESR_EL1):
//   stage-2 data or instruction abort -> data/instruction abort at EL1 (the same-EL class from
//                                        EL1, the lower-EL class from EL0), DFSC/IFSC 0x10
//                                        synchronous external abort, WnR, CM and FnV kept,
//                                        FAR_EL1 = the faulting virtual address
//   trapped system register, or cache -> undefined instruction (EC 0): nothing of the trapped
//   maintenance by set/way               encoding is passed on
// Pure, built for the host as well.
#pragma once

#include <bulkhead/types.hpp>

#include "arch/aarch64/guest_exit_decode.hpp"

namespace bh::arch {

struct GuestException {
    u64 esr = 0;  // ESR_EL1
    u64 far = 0;  // FAR_EL1, for aborts (0 when not valid)
    u64 vector_offset = 0;  // from VBAR_EL1: which vector the exception enters
};

// PSTATE on exception entry to EL1: EL1h, D, A, I and F masked.
inline constexpr u64 kExceptionEntrySpsr = 0x3c5;

// Offset from VBAR_EL1 of the vector an exception from PSTATE `spsr` enters at EL1.
constexpr u64 el1_vector_offset(u64 spsr) {
    switch (spsr & 0xf) {
        case 0x4: return 0x000;  // EL1t
        case 0x5: return 0x200;  // EL1h
        default: return 0x400;   // EL0, AArch64
    }
}

// The exception to deliver for `exit`, taken from a guest whose PSTATE was `spsr`; false when
// that exit is not one a guest can be handed (SError, AArch32, any other class).
[[nodiscard]] bool exception_for_exit(const GuestExit& exit, u64 spsr, GuestException& out);

}  // namespace bh::arch

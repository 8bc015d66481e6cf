// Fault policy "inject" (docs/isolation.md, "Fault policy"). By default a synchronous exit the
// kernel does not serve ends the partition's run (the run's fault: report, then stop or
// restart). A partition described with `faults = "inject"` instead receives it as the exception
// the architecture gives at EL1 for something that is not there, and runs on, as KVM does for
// an access outside every memslot or to a system register it does not emulate:
//   stage-2 data or instruction abort  -> synchronous external abort (DFSC/IFSC 0x10) at EL1,
//                                         FAR_EL1 = the faulting virtual address
//   trapped system register, or cache  -> undefined instruction (EC 0) at EL1
//   maintenance by set/way
// Nothing else changes: the access was not performed, the report is the same FAULT line (rate
// limited, report_budget.hpp), and SError, AArch32 and unknown exit classes still end the run.
// Generic: the arch layer only writes the guest's EL1 exception registers.
#pragma once

#include <bulkhead/types.hpp>
#include <guest_exit.hpp>

namespace bh {

// The EL1 exception a partition receives for one exit.
struct GuestException {
    u64 esr = 0;  // ESR_EL1
    u64 far = 0;  // FAR_EL1, for aborts
    bool has_far = false;
};

// The exception to inject for a synchronous exit with syndrome `s`, taken from a guest whose
// PSTATE was `spsr`; false when that exit is not one the policy delivers.
[[nodiscard]] bool injectable_exception(const ExitSyndrome& s, u64 spsr, GuestException& out);

// Offset from VBAR_EL1 of the vector an exception from PSTATE `spsr` enters at EL1.
constexpr u64 el1_vector_offset(u64 spsr) {
    switch (spsr & 0xf) {
        case 0x4: return 0x000;  // EL1t
        case 0x5: return 0x200;  // EL1h
        default: return 0x400;   // EL0, AArch64
    }
}

// Handles a synchronous exit of a partition whose fault policy is Inject: reports it (within the
// partition's report budget) and enters the guest's own vector for it. False when it cannot be
// delivered: an exit class the policy does not cover, or a fault of the very instruction the
// vector would resume at (the guest's vectors are unreachable; it would fault forever). The
// caller then ends the run as for any fault.
[[nodiscard]] bool inject_fault(Vcpu& vcpu, const ExitSyndrome& s);

// At the end of a run: prints how many faults were injected in it and how many of them were
// reported one by one, when any were injected, and starts the next run's count and budget.
void report_injected_faults(Partition& p);

}  // namespace bh

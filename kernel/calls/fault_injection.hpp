// Fault policy "inject" (docs/isolation.md, "Fault policy"). By default a synchronous exit the
// kernel does not serve ends the partition's run (the run's fault: report, then stop or
// restart). A partition described with `faults = "inject"` instead receives it as the exception
// the architecture gives at EL1 for something that is not there, and runs on, as KVM does for
// an access outside every memslot or to a system register it does not emulate: a stage-2 abort
// as a synchronous external abort, a trapped system register or set/way operation as an
// undefined instruction (arch/aarch64/exception_injection.hpp has the encodings). Nothing else
// changes: the access was not performed, the report is the same FAULT line and audit entry (the
// lines within a budget, lib/report_budget.hpp; the audit ring records every one), and SError,
// AArch32 and any other exit still end the run.
#pragma once

#include <arch/guest.hpp>

namespace bh {

class Partition;
struct Vcpu;

// Handles a memory abort or trap of a partition whose fault policy is Inject: reports it
// (within the partition's report budget) and enters the guest's own vector for it. False when
// it cannot be delivered: an exit the policy does not cover, or a fault of the very instruction
// the vector would resume at (the guest's vectors are unreachable: it would fault forever). The
// caller then ends the run as for any fault.
[[nodiscard]] bool inject_fault(Vcpu& vcpu, const arch::GuestExit& exit);

// At the end of a run: prints how many faults were injected in it and how many of them were
// reported one by one, when any were injected, and starts the next run's count and budget.
void report_injected_faults(Partition& p);

}  // namespace bh

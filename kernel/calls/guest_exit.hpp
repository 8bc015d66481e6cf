// What happens when a guest leaves EL1/EL0 for the kernel: calls (hypercalls, PSCI) and faults.
// Generic: the arch layer decodes the syndrome into an arch::GuestExit and acknowledges
// interrupts; the policy is here, exercised unchanged by host tests and fuzzers.
#pragma once

#include <arch/guest.hpp>
#include <calls/guest_call.hpp>

namespace bh {

class Kernel;
struct Vcpu;

// True: resume the vCPU. False: the vCPU no longer runs (its partition stopped, restarted or
// switched it off, or it waits); the core goes back to waiting for it.
[[nodiscard]] bool handle_guest_exit(Kernel& kernel, Vcpu& vcpu, const arch::GuestExit& exit);

// The partition of `vcpu` (claimed by, or running on, this core) is stopped, by its restart
// policy, when one of its devices faulted since (DmaStreamTable::take_pending_fault). Taking the
// SMMU's report kicks every running vCPU of the partition, so it is asked at an interrupt exit,
// and before a vCPU is entered (kernel_entry::next_guest) for a vCPU that was not running then;
// calls and faults do not ask, which keeps them as cheap as they were. Callers ask
// DmaStreamTable::fault_pending first. True: it was stopped; the vCPU no longer runs.
[[nodiscard]] bool stop_if_device_faulted(Kernel& kernel, Vcpu& vcpu);

// Prints the FAULT line of a contained fault: "FAULT partition '<name>' core <c>: <kind> [at IPA
// ..] (ESR ..: <decoded>, ELR ..)", followed by " <outcome>" when one is given.
void report_fault(const Vcpu& vcpu, const arch::GuestExit& exit, const char* outcome = nullptr);

// The families of decoded calls (calls/console.cpp, calls/cap_invoke.hpp, calls/psci.cpp).
void handle_vendor_call(Vcpu& vcpu, const GuestCall& call);
[[nodiscard]] bool handle_psci(Kernel& kernel, Vcpu& vcpu, const GuestCall& call);

// CPU_OFF in its two steps: the vCPU goes off, then, if it was the partition's last one on, the
// run it belonged to stops. Between the steps a controller may take the partition down and
// launch its next run; the second step then leaves that run alone. Apart for host tests,
// which put a restart between them.
struct CpuOff {
    u32 run;    // the partition's run when the vCPU went off
    bool last;  // no vCPU of it was on after this one went off
};
[[nodiscard]] CpuOff cpu_off_begin(Vcpu& vcpu);
void cpu_off_finish(Kernel& kernel, Vcpu& vcpu, CpuOff off);

}  // namespace bh

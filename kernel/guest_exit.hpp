// What happens when a guest leaves EL1/EL0 for the kernel: hypercalls, PSCI, faults.
// Generic: the arch layer reads the syndrome registers and acknowledges interrupts, then calls
// this, so the policy is exercised unchanged by host tests and fuzzers.
#pragma once

#include <bulkhead/types.hpp>
#include <system.hpp>
#include <vcpu.hpp>

namespace bh {

enum class ExitKind : u32 { Sync = 0, Irq = 1, Fiq = 2, SError = 3, Aarch32 = 4 };

struct ExitSyndrome {
    u64 esr = 0;
    u64 far = 0;
    u64 hpfar = 0;
};

// True: resume the vCPU. False: the vCPU no longer runs (its partition stopped, restarted or
// switched it off); the core goes back to waiting for it.
[[nodiscard]] bool handle_guest_exit(System& system, Vcpu& vcpu, ExitKind kind, const ExitSyndrome& syndrome);

// The faulting IPA of a stage-2 abort: HPFAR_EL2.FIPA holds bits [47:12], FAR the page offset.
constexpr u64 fault_ipa(const ExitSyndrome& s) { return ((s.hpfar & 0x0000'0fff'ffff'fff0ull) << 8) | (s.far & 0xfff); }

// Prints the FAULT line of a contained fault: "FAULT partition '<name>' core <c>: <kind> [at IPA ..]
// (ESR ..: <decoded>, ELR ..)", followed by " <outcome>" when one is given.
void report_fault(const Vcpu& vcpu, ExitKind kind, const ExitSyndrome& s, const char* outcome = nullptr);

// Hypercalls and PSCI; they read arguments from and write results to vcpu.regs.
[[nodiscard]] bool handle_hypercall(System& system, Vcpu& vcpu);
[[nodiscard]] bool handle_psci(System& system, Vcpu& vcpu);
bool is_psci_function(u64 function_id);
// Capability invocations (kernel/cap_calls.cpp).
bool is_cap_call(u64 function_id);
[[nodiscard]] bool handle_cap_call(System& system, Vcpu& vcpu);

}  // namespace bh

// Driving a vCPU through guest exits on the host, as its core would: shared by the tests of the
// System, notifications, channels and the invariant checker.
#pragma once

#include <bulkhead/hypercall.hpp>
#include <guest_exit.hpp>
#include <initializer_list>

namespace bh::test {

// Syndromes of the exits the tests make (ESR_EL2: EC in [31:26], IL set).
inline constexpr u64 kEsrHvc0 = (0x16ull << 26) | (1ull << 25);
inline constexpr u64 kEsrSmc = (0x17ull << 26) | (1ull << 25);
inline constexpr u64 kEsrDataAbortWrite = (0x24ull << 26) | (1ull << 25) | (1u << 6) | 0x06;
inline constexpr u64 kEsrSysReg = (0x18ull << 26) | (1ull << 25);

// Runs vCPU `v` through one exit of `kind` with syndrome `esr`; true when it would resume.
inline bool exit_with(System& s, Vcpu& v, ExitKind kind, u64 esr = 0, u64 far = 0, u64 hpfar = 0) {
    if (v.load_state() == VcpuState::Runnable) v.store_state(VcpuState::Running);
    return handle_guest_exit(s, v, kind, ExitSyndrome{esr, far, hpfar});
}

// One HVC #0 with x0 = `fid`, x1.. = `args` (the rest zero); true when the vCPU would resume.
inline bool hypercall(System& s, Vcpu& v, u64 fid, std::initializer_list<u64> args = {}) {
    v.regs.x[0] = fid;
    for (unsigned k = 1; k < 8; ++k) v.regs.x[k] = 0;
    unsigned i = 1;
    for (u64 a : args) v.regs.x[i++] = a;
    return exit_with(s, v, ExitKind::Sync, kEsrHvc0);
}

inline i64 status_of(const Vcpu& v) { return static_cast<i64>(v.regs.x[0]); }

// One HVC #0 of `fn` with x1.. = `args`; the status it leaves in x0 (resumed or not).
inline i64 call_status(System& s, Vcpu& v, hvc::Function fn, std::initializer_list<u64> args = {}) {
    (void)hypercall(s, v, static_cast<u64>(fn), args);
    return status_of(v);
}

}  // namespace bh::test

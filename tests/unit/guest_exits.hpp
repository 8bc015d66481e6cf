// Driving a vCPU through guest exits on the host, as its core would: the core loop's decision
// (CoreMap::claim) enters it, the syndrome is decoded as the hardware reports it
// (arch::decode_exit), and handle_guest_exit runs the policy. Shared by the tests of guest
// exits, PSCI, capability calls, notifications, channels, interrupts and the invariant checker.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <arch/arch.hpp>
#include <arch/guest.hpp>
#include <arch/aarch64/sgi_trap.hpp>
#include <arch/host/host_memory.hpp>
#include <arch/kernel_entry.hpp>
#include <arch/vgic_hw.hpp>
#include <bulkhead/hypercall.hpp>
#include <calls/fast_call.hpp>
#include <calls/guest_exit.hpp>
#include <initializer_list>
#include <kernel.hpp>

namespace bh::test {

// Syndromes of the exits the tests make (ESR_EL2: EC in [31:26], IL set).
inline constexpr u64 kEsrHvc0 = (0x16ull << 26) | (1ull << 25);
inline constexpr u64 kEsrSmc = (0x17ull << 26) | (1ull << 25);
inline constexpr u64 kEsrDataAbortWrite = (0x24ull << 26) | (1ull << 25) | (1u << 6) | 0x06;
inline constexpr u64 kEsrSysReg = (0x18ull << 26) | (1ull << 25);

using arch::ExitVector;

// What `v`'s core does before it enters a guest: the core loop's decision. A runnable vCPU must
// be the one its core claims (Runnable -> Running: its partition runs); a running one is already
// in the guest. A restart held back by the restart back-off (partition/restart_backoff.hpp) is
// due later: the test's clock moves on to that time first, as the machine's would.
inline void enter(Kernel& k, Vcpu& v) {
    if (v.load_state() != VcpuState::Runnable) return;
    const u64 due = v.start_not_before.load();
    if (arch::counter_now() < due) host::set_counter(due);
    REQUIRE(k.cores.claim(v.core) == &v);
}

// What the EL2 vectors do with an HVC #0 before the full path (vectors.S, lower_sync;
// calls/fast_call.hpp): answer an unknown ID, answer CapIdentify without the capability lock
// (bh_fast_identify), or offer the call to the fast path. True when that settled the exit, with
// `resume` set.
inline bool vectors_answer(Kernel& k, Vcpu& v, bool& resume) {
    const u64 fid = v.regs.x[0];
    if (fid == static_cast<u64>(hvc::Function::CapIdentify)) {
        if (bh_fast_identify(&v) != 0) return false;
        resume = true;
        return true;
    }
    if (fast_path::answered_as_unknown(fid)) {
        if (fast_path::unknown_call_audited(++v.regs.unknown_calls)) return false;
        v.regs.x[0] = static_cast<u64>(status_value(Status::NotSupported));
        resume = true;
        return true;
    }
    if (!fast_path::known_vendor_call(fid)) return false;
    switch (fast_path::fast_call(k, v)) {
        case fast_path::Outcome::Resume: resume = true; return true;
        case fast_path::Outcome::Park:
            fast_path::parked(v);
            resume = false;
            return true;
        case fast_path::Outcome::Slow: return false;
    }
    return false;
}

// What the EL2 vectors do with a trapped MSR/MRS before the full path (vectors.S, lower_sync;
// arch/aarch64/sgi_trap.hpp): a self-IPI that goes straight into a list register, the guest
// stepped past the MSR. True when that settled the exit (the guest resumes).
inline bool vectors_send_sgi(Vcpu& v, u64 esr) {
    const u64 lr = arch::sgi_fast_list_register(v, esr, v.regs, arch::vgic_empty_lrs());
    if (lr == 0) return false;
    arch::vgic_write_first_lr(lr);
    v.regs.elr += 4;
    return true;
}

// Whether tests take exits as the machine does (the vectors' fast path first) or through the
// full path alone (the fast path's differential test compares the two).
inline bool g_vectors_fast_path = true;

// Runs vCPU `v` through one exit through `vector` with syndrome `esr` (and FAR, HPFAR); true when
// it would resume.
inline bool exit_with(Kernel& k, Vcpu& v, ExitVector vector, u64 esr = 0, u64 far = 0, u64 hpfar = 0) {
    enter(k, v);
    bool resume = false;
    if (g_vectors_fast_path && vector == ExitVector::Sync && esr == kEsrHvc0 && vectors_answer(k, v, resume))
        return resume;
    if (g_vectors_fast_path && vector == ExitVector::Sync && vectors_send_sgi(v, esr)) return true;
    return handle_guest_exit(k, v, arch::decode_exit(vector, arch::Syndrome{esr, far, hpfar}));
}

// One HVC #0 with x0 = `fid`, x1.. = `args` (the rest zero); true when the vCPU would resume.
inline bool hypercall(Kernel& k, Vcpu& v, u64 fid, std::initializer_list<u64> args = {}) {
    v.regs.x[0] = fid;
    for (unsigned i = 1; i < 8; ++i) v.regs.x[i] = 0;
    unsigned i = 1;
    for (u64 a : args) v.regs.x[i++] = a;
    return exit_with(k, v, ExitVector::Sync, kEsrHvc0);
}

inline i64 status_of(const Vcpu& v) { return static_cast<i64>(v.regs.x[0]); }

// One HVC #0 of `fn` with x1.. = `args`; the status it leaves in x0 (resumed or not).
inline i64 call_status(Kernel& k, Vcpu& v, hvc::Function fn, std::initializer_list<u64> args = {}) {
    (void)hypercall(k, v, static_cast<u64>(fn), args);
    return status_of(v);
}

}  // namespace bh::test

// Attack class "system registers" (threats T-14, T-18, T-19, T-20, T-21, T-24; invariants INV-2,
// INV-6): every encodable MRS and MSR with op0 2 or 3 (all op1, CRn, CRm, op2: 32,768 encodings,
// 65,536 instructions) executed at EL1. The partition runs with `faults = "inject"`, so an
// access the kernel traps comes back as an undefined instruction, like one the CPU does not
// implement: the guest cannot tell them apart and need not. What it reports is the set it
// reaches (the instruction executes), which must equal the list docs/isolation.md documents
// ("System registers a partition reaches"); the expectation is generated from that list
// (tools/sysreg-expect), never typed.
//
// Each encoding: MRS first; then MSR with the value read (with 0 when the read did not
// execute), so that a writable register keeps its value and the sweep its footing (SCTLR_EL1,
// VBAR_EL1, SPSel, DAIF ...). The instructions are generated into a table of stubs
// (`mrs x0, <reg>; ret` and `msr <reg>, x0; ret`) before the sweep. FP/SIMD is enabled first
// (CPACR_EL1.FPEN), so FPCR and FPSR count as reached.
//
// Lines: "REACH S<op0>_<op1>_C<n>_C<m>_<op2> r|w|rw" per register reached, in encoding order,
// then "RESULT sysregs reach: registers=N reads=R writes=W" and the sweep's tally.
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::print;

namespace {

constexpr u32 kEncodings = 2 * 8 * 16 * 16 * 8;
constexpr u32 kRet = 0xd65f03c0;
constexpr u32 kMrs = 0xd5200000;  // L = 1; Rt = x0
constexpr u32 kMsr = 0xd5000000;  // L = 0

// Stub i: two instructions. [0, kEncodings) reads, [kEncodings, 2 kEncodings) writes.
alignas(4096) u32 stubs[2 * kEncodings][2];

// Encoding index -> the fields, in sweep order: op0 (2, 3), op1, CRn, CRm, op2.
constexpr u32 op0_of(u32 i) { return 2 + (i >> 14); }
constexpr u32 op1_of(u32 i) { return (i >> 11) & 7; }
constexpr u32 crn_of(u32 i) { return (i >> 7) & 15; }
constexpr u32 crm_of(u32 i) { return (i >> 3) & 15; }
constexpr u32 op2_of(u32 i) { return i & 7; }
constexpr u32 fields(u32 i) {
    return ((op0_of(i) & 3) << 19) | (op1_of(i) << 16) | (crn_of(i) << 12) | (crm_of(i) << 8) | (op2_of(i) << 5);
}

void generate() {
    for (u32 i = 0; i < kEncodings; ++i) {
        stubs[i][0] = kMrs | fields(i);
        stubs[i][1] = kRet;
        stubs[kEncodings + i][0] = kMsr | fields(i);
        stubs[kEncodings + i][1] = kRet;
    }
    // New instructions: make them visible to instruction fetch.
    asm volatile("dsb ish\n\tic iallu\n\tdsb ish\n\tisb" ::: "memory");
}

Stub stub(u32 index) { return reinterpret_cast<Stub>(reinterpret_cast<bh::u64>(stubs[index])); }

}  // namespace

extern "C" void guest_main(u64) {
    init();
    // FP/SIMD on at EL1 (CPACR_EL1.FPEN = 0b11): FPCR and FPSR are then registers like any other.
    asm volatile("msr cpacr_el1, %0\n\tisb" : : "r"(3ull << 20));
    generate();
    print("start: ", kEncodings, " encodings, MRS then MSR each\n");

    Tally reads, writes;
    u64 registers = 0, readable = 0, writable = 0;
    for (u32 i = 0; i < kEncodings; ++i) {
        const Outcome r = call(stub(i), 0);
        const Outcome w = call(stub(kEncodings + i), r.faulted ? 0 : r.value);
        reads.add(r);
        writes.add(w);
        if (r.faulted && w.faulted) continue;
        ++registers;
        readable += r.faulted ? 0 : 1;
        writable += w.faulted ? 0 : 1;
        print("REACH S", op0_of(i), "_", op1_of(i), "_C", crn_of(i), "_C", crm_of(i), "_", op2_of(i), " ",
              r.faulted ? "" : "r", w.faulted ? "" : "w", "\n");
    }
    print("RESULT sysregs reach: registers=", registers, " reads=", readable, " writes=", writable, "\n");
    reads.print("sysregs", "mrs");
    writes.print("sysregs", "msr");
    const u64 unexpected = reads.other + writes.other + reads.contained + writes.contained + reads.stage1 + writes.stage1;
    print(unexpected == 0 ? "done: every access reached or was undefined\n" : "done: UNEXPECTED outcomes\n");
}

// Attack class "information channels" (threats T-18, T-19, T-20, T-24, T-25; invariant INV-6):
// the registers through which a partition could learn about EL2 or other partitions, or carry
// state from one run to the next, by name:
//   run 0  every debug, trace, PMU, RAS, activity-monitor, MPAM, physical timer and
//          implementation-defined register below, read and written: each must be undefined (the
//          kernel traps and injects, or the CPU does not implement it); then it writes a pattern
//          into every EL1 register it reaches that holds state (docs/isolation.md, classes
//          own-el1, virtual-timer and gic-virtual) and resets itself (PSCI SYSTEM_RESET);
//   run 1  every one of them must read as the defined value a start gives it, and its virtual
//          counter must start near zero (its own time, not the machine's).
// The partition runs with `faults = "inject"` and `restart = "restart"`.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::hex;
using bh::rt::print;

namespace {

// Must never be reached.
XTF_SYSREG(pmcr, "pmcr_el0")
XTF_SYSREG(pmccntr, "pmccntr_el0")
XTF_SYSREG(pmevcntr0, "s3_3_c14_c8_0")
XTF_SYSREG(pmuserenr, "pmuserenr_el0")
XTF_SYSREG(pmcntenset, "pmcntenset_el0")
XTF_SYSREG(mdscr, "mdscr_el1")
XTF_SYSREG(dbgbvr0, "dbgbvr0_el1")
XTF_SYSREG(dbgwvr0, "dbgwvr0_el1")
XTF_SYSREG(oslsr, "s2_0_c1_c1_4")
XTF_SYSREG(mdccsr, "s2_3_c0_c1_0")
XTF_SYSREG(dbgdtr, "s2_3_c0_c4_0")
XTF_SYSREG(trcprgctlr, "s2_1_c0_c1_0")
XTF_SYSREG(trcstatr, "s2_1_c0_c3_0")
XTF_SYSREG(erridr, "s3_0_c5_c3_0")
XTF_SYSREG(errselr, "s3_0_c5_c3_1")
XTF_SYSREG(erxstatus, "s3_0_c5_c4_2")
XTF_SYSREG(erxaddr, "s3_0_c5_c4_3")
XTF_SYSREG(disr, "s3_0_c12_c1_1")
XTF_SYSREG(amcr, "s3_3_c13_c2_0")
XTF_SYSREG(amevcntr00, "s3_3_c13_c4_0")
XTF_SYSREG(mpam1, "s3_0_c10_c5_0")
XTF_SYSREG(mpamidr, "s3_0_c10_c4_4")
XTF_SYSREG(cntpct, "cntpct_el0")
XTF_SYSREG(cntp_ctl, "cntp_ctl_el0")
XTF_SYSREG(cntp_cval, "cntp_cval_el0")
XTF_SYSREG(cntvoff, "s3_4_c14_c0_3")
XTF_SYSREG(cnthctl, "s3_4_c14_c1_0")
XTF_SYSREG(actlr, "actlr_el1")
XTF_SYSREG(cpuactlr, "s3_1_c15_c2_0")
XTF_SYSREG(l2ctlr, "s3_1_c11_c0_2")
XTF_SYSREG(cpumerrsr, "s3_1_c15_c2_2")
XTF_SYSREG(vttbr, "vttbr_el2")
XTF_SYSREG(ich_vmcr, "s3_4_c12_c11_7")

// Reached, holding state that a start must reset.
XTF_SYSREG(contextidr, "contextidr_el1")
XTF_SYSREG(tpidr_el1, "tpidr_el1")
XTF_SYSREG(tpidr_el0, "tpidr_el0")
XTF_SYSREG(tpidrro, "tpidrro_el0")
XTF_SYSREG(afsr0, "afsr0_el1")
XTF_SYSREG(afsr1, "afsr1_el1")
XTF_SYSREG(par, "par_el1")
XTF_SYSREG(mair, "mair_el1")
XTF_SYSREG(amair, "amair_el1")
XTF_SYSREG(tcr, "tcr_el1")
XTF_SYSREG(ttbr0, "ttbr0_el1")
XTF_SYSREG(ttbr1, "ttbr1_el1")
XTF_SYSREG(csselr, "csselr_el1")
XTF_SYSREG(cntkctl, "cntkctl_el1")
XTF_SYSREG(cntv_cval, "cntv_cval_el0")
XTF_SYSREG(cntv_ctl, "cntv_ctl_el0")
XTF_SYSREG(sp_el0, "sp_el0")
XTF_SYSREG(fpcr, "fpcr")
XTF_SYSREG(fpsr, "fpsr")
XTF_SYSREG(icc_pmr, "s3_0_c4_c6_0")
XTF_SYSREG(icc_bpr0, "s3_0_c12_c8_3")
XTF_SYSREG(icc_bpr1, "s3_0_c12_c12_3")
XTF_SYSREG(icc_ap0r0, "s3_0_c12_c8_4")
XTF_SYSREG(icc_ap1r0, "s3_0_c12_c9_0")
XTF_SYSREG(icc_igrpen0, "s3_0_c12_c12_6")
XTF_SYSREG(icc_igrpen1, "s3_0_c12_c12_7")
XTF_SYSREG(icc_ctlr, "s3_0_c12_c12_4")

struct Channel {
    const char* name;
    Stub read;
    Stub write;
};
#define CHANNEL(name) {#name, read_##name, write_##name}

const Channel kUnreachable[] = {
    CHANNEL(pmcr),    CHANNEL(pmccntr),   CHANNEL(pmevcntr0),  CHANNEL(pmuserenr), CHANNEL(pmcntenset),
    CHANNEL(mdscr),   CHANNEL(dbgbvr0),   CHANNEL(dbgwvr0),    CHANNEL(oslsr),     CHANNEL(mdccsr),
    CHANNEL(dbgdtr),  CHANNEL(trcprgctlr), CHANNEL(trcstatr),  CHANNEL(erridr),    CHANNEL(errselr),
    CHANNEL(erxstatus), CHANNEL(erxaddr), CHANNEL(disr),       CHANNEL(amcr),      CHANNEL(amevcntr00),
    CHANNEL(mpam1),   CHANNEL(mpamidr),   CHANNEL(cntpct),     CHANNEL(cntp_ctl),  CHANNEL(cntp_cval),
    CHANNEL(cntvoff), CHANNEL(cnthctl),   CHANNEL(actlr),      CHANNEL(cpuactlr),  CHANNEL(l2ctlr),
    CHANNEL(cpumerrsr), CHANNEL(vttbr),   CHANNEL(ich_vmcr),
};

struct Stateful {
    const char* name;
    Stub read;
    Stub write;
    u64 pattern;  // what run 0 writes: the bits compared (others may be read-only or RES1)
    u64 reset;    // what a start must leave in those bits
    // (The binary points reset to their minimum, BPR0 2 and BPR1 3 with 5 priority bits: the
    // patterns 0b101 and 0b100 avoid those bits, so only a value carried over shows.)
};
#define STATEFUL(name, pattern, reset) {#name, read_##name, write_##name, pattern, reset}

const Stateful kStateful[] = {
    STATEFUL(contextidr, 0x5a5a, 0),      STATEFUL(tpidr_el1, 0x1234'5678, 0),  STATEFUL(tpidr_el0, 0x8765'4321, 0),
    STATEFUL(tpidrro, 0x7777, 0),         STATEFUL(afsr0, 0x1, 0),              STATEFUL(afsr1, 0x1, 0),
    STATEFUL(par, 0x4000'0f00, 0),        STATEFUL(mair, 0xff44, 0),            STATEFUL(amair, 0x1, 0),
    STATEFUL(tcr, 0x19, 0),               STATEFUL(ttbr0, 0x4010'0000, 0),      STATEFUL(ttbr1, 0x4020'0000, 0),
    STATEFUL(csselr, 0x2, 0),             STATEFUL(cntkctl, 0x3, 0),            STATEFUL(cntv_cval, 0x1234'5678, 0),
    STATEFUL(cntv_ctl, 0x2, 0),           STATEFUL(sp_el0, 0x4000'1230, 0),     STATEFUL(fpcr, 0x0040'0000, 0),
    STATEFUL(fpsr, 0x8, 0),               STATEFUL(icc_pmr, 0x80, 0),           STATEFUL(icc_bpr0, 0x5, 0),
    STATEFUL(icc_bpr1, 0x4, 0),           STATEFUL(icc_ap0r0, 0x1, 0),          STATEFUL(icc_ap1r0, 0x1, 0),
    STATEFUL(icc_igrpen0, 0x1, 0),        STATEFUL(icc_igrpen1, 0x1, 0),        STATEFUL(icc_ctlr, 0x2, 0),
};

void fp_on() { asm volatile("msr cpacr_el1, %0\n\tisb" : : "r"(3ull << 20)); }

void first_run() {
    Tally t;
    for (const Channel& c : kUnreachable) {
        const Outcome r = call(c.read, 0);
        const Outcome w = call(c.write, 0);
        t.add(r);
        t.add(w);
        print("ATTEMPT info ", c.name, ": read ", kind_name(r.kind()), ", write ", kind_name(w.kind()), "\n");
        if (!r.faulted || !w.faulted) breach("info: ", c.name, " reached (read ", hex(r.value), ")");
    }
    t.print("info", "unreachable");
    fp_on();
    u64 written = 0;
    for (const Stateful& s : kStateful) {
        const Outcome w = call(s.write, s.pattern);
        const Outcome r = call(s.read, 0);
        if (w.faulted || r.faulted) {
            print("UNEXPECTED info: ", s.name, " not reached\n");
            continue;
        }
        written += (r.value & s.pattern) != 0 ? 1 : 0;
    }
    print("info: ", written, " of ", sizeof kStateful / sizeof kStateful[0], " stateful registers hold the pattern; resetting\n");
    const bh::i64 status = bh::rt::system_reset();
    print("BREACH info: SYSTEM_RESET returned ", status, "\n");
}

void second_run(u64 restarts) {
    const u64 now = bh::rt::counter();
    // Read before anything of this run writes them (the runtime writes VBAR, TPIDR_EL1, SP).
    Tally t;
    u64 leaked = 0;
    fp_on();  // CPACR_EL1 itself was checked by qemu.restart; FP registers need it on to be read
    for (const Stateful& s : kStateful) {
        const Outcome r = call(s.read, 0);
        t.add(r);
        // TPIDR_EL1 and SP_EL0 hold the runtime's own values by now; the others must be reset.
        const bool runtime_owned = s.read == read_tpidr_el1 || s.read == read_sp_el0;
        const bool clean = (r.value & s.pattern) == (s.reset & s.pattern) || runtime_owned;
        if (!clean) {
            ++leaked;
            print("LEAKED info: ", s.name, " = ", hex(r.value), " after restart ", restarts, "\n");
        }
    }
    t.print("info", "after-restart");
    print("RESULT info restart ", restarts, ": registers=", sizeof kStateful / sizeof kStateful[0], " leaked=", leaked,
          " counter-at-start=", now < bh::rt::ms_to_ticks(100) ? "small" : "LARGE", "\n");
}

}  // namespace

extern "C" void guest_main(u64) {
    init();
    const bh::rt::PartitionInfo info = bh::rt::partition_info();
    if (info.restarts == 0) {
        print("start: run 0, ", sizeof kUnreachable / sizeof kUnreachable[0], " registers that must stay out of reach\n");
        first_run();
    } else {
        second_run(info.restarts);
    }
}

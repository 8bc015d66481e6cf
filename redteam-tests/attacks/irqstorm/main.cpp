// Attack class "interrupts and time" (threats T-21, T-37, T-38, T-20; invariants INV-5, INV-7):
// storms of what would interrupt other cores or the kernel, next to the victim's heartbeat.
//   vCPU 1   unmasks interrupts and sleeps in WFI, for good: only its partition's stop (the
//            kernel's kick, SGI 0) may wake it.
//   vCPU 0   1. the GIC CPU interface at EL1 (priority mask, group enables, EOI and deactivate
//               of every SGI and PPI): it reaches only the disabled virtual interface;
//            2. an SGI storm: ICC_SGI1R_EL1, ICC_SGI0R_EL1 and ICC_ASGI1R_EL1 to every core
//               (IRM) and to each core by target list, the kernel's kick SGI 0 among them;
//               each traps and comes back undefined (faults = "inject");
//            3. a timer storm: the virtual timer always expired and unmasked, PSTATE.I clear,
//               re-armed in a loop, and the physical timer's registers (trapped);
//            4. WFE: on QEMU's round-robin each one hands the rest of the core's turn to the
//               other vCPUs (it is a yield), so a few are a storm of idleness;
//            then stops the partition: the kernel must still be able to kick vCPU 1 out of WFI.
// None of it may reach another core: the victim's heartbeat stays within its bound.
//
// boot_arg bit 63: long run (ten times the storms).
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::print;

namespace {

// Each system register access as a stub, so that the probe can step over it.
#define XTF_MSR_STUB(name, reg)                                       \
    [[gnu::noinline]] u64 name(u64 v) {                               \
        asm volatile("msr " reg ", %0\n\tisb" : : "r"(v) : "memory"); \
        return v;                                                     \
    }
#define XTF_MRS_STUB(name, reg)                      \
    [[gnu::noinline]] u64 name(u64) {                \
        u64 v;                                       \
        asm volatile("mrs %0, " reg : "=r"(v));      \
        return v;                                    \
    }
XTF_MSR_STUB(sgi1r, "s3_0_c12_c11_5")
XTF_MSR_STUB(sgi0r, "s3_0_c12_c11_7")
XTF_MSR_STUB(asgi1r, "s3_0_c12_c11_6")
XTF_MSR_STUB(pmr, "s3_0_c4_c6_0")
XTF_MSR_STUB(igrpen1, "s3_0_c12_c12_7")
XTF_MSR_STUB(igrpen0, "s3_0_c12_c12_6")
XTF_MSR_STUB(eoir1, "s3_0_c12_c12_1")
XTF_MSR_STUB(dir, "s3_0_c12_c11_1")
XTF_MRS_STUB(iar1, "s3_0_c12_c12_0")
XTF_MSR_STUB(cntv_ctl, "cntv_ctl_el0")
XTF_MSR_STUB(cntv_tval, "cntv_tval_el0")
XTF_MRS_STUB(cntv_ctl_read, "cntv_ctl_el0")
XTF_MSR_STUB(cntp_ctl, "cntp_ctl_el0")
XTF_MSR_STUB(cntp_cval, "cntp_cval_el0")
XTF_MSR_STUB(cntp_tval, "cntp_tval_el0")
XTF_MRS_STUB(cntp_ctl_read, "cntp_ctl_el0")

void gic_cpu_interface(Tally& t) {
    t.add(call(pmr, 0xff));
    t.add(call(igrpen0, 1));
    t.add(call(igrpen1, 1));
    for (u64 intid = 0; intid < 32; ++intid) {
        t.add(call(eoir1, intid));
        t.add(call(dir, intid));
    }
    const Outcome ack = call(iar1, 0);
    t.add(ack);
    print("ATTEMPT irq icc-iar1: ", kind_name(ack.kind()), " value=", ack.value, "\n");
}

void sgi_storm(u64 rounds, Tally& t) {
    for (u64 i = 0; i < rounds; ++i) {
        const u64 intid = i % 16;
        const u64 all_but_self = (1ull << 40) | (intid << 24);       // IRM = 1
        const u64 by_list = (intid << 24) | (1ull << (i % 4));       // target list: core i % 4
        t.add(call(sgi1r, all_but_self));
        t.add(call(sgi1r, by_list));
        t.add(call(sgi0r, all_but_self));
        t.add(call(asgi1r, by_list));
    }
}

void timer_storm(u64 rounds, Tally& virtual_timer, Tally& physical) {
    u64 expired = 0;
    virtual_timer.add(call(cntv_tval, 0));
    virtual_timer.add(call(cntv_ctl, 1));  // enabled, not masked: always expired
    asm volatile("msr daifclr, #2" ::: "memory");  // IRQs unmasked at EL1
    for (u64 i = 0; i < rounds; ++i) {
        const Outcome o = call(cntv_ctl_read, 0);
        virtual_timer.add(o);
        expired += (o.value >> 2) & 1;  // ISTATUS
        virtual_timer.add(call(cntv_tval, 0));
    }
    asm volatile("msr daifset, #2" ::: "memory");
    virtual_timer.add(call(cntv_ctl, 0));
    print("ATTEMPT irq virtual-timer: expired ", expired, " times of ", rounds, ", no interrupt taken\n");
    for (u64 i = 0; i < rounds / 64 + 1; ++i) {
        physical.add(call(cntp_ctl, 1));
        physical.add(call(cntp_cval, 0));
        physical.add(call(cntp_tval, 0));
        physical.add(call(cntp_ctl_read, 0));
    }
}

}  // namespace

extern "C" void guest_secondary_main(u64) {
    init();
    print("vcpu 1: waiting in WFI with interrupts unmasked\n");
    asm volatile("msr daifclr, #0xf" ::: "memory");
    for (;;) asm volatile("wfi");
}

extern "C" void guest_main(u64 boot_arg) {
    init();
    const u64 scale = (boot_arg >> 63) != 0 ? 10 : 1;
    print("start: vCPU 1 to WFI, then GIC, SGI, timer and WFE storms", scale > 1 ? ", long run" : "", "\n");
    (void)bh::rt::start_secondary(1, 0);

    Tally gic, sgi, vtimer, ptimer;
    gic_cpu_interface(gic);
    gic.print("irq", "gic-cpu-interface");
    sgi_storm(2500 * scale, sgi);
    sgi.print("irq", "sgi");
    timer_storm(20000 * scale, vtimer, ptimer);
    vtimer.print("irq", "virtual-timer");
    ptimer.print("irq", "physical-timer");
    for (u64 i = 0; i < 8 * scale; ++i) asm volatile("wfe");
    print("RESULT irq wfe: ", 8 * scale, " WFE executed\n");
    print("RESULT irq trapped: ", sgi.undefined + ptimer.undefined, " accesses undefined\n");
    print("done: stopping the partition with vCPU 1 in WFI\n");
}

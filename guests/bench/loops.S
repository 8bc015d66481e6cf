// The measured loops of the benchmark guest (guests/bench/loops.hpp declares them).
//
// Each loop reads the counters, runs `iterations` iterations of a fixed body and reads them
// again; the body sets x0..x3 for one or two calls, makes them (`hvc #0`) or not (the empty
// twin of the loop, whose count main.cpp subtracts), ORs each returned x0 into a status word,
// counts down and branches. Everything but the `hvc` is the same in a loop and its twin, so the
// difference is exactly the calls' own instructions: the `hvc` and all the kernel ran for it.
//
// Two counter sources, each read with two instructions so that the loops are identical:
//   pmu  PMEVCNTR0_EL0 (INST_RETIRED, every EL) and PMEVCNTR1_EL0 (INST_RETIRED, EL2 only);
//        needs the benchmark kernel (pmu.hpp).
//   cnt  CNTVCT_EL0 and zero: the virtual counter, which under -icount shift=0 advances once
//        every 16 instructions; works on the default kernel (the cross-check).
//
// The counts include every instruction after the first read up to and including the second:
// the calibration loop has 4 instructions per iteration and 3 around them (bench_calibrate).

#define FRAME 128           // x29/x30, x19..x28, `out`, the two first reads
#define OFF_OUT 96
#define OFF_START 104

.macro read_counters mode, a, b
  .ifc \mode, pmu
    mrs     \a, pmevcntr0_el0
    mrs     \b, pmevcntr1_el0
  .else
    mrs     \a, cntvct_el0
    mov     \b, xzr
  .endif
.endm

// void bench_calibrate_<mode>(u64 iterations, Sample* out): 4 instructions per iteration.
.macro calibrate mode
    .global bench_calibrate_\mode
    .type bench_calibrate_\mode, %function
bench_calibrate_\mode:
    isb
    read_counters \mode, x9, x10
    mov     x11, x0
1:  add     x12, x12, #1
    add     x13, x13, #1
    subs    x11, x11, #1
    b.ne    1b
    read_counters \mode, x12, x13
    sub     x12, x12, x9
    sub     x13, x13, x10
    stp     x12, x13, [x1]
    str     xzr, [x1, #16]
    ret
    .size bench_calibrate_\mode, . - bench_calibrate_\mode
.endm

.macro one_call a, b, c, d, call
    mov     x0, \a
    mov     x1, \b
    mov     x2, \c
    mov     x3, \d
  .if \call
    hvc     #0
  .endif
    orr     x28, x28, x0
.endm

// void <name>(const Call* calls, u64 iterations, Sample* out)
.macro loop name, mode, ncalls, call
    .global \name
    .type \name, %function
\name:
    stp     x29, x30, [sp, #-FRAME]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    str     x2, [sp, #OFF_OUT]
    ldp     x19, x20, [x0]
    ldp     x21, x22, [x0, #16]
  .if \ncalls == 2
    ldp     x23, x24, [x0, #32]
    ldp     x25, x26, [x0, #48]
  .endif
    mov     x27, x1
    mov     x28, xzr
    isb
    read_counters \mode, x9, x10
    stp     x9, x10, [sp, #OFF_START]
1:  one_call x19, x20, x21, x22, \call
  .if \ncalls == 2
    one_call x23, x24, x25, x26, \call
  .endif
    subs    x27, x27, #1
    b.ne    1b
    read_counters \mode, x9, x10
    ldp     x11, x12, [sp, #OFF_START]
    sub     x9, x9, x11
    sub     x10, x10, x12
    ldr     x13, [sp, #OFF_OUT]
    stp     x9, x10, [x13]
    str     x28, [x13, #16]
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #FRAME
    ret
    .size \name, . - \name
.endm

    .text
    calibrate pmu
    calibrate cnt
    loop bench_calls1_pmu, pmu, 1, 1
    loop bench_empty1_pmu, pmu, 1, 0
    loop bench_calls2_pmu, pmu, 2, 1
    loop bench_empty2_pmu, pmu, 2, 0
    loop bench_calls1_cnt, cnt, 1, 1
    loop bench_empty1_cnt, cnt, 1, 0
    loop bench_calls2_cnt, cnt, 2, 1
    loop bench_empty2_cnt, cnt, 2, 0

// u64 bench_pong_<mode>(u64 round_trips, u64 ping, u64 pong): the ping-pong partner. Waits on
// `ping` and signals `pong`, `round_trips` times; 10 instructions per round trip, the two `hvc`
// included. Returns the difference of counter 1 over the loop (pmu: this core's own guest
// instructions, pmu_start_partner(): 10 per round trip + 1, the second read; cnt: meaningless)
// or ~0 when a call failed. The same instructions in both modes, so that both kernels see the
// same partner.
#define FN_NOTIFICATION_SIGNAL 0xc6000030
#define FN_NOTIFICATION_WAIT 0xc6000031
.macro pong mode
    .global bench_pong_\mode
    .type bench_pong_\mode, %function
bench_pong_\mode:
    stp     x19, x20, [sp, #-48]!
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    movz    x23, #(FN_NOTIFICATION_WAIT & 0xffff)
    movk    x23, #(FN_NOTIFICATION_WAIT >> 16), lsl #16
    movz    x24, #(FN_NOTIFICATION_SIGNAL & 0xffff)
    movk    x24, #(FN_NOTIFICATION_SIGNAL >> 16), lsl #16
    isb
  .ifc \mode, pmu
    mrs     x22, pmevcntr1_el0
  .else
    mrs     x22, cntvct_el0
  .endif
1:  mov     x0, x23
    mov     x1, x20
    hvc     #0
    cbnz    x0, 2f
    mov     x0, x24
    mov     x1, x21
    hvc     #0
    cbnz    x0, 2f
    subs    x19, x19, #1
    b.ne    1b
  .ifc \mode, pmu
    mrs     x0, pmevcntr1_el0
  .else
    mrs     x0, cntvct_el0
  .endif
    sub     x0, x0, x22
    b       3f
2:  mov     x0, #-1
3:  ldp     x23, x24, [sp, #32]
    ldp     x21, x22, [sp, #16]
    ldp     x19, x20, [sp], #48
    ret
    .size bench_pong_\mode, . - bench_pong_\mode
.endm

    pong pmu
    pong cnt

// i64 bench_restart_<mode>(u64 cptr, u64* call): PartitionRestart, with the counter read by the
// instruction just before the `hvc` stored at *call (pmu: the run counter, see bench_entry;
// cnt: CNTVCT_EL0, unused).
.macro restart mode
    .global bench_restart_\mode
    .type bench_restart_\mode, %function
bench_restart_\mode:
    mov     x9, x1
    mov     x1, x0
    movz    x0, #0x0041
    movk    x0, #0xc600, lsl #16
    isb
  .ifc \mode, pmu
    mrs     x10, pmevcntr5_el0
  .else
    mrs     x10, cntvct_el0
  .endif
    hvc     #0
    str     x10, [x9]
    ret
    .size bench_restart_\mode, . - bench_restart_\mode
.endm

    restart pmu
    restart cnt

// The first instructions of every run of every partition (the image's entry point; then the
// runtime's _start). In PMU mode (boot argument bit 8 clear) it reads the run counter, counter 5,
// as the run starts, keeps the value in bench_entry_counter (.data: the kernel reloads .data
// before the run and _start only zeroes .bss), and starts counter 5 if this is the first run on
// this core: counting from bench_entry_enable on. bench/run locates both instructions by these
// labels: a restart's target read the counter at its second instruction, and the boot's first
// partition instruction came bench_entry_enable - bench_entry bytes before the counter started.
// x0 (the boot argument) is kept for _start.
#define RUN_COUNTER_EVENT 0x08000008    // INST_RETIRED | NSH: every EL
    .section .text.boot, "ax"
    .global bench_entry
    .type bench_entry, %function
bench_entry:
    tbnz    x0, #8, 1f                  // counter mode: this kernel traps the PMU
    .global bench_entry_read
bench_entry_read:
    mrs     x9, pmevcntr5_el0
    movz    x10, #(RUN_COUNTER_EVENT & 0xffff)
    movk    x10, #(RUN_COUNTER_EVENT >> 16), lsl #16
    msr     pmevtyper5_el0, x10         // the same value every run: the count goes on
    mov     x10, #(1 << 5)
    msr     pmcntenset_el0, x10
    mrs     x10, pmcr_el0
    orr     x10, x10, #1                // E
    .global bench_entry_enable
bench_entry_enable:
    msr     pmcr_el0, x10
    adrp    x10, bench_entry_counter
    str     x9, [x10, :lo12:bench_entry_counter]
1:  b       _start
    .size bench_entry, . - bench_entry

    .section .data.bench_entry_counter, "aw"
    .balign 8
    .global bench_entry_counter
bench_entry_counter:
    .quad   0

    .section .note.GNU-stack, "", %progbits

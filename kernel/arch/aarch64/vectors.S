// EL2 exception vectors, guest entry and exit.
// While a guest runs, SP_EL2 points just past its vCPU's GuestRegs frame, so an exit saves the
// guest's registers straight into its vCPU; the handler then runs on the core's kernel stack.

#include "asm_defs.h"

.macro save_x4_to_x17
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    save_x10_to_x17
.endm

.macro save_x10_to_x17
    stp     x10, x11, [sp, #16 * 5]
    stp     x12, x13, [sp, #16 * 6]
    stp     x14, x15, [sp, #16 * 7]
    stp     x16, x17, [sp, #16 * 8]
.endm

.macro save_x20_to_x29
    stp     x20, x21, [sp, #16 * 10]
    stp     x22, x23, [sp, #16 * 11]
    stp     x24, x25, [sp, #16 * 12]
    stp     x26, x27, [sp, #16 * 13]
    stp     x28, x29, [sp, #16 * 14]
.endm

.macro load_x2_to_x17
    ldp     x2, x3, [sp, #16 * 1]
    ldp     x4, x5, [sp, #16 * 2]
    ldp     x6, x7, [sp, #16 * 3]
    ldp     x8, x9, [sp, #16 * 4]
    ldp     x10, x11, [sp, #16 * 5]
    ldp     x12, x13, [sp, #16 * 6]
    ldp     x14, x15, [sp, #16 * 7]
    ldp     x16, x17, [sp, #16 * 8]
.endm

// The last of every return to the guest: x30, x0 and x1 from the frame at SP, the frame popped
// (SP_EL2 just past it again, for the next exit), eret, and no straight-line speculation past it.
.macro eret_from_frame
    ldr     x30, [sp, #16 * 15]
    ldp     x0, x1, [sp, #16 * 0]
    add     sp, sp, #GUEST_FRAME_SIZE
    eret
    dsb     nsh
    isb
.endm

.macro save_guest kind
    sub     sp, sp, #GUEST_FRAME_SIZE
    stp     x0, x1, [sp, #16 * 0]
    stp     x2, x3, [sp, #16 * 1]
    save_guest_from_x4 \kind
.endm

// The rest of the frame, once x0..x3 are in it.
.macro save_guest_from_x4 kind
    save_x4_to_x17
    stp     x18, x19, [sp, #16 * 9]
    save_guest_from_x20 \kind
.endm

.macro save_guest_from_x20 kind
    save_x20_to_x29
    mrs     x0, elr_el2
    stp     x30, x0, [sp, #16 * 15]
    mrs     x1, spsr_el2
    str     x1, [sp, #GUEST_FRAME_ELR + 8]
    mov     x0, sp
    mov     x1, #\kind
    b       guest_exit_common
.endm

.macro kernel_fault kind
    // An exception taken from EL2 itself is a kernel bug: report and stop the machine, on the
    // core's stack from its top (the fault may be an overflow into the stack's guard page, with
    // SP still pointing there). The faulting SP goes to the report.
    mov     x1, sp
    mrs     x2, tpidr_el2
    cbz     x2, 1f
    ldr     x2, [x2, #PERCPU_STACK_TOP]
    mov     sp, x2
1:  mov     x0, #\kind
    b       bh_el2_exception
.endm

.macro ventry label
    .balign 0x80
    b       \label
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global bh_el2_vectors
bh_el2_vectors:
    // Current EL with SP0
    ventry  cur_sp0_sync
    ventry  cur_sp0_irq
    ventry  cur_sp0_fiq
    ventry  cur_sp0_serror
    // Current EL with SPx
    ventry  cur_spx_sync
    ventry  cur_spx_irq
    ventry  cur_spx_fiq
    ventry  cur_spx_serror
    // Lower EL, AArch64
    ventry  lower_sync
    ventry  lower_irq
    ventry  lower_fiq
    ventry  lower_serror
    // Lower EL, AArch32
    ventry  lower32_sync
    ventry  lower32_irq
    ventry  lower32_fiq
    ventry  lower32_serror

cur_sp0_sync:    kernel_fault 0
cur_sp0_irq:     kernel_fault 1
cur_sp0_fiq:     kernel_fault 2
cur_sp0_serror:  kernel_fault 3
cur_spx_sync:    kernel_fault 0
cur_spx_irq:     kernel_fault 1
cur_spx_fiq:     kernel_fault 2
cur_spx_serror:  kernel_fault 3
lower_irq:       save_guest EXIT_IRQ
lower_fiq:       save_guest EXIT_FIQ
lower_serror:    save_guest EXIT_SERROR
lower32_sync:    save_guest EXIT_AARCH32
lower32_irq:     save_guest EXIT_IRQ
lower32_fiq:     save_guest EXIT_FIQ
lower32_serror:  save_guest EXIT_SERROR

// A synchronous exit from AArch64. An HVC #0 is a hypercall: its function ID decides how much of
// the frame is saved (kernel/calls/fast_call.hpp, docs/benchmarks.md "The fast path"):
//   - an ID outside PSCI's ranges and not one of the vendor functions the ABI defines
//     (bh_known_vendor_calls) is answered NotSupported from here, with x0..x3 saved; every
//     2^k-th of a run (GuestRegs::unknown_calls) goes the full way instead, which audits it;
//   - CapIdentify is answered by bh_fast_identify with x0..x9 and x30 saved, the registers it
//     may use (calls/fast_identify.cpp); if it does not answer, the full path runs;
//   - another vendor function is offered to bh_fast_call with the registers C code may change saved
//     (x0..x18, x30); x19..x29 stay in the core's registers, ELR_EL2 and SPSR_EL2 in the
//     hardware, until it says the full path must run or the vCPU leaves the core;
//   - everything else takes the full path at once.
lower_sync:
    sub     sp, sp, #GUEST_FRAME_SIZE
    stp     x0, x1, [sp, #16 * 0]
    stp     x2, x3, [sp, #16 * 1]
    mrs     x1, esr_el2
    mov     x2, #ESR_HVC64_IMM0
    cmp     x1, x2
    b.ne    sync_not_hvc
    lsr     x1, x0, #24
    cmp     x1, #0xc6                  // the vendor range, SMC64 fast calls (x0[63:32] = 0)
    b.ne    hvc_other_range
    and     x1, x0, #0xffffff
    cmp     x1, #FAST_TABLE_BITS
    b.hs    hvc_unknown
    cmp     x1, #HVC_CAP_IDENTIFY
    b.eq    hvc_cap_identify
    adrp    x2, bh_known_vendor_calls
    add     x2, x2, :lo12:bh_known_vendor_calls
    lsr     x3, x1, #6
    ldr     x2, [x2, x3, lsl #3]
    lsr     x2, x2, x1
    tbz     x2, #0, hvc_unknown
    // A function of the ABI: save what C code may change, and ask the kernel on its stack.
    save_x4_to_x17
    str     x18, [sp, #16 * 9]
    str     x30, [sp, #16 * 15]
    mrs     x2, tpidr_el2
    ldp     x3, x0, [x2, #PERCPU_STACK_TOP]  // the kernel stack, the vCPU
    mov     sp, x3
    bl      bh_fast_call               // (Vcpu*) -> x0 = FastOutcome, x1 = the frame
    mov     sp, x1
    cbnz    x0, hvc_not_answered_here
    load_x2_to_x17
    ldr     x18, [sp, #16 * 9]
    ldr     x30, [sp, #16 * 15]
    ldp     x0, x1, [sp, #16 * 0]
    add     sp, sp, #GUEST_FRAME_SIZE
    eret
    dsb     nsh                        // no straight-line speculation past the eret
    isb
hvc_not_answered_here:
    // x19..x29 are the guest's again (C preserved them): complete the frame. (x30 is the
    // guest's in the frame already; the macro below stores the register, so it is reloaded.)
    str     x19, [sp, #16 * 9 + 8]
    ldr     x30, [sp, #16 * 15]
    cmp     x0, #FAST_PARK
    b.eq    hvc_park
    save_guest_from_x20 EXIT_SYNC      // FAST_SLOW: nothing was done; the full path decides
hvc_park:
    save_x20_to_x29
    mrs     x0, elr_el2
    mrs     x1, spsr_el2
    stp     x0, x1, [sp, #GUEST_FRAME_ELR]
    // Only now may the vCPU be seen off its core: whoever restarts it writes this frame.
    mrs     x2, tpidr_el2
    ldp     x3, x0, [x2, #PERCPU_STACK_TOP]
    mov     sp, x3
    bl      bh_fast_call_parked        // (Vcpu*)
    b       bh_core_loop
hvc_cap_identify:
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    str     x30, [sp, #16 * 15]
    mov     x0, sp                     // the frame is its Vcpu's first member
    bl      bh_fast_identify           // on this stack: it uses none, nor x10..x29
    cbnz    x0, hvc_identify_slow
    ldp     x0, x1, [sp, #16 * 0]
    ldp     x2, x3, [sp, #16 * 1]
    ldp     x4, x5, [sp, #16 * 2]
    ldp     x6, x7, [sp, #16 * 3]
    ldp     x8, x9, [sp, #16 * 4]
    ldr     x30, [sp, #16 * 15]
    add     sp, sp, #GUEST_FRAME_SIZE
    eret
    dsb     nsh
    isb
hvc_identify_slow:
    // Nothing was done; x10..x29 are still the guest's, x0..x9 and x30 in the frame.
    save_x10_to_x17
    stp     x18, x19, [sp, #16 * 9]
    ldr     x30, [sp, #16 * 15]
    save_guest_from_x20 EXIT_SYNC
hvc_other_range:
    and     x1, x0, #~0x1f
    mov     x2, #0x84000000            // PSCI, SMC32
    cmp     x1, x2
    b.eq    sync_full
    mov     x2, #0xc4000000            // PSCI, SMC64
    cmp     x1, x2
    b.eq    sync_full
hvc_unknown:
    ldr     x2, [sp, #GUEST_FRAME_UNKNOWN_CALLS]
    add     x2, x2, #1
    str     x2, [sp, #GUEST_FRAME_UNKNOWN_CALLS]
    sub     x3, x2, #1
    tst     x2, x3
    b.eq    sync_full                  // a power of two: the full path audits this one
    mov     x0, #-1                    // NotSupported, the SMCCC's unknown function
    ldr     x1, [sp, #16 * 0 + 8]
    ldp     x2, x3, [sp, #16 * 1]
    add     sp, sp, #GUEST_FRAME_SIZE
    eret
    dsb     nsh
    isb
// Not an HVC #0 (x1 = ESR_EL2). A trapped MSR/MRS may be an SGI register write: bh_fast_sgi
// (sgi_trap.hpp) takes a self-IPI that goes straight into list register 0 with the registers C
// code may change saved (x0..x18, x30), as for a vendor call; it reads the written value from
// that partial frame and answers with the list register's value. Anything else it leaves
// untouched for the full path.
sync_not_hvc:
    lsr     x2, x1, #ESR_EC_SHIFT
    cmp     x2, #ESR_EC_SYSREG
    b.ne    sync_full
    save_x4_to_x17
    stp     x18, x19, [sp, #16 * 9]    // x19 too: it keeps the frame's address across the call
    str     x30, [sp, #16 * 15]
    mov     x19, sp
    mov     x2, sp
    mrs     x3, tpidr_el2
    ldp     x3, x0, [x3, #PERCPU_STACK_TOP]  // the kernel stack, the vCPU
    mov     sp, x3
    mrs     x3, ICH_ELRSR_EL2
    bl      bh_fast_sgi                // (Vcpu*, ESR, frame, ELRSR) -> ICH_LR0_EL2, 0: not sent
    mov     sp, x19
    cbz     x0, sgi_not_answered_here
    msr     ICH_LR0_EL2, x0
    mrs     x0, elr_el2
    add     x0, x0, #4                 // past the MSR: a trapped one returns to itself
    msr     elr_el2, x0
    load_x2_to_x17
    ldp     x18, x19, [sp, #16 * 9]
    eret_from_frame
sgi_not_answered_here:
    ldr     x30, [sp, #16 * 15]        // the rest of the frame (x19 is in it), x30 the guest's again
    save_guest_from_x20 EXIT_SYNC      // nothing was done; the full path decides
sync_full:
    save_guest_from_x4 EXIT_SYNC

guest_exit_common:
    // x0 = frame, x1 = kind. Switch to this core's kernel stack.
    mrs     x2, tpidr_el2
    ldr     x3, [x2, #PERCPU_STACK_TOP]
    mov     sp, x3
    bl      bh_guest_exit
    cbz     x0, park
    b       bh_guest_resume
park:
    // The vCPU stopped: drop everything on the kernel stack and wait for work again.
    mrs     x2, tpidr_el2
    ldr     x3, [x2, #PERCPU_STACK_TOP]
    mov     sp, x3
    b       bh_core_loop

// void bh_guest_resume(GuestRegs* frame) [[noreturn]]
    .global bh_guest_resume
bh_guest_resume:
    ldp     x2, x3, [x0, #GUEST_FRAME_ELR]
    msr     elr_el2, x2
    msr     spsr_el2, x3
    mov     sp, x0
    load_x2_to_x17
    ldp     x18, x19, [sp, #16 * 9]
    ldp     x20, x21, [sp, #16 * 10]
    ldp     x22, x23, [sp, #16 * 11]
    ldp     x24, x25, [sp, #16 * 12]
    ldp     x26, x27, [sp, #16 * 13]
    ldp     x28, x29, [sp, #16 * 14]
    eret_from_frame

// Zeroes the FP/SIMD registers and FPCR/FPSR: a (re)started vCPU finds nothing of the core's
// previous occupant. The kernel itself never uses FP/SIMD (-mgeneral-regs-only).
    .global bh_clear_fp_state
bh_clear_fp_state:
    movi    v0.2d, #0
    movi    v1.2d, #0
    movi    v2.2d, #0
    movi    v3.2d, #0
    movi    v4.2d, #0
    movi    v5.2d, #0
    movi    v6.2d, #0
    movi    v7.2d, #0
    movi    v8.2d, #0
    movi    v9.2d, #0
    movi    v10.2d, #0
    movi    v11.2d, #0
    movi    v12.2d, #0
    movi    v13.2d, #0
    movi    v14.2d, #0
    movi    v15.2d, #0
    movi    v16.2d, #0
    movi    v17.2d, #0
    movi    v18.2d, #0
    movi    v19.2d, #0
    movi    v20.2d, #0
    movi    v21.2d, #0
    movi    v22.2d, #0
    movi    v23.2d, #0
    movi    v24.2d, #0
    movi    v25.2d, #0
    movi    v26.2d, #0
    movi    v27.2d, #0
    movi    v28.2d, #0
    movi    v29.2d, #0
    movi    v30.2d, #0
    movi    v31.2d, #0
    msr     fpcr, xzr
    msr     fpsr, xzr
    ret

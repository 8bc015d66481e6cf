// Conduit calls with every general register under control (xtf.hpp, "calls"):
//   void xtf_call_<conduit>(const u64 in[31], u64 out[31])
// loads x0..x30 from in[], makes the call, and stores x0..x30 into out[], so that a test sees
// every register the kernel handed back, not only those the ABI names (threat T-14: nothing of
// EL2 may leak into a register, and nothing the ABI preserves may change). SP is preserved by
// construction. Callee-saved registers and the out pointer live on the stack meanwhile.

.macro conduit_call name, insn
    .global \name
    .type \name, %function
\name:
    stp     x29, x30, [sp, #-96]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    str     x1, [sp, #-16]!             // out
    mov     x30, x0                     // in, until x30 itself is loaded
    ldp     x0, x1, [x30, #16 * 0]
    ldp     x2, x3, [x30, #16 * 1]
    ldp     x4, x5, [x30, #16 * 2]
    ldp     x6, x7, [x30, #16 * 3]
    ldp     x8, x9, [x30, #16 * 4]
    ldp     x10, x11, [x30, #16 * 5]
    ldp     x12, x13, [x30, #16 * 6]
    ldp     x14, x15, [x30, #16 * 7]
    ldp     x16, x17, [x30, #16 * 8]
    ldp     x18, x19, [x30, #16 * 9]
    ldp     x20, x21, [x30, #16 * 10]
    ldp     x22, x23, [x30, #16 * 11]
    ldp     x24, x25, [x30, #16 * 12]
    ldp     x26, x27, [x30, #16 * 13]
    ldp     x28, x29, [x30, #16 * 14]
    ldr     x30, [x30, #16 * 15]
    \insn
    stp     x0, x1, [sp, #-16]!
    ldr     x0, [sp, #16]               // out
    stp     x2, x3, [x0, #16 * 1]
    stp     x4, x5, [x0, #16 * 2]
    stp     x6, x7, [x0, #16 * 3]
    stp     x8, x9, [x0, #16 * 4]
    stp     x10, x11, [x0, #16 * 5]
    stp     x12, x13, [x0, #16 * 6]
    stp     x14, x15, [x0, #16 * 7]
    stp     x16, x17, [x0, #16 * 8]
    stp     x18, x19, [x0, #16 * 9]
    stp     x20, x21, [x0, #16 * 10]
    stp     x22, x23, [x0, #16 * 11]
    stp     x24, x25, [x0, #16 * 12]
    stp     x26, x27, [x0, #16 * 13]
    stp     x28, x29, [x0, #16 * 14]
    str     x30, [x0, #16 * 15]
    ldp     x2, x3, [sp], #16           // the call's x0, x1
    stp     x2, x3, [x0, #16 * 0]
    add     sp, sp, #16
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #96
    ret
    .size \name, . - \name
.endm

    .text
    conduit_call xtf_call_hvc, "hvc #0"
    conduit_call xtf_call_smc, "smc #0"
    conduit_call xtf_call_hvc_1, "hvc #1"
    conduit_call xtf_call_hvc_ffff, "hvc #0xffff"
    conduit_call xtf_call_smc_1234, "smc #0x1234"

    .section .note.GNU-stack, "", %progbits

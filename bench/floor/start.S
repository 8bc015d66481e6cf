// The floor: the cheapest hypercall an EL2 kernel can answer. This bare-metal program (not a
// Bulkhead kernel) starts at EL2 on core 0, installs an EL2 vector table whose entry for
// synchronous exceptions from a lower EL is a bare `eret`, drops to EL1 and runs the benchmark
// guest's loops there (main.cpp, guests/bench/loops.S): each `hvc #0` costs the `hvc` and
// exactly one EL2 instruction. bench/run boots it like a system image (docs/benchmarks.md).

#define PSCI_SYSTEM_OFF 0x84000008
#define HCR_RW          (1 << 31)       // EL1 is AArch64; nothing trapped, no stage 2
#define SPSR_EL1H_MASKED 0x3c5          // EL1 with SP_EL1, D A I F masked

.macro adr_l reg, symbol         // the address of a symbol anywhere in the image
    adrp    \reg, \symbol
    add     \reg, \reg, :lo12:\symbol
.endm

.macro power_off
    movz    x0, #(PSCI_SYSTEM_OFF & 0xffff)
    movk    x0, #(PSCI_SYSTEM_OFF >> 16), lsl #16
    smc     #0
1:  wfi
    b       1b
.endm

    .section .text.boot, "ax"
    .global _start
_start:
    adr_l   x0, el2_stack_top
    mov     sp, x0
    adr_l   x0, floor_vectors
    msr     vbar_el2, x0
    mov     x0, #HCR_RW
    msr     hcr_el2, x0
    // MDCR_EL2: no PMU or debug traps, HPMN = PMCR_EL0.N (every counter belongs to EL1/EL0).
    mrs     x0, pmcr_el0
    ubfx    x0, x0, #11, #5
    msr     mdcr_el2, x0
    adr_l   x0, el1_stack_top
    msr     sp_el1, x0
    adr_l   x0, el1_entry
    msr     elr_el2, x0
    mov     x0, #SPSR_EL1H_MASKED
    msr     spsr_el2, x0
    isb
    eret

el1_entry:
    bl      floor_main
    power_off           // PSCI from EL1: SMC is not trapped (HCR_EL2.TSC = 0)

// Every entry but one is unexpected: stop the machine.
    .balign 0x800
floor_vectors:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    .balign 0x80
    power_off
    .endr
    .balign 0x80        // lower EL, AArch64, synchronous: the floor
    eret
    .irp n, 9, 10, 11, 12, 13, 14, 15
    .balign 0x80
    power_off
    .endr

    .bss
    .balign 16
    .space  0x2000
el2_stack_top:
    .space  0x4000
el1_stack_top:

    .section .note.GNU-stack, "", %progbits

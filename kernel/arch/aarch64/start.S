// Entry points. QEMU starts core 0 at _start in EL2 with the MMU off; the other cores are
// started by the kernel through PSCI CPU_ON at secondary_entry with x0 = their core index.

#include "asm_defs.h"

    .section .text.boot, "ax"
    .global _start
_start:
    mrs     x1, CurrentEL
    cmp     x1, #(2 << 2)
    b.ne    not_at_el2
    mov     x19, #0
    bl      setup_stack

    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:  bl      bh_boot_primary
    b       halt

    .global secondary_entry
secondary_entry:
    mov     x19, x0
    bl      setup_stack
    mov     x0, x19
    bl      bh_boot_secondary
    b       halt

// sp = top of core x19's stack (each core's slot: a guard page, then its stack); clobbers x0-x2.
setup_stack:
    ldr     x0, =bh_stacks
    add     x1, x19, #1
    mov     x2, #KERNEL_STACK_SLOT
    mul     x1, x1, x2
    add     sp, x0, x1
    ret

not_at_el2:
halt:
    wfe
    b       halt

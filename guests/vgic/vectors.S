// EL1 exception vectors of the vgic test guest: the IRQ entry of "current EL with SPx" saves
// the caller-saved registers and calls vgic_guest_irq() (main.cpp); every other entry reports
// the exception through the runtime and stops the partition, as the runtime's own vectors do.

    .section .text.vgic_vectors, "ax"
    .balign 2048
    .global vgic_vectors
vgic_vectors:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    .if \n == 5
    b       irq_entry
    .else
    mov     x0, #\n
    b       unexpected
    .endif
    .endr

irq_entry:
    sub     sp, sp, #176
    stp     x0, x1, [sp, #16 * 0]
    stp     x2, x3, [sp, #16 * 1]
    stp     x4, x5, [sp, #16 * 2]
    stp     x6, x7, [sp, #16 * 3]
    stp     x8, x9, [sp, #16 * 4]
    stp     x10, x11, [sp, #16 * 5]
    stp     x12, x13, [sp, #16 * 6]
    stp     x14, x15, [sp, #16 * 7]
    stp     x16, x17, [sp, #16 * 8]
    stp     x18, x30, [sp, #16 * 9]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x0, x1, [sp, #16 * 10]
    bl      vgic_guest_irq
    ldp     x0, x1, [sp, #16 * 10]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    ldp     x0, x1, [sp, #16 * 0]
    ldp     x2, x3, [sp, #16 * 1]
    ldp     x4, x5, [sp, #16 * 2]
    ldp     x6, x7, [sp, #16 * 3]
    ldp     x8, x9, [sp, #16 * 4]
    ldp     x10, x11, [sp, #16 * 5]
    ldp     x12, x13, [sp, #16 * 6]
    ldp     x14, x15, [sp, #16 * 7]
    ldp     x16, x17, [sp, #16 * 8]
    ldp     x18, x30, [sp, #16 * 9]
    add     sp, sp, #176
    eret

unexpected:
    mrs     x9, tpidr_el1
    mov     sp, x9
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    mrs     x4, spsr_el1
    bl      bh_rt_unexpected_exception  // never returns

    .section .note.GNU-stack, "", %progbits

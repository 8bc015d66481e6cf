// Entry of a bare-metal Bulkhead guest at EL1, MMU off.
//
//   _start            vCPU 0, entered by the kernel with the partition's boot argument in x0.
//   _start_secondary  further vCPUs, started through PSCI CPU_ON with their context id in x0.
//
// Each vCPU gets a 16 KiB stack in .bss (kMaxVcpus of them), finds its index with the
// PartitionInfo hypercall, points TPIDR_EL1 at its stack top (the vector table reuses it) and
// VBAR_EL1 at a table whose every entry reports the exception and stops the partition.
// vCPU 0 zeroes .bss, runs constructors and calls guest_main(boot_arg); a vCPU entering _start
// with another index (a kernel that starts every vCPU at the entry point) takes the secondary
// path with x0 as its context id.

#define STACK_SIZE      0x4000
#define MAX_VCPUS       4
#define FN_PARTITION_INFO 0xC6000002
#define PSCI_SYSTEM_OFF 0x84000008

    .section .text.boot, "ax"
    .global _start
    .type _start, %function
_start:
    msr     daifset, #0xf
    mov     x19, x0                     // boot argument (or context id of a secondary)
    bl      vcpu_index                  // -> x20
    cbnz    x20, secondary_common
    bl      setup_vcpu

    // Zero .bss with aligned 8-byte stores (the linker script aligns both ends to 16).
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  dmb     sy
    // Release the secondaries waiting for .bss (bss_ready lives in .data, not .bss).
    adrp    x1, bss_ready
    mov     w2, #1
    str     w2, [x1, :lo12:bss_ready]
    dsb     sy
    sev

    mov     x0, x19
    bl      bh_rt_start_primary         // never returns
    b       power_off
    .size _start, . - _start

    .global _start_secondary
    .type _start_secondary, %function
_start_secondary:
    msr     daifset, #0xf
    mov     x19, x0                     // context id
    bl      vcpu_index
secondary_common:
    bl      setup_vcpu
    // Wait until vCPU 0 has zeroed .bss.
    adrp    x1, bss_ready
1:  ldr     w2, [x1, :lo12:bss_ready]
    cbnz    w2, 2f
    yield
    b       1b
2:  dmb     sy
    mov     x0, x19
    bl      bh_rt_start_secondary       // never returns
    b       power_off
    .size _start_secondary, . - _start_secondary

// x20 = this vCPU's index within the partition (0 if the kernel does not answer).
// Clobbers x0..x17; no stack needed.
vcpu_index:
    mov     x21, x30
    movz    x0, #(FN_PARTITION_INFO & 0xffff)
    movk    x0, #(FN_PARTITION_INFO >> 16), lsl #16
    mov     x1, xzr
    hvc     #0
    mov     x20, xzr
    cbnz    x0, 1f
    mov     x20, x2
1:  mov     x30, x21
    ret

// Stack, TPIDR_EL1 and VBAR_EL1 for vCPU x20. An index beyond the stacks stops the partition.
setup_vcpu:
    cmp     x20, #MAX_VCPUS
    b.hs    power_off
    adrp    x1, stacks
    add     x1, x1, :lo12:stacks
    add     x2, x20, #1
    add     x1, x1, x2, lsl #14         // top of stacks[x20]
    mov     sp, x1
    msr     tpidr_el1, x1
    adrp    x1, vectors
    add     x1, x1, :lo12:vectors
    msr     vbar_el1, x1
    isb
    ret

    .global bh_rt_power_off
bh_rt_power_off:
power_off:
    movz    x0, #(PSCI_SYSTEM_OFF & 0xffff)
    movk    x0, #(PSCI_SYSTEM_OFF >> 16), lsl #16
    hvc     #0
1:  wfi
    b       1b

// ---------------------------------------------------------------- vectors
// 16 entries of 128 bytes: {current EL SP0, current EL SPx, lower EL A64, lower EL A32} x
// {sync, IRQ, FIQ, SError}. Each passes its number to a common report path that resets SP to
// the top of this vCPU's stack (TPIDR_EL1), since the faulting SP may be the very problem.
    .section .text.vectors, "ax"
    .balign 2048
vectors:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    mov     x0, #\n
    b       vector_common
    .endr

vector_common:
    mrs     x9, tpidr_el1
    cbz     x9, power_off
    mov     sp, x9
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    mrs     x4, spsr_el1
    bl      bh_rt_unexpected_exception  // never returns
    b       power_off

// ---------------------------------------------------------------- data
    .section .data.bss_ready, "aw"
    .balign 4
bss_ready:
    .word   0

    .section .bss.stacks, "aw", %nobits
    .balign 16
stacks:
    .space  STACK_SIZE * MAX_VCPUS

    .section .note.GNU-stack, "", %progbits

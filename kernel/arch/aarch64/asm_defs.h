/* Constants shared by the assembly files and checked against the C++ layout in cpu.cpp. */
#pragma once

#define KERNEL_STACK_SIZE 0x4000 /* 16 KiB per core */
#define KERNEL_STACK_GUARD 0x1000 /* an unmapped page below each core's stack */
#define KERNEL_STACK_SLOT (KERNEL_STACK_GUARD + KERNEL_STACK_SIZE)
#define GUEST_FRAME_SIZE 272  /* sizeof(bh::GuestRegs) */
#define GUEST_FRAME_ELR 248
#define PERCPU_STACK_TOP 0 /* offsetof(PerCpu, stack_top) */

#define EXIT_SYNC 0
#define EXIT_IRQ 1
#define EXIT_FIQ 2
#define EXIT_SERROR 3
#define EXIT_AARCH32 4

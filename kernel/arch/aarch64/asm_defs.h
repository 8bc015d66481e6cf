/* Constants shared by the assembly files and checked against the C++ layout in cpu.cpp. */
#pragma once

#define KERNEL_STACK_SIZE 0x4000 /* 16 KiB per core */
#define KERNEL_STACK_GUARD 0x1000 /* an unmapped page below each core's stack */
#define KERNEL_STACK_SLOT (KERNEL_STACK_GUARD + KERNEL_STACK_SIZE)
#define GUEST_FRAME_SIZE 272  /* sizeof(bh::GuestRegs) */
#define GUEST_FRAME_ELR 248
#define GUEST_FRAME_UNKNOWN_CALLS 264
#define PERCPU_STACK_TOP 0 /* offsetof(PerCpu, stack_top) */
#define PERCPU_VCPU 8 /* offsetof(PerCpu, vcpu): loaded with stack_top by one ldp */

#define FAST_RESUME 0 /* kernel_entry::FastOutcome */
#define FAST_SLOW 1
#define FAST_PARK 2
#define FAST_TABLE_BITS 128 /* fast_path::kTableBits */
#define HVC_CAP_IDENTIFY 0x10 /* hvc::Function::CapIdentify - hvc::kVendorBase */
#define ESR_HVC64_IMM0 0x5a000000 /* EC 0x16 (HVC from AArch64), IL, imm16 = 0 */
#define ESR_EC_SHIFT 26
#define ESR_EC_SYSREG 0x18 /* a trapped MSR/MRS: the SGI registers' fast path (sgi_trap.hpp) */

#define EXIT_SYNC 0
#define EXIT_IRQ 1
#define EXIT_FIQ 2
#define EXIT_SERROR 3
#define EXIT_AARCH32 4

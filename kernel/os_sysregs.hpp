// The debug and PMU system registers an unmodified operating system kernel programs while it
// boots, for the partitions that run one (Partition::os_guest, a Linux partition).
//
// Every partition's accesses to these registers trap (MDCR_EL2.TDA, TDOSA, TDRA, TPM:
// docs/isolation.md); for a bare-metal partition such an access is its fault. Linux writes
// several of them unconditionally on every CPU it brings up: MDSCR_EL1 and PMUSERENR_EL0 in
// __cpu_setup, the OS lock at debug-monitor init, every breakpoint and watchpoint register when
// it resets them. For an OS guest they read as zero and ignore writes: the guest sees debug
// hardware that never fires and a PMU closed to EL0, nothing reaches the physical registers,
// and isolation is unchanged (no breakpoint, watchpoint or counter is ever armed). Every other
// trapped register, PMU counters and controls included, stays the partition's fault.
#pragma once

#include <bulkhead/types.hpp>
#include <esr.hpp>
#include <vcpu.hpp>

namespace bh {

// True for the registers above (by their op0, op1, CRn, CRm, op2 encoding).
[[nodiscard]] bool is_os_quiet_register(const esr::SysRegAccess& access);

// For a trapped system register access (EC 0x18) `esr` by an OS guest: when it is one of the
// registers above, a read returns 0 in its target register, a write is dropped, the vCPU moves
// past the instruction, and the result is true. False otherwise, with nothing changed.
[[nodiscard]] bool emulate_os_sysreg(Vcpu& vcpu, u64 esr);

}  // namespace bh

// The debug and PMU system registers an unmodified operating system kernel programs while it
// boots, by their AArch64 encoding, for the partitions that run one (Partition::os_guest).
//
// Every partition's accesses to these registers trap (MDCR_EL2.TDA, TDOSA, TDRA, TPM:
// docs/isolation.md); for a bare-metal partition such an access is its fault. Linux writes
// several of them unconditionally on every CPU it brings up: MDSCR_EL1 and PMUSERENR_EL0 in
// __cpu_setup, the OS lock at debug-monitor init, every breakpoint and watchpoint register when
// it resets them. For an OS guest they read as zero and ignore writes (devices/virtual_devices.cpp):
// the guest sees debug hardware that never fires and a PMU closed to EL0, nothing reaches the
// physical registers, and isolation is unchanged (no breakpoint, watchpoint or counter is ever
// armed). Every other trapped register, PMU counters and controls included, stays a fault.
// Pure: built for the host as well.
#pragma once

#include "arch/aarch64/guest_exit_decode.hpp"

namespace bh::arch {

// True for the registers above: MDSCR_EL1, MDCCINT_EL1, OSLAR/OSLSR/OSDLR_EL1, DBGPRCR_EL1,
// DBGCLAIMSET/CLR_EL1, DBGB{V,C}R<n>_EL1, DBGW{V,C}R<n>_EL1, PMUSERENR_EL0.
[[nodiscard]] bool is_os_quiet_register(const SysRegAccess& access);

}  // namespace bh::arch

// The AuditLog capability (docs/audit.md, docs/capabilities.md): what lets a partition read the
// kernel's security audit log (audit_log.hpp). One object, the kernel's log; the boot program
// makes its only original cap once (manifest op CreateAuditLog) and grants it with Read.
// Reading the log is an information flow from every other partition to the reader (it learns
// what they did), so the flow graph carries it and the description must declare it.
#pragma once

#include <arch/guest.hpp>
#include <boot/boot_space.hpp>
#include <policy/flow_graph.hpp>

namespace bh {

class PartitionTable;

// Boot slot `slot` := the AuditLog cap (Read|Grant): before seal, at most once.
Outcome create_audit_log(BootSpace& boot, BootSlot slot);
// Adds an Audit edge q -> p for every partition p holding an AuditLog cap with Read and every
// other partition q (part of live_flows).
void audit_flows(const PartitionTable& partitions, FlowGraph& out);
// AuditRead (docs/abi.md), its cap already checked: the entry at or after `cursor` into x0..x7.
void audit_read(arch::GuestRegs& regs, u64 cursor);

}  // namespace bh

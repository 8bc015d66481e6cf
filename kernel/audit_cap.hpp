// The AuditLog capability (docs/audit.md, docs/capabilities.md): what lets a partition read the
// kernel's security audit log (audit_log.hpp). One object, the kernel's log; the boot program
// makes its only original cap once (manifest op CreateAuditLog) and grants it with Read.
// Reading the log is an information flow from every other partition to the reader (it learns
// what they did), so the flow graph carries it and the description must declare it.
#pragma once

#include <system.hpp>
#include <vcpu.hpp>

namespace bh {

// Boot slot `slot` := the AuditLog cap (Read|Grant): before seal, at most once.
Status create_audit_log(System& system, u32 slot);
// Adds an Audit edge q -> p for every partition p holding an AuditLog cap with Read and every
// other partition q (System::live_flows).
void audit_flows(const System& system, FlowGraph& out);
// The AuditRead hypercall (docs/abi.md); true: resume the caller.
[[nodiscard]] bool handle_audit_read(Vcpu& vcpu);

}  // namespace bh

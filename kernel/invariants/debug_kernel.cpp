// Debug kernels' checker runs (debug_kernel.hpp). Not linked into release kernels.
#include <caps/cap_lock.hpp>
#include <invariants/debug_kernel.hpp>
#include <invariants/invariants.hpp>
#include <kernel.hpp>
#include <lib/atomic.hpp>
#include <lib/format.hpp>

namespace bh::debug_invariants {

namespace {

Atomic<u64> g_boot_checks;
Atomic<u64> g_call_checks;
Atomic<u64> g_failed;

// Static, not on the (16 KiB) per-core stack: the report holds up to kMaxViolations entries.
// Only read and written under the capability lock.
constinit InvariantReport g_report;

// `where()` logs where a failing check ran, before its report.
template <class Where>
bool check(const Kernel& k, Where&& where) {
    CapLockGuard guard(cap_lock);
    g_report = check_invariants(k);
    if (g_report.ok()) return true;
    g_failed.add_fetch(1);
    where();
    log_invariant_report(g_report);
    return false;
}

}  // namespace

bool after_boot_op(const Kernel& k, u32 op_index) {
    g_boot_checks.add_fetch(1);
    return check(k, [&] { log("invariant check failed after boot op #", op_index); });
}

bool after_call(const Kernel& k, const Partition& caller, u64 function) {
    g_call_checks.add_fetch(1);
    return check(k, [&] {
        log("invariant check failed after hypercall ", Hex{function}, " of partition '", caller.name, "'");
    });
}

void log_summary() {
    const u64 boot = g_boot_checks.load(), calls = g_call_checks.load();
    log("invariants: checked ", boot + calls, " times (", boot, " after boot ops, ", calls, " after hypercalls), ",
        g_failed.load(), " failed");
}

}  // namespace bh::debug_invariants

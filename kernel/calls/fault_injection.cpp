#include <arch/arch.hpp>
#include <audit/audit_log.hpp>
#include <calls/fault_injection.hpp>
#include <calls/guest_exit.hpp>
#include <lib/format.hpp>
#include <partition/partition.hpp>

namespace bh {

bool inject_fault(Vcpu& vcpu, const arch::GuestExit& exit) {
    arch::GuestRegs& r = vcpu.regs;
    arch::GuestException e;
    if (!arch::exception_for_exit(exit, r.spsr, e)) return false;
    const u64 vector = arch::guest_vbar() + e.vector_offset;
    if (r.elr == vector) return false;  // the vector itself faulted: delivering again would loop
    Partition& p = *vcpu.partition;
    p.injected_faults.add_fetch(1);
    if (p.fault_reports.admit(arch::counter_now(), arch::counter_frequency() / ReportBudget::kRefillsPerSecond)) {
        p.reported_faults.add_fetch(1);
        const u64 skipped = p.fault_reports.take_suppressed();
        if (skipped != 0) log("partition '", p.name, "': ", skipped, " more faults injected, not reported");
        report_fault(vcpu, exit, "injected into the partition");  // the line and its audit entry
    } else {
        // Beyond the budget the audit ring still gets every one (it counts what it overwrites);
        // only the console lines are spared.
        audit::log().record(vcpu.core.raw(), audit::Event::FaultContained, static_cast<u8>(exit.vector),
                            p.index.raw() + 1, exit.syndrome.esr,
                            exit.cause == arch::GuestExit::Cause::MemoryAbort ? exit.ipa.raw() : 0, arch::counter_now());
    }
    arch::set_guest_exception(arch::GuestExceptionState{e.esr, e.far, r.elr, r.spsr});
    r.elr = vector;
    r.spsr = arch::kExceptionEntrySpsr;
    return true;
}

void report_injected_faults(Partition& p) {
    const u64 injected = p.injected_faults.exchange(0);
    const u64 reported = p.reported_faults.exchange(0);
    p.fault_reports.reset(arch::counter_now());
    p.emulation_reports.reset(arch::counter_now());
    if (injected != 0)
        log("partition '", p.name, "': ", injected, " faults injected in this run, ", reported, " of them reported");
}

}  // namespace bh

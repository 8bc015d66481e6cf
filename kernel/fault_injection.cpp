#include <arch/arch.hpp>
#include <esr.hpp>
#include <fault_injection.hpp>
#include <lib/format.hpp>
#include <partition.hpp>

namespace bh {

namespace {

constexpr u64 kIl = 1ull << 25;             // 32-bit instruction
constexpr u32 kExternalAbort = 0x10;        // DFSC/IFSC: synchronous external abort, not on a walk
constexpr u64 kIssWnR = 1ull << 6;          // data abort: write
constexpr u64 kIssCm = 1ull << 8;           // data abort: cache maintenance
constexpr u64 kIssFnV = 1ull << 10;         // FAR not valid
constexpr u64 kEl1hMasked = 0x3c5;          // PSTATE on exception entry: EL1h, D A I F masked
constexpr u64 kSpsrAarch32 = 1ull << 4;
// After the report budget's burst, one more injected fault is reported per 1/8 s.
constexpr u64 kInjectedReportsPerSecond = 8;

constexpr u64 syndrome(u32 ec, u64 iss) { return (static_cast<u64>(ec) << 26) | kIl | iss; }
constexpr bool from_el0(u64 spsr) { return (spsr & 0xc) == 0; }

}  // namespace

bool injectable_exception(const ExitSyndrome& s, u64 spsr, GuestException& out) {
    if ((spsr & kSpsrAarch32) != 0) return false;
    switch (esr::exception_class(s.esr)) {
        case esr::Class::DataAbortLower: {
            // The lower-EL class from EL0, the same-EL class from EL1; what the access was
            // (write, cache maintenance) is kept, the cause becomes an external abort.
            const u32 ec = from_el0(spsr) ? 0x24 : 0x25;
            const u64 iss = (s.esr & (kIssWnR | kIssCm | kIssFnV)) | kExternalAbort;
            out = GuestException{syndrome(ec, iss), s.far, (s.esr & kIssFnV) == 0};
            return true;
        }
        case esr::Class::InstAbortLower: {
            const u32 ec = from_el0(spsr) ? 0x20 : 0x21;
            out = GuestException{syndrome(ec, kExternalAbort), s.far, true};
            return true;
        }
        case esr::Class::SysReg: out = GuestException{syndrome(0x00, 0), 0, false}; return true;
        default: return false;
    }
}

bool inject_fault(Vcpu& vcpu, const ExitSyndrome& s) {
    GuestRegs& r = vcpu.regs;
    GuestException e;
    if (!injectable_exception(s, r.spsr, e)) return false;
    const u64 vector = arch::guest_vbar() + el1_vector_offset(r.spsr);
    if (r.elr == vector) return false;  // the vector itself faulted: delivering again would loop
    Partition& p = *vcpu.partition;
    __atomic_add_fetch(&p.injected_faults, 1, __ATOMIC_RELAXED);
    if (p.fault_reports.admit(arch::counter_now(), arch::counter_frequency() / kInjectedReportsPerSecond)) {
        __atomic_add_fetch(&p.reported_faults, 1, __ATOMIC_RELAXED);
        const u64 skipped = p.fault_reports.take_suppressed();
        if (skipped != 0) log("partition '", p.name, "': ", skipped, " more faults injected, not reported");
        report_fault(vcpu, ExitKind::Sync, s, "injected into the partition");
    }
    arch::set_guest_exception(arch::GuestExceptionState{e.esr, e.has_far ? e.far : 0, r.elr, r.spsr});
    r.elr = vector;
    r.spsr = kEl1hMasked;
    return true;
}

void report_injected_faults(Partition& p) {
    const u64 injected = __atomic_exchange_n(&p.injected_faults, 0, __ATOMIC_RELAXED);
    const u64 reported = __atomic_exchange_n(&p.reported_faults, 0, __ATOMIC_RELAXED);
    p.fault_reports.reset(arch::counter_now());
    if (injected != 0)
        log("partition '", p.name, "': ", injected, " faults injected in this run, ", reported, " of them reported");
}

}  // namespace bh

#include "arch/aarch64/esr.hpp"

namespace bh::esr {

const char* class_name(Class ec) {
    switch (ec) {
        case Class::Unknown: return "unknown reason (undefined instruction)";
        case Class::WfiWfe: return "WFI/WFE";
        case Class::FpAccess: return "FP/SIMD access";
        case Class::IllegalState: return "illegal execution state";
        case Class::Svc64: return "SVC";
        case Class::Hvc64: return "HVC";
        case Class::Smc64: return "SMC";
        case Class::SysReg: return "system register access";
        case Class::InstAbortLower: return "instruction abort from EL1/EL0";
        case Class::InstAbortSame: return "instruction abort at EL2";
        case Class::PcAlignment: return "PC alignment fault";
        case Class::DataAbortLower: return "data abort from EL1/EL0";
        case Class::DataAbortSame: return "data abort at EL2";
        case Class::SpAlignment: return "SP alignment fault";
        case Class::SError: return "SError";
        case Class::BreakpointLower: return "breakpoint";
        case Class::SoftwareStepLower: return "software step";
        case Class::WatchpointLower: return "watchpoint";
        case Class::Brk: return "BRK instruction";
    }
    return "unhandled exception class";
}

const char* fault_status_name(u32 fsc) {
    switch (fsc) {
        case 0x00: return "address size fault level 0";
        case 0x01: return "address size fault level 1";
        case 0x02: return "address size fault level 2";
        case 0x03: return "address size fault level 3";
        case 0x04: return "translation fault level 0";
        case 0x05: return "translation fault level 1";
        case 0x06: return "translation fault level 2";
        case 0x07: return "translation fault level 3";
        case 0x09: return "access flag fault level 1";
        case 0x0a: return "access flag fault level 2";
        case 0x0b: return "access flag fault level 3";
        case 0x0d: return "permission fault level 1";
        case 0x0e: return "permission fault level 2";
        case 0x0f: return "permission fault level 3";
        case 0x10: return "synchronous external abort";
        case 0x21: return "alignment fault";
        case 0x30: return "TLB conflict abort";
    }
    return "other fault status";
}

void describe(u64 esr, LineBuffer& out) {
    Class ec = exception_class(esr);
    out.put(class_name(ec));
    if (ec == Class::DataAbortLower || ec == Class::InstAbortLower || ec == Class::DataAbortSame ||
        ec == Class::InstAbortSame) {
        out.put(", ");
        out.put(fault_status_name(fault_status(esr)));
        if (ec == Class::DataAbortLower || ec == Class::DataAbortSame) out.put(is_write(esr) ? ", write" : ", read");
    } else if (ec == Class::SysReg) {
        SysRegAccess r = sysreg_access(esr);
        out.put(r.read ? ", MRS" : ", MSR");
        out.put(" S");
        out.put(r.op0);
        out.put('_');
        out.put(r.op1);
        out.put("_C");
        out.put(r.crn);
        out.put("_C");
        out.put(r.crm);
        out.put('_');
        out.put(r.op2);
    }
}

}  // namespace bh::esr

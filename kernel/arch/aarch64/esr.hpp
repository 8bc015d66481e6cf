// Decoding of ESR_EL2 syndromes for fault reports and exit dispatch (Arm ARM D17.2.37).
#pragma once

#include <bulkhead/types.hpp>
#include <lib/format.hpp>

namespace bh::esr {

enum class Class : u32 {
    Unknown = 0x00,
    WfiWfe = 0x01,
    FpAccess = 0x07,
    IllegalState = 0x0e,
    Svc64 = 0x15,
    Hvc64 = 0x16,
    Smc64 = 0x17,
    SysReg = 0x18,
    InstAbortLower = 0x20,
    InstAbortSame = 0x21,
    PcAlignment = 0x22,
    DataAbortLower = 0x24,
    DataAbortSame = 0x25,
    SpAlignment = 0x26,
    SError = 0x2f,
    BreakpointLower = 0x30,
    SoftwareStepLower = 0x32,
    WatchpointLower = 0x34,
    Brk = 0x3c,
};

constexpr Class exception_class(u64 esr) { return static_cast<Class>((esr >> 26) & 0x3f); }
constexpr u32 iss(u64 esr) { return static_cast<u32>(esr & 0x1ff'ffff); }
constexpr u32 fault_status(u64 esr) { return iss(esr) & 0x3f; }  // DFSC / IFSC
constexpr bool is_write(u64 esr) { return (iss(esr) >> 6) & 1; }  // WnR
constexpr bool is_abort(u64 esr) {
    return exception_class(esr) == Class::DataAbortLower || exception_class(esr) == Class::InstAbortLower;
}

// System register encoding of an EC 0x18 trap: op0, op1, CRn, CRm, op2 and direction.
struct SysRegAccess {
    u32 op0, op1, crn, crm, op2;
    u32 rt;
    bool read;
};
constexpr SysRegAccess sysreg_access(u64 esr) {
    u32 s = iss(esr);
    return SysRegAccess{(s >> 20) & 3, (s >> 14) & 7, (s >> 10) & 0xf, (s >> 1) & 0xf,
                        (s >> 17) & 7, (s >> 5) & 0x1f, (s & 1) != 0};
}

const char* class_name(Class ec);
const char* fault_status_name(u32 fsc);

// Appends a one-line human-readable decoding, e.g.
// "data abort from EL1/EL0, translation fault level 1, write".
void describe(u64 esr, LineBuffer& out);

}  // namespace bh::esr

#include "arch/aarch64/os_registers.hpp"

namespace bh::arch {

bool is_os_quiet_register(const SysRegAccess& a) {
    if (a.op0 == 2 && a.op1 == 0) {  // debug registers
        // DBGBVR<n>_EL1, DBGBCR<n>_EL1, DBGWVR<n>_EL1, DBGWCR<n>_EL1: op2 4..7, CRm = n
        if (a.crn == 0 && a.op2 >= 4) return true;
        // MDCCINT_EL1 (op2 0), MDSCR_EL1 (op2 2)
        if (a.crn == 0 && a.crm == 2 && (a.op2 == 0 || a.op2 == 2)) return true;
        // OSLAR_EL1 (CRm 0), OSLSR_EL1 (1), OSDLR_EL1 (3), DBGPRCR_EL1 (4)
        if (a.crn == 1 && a.op2 == 4 && (a.crm == 0 || a.crm == 1 || a.crm == 3 || a.crm == 4)) return true;
        // DBGCLAIMSET_EL1, DBGCLAIMCLR_EL1
        if (a.crn == 7 && (a.crm == 8 || a.crm == 9) && a.op2 == 6) return true;
        return false;
    }
    // PMUSERENR_EL0
    return a.op0 == 3 && a.op1 == 3 && a.crn == 9 && a.crm == 14 && a.op2 == 0;
}

}  // namespace bh::arch

// The vectors' SGI fast path at EL2 (sgi_trap.hpp): called by lower_sync for a trapped MSR/MRS
// (EC 0x18) with x0..x18 and x30 in the vCPU's frame and ICH_ELRSR_EL2 read. A tail call into the
// kernel: the vectors keep the frame's address and write the list register themselves.
#include "asm_defs.h"
#include "esr.hpp"
#include "sgi_trap.hpp"

using namespace bh;

static_assert(ESR_EC_SYSREG == static_cast<u32>(esr::Class::SysReg) && ESR_EC_SHIFT == 26, "vectors.S's EC test");

extern "C" u64 bh_fast_sgi(Vcpu* vcpu, u64 esr, const arch::GuestRegs* frame, u64 empty_lrs) {
    return arch::sgi_fast_list_register(*vcpu, esr, *frame, static_cast<u32>(empty_lrs));
}

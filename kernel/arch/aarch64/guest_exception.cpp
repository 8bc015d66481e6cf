// The guest's EL1 exception registers, for the fault policy "inject" (kernel/fault_injection.hpp),
// and the counter's frequency. The registers written here belong to the guest whose exit this
// core is handling: its EL1 state stays in the core while the kernel runs (no EL1 context
// switch), and bh_guest_resume enters it at the vector the generic code chose.
#include <arch/arch.hpp>

#include "sysreg.hpp"

namespace bh::arch {

u64 counter_frequency() { return BH_READ_SYSREG(cntfrq_el0); }

u64 guest_vbar() { return BH_READ_SYSREG(vbar_el1); }

void set_guest_exception(const GuestExceptionState& state) {
    BH_WRITE_SYSREG(esr_el1, state.esr);
    BH_WRITE_SYSREG(far_el1, state.far);
    BH_WRITE_SYSREG(elr_el1, state.elr);
    BH_WRITE_SYSREG(spsr_el1, state.spsr);
}

}  // namespace bh::arch

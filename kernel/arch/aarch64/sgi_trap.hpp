// The SGI register write the vectors answer before the full frame is saved (vectors.S,
// lower_sync's EC 0x18 branch; docs/benchmarks.md "The SGI fast path"). Built for the host as
// well, so that the tests take a trapped write exactly as the vectors do.
#pragma once

#include <arch/kernel_entry.hpp>

#include "arch/aarch64/guest_exit_decode.hpp"
#include "arch/aarch64/guest_regs.hpp"

namespace bh::arch {

// The registers the frame holds when the vectors call bh_fast_sgi: what C code may change
// (x0..x18, x30). x19..x29 are still in the core's registers: a write from one of them takes the
// full path.
constexpr bool in_partial_frame(unsigned rt) { return rt <= 18 || rt >= 30; }

// A trapped MSR/MRS of `vcpu` with `esr`, x0..x18 and x30 in `frame`, ICH_ELRSR_EL2 `empty_lrs`:
// an SGI register write (sgi_register_write, the full path's decode) that the kernel sends at
// once into list register 0 (kernel_entry::sgi_register_write_fast). Returns the value the
// vectors write into ICH_LR0_EL2 before they resume the guest after the MSR; 0: nothing was done.
inline u64 sgi_fast_list_register(Vcpu& vcpu, u64 esr, const GuestRegs& frame, u32 empty_lrs) {
    const SgiRegisterWrite sgi = sgi_register_write(esr);
    if (!sgi.found || !in_partial_frame(sgi.rt)) return 0;
    return kernel_entry::sgi_register_write_fast(vcpu, sgi.rt == 31 ? 0 : frame.x[sgi.rt], sgi.group1, empty_lrs);
}

}  // namespace bh::arch

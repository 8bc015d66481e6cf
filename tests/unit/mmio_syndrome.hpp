// ESR_EL2 values of the traps the virtual devices' tests make: a data abort with a valid
// instruction syndrome (a load or store of one register) and an MSR to a system register.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::test {

inline constexpr u64 kIsv = 1u << 24;

// A stage-2 translation fault (level 3) from EL1 on a `size`-byte access through register
// `reg` (31: XZR); `sf` the register is Xt, `sse` the load sign-extends.
constexpr u64 data_abort(unsigned size, bool write, u8 reg, bool sf = false, bool sse = false) {
    const u64 sas = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    return (0x24ull << 26) | (1ull << 25) | kIsv | (sas << 22) | (sse ? 1ull << 21 : 0) | (u64{reg} << 16) |
           (sf ? 1ull << 15 : 0) | (write ? 1ull << 6 : 0) | 0x07;
}

// An MSR (write) of S<op0>_<op1>_C<crn>_C<crm>_<op2> from register `rt`.
constexpr u64 msr(u32 op0, u32 op1, u32 crn, u32 crm, u32 op2, u8 rt) {
    return (0x18ull << 26) | (1ull << 25) | (u64{op0} << 20) | (u64{op2} << 17) | (u64{op1} << 14) | (u64{crn} << 10) |
           (u64{rt} << 5) | (u64{crm} << 1);
}
// An MRS (read) of the same register into `rt`.
constexpr u64 mrs(u32 op0, u32 op1, u32 crn, u32 crm, u32 op2, u8 rt) { return msr(op0, op1, crn, crm, op2, rt) | 1; }
constexpr u64 msr_sgi1r(u8 rt) { return msr(3, 0, 12, 11, 5, rt); }
constexpr u64 msr_asgi1r(u8 rt) { return msr(3, 0, 12, 11, 6, rt); }
constexpr u64 msr_sgi0r(u8 rt) { return msr(3, 0, 12, 11, 7, rt); }

}  // namespace bh::test

// What one exit from a guest means, in words generic code understands: the syndrome registers
// (ESR_EL2, FAR_EL2, HPFAR_EL2) read by the vectors' C handler, decoded here (Arm ARM D17.2.37).
// Pure, built for the host as well, so that the tests feed the same syndromes the hardware
// reports.
#pragma once

#include <bulkhead/types.hpp>
#include <lib/format.hpp>

#include "arch/aarch64/asm_defs.h"
#include "arch/aarch64/trapped_access.hpp"

namespace bh::arch {

// The vector an exit came through (vectors.S passes EXIT_*).
enum class ExitVector : u32 { Sync = EXIT_SYNC, Irq = EXIT_IRQ, Fiq = EXIT_FIQ, SError = EXIT_SERROR, Aarch32 = EXIT_AARCH32 };

struct Syndrome {
    u64 esr = 0;
    u64 far = 0;
    u64 hpfar = 0;
};

// A trapped MSR or MRS (ESR_EL2.EC 0x18): the register's encoding, the direction and the
// general-purpose register (31: XZR).
struct SysRegAccess {
    u8 op0 = 0, op1 = 0, crn = 0, crm = 0, op2 = 0;
    u8 rt = 0;
    bool read = false;
};

// The SGI generation registers ICC_SGI1R_EL1 (op2 5), ICC_ASGI1R_EL1 (6) and ICC_SGI0R_EL1 (7):
// op0 3, op1 0, CRn 12, CRm 11 (GICv3 architecture specification, 12.2.21-23). Trapped for a
// partition with a virtual GIC (HCR_EL2.IMO/FMO); Group 1 is SGI1R's.
constexpr bool is_sgi_register(const SysRegAccess& r) {
    return r.op0 == 3 && r.op1 == 0 && r.crn == 12 && r.crm == 11 && r.op2 >= 5;
}

// A multi-core guest's most frequent trap, an MSR to one of them, recognised from ESR_EL2 alone:
// the exit path's first test, before any other syndrome register is read or decoded
// (kernel_entry::sgi_register_write).
struct SgiRegisterWrite {
    bool found = false;
    u8 rt = 0;  // the general register written (31: XZR)
    bool group1 = false;
};
constexpr SgiRegisterWrite sgi_register_write(u64 esr) {
    constexpr u64 kClass = 0x3full << 26, kRt = 0x1full << 5, kOp2 = 7ull << 17;
    constexpr u64 kMsrSgi = 0x18ull << 26 | 3ull << 20 | 12ull << 10 | 11ull << 1;  // op2 0, Rt 0, direction write
    const u64 op2 = (esr & kOp2) >> 17;
    if ((esr & (kClass | 0x1ff'ffffull) & ~(kRt | kOp2)) != kMsrSgi || op2 < 5) return {};
    return SgiRegisterWrite{true, static_cast<u8>((esr & kRt) >> 5), op2 == 5};
}

struct GuestExit {
    enum class Cause : u8 {
        Hypercall,    // HVC; `immediate` is its #imm
        SecureCall,   // SMC, trapped (HCR_EL2.TSC): the guest resumes after it
        MemoryAbort,  // stage-2 data or instruction abort at `ipa`
        SystemRegister,  // a trapped MSR/MRS, described by `sysreg`
        Trap,         // any other trapped instruction
        Interrupt,    // a physical IRQ or FIQ taken while the guest ran
        SError,
        Aarch32,      // an exception from AArch32 state, which partitions may not use
    };
    Cause cause = Cause::Trap;
    u16 immediate = 0;
    bool write = false;  // MemoryAbort: a data write
    Ipa ipa{};           // MemoryAbort: the faulting IPA (HPFAR_EL2.FIPA with FAR's page offset)
    DecodedMmio mmio{};  // MemoryAbort: the access as an emulated device would perform it, or why it cannot
    SysRegAccess sysreg{};  // SystemRegister
    bool os_quiet = false;  // SystemRegister: a debug or PMU register an OS programs at boot (os_registers.hpp)
    ExitVector vector = ExitVector::Sync;
    Syndrome syndrome{};  // as read, for the fault report
};

GuestExit decode_exit(ExitVector vector, const Syndrome& syndrome);

// The report of a contained fault, from the syndrome: "stage-2 data abort (write)" ...
const char* fault_kind(const GuestExit& exit);
// ... and its decoding, e.g. "data abort from EL1/EL0, translation fault level 2, write".
void describe_fault(const GuestExit& exit, LineBuffer& out);

}  // namespace bh::arch

#include "arch/aarch64/exception_injection.hpp"

#include "arch/aarch64/esr.hpp"

namespace bh::arch {

namespace {

constexpr u64 kIl = 1ull << 25;          // a 32-bit instruction
constexpr u32 kExternalAbort = 0x10;     // DFSC/IFSC: synchronous external abort, not on a walk
constexpr u64 kIssWnR = 1ull << 6;       // data abort: write
constexpr u64 kIssCm = 1ull << 8;        // data abort: cache maintenance
constexpr u64 kIssFnV = 1ull << 10;      // FAR not valid
constexpr u64 kSpsrAarch32 = 1ull << 4;  // SPSR.M[4]

constexpr u64 syndrome(u32 ec, u64 iss) { return (static_cast<u64>(ec) << 26) | kIl | iss; }
constexpr bool from_el0(u64 spsr) { return (spsr & 0xc) == 0; }

static_assert(syndrome(0x25, kIssWnR | kExternalAbort) == 0x9600'0050, "data abort, same EL, write, SEA");
static_assert(el1_vector_offset(0x3c5) == 0x200 && el1_vector_offset(0x3c4) == 0 && el1_vector_offset(0) == 0x400);

}  // namespace

bool exception_for_exit(const GuestExit& exit, u64 spsr, GuestException& out) {
    if (exit.vector != ExitVector::Sync || (spsr & kSpsrAarch32) != 0) return false;
    const u64 esr = exit.syndrome.esr;
    const u64 vector = el1_vector_offset(spsr);
    switch (esr::exception_class(esr)) {
        case esr::Class::DataAbortLower: {
            const u32 ec = from_el0(spsr) ? 0x24 : 0x25;
            const bool far_valid = (esr & kIssFnV) == 0;
            out = GuestException{syndrome(ec, (esr & (kIssWnR | kIssCm | kIssFnV)) | kExternalAbort),
                                 far_valid ? exit.syndrome.far : 0, vector};
            return true;
        }
        case esr::Class::InstAbortLower: {
            const u32 ec = from_el0(spsr) ? 0x20 : 0x21;
            out = GuestException{syndrome(ec, kExternalAbort), exit.syndrome.far, vector};
            return true;
        }
        case esr::Class::SysReg: out = GuestException{syndrome(0x00, 0), 0, vector}; return true;
        default: return false;
    }
}

}  // namespace bh::arch

#include "arch/aarch64/guest_exit_decode.hpp"

#include "arch/aarch64/esr.hpp"
#include "arch/aarch64/os_registers.hpp"

namespace bh::arch {

namespace {

// The faulting IPA of a stage-2 abort: HPFAR_EL2.FIPA holds bits [47:12], FAR the page offset.
constexpr u64 fault_ipa(const Syndrome& s) { return ((s.hpfar & 0x0000'0fff'ffff'fff0ull) << 8) | (s.far & 0xfff); }
static_assert(fault_ipa(Syndrome{0, 0x1234'5abc, 0x48'0000 << 4}) == 0x48'0000'abc);

}  // namespace

GuestExit decode_exit(ExitVector vector, const Syndrome& s) {
    GuestExit e;
    e.vector = vector;
    e.syndrome = s;
    switch (vector) {
        case ExitVector::Irq:
        case ExitVector::Fiq: e.cause = GuestExit::Cause::Interrupt; return e;
        case ExitVector::SError: e.cause = GuestExit::Cause::SError; return e;
        case ExitVector::Aarch32: e.cause = GuestExit::Cause::Aarch32; return e;
        case ExitVector::Sync: break;
    }
    switch (esr::exception_class(s.esr)) {
        case esr::Class::Hvc64:
            e.cause = GuestExit::Cause::Hypercall;
            e.immediate = static_cast<u16>(s.esr & 0xffff);
            break;
        case esr::Class::Smc64: e.cause = GuestExit::Cause::SecureCall; break;
        case esr::Class::DataAbortLower:
        case esr::Class::InstAbortLower:
            e.cause = GuestExit::Cause::MemoryAbort;
            e.write = esr::exception_class(s.esr) == esr::Class::DataAbortLower && esr::is_write(s.esr);
            e.ipa = Ipa(fault_ipa(s));
            e.mmio = decode_mmio(s.esr, e.ipa);
            break;
        case esr::Class::SysReg: {
            const esr::SysRegAccess r = esr::sysreg_access(s.esr);
            e.cause = GuestExit::Cause::SystemRegister;
            e.sysreg = SysRegAccess{static_cast<u8>(r.op0), static_cast<u8>(r.op1), static_cast<u8>(r.crn),
                                    static_cast<u8>(r.crm), static_cast<u8>(r.op2), static_cast<u8>(r.rt), r.read};
            e.os_quiet = is_os_quiet_register(e.sysreg);
            break;
        }
        default: e.cause = GuestExit::Cause::Trap; break;
    }
    return e;
}

const char* fault_kind(const GuestExit& e) {
    if (e.vector == ExitVector::SError) return "SError";
    if (e.vector == ExitVector::Aarch32) return "AArch32 exception";
    if (e.vector != ExitVector::Sync) return "unexpected interrupt";
    switch (esr::exception_class(e.syndrome.esr)) {
        case esr::Class::DataAbortLower:
            return esr::is_write(e.syndrome.esr) ? "stage-2 data abort (write)" : "stage-2 data abort (read)";
        case esr::Class::InstAbortLower: return "stage-2 instruction abort";
        case esr::Class::SysReg: return "trapped system register access";
        case esr::Class::Unknown: return "undefined instruction";
        default: return "unexpected exception";
    }
}

void describe_fault(const GuestExit& e, LineBuffer& out) {
    if (e.vector == ExitVector::Sync) {
        esr::describe(e.syndrome.esr, out);
    } else {
        out.put(fault_kind(e));
    }
}

}  // namespace bh::arch

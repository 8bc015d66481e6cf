#include <emulated_mmio.hpp>
#include <esr.hpp>
#include <guest_exit.hpp>
#include <lib/format.hpp>

namespace bh {

namespace {

constexpr u64 kSmcccUnknown = ~0ull;  // SMCCC: unknown function ID

const char* fault_kind(ExitKind kind, u64 esr) {
    if (kind == ExitKind::SError) return "SError";
    if (kind == ExitKind::Aarch32) return "AArch32 exception";
    if (kind != ExitKind::Sync) return "unexpected interrupt";
    switch (esr::exception_class(esr)) {
        case esr::Class::DataAbortLower:
            return esr::is_write(esr) ? "stage-2 data abort (write)" : "stage-2 data abort (read)";
        case esr::Class::InstAbortLower: return "stage-2 instruction abort";
        case esr::Class::SysReg: return "trapped system register access";
        case esr::Class::Unknown: return "undefined instruction";
        default: return "unexpected exception";
    }
}

void report_fault(const Vcpu& vcpu, ExitKind kind, const ExitSyndrome& s) {
    LineBuffer line;
    line.put("FAULT partition '");
    line.put(vcpu.partition->name);
    line.put("' core ");
    line.put(vcpu.core);
    line.put(": ");
    line.put(fault_kind(kind, s.esr));
    if (kind == ExitKind::Sync && esr::is_abort(s.esr)) {
        line.put(" at IPA ");
        line.put(Hex{fault_ipa(s)});
    }
    line.put(" (ESR ");
    line.put(Hex{s.esr});
    line.put(": ");
    if (kind == ExitKind::Sync) {
        esr::describe(s.esr, line);
    } else {
        line.put(fault_kind(kind, s.esr));
    }
    line.put(", ELR ");
    line.put(Hex{vcpu.regs.elr});
    line.put(')');
    log_line(line);
}

bool dispatch_call(System& system, Vcpu& vcpu) {
    u64 fid = vcpu.regs.x[0];
    if (is_psci_function(fid)) return handle_psci(system, vcpu);
    if ((fid & 0xFF00'0000) == 0xC600'0000) return handle_hypercall(system, vcpu);
    vcpu.regs.x[0] = kSmcccUnknown;  // never forwarded to firmware
    return true;
}

bool handle_sync(System& system, Vcpu& vcpu, const ExitSyndrome& s) {
    switch (esr::exception_class(s.esr)) {
        case esr::Class::Hvc64:
            if ((s.esr & 0xffff) != 0) {  // HVC #imm other than 0 is not part of the ABI
                vcpu.regs.x[0] = kSmcccUnknown;
                return true;
            }
            return dispatch_call(system, vcpu);
        case esr::Class::Smc64:
            vcpu.regs.elr += 4;  // a trapped SMC returns to itself; skip it
            return dispatch_call(system, vcpu);
        case esr::Class::DataAbortLower:
            if (emulate_mmio(system, vcpu, s)) return true;  // a partition's PCIe configuration window
            [[fallthrough]];
        default:
            report_fault(vcpu, ExitKind::Sync, s);
            system.stop(vcpu, StopReason::Fault);
            return false;
    }
}

}  // namespace

bool handle_guest_exit(System& system, Vcpu& vcpu, ExitKind kind, const ExitSyndrome& syndrome) {
    // Its device faulted (the SMMU's report is out): the partition stops here, on its own core.
    if (system.stop_for_dma_fault(vcpu)) return false;
    bool resume = true;
    switch (kind) {
        case ExitKind::Sync: resume = handle_sync(system, vcpu, syndrome); break;
        case ExitKind::Irq:  // a kick: the state check below decides
        case ExitKind::Fiq:  // no Group 0 interrupts are configured; a spurious one is ignored
            break;
        case ExitKind::SError:
        case ExitKind::Aarch32:
            report_fault(vcpu, kind, syndrome);
            system.stop(vcpu, StopReason::Fault);
            resume = false;
            break;
    }
    if (!resume) return false;
    // Another core may have stopped the partition meanwhile; leave the guest then.
    if (vcpu.partition->load_state() != PartitionState::Running || vcpu.load_state() != VcpuState::Running) {
        vcpu.transition(VcpuState::Running, VcpuState::Off);
        return false;
    }
    return true;
}

}  // namespace bh

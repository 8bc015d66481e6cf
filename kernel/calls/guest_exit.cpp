#include <audit/audit_log.hpp>
#include <calls/cap_invoke.hpp>
#include <calls/fault_injection.hpp>
#include <calls/guest_exit.hpp>
#include <devices/virtual_devices.hpp>
#include <kernel.hpp>
#include <lib/format.hpp>
#include <pci/config_window.hpp>

namespace bh {

void report_fault(const Vcpu& vcpu, const arch::GuestExit& e, const char* outcome) {
    LineBuffer line;
    line.put("FAULT partition '");
    line.put(vcpu.partition->name);
    line.put("' core ");
    line.put(vcpu.core.raw());
    line.put(": ");
    line.put(arch::fault_kind(e));
    if (e.cause == arch::GuestExit::Cause::MemoryAbort) {
        line.put(" at IPA ");
        line.put(Hex{e.ipa.raw()});
    }
    line.put(" (ESR ");
    line.put(Hex{e.syndrome.esr});
    line.put(": ");
    arch::describe_fault(e, line);
    line.put(", ELR ");
    line.put(Hex{vcpu.regs.elr});
    line.put(')');
    if (outcome != nullptr) {
        line.put(' ');
        line.put(outcome);
    }
    log_line(line);
    audit::fault_contained(*vcpu.partition, vcpu.core.raw(), static_cast<u8>(e.vector), e.syndrome.esr,
                           e.cause == arch::GuestExit::Cause::MemoryAbort ? e.ipa.raw() : 0);
}

namespace {

bool dispatch(Kernel& k, Vcpu& vcpu, const DecodedCall& d) {
    if (!d.ok) {
        vcpu.regs.x[0] = d.refusal.x0;
        return true;
    }
    if (is_cap_call(d.call.id)) return handle_cap_call(k, vcpu, d.call);
    if (is_psci_call(d.call.id)) return handle_psci(k, vcpu, d.call);
    handle_vendor_call(vcpu, d.call);
    return true;
}

bool handle_call(Kernel& k, Vcpu& vcpu, const arch::GuestExit& e) {
    if (e.cause == arch::GuestExit::Cause::SecureCall) vcpu.regs.skip_trapped_instruction();
    const u64 fid = vcpu.regs.x[0];
    const bool resume = dispatch(k, vcpu, decode_call(vcpu.regs, e.immediate, *vcpu.partition));
    // A refused call is a security event (its status is in x0 only when the caller resumes).
    const u64 x0 = vcpu.regs.x[0];
    if (resume && static_cast<i64>(x0) < 0 && audit::is_refusal(fid, x0))
        audit::call_refused(*vcpu.partition, vcpu.core.raw(), fid, x0);
    return resume;
}

}  // namespace

bool stop_if_device_faulted(Kernel& k, Vcpu& vcpu) {
    if (!k.dma.take_pending_fault(vcpu.partition->index)) return false;
    k.lifecycle.stop(vcpu, StopReason::Fault);
    return true;
}

bool handle_guest_exit(Kernel& k, Vcpu& vcpu, const arch::GuestExit& e) {
    using Cause = arch::GuestExit::Cause;
    bool resume = true;
    switch (e.cause) {
        case Cause::Hypercall:
        case Cause::SecureCall: resume = handle_call(k, vcpu, e); break;
        case Cause::Interrupt:  // a kick, or an SPI the arch layer passed on: the check below decides
            // Its device faulted: the SMMU's report kicked every running vCPU of it.
            if (k.dma.fault_pending() && stop_if_device_faulted(k, vcpu)) return false;
            break;
        case Cause::MemoryAbort:
            if (emulate_config_window(k.pci, vcpu, e)) break;  // a partition's PCIe configuration window
            [[fallthrough]];
        case Cause::SystemRegister:
            // The partition's emulated devices, and an OS guest's quiet registers, may account
            // for it (devices/virtual_devices.hpp).
            if (const Emulation em = emulate_sync_exit(k.interrupts, vcpu, e);
                em == Emulation::Resume || em == Emulation::Parked) {
                if (em == Emulation::Parked) return false;  // its server answers; the core waits meanwhile
                break;
            }
            [[fallthrough]];
        case Cause::Trap:
            // Fault policy "inject": the partition gets the exception and runs on.
            if (vcpu.partition->fault_policy == manifest::FaultPolicy::Inject && inject_fault(vcpu, e)) break;
            [[fallthrough]];
        case Cause::SError:
        case Cause::Aarch32:
            report_fault(vcpu, e);
            k.lifecycle.stop(vcpu, StopReason::Fault);
            resume = false;
            break;
    }
    if (!resume) return false;
    // Another core may have stopped the partition meanwhile; leave the guest then.
    if (vcpu.partition->load_state() != PartitionState::Running || vcpu.load_state() != VcpuState::Running) {
        vcpu.transition(VcpuState::Running, VcpuState::Off);
        return false;
    }
    virtual_devices_resume(vcpu);
    return true;
}

}  // namespace bh

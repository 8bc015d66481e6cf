// PSCI as a partition sees it: its own vCPUs only. SYSTEM_OFF and SYSTEM_RESET act on the
// calling partition, never on the machine; nothing is forwarded to the firmware.
#include <arch/arch.hpp>
#include <bulkhead/hypercall.hpp>
#include <guest_exit.hpp>

namespace bh {

namespace {

constexpr u64 kPsciVersion10 = 0x1'0000;

void set_result(Vcpu& vcpu, i64 value) { vcpu.regs.x[0] = static_cast<u64>(value); }

bool any_vcpu_on(const Partition& p) {
    for (u32 i = 0; i < p.vcpu_count; ++i)
        if (p.vcpus[i].load_state() != VcpuState::Off) return true;
    return false;
}

// A partition addresses its vCPUs by virtual MPIDR: Aff0 = vCPU index, higher levels 0.
Vcpu* vcpu_by_mpidr(Partition& p, u64 mpidr) {
    u64 affinity = mpidr & 0xff'00ff'ffffull;
    if (affinity >= p.vcpu_count) return nullptr;
    return &p.vcpus[affinity];
}

i64 cpu_on(Partition& p, u64 target, u64 entry, u64 context) {
    Vcpu* v = vcpu_by_mpidr(p, target);
    if (v == nullptr) return hvc::psci::kInvalidParameters;
    // A stop in progress settles every vCPU to Off, pass after pass until none is left on, so
    // a CPU_ON that passes this check while a stop begins is cancelled by it, never lost in it.
    if (p.load_state() != PartitionState::Running) return hvc::psci::kDenied;
    if (!v->transition(VcpuState::Off, VcpuState::Starting)) return hvc::psci::kAlreadyOn;
    v->prepare_start(entry, context);
    v->store_state(VcpuState::Runnable);
    arch::wake_cores();
    return hvc::psci::kSuccess;
}

}  // namespace

bool is_psci_function(u64 fid) {
    u64 base = fid & ~0x1full;
    return base == 0x8400'0000 || base == 0xC400'0000;
}

bool handle_psci(System& system, Vcpu& vcpu) {
    GuestRegs& r = vcpu.regs;
    Partition& p = *vcpu.partition;
    switch (r.x[0]) {
        case hvc::psci::kVersion: set_result(vcpu, kPsciVersion10); return true;
        case hvc::psci::kFeatures: {
            u64 f = r.x[1];
            bool known = f == hvc::psci::kVersion || f == hvc::psci::kCpuOff || f == hvc::psci::kCpuOn ||
                         f == hvc::psci::kAffinityInfo || f == hvc::psci::kSystemOff ||
                         f == hvc::psci::kSystemReset || f == hvc::psci::kFeatures;
            set_result(vcpu, known ? hvc::psci::kSuccess : hvc::psci::kNotSupported);
            return true;
        }
        case hvc::psci::kCpuOn: set_result(vcpu, cpu_on(p, r.x[1], r.x[2], r.x[3])); return true;
        case hvc::psci::kAffinityInfo: {
            Vcpu* v = vcpu_by_mpidr(p, r.x[1]);
            if (v == nullptr || r.x[2] != 0) {
                set_result(vcpu, hvc::psci::kInvalidParameters);
            } else {
                set_result(vcpu, v->load_state() == VcpuState::Off ? 1 : 0);
            }
            return true;
        }
        case hvc::psci::kCpuOff:
            vcpu.store_state(VcpuState::Off);
            if (!any_vcpu_on(p)) {
                vcpu.store_state(VcpuState::Running);  // stop() expects the caller to be running
                system.stop(vcpu, StopReason::AllVcpusOff);
            }
            return false;
        case hvc::psci::kSystemOff: system.stop(vcpu, StopReason::SystemOff); return false;
        case hvc::psci::kSystemReset: system.stop(vcpu, StopReason::SystemReset); return false;
        default: set_result(vcpu, hvc::psci::kNotSupported); return true;
    }
}

}  // namespace bh

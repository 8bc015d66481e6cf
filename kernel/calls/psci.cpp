// PSCI as a partition sees it: its own vCPUs only. SYSTEM_OFF and SYSTEM_RESET act on the
// calling partition, never on the machine; nothing is forwarded to the firmware.
#include <arch/arch.hpp>
#include <calls/guest_exit.hpp>
#include <kernel.hpp>

namespace bh {

namespace {

constexpr u64 kPsciVersion10 = 0x1'0000;

void set_result(Vcpu& vcpu, i64 value) { vcpu.regs.x[0] = static_cast<u64>(value); }

bool any_vcpu_on(const Partition& p) {
    for (u32 i = 0; i < p.vcpu_count; ++i)
        if (p.vcpus[i].load_state() != VcpuState::Off) return true;
    return false;
}

bool known_function(u64 f) {
    using namespace hvc::psci;
    return f == kVersion || f == kCpuOff || f == kCpuOn || f == kAffinityInfo || f == kSystemOff ||
           f == kSystemReset || f == kFeatures;
}

i64 cpu_on(Partition& p, const PsciCpuOnArgs& a) {
    Vcpu& v = p.vcpus[a.target.raw()];
    // A stop in progress settles every vCPU to Off, pass after pass until none is left on, so
    // a CPU_ON that passes this check while a stop begins is cancelled by it, never lost in it.
    if (p.load_state() != PartitionState::Running) return hvc::psci::kDenied;
    if (!v.transition(VcpuState::Off, VcpuState::Starting)) return hvc::psci::kAlreadyOn;
    v.prepare_start(a.entry, a.context);
    v.store_state(VcpuState::Runnable);
    arch::wake_cores();
    return hvc::psci::kSuccess;
}

}  // namespace

CpuOff cpu_off_begin(Vcpu& vcpu) {
    const Partition& p = *vcpu.partition;
    // The run is read before the vCPU goes off: from then on a controller can take the
    // partition down without waiting for this core, and launch the next run.
    const u32 run = p.run();
    vcpu.store_state(VcpuState::Off);
    return CpuOff{run, !any_vcpu_on(p)};
}

void cpu_off_finish(Kernel& k, Vcpu& vcpu, CpuOff off) {
    if (off.last) k.lifecycle.stop_run(vcpu, off.run, StopReason::AllVcpusOff);
}

bool handle_psci(Kernel& k, Vcpu& vcpu, const GuestCall& call) {
    Partition& p = *vcpu.partition;
    switch (call.id) {
        case CallId::PsciVersion: set_result(vcpu, kPsciVersion10); return true;
        case CallId::PsciFeatures:
            set_result(vcpu, known_function(call.features.function) ? hvc::psci::kSuccess : hvc::psci::kNotSupported);
            return true;
        case CallId::PsciCpuOn: set_result(vcpu, cpu_on(p, call.cpu_on)); return true;
        case CallId::PsciAffinityInfo:
            set_result(vcpu, p.vcpus[call.affinity.target.raw()].load_state() == VcpuState::Off ? 1 : 0);
            return true;
        case CallId::PsciCpuOff: cpu_off_finish(k, vcpu, cpu_off_begin(vcpu)); return false;
        case CallId::PsciSystemOff: k.lifecycle.stop(vcpu, StopReason::SystemOff); return false;
        case CallId::PsciSystemReset: k.lifecycle.stop(vcpu, StopReason::SystemReset); return false;
        default: set_result(vcpu, hvc::psci::kNotSupported); return true;
    }
}

}  // namespace bh

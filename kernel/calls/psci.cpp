// PSCI 1.1 as a partition sees it: its own vCPUs only. SYSTEM_OFF and SYSTEM_RESET act on the
// calling partition, never on the machine; nothing is forwarded to the firmware. The calls are
// those Linux's PSCI driver makes (docs/abi.md, "PSCI").
#include <arch/arch.hpp>
#include <calls/guest_exit.hpp>
#include <kernel.hpp>

namespace bh {

namespace {

constexpr u64 kPsciVersion11 = 0x1'0001;

void set_result(Vcpu& vcpu, i64 value) { vcpu.regs.x[0] = static_cast<u64>(value); }

bool any_vcpu_on(const Partition& p) {
    for (u32 i = 0; i < p.vcpu_count; ++i)
        if (p.vcpus[i].load_state() != VcpuState::Off) return true;
    return false;
}

bool implemented(u64 f) {
    using namespace hvc::psci;
    switch (f) {
        case kVersion:
        case kCpuSuspend:
        case kCpuSuspend32:
        case kCpuOff:
        case kCpuOn:
        case kCpuOn32:
        case kAffinityInfo:
        case kAffinityInfo32:
        case kMigrateInfoType:
        case kSystemOff:
        case kSystemReset:
        case kFeatures: return true;
        default: return false;
    }
}

// Where a vCPU may be started or resumed: 4-byte aligned, in memory the partition may execute
// (its mappings now: they change at run time, so this is not decoding's to check).
bool executable(const Partition& p, u64 entry) {
    if (!is_aligned(entry, 4)) return false;
    auto t = p.stage2.translate(Ipa(entry));
    return t.ok() && t.value().attrs.executable();
}

i64 cpu_on(Partition& p, const PsciCpuOnArgs& a) {
    Vcpu& v = p.vcpus[a.target.raw()];
    if (!executable(p, a.entry)) return hvc::psci::kInvalidAddress;
    // A stop in progress settles every vCPU to Off, pass after pass until none is left on, so
    // a CPU_ON that passes this check while a stop begins is cancelled by it, never lost in it.
    if (p.load_state() != PartitionState::Running) return hvc::psci::kDenied;
    if (!v.transition(VcpuState::Off, VcpuState::Starting)) {
        const VcpuState s = v.load_state();
        return s == VcpuState::Starting || s == VcpuState::Runnable ? hvc::psci::kOnPending : hvc::psci::kAlreadyOn;
    }
    v.prepare_start(a.entry, a.context);
    v.store_state(VcpuState::Runnable);
    arch::wake_core(v.core.raw());
    return hvc::psci::kSuccess;
}

i64 affinity_info(const Partition& p, const PsciAffinityArgs& a) {
    switch (p.vcpus[a.target.raw()].load_state()) {
        case VcpuState::Off: return hvc::psci::kAffinityOff;
        case VcpuState::Starting:
        case VcpuState::Runnable: return hvc::psci::kAffinityOnPending;
        default: return hvc::psci::kAffinityOn;
    }
}

// A standby request returns when the vCPU may run on, which it may at once; a power-down one
// may return SUCCESS without powering down (a wake-up is always pending for a vCPU that is
// running), as it does for KVM's guests. So nothing is lost by not suspending: the guest's
// idle loop waits with WFI, which does not trap and sleeps on the physical core.
i64 cpu_suspend(const Partition& p, const PsciCpuSuspendArgs& a) {
    if (a.power_down && !executable(p, a.entry)) return hvc::psci::kInvalidAddress;
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
        case CallId::PsciVersion: set_result(vcpu, kPsciVersion11); return true;
        case CallId::PsciFeatures:
            // CPU_SUSPEND's feature flags are 0: the original power_state format, platform-
            // coordinated; every other implemented call answers SUCCESS.
            set_result(vcpu, implemented(call.features.function) ? hvc::psci::kSuccess : hvc::psci::kNotSupported);
            return true;
        case CallId::PsciMigrateInfoType: set_result(vcpu, hvc::psci::kMigrationNotRequired); return true;
        case CallId::PsciCpuSuspend: set_result(vcpu, cpu_suspend(p, call.suspend)); return true;
        case CallId::PsciCpuOn: set_result(vcpu, cpu_on(p, call.cpu_on)); return true;
        case CallId::PsciAffinityInfo: set_result(vcpu, affinity_info(p, call.affinity)); return true;
        case CallId::PsciCpuOff: cpu_off_finish(k, vcpu, cpu_off_begin(vcpu)); return false;
        case CallId::PsciSystemOff: k.lifecycle.stop(vcpu, StopReason::SystemOff); return false;
        case CallId::PsciSystemReset: k.lifecycle.stop(vcpu, StopReason::SystemReset); return false;
        default: set_result(vcpu, hvc::psci::kNotSupported); return true;
    }
}

}  // namespace bh

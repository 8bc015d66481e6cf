// PSCI 1.1 as a partition sees it: its own vCPUs only. SYSTEM_OFF and SYSTEM_RESET act on the
// calling partition, never on the machine; nothing is forwarded to the firmware. The calls are
// those Linux's PSCI driver makes (docs/abi.md, "PSCI").
#include <arch/arch.hpp>
#include <bulkhead/hypercall.hpp>
#include <guest_exit.hpp>

namespace bh {

namespace {

constexpr u64 kPsciVersion11 = 0x1'0001;
// CPU_SUSPEND's power_state, original format: StateID [15:0], StateType [16] (1: power down),
// PowerLevel [25:24]; the other bits are reserved.
constexpr u64 kPowerStateReserved = ~((1ull << 17) - 1) & ~(3ull << 24);
constexpr u64 kPowerDown = 1ull << 16;

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

// Where a vCPU may be started or resumed: 4-byte aligned, in memory the partition may execute.
bool executable(Partition& p, u64 entry) {
    if (!is_aligned(entry, 4)) return false;
    auto t = p.stage2.translate(Ipa(entry));
    return t.ok() && (t.value().attrs & manifest::attr::kExecute) != 0;
}

i64 cpu_on(Partition& p, u64 target, u64 entry, u64 context) {
    Vcpu* v = vcpu_by_mpidr(p, target);
    if (v == nullptr) return hvc::psci::kInvalidParameters;
    if (!executable(p, entry)) return hvc::psci::kInvalidAddress;
    // A stop in progress settles every vCPU to Off, pass after pass until none is left on, so
    // a CPU_ON that passes this check while a stop begins is cancelled by it, never lost in it.
    if (p.load_state() != PartitionState::Running) return hvc::psci::kDenied;
    if (!v->transition(VcpuState::Off, VcpuState::Starting)) {
        const VcpuState s = v->load_state();
        return s == VcpuState::Starting || s == VcpuState::Runnable ? hvc::psci::kOnPending : hvc::psci::kAlreadyOn;
    }
    v->prepare_start(entry, context);
    v->store_state(VcpuState::Runnable);
    arch::wake_cores();
    return hvc::psci::kSuccess;
}

i64 affinity_info(Partition& p, u64 target, u64 lowest_level) {
    Vcpu* v = vcpu_by_mpidr(p, target);
    if (v == nullptr || lowest_level != 0) return hvc::psci::kInvalidParameters;
    switch (v->load_state()) {
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
i64 cpu_suspend(Partition& p, u64 power_state, u64 entry) {
    if ((power_state & kPowerStateReserved) != 0) return hvc::psci::kInvalidParameters;
    if ((power_state & kPowerDown) != 0 && !executable(p, entry)) return hvc::psci::kInvalidAddress;
    return hvc::psci::kSuccess;
}

bool implemented(u64 fid) {
    switch (fid) {
        case hvc::psci::kVersion:
        case hvc::psci::kCpuSuspend:
        case hvc::psci::kCpuSuspend32:
        case hvc::psci::kCpuOff:
        case hvc::psci::kCpuOn:
        case hvc::psci::kCpuOn32:
        case hvc::psci::kAffinityInfo:
        case hvc::psci::kAffinityInfo32:
        case hvc::psci::kMigrateInfoType:
        case hvc::psci::kSystemOff:
        case hvc::psci::kSystemReset:
        case hvc::psci::kFeatures: return true;
        default: return false;
    }
}

}  // namespace

bool is_psci_function(u64 fid) {
    u64 base = fid & ~0x1full;
    return base == 0x8400'0000 || base == 0xC400'0000;
}

bool handle_psci(System& system, Vcpu& vcpu) {
    GuestRegs& r = vcpu.regs;
    Partition& p = *vcpu.partition;
    // An SMC32 call's arguments are the low 32 bits of their registers.
    const u64 mask = (r.x[0] & 0x4000'0000) != 0 ? ~0ull : 0xffff'ffffull;
    const u64 a1 = r.x[1] & mask, a2 = r.x[2] & mask, a3 = r.x[3] & mask;
    switch (r.x[0]) {
        case hvc::psci::kVersion: set_result(vcpu, kPsciVersion11); return true;
        case hvc::psci::kFeatures:
            // CPU_SUSPEND's feature flags are 0: the original power_state format, platform-
            // coordinated; every other implemented call answers SUCCESS.
            set_result(vcpu, implemented(r.x[1] & 0xffff'ffff) && (r.x[1] >> 32) == 0 ? hvc::psci::kSuccess
                                                                                     : hvc::psci::kNotSupported);
            return true;
        case hvc::psci::kMigrateInfoType: set_result(vcpu, hvc::psci::kMigrationNotRequired); return true;
        case hvc::psci::kCpuSuspend:
        case hvc::psci::kCpuSuspend32: set_result(vcpu, cpu_suspend(p, a1, a2)); return true;
        case hvc::psci::kCpuOn:
        case hvc::psci::kCpuOn32: set_result(vcpu, cpu_on(p, a1, a2, a3)); return true;
        case hvc::psci::kAffinityInfo:
        case hvc::psci::kAffinityInfo32: set_result(vcpu, affinity_info(p, a1, a2)); return true;
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

// The kernel's one instance and the entry points the arch layer calls (arch/kernel_entry.hpp).
#include <arch/arch.hpp>
#include <arch/kernel_entry.hpp>
#include <audit/audit_log.hpp>
#include <boot/boot_program.hpp>
#include <bulkhead/platform.hpp>
#include <calls/fast_call.hpp>
#include <calls/guest_exit.hpp>
#include <devices/virtual_devices.hpp>
#include <kernel.hpp>
#include <lib/format.hpp>
#ifdef BH_DEBUG_INVARIANTS
#include <invariants/debug_kernel.hpp>
#endif

namespace bh {

namespace {

constinit Kernel g_kernel;

void refuse_to_boot(int op_index, const char* what, const char* reason, Status status) {
    audit::manifest_rejected(0, op_index >= 0 ? static_cast<u64>(op_index) : ~0ull, status);
    if (op_index >= 0) {
        log("manifest rejected: op #", op_index, " (", what, "): ", reason, " (", status_name(status), ")");
    } else {
        log("manifest rejected: ", reason, " (", status_name(status), ")");
    }
    log("refusing to start any partition; powering off");
    arch::system_off();
}

}  // namespace

namespace kernel_entry {

void boot(unsigned cores_online) {
    if (const Outcome o = g_kernel.init(platform::kRamBase, platform::kDefaultRamSize, cores_online); !o.ok()) {
        log("PANIC: cannot initialise the system: ", o.reason());
        arch::system_off();
        return;
    }
    // The payload lies in the kernel's region, which no partition can reach: validating it
    // here and reading it below see the same bytes.
    ManifestReader reader;
    if (!ok(reader.open(reinterpret_cast<const void*>(platform::kPayloadBase), platform::kPayloadMaxSize))) {
        const ManifestError& e = reader.error();
        return refuse_to_boot(e.op_index, "manifest", e.reason, e.status);
    }
    if (!platform::manifest_ram_supported(reader.header().ram_base, reader.header().ram_size))
        return refuse_to_boot(-1, "manifest", "compiled for RAM this machine does not have", Status::OutOfRange);
    log("manifest ok: ", reader.op_count(), " ops, ", reader.partition_count(), " partitions");
    const BootResult result = run_boot_program(g_kernel, reader);
    if (!result.ok()) {
        const char* what = result.op_index >= 0 ? op_name(reader.op(static_cast<u32>(result.op_index)).kind) : "manifest";
        refuse_to_boot(result.op_index, what, result.outcome.reason(), result.outcome.status());
    }
}

bool next_guest(CoreId core, GuestEntry& out) {
    Vcpu* v = g_kernel.cores.claim(core);
    if (v == nullptr) return false;
    if (g_kernel.dma.fault_pending() && stop_if_device_faulted(g_kernel, *v)) return false;
    const Partition& p = *v->partition;
    out = GuestEntry{v, &v->regs, p.stage2.vttbr(), p.counter_offset, v->index.raw(), v->reset_on_entry};
    virtual_devices_enter(*v, v->reset_on_entry);
    v->reset_on_entry = false;
    return true;
}

bool idle_until_interrupt(CoreId core) {
    const Vcpu* v = g_kernel.cores.on(core);
    return v == nullptr || v->load_state() != VcpuState::Runnable;
}

bool guest_exit(Vcpu& vcpu, const arch::GuestExit& exit) {
#ifdef BH_DEBUG_INVARIANTS
    // Debug kernels: the checker after every hypercall (HVC or SMC), whatever its outcome.
    const bool call = exit.cause == arch::GuestExit::Cause::Hypercall || exit.cause == arch::GuestExit::Cause::SecureCall;
    const u64 function = vcpu.regs.x[0];
    const bool resume = handle_guest_exit(g_kernel, vcpu, exit);
    if (call) (void)debug_invariants::after_call(g_kernel, *vcpu.partition, function);
    if (resume) return true;
#else
    if (handle_guest_exit(g_kernel, vcpu, exit)) return true;
#endif
    virtual_devices_leave(vcpu);  // it stopped or waits: nothing of its interface stays live on the core
    return false;
}

bool sgi_register_write(Vcpu& vcpu, u64 value, bool group1) {
    if (!emulate_sgi_write(vcpu, value, group1)) return false;
    virtual_devices_resume(vcpu);
    return true;
}

u64 sgi_register_write_fast(Vcpu& vcpu, u64 value, bool group1, u32 empty_lrs) {
    return vgic::self_sgi_at_once(vcpu, value, group1, empty_lrs);
}

bool interrupt(CoreId core, u32 intid, bool in_exit) {
    if (intid == platform::kSmmuEventqIntid || intid == platform::kSmmuGerrorIntid) {
        g_kernel.dma.service();  // the kernel's own: its report of the partitions' devices' faults
        return false;
    }
    return physical_interrupt(g_kernel, core, intid, in_exit);
}

}  // namespace kernel_entry

extern "C" kernel_entry::FastExit bh_fast_call(Vcpu* vcpu) {
#ifdef BH_DEBUG_INVARIANTS
    // Debug kernels: a call the fast path answers is checked after too (one it leaves to the full
    // path is checked there; the IDs the vectors answer themselves change nothing).
    const u64 function = vcpu->regs.x[0];
    const kernel_entry::FastOutcome outcome = fast_path::fast_call(g_kernel, *vcpu);
    if (outcome != kernel_entry::FastOutcome::Slow) (void)debug_invariants::after_call(g_kernel, *vcpu->partition, function);
    return {outcome, &vcpu->regs};
#else
    return fast_path::fast_call_exit(*vcpu);
#endif
}
extern "C" void bh_fast_call_parked(Vcpu* vcpu) { fast_path::parked(*vcpu); }

}  // namespace bh

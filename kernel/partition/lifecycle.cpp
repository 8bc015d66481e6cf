#include <arch/arch.hpp>
#include <audit/audit_log.hpp>
#include <calls/fault_injection.hpp>
#include <devices/mmio_forward.hpp>
#include <devices/virtual_devices.hpp>
#include <dma/dma_streams.hpp>
#include <ipc/notification.hpp>
#include <irq/interrupts.hpp>
#include <lib/format.hpp>
#include <partition/image_pieces.hpp>
#include <partition/lifecycle.hpp>
#include <partition/partition_table.hpp>
#ifdef BH_DEBUG_INVARIANTS
#include <invariants/debug_kernel.hpp>
#endif

namespace bh {

namespace {

// Brings `v` to Off: cancels it if it is only runnable, waits while a CPU_ON is filling it in
// (Starting) or while its core runs it (that core was kicked and sees the partition stopping).
// A vCPU blocked in NotificationWait is cancelled too, and its wait forgotten before it can be
// relaunched (a signal must not reach the next run).
void settle_off(Vcpu& v) {
    for (;;) {
        VcpuState s = v.load_state();
        if (s == VcpuState::Off) return;
        if (s == VcpuState::Runnable) v.transition(VcpuState::Runnable, VcpuState::Off);
        if (s == VcpuState::Blocked && v.transition(VcpuState::Blocked, VcpuState::Off)) notification_cancel_wait(v);
        arch::cpu_relax();
    }
}

// Scrubs `p`'s private RAM and copies its images in, each cleaned to the point of coherency;
// false when an image no longer lies in memory it maps privately (it unmapped it, or mapped a
// channel there, before a restart). `fresh`: the first load after boot, before any partition
// has run. Retype zeroed that RAM and cleaned it, and nothing has written it since
// (docs/isolation.md, "Zeroed once"), so only the images are written; a restart zeroes every
// private region first.
[[nodiscard]] bool reload_memory(Partition& p, bool fresh) {
    // Only private RAM: a channel's memory belongs to all its mappers, and a restart of one of
    // them must not erase (or write) what the others see.
    for (u32 r = 0; r < p.region_count; ++r) {
        const MemoryRegion& m = p.regions[r];
        if (m.is_private_ram() && !fresh) arch::zero_to_poc(m.pa, m.size);
    }
    for (u32 i = 0; i < p.image_count; ++i) {
        const ImageSegment& img = p.images[i];
        // Through the partition's own tables: what it maps now is what it gets. It may have
        // mapped a channel where its image was: the kernel would write into memory other
        // partitions read, on behalf of a partition that may only read it.
        const ImagePlacement placed = for_each_image_piece(
            p, img.ipa, img.size, [&img](PhysAddr pa, u64 offset, u64 length) { arch::copy_to_poc(pa, img.bytes + offset, length); });
        if (placed != ImagePlacement::Ok) return false;
    }
    return true;
}

}  // namespace

void Lifecycle::start_all(const PartitionTable& partitions) {
    running_.store(partitions.count());
    // Every partition's memory is loaded before any partition runs: that is what lets the first
    // load skip the scrub (reload_memory).
    partitions.for_each([this](Partition& p) {
        if (!reload_memory(p, true)) cannot_load(p);
    });
    partitions.for_each([this](Partition& p) {
        if (p.load_state() == PartitionState::Built) begin(p, 0);
    });
}

void Lifecycle::cannot_load(Partition& p) {
    log("partition '", p.name, "' cannot be loaded: image outside its private mapped memory");
    p.store_state(PartitionState::Stopped);
    stopped_for_good();
}

void Lifecycle::launch(Partition& p, u64 delay) {
    if (!reload_memory(p, false)) {
        cannot_load(p);
        return;
    }
    begin(p, delay);
}

void Lifecycle::begin(Partition& p, u64 delay) {
    // A restarted guest must not find TLB entries of its previous run (its own stage 1).
    arch::stage2_tlb_invalidate_vmid(p.vmid);
    // Its time starts when vCPU 0 may first run: after the back-off, if any.
    p.run_start = arch::counter_now() + delay;
    p.counter_offset = p.run_start;
    for (u32 v = 0; v < p.vcpu_count; ++v) p.vcpus[v].store_state(VcpuState::Off);
    p.console_length = 0;
    virtual_devices_launch(interrupts_, p);
    p.vcpus[0].prepare_start(p.entry, p.boot_arg);
    p.vcpus[0].start_not_before.store(p.run_start);
    p.begin_run();
    p.vcpus[0].store_state(VcpuState::Runnable);
    log("partition '", p.name, "' started on core ", p.vcpus[0].core.raw());
    arch::wake_core(p.vcpus[0].core.raw());
}

void Lifecycle::stopped_for_good() {
    if (running_.sub_fetch(1) == 0) {
#ifdef BH_DEBUG_INVARIANTS
        debug_invariants::log_summary();
#endif
        log("all partitions stopped; powering off");
        arch::system_off();
    }
}

void Lifecycle::take_down(Partition& p, Vcpu* current, bool restart, StopReason reason, const char* by) {
    if (current != nullptr) current->store_state(VcpuState::Off);
    // First, so that no interrupt of its devices is signalled into the old run or the new one,
    // and no DMA of its devices reaches its memory while it is scrubbed and reloaded.
    interrupts_.partition_stopped(p.index);
    dma_.partition_stopped(p);
    for (u32 v = 0; v < p.vcpu_count; ++v) {
        Vcpu& other = p.vcpus[v];
        if (&other == current) continue;
        other.transition(VcpuState::Runnable, VcpuState::Off);
        if (other.load_state() == VcpuState::Running) arch::kick_core(other.core.raw());
    }
    // Their cores leave the guest on the kick and see the partition is no longer running. A
    // vCPU still running may issue a CPU_ON for one this pass already found off, so passes
    // repeat until one finds every vCPU off at first look: by then no vCPU of the old run
    // executes guest code (a runnable one only reaches its core's check of the partition's
    // state, which is no longer Running), so nothing of it can reach a restarted partition.
    for (bool settled = false; !settled;) {
        settled = true;
        for (u32 v = 0; v < p.vcpu_count; ++v) {
            if (p.vcpus[v].load_state() == VcpuState::Off) continue;
            settled = false;
            settle_off(p.vcpus[v]);
        }
    }
    report_injected_faults(p);  // no vCPU of the run is left to add to the count
    // No vCPU of it answers or waits for a forwarded access any more: its clients resume.
    forward_partition_down(p);
    audit::partition_down(p, arch::current_core(), restart, static_cast<u8>(reason), p.restarts + (restart ? 1 : 0));
    if (restart) {
        ++p.restarts;
        if (by != nullptr) {
            log("partition '", p.name, "' restarting (restart ", p.restarts, ", by '", by, "')");
        } else {
            log("partition '", p.name, "' restarting (restart ", p.restarts, ")");
        }
        // A controller's restart is a decision of the partition the description gave Control,
        // carried out at once (a health monitor restarting its driver partition must not wait
        // for the back-off of the crashes it is repairing); only the restarts the partition
        // causes itself are spaced out.
        const u64 frequency = arch::counter_frequency();
        const u64 delay =
            reason == StopReason::Controller ? 0 : p.backoff.next_delay(p.run_start, arch::counter_now(), frequency);
        if (delay != 0)
            log("partition '", p.name, "' restart delayed ", delay * 1000 / frequency, " ms (", p.backoff.quick_restarts(),
                " quick restarts in a row)");
        launch(p, delay);
        return;
    }
    p.store_state(PartitionState::Stopped);
    switch (reason) {
        case StopReason::SystemOff: log("partition '", p.name, "' stopped (system off)"); break;
        case StopReason::AllVcpusOff: log("partition '", p.name, "' stopped (all vCPUs off)"); break;
        case StopReason::Controller: log("partition '", p.name, "' stopped (by '", by, "')"); break;
        default: log("partition '", p.name, "' stopped"); break;
    }
    stopped_for_good();
}

void Lifecycle::stop(Vcpu& current, StopReason reason) {
    Partition& p = *current.partition;
    // While `current` is not off no take-down can end, so the run cannot change under this call.
    if (!p.transition(PartitionState::Running, PartitionState::Stopping)) {
        current.store_state(VcpuState::Off);  // another core is already taking it down
        return;
    }
    const bool restart = reason == StopReason::SystemReset ||
                         (reason == StopReason::Fault && p.restart_policy == manifest::RestartPolicy::Restart);
    take_down(p, &current, restart, reason, nullptr);
}

void Lifecycle::stop_run(Vcpu& off, u32 run, StopReason reason) {
    // `off` is off already: a take-down of its run may have ended and the next run begun, in
    // which `off` belongs to the new run (vCPU 0 may be runnable again): leave it alone.
    Partition& p = *off.partition;
    if (p.transition_in_run(run, PartitionState::Running, PartitionState::Stopping))
        take_down(p, &off, false, reason, nullptr);
}

Outcome Lifecycle::control(Partition& target, bool restart, Vcpu& caller) {
    Vcpu* current = caller.partition == &target ? &caller : nullptr;
    const char* by = caller.partition->name;
    for (;;) {
        switch (target.load_state()) {
            case PartitionState::Running:
                if (!target.transition(PartitionState::Running, PartitionState::Stopping)) break;
                take_down(target, current, restart, StopReason::Controller, by);
                return Status::Ok;
            case PartitionState::Stopped:
                if (!restart) return Status::Ok;
                if (!target.transition(PartitionState::Stopped, PartitionState::Stopping)) break;
                running_.add_fetch(1);
                take_down(target, nullptr, true, StopReason::Controller, by);
                return Status::Ok;
            case PartitionState::Stopping:
                // Another core takes it down; that core may wait for this one, when the caller's
                // own partition is going down too (or is the target): then nobody reads the answer.
                if (caller.partition->load_state() != PartitionState::Running) return Status::Ok;
                arch::cpu_relax();  // waiting for another core, like every such loop
                break;
            default: return Status::Busy;
        }
    }
}

}  // namespace bh

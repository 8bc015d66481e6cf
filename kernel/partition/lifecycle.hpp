// A partition's life after seal: launch (memory scrubbed on a restart, images loaded, caches
// cleaned, vCPU 0 runnable), take-down (every vCPU settled to Off) and then a stop for good or a relaunch. The
// same path serves a contained fault, a PSCI SYSTEM_OFF/RESET or CPU_OFF of its last vCPU, and a
// controller's PartitionStop/PartitionRestart. When every partition has stopped for good the
// machine powers off.
#pragma once

#include <bulkhead/status.hpp>
#include <lib/atomic.hpp>

namespace bh {

class DmaStreamTable;
class InterruptTable;
class Partition;
class PartitionTable;
struct Vcpu;

enum class StopReason { Fault, SystemOff, SystemReset, AllVcpusOff, Controller };

class Lifecycle {
public:
    constexpr Lifecycle(InterruptTable& interrupts, DmaStreamTable& dma) : interrupts_(interrupts), dma_(dma) {}

    // Seal: every partition starts.
    void start_all(const PartitionTable& partitions);

    // Takes `current`'s partition down for `reason` (on the core `current` runs on), restarting
    // it when the reason or its policy says so. Waits until none of its other vCPUs runs.
    void stop(Vcpu& current, StopReason reason);
    // The last CPU_OFF's stop, of run `run` only (`off` went off during it): nothing when that
    // run has already been taken down (and maybe the next launched) by another core.
    void stop_run(Vcpu& off, u32 run, StopReason reason);

    // PartitionStop / PartitionRestart by a partition holding a Control cap to `target` (`caller`
    // is the calling vCPU, which may belong to `target`); restart also brings back a partition
    // that stopped for good. The answer does not depend on the target's state, which would
    // otherwise flow from the target to its controller: Ok when the target is stopped (or
    // restarted) on return; while another core takes it down, the call waits for that to end.
    // Busy only for a partition not yet launched (before seal, when no partition runs).
    Outcome control(Partition& target, bool restart, Vcpu& caller);

    u32 running() const { return running_.load(); }

private:
    // A restart: scrubs, reloads and starts `p`; vCPU 0 enters after `delay` counter ticks
    // (restart back-off, partition/restart_backoff.hpp).
    void launch(Partition& p, u64 delay = 0);
    // The rest of a launch once `p`'s memory is loaded: vCPU 0 runnable after `delay`.
    void begin(Partition& p, u64 delay);
    void cannot_load(Partition& p);
    void take_down(Partition& p, Vcpu* current, bool restart, StopReason reason, const char* by);
    void stopped_for_good();

    InterruptTable& interrupts_;
    DmaStreamTable& dma_;
    Atomic<u32> running_;  // partitions not yet stopped for good; the machine powers off at zero
};

}  // namespace bh

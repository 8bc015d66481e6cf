#include <ipc/kernel_wait.hpp>
#include <ipc/notification.hpp>
#include <partition/partition.hpp>

namespace bh {

void leave_core_after_call(Vcpu& v) {
    CapLockGuard guard(cap_lock);
    // Its partition cannot run again before this vCPU is Off: a take-down waits for it.
    const bool runs = v.partition->load_state() == PartitionState::Running;
    if (v.waits_in_kernel.load_relaxed()) {
        if (runs) {
            // Interrupted, or its passes waited out: from now on an ordinary parked waiter, which a signal or a stop
            // (settle_off) takes out of Blocked; its frame is complete.
            v.waits_in_kernel.store_relaxed(false);
            v.store_state(VcpuState::Blocked);
            return;
        }
        notification_end_kernel_wait(v, guard.held());
    } else if (runs) {
        // A signal ended the wait just as an interrupt came: the core loop enters it again.
        v.store_state(VcpuState::Runnable);
        return;
    }
    v.transition(VcpuState::Running, VcpuState::Off);
}

}  // namespace bh

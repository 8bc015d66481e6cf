// Restart back-off (docs/isolation.md, "Restart back-off"; threat T-35). A partition whose runs
// keep ending quickly -- it faults at once or resets itself again and again -- is not relaunched
// at once every time (a controller's PartitionRestart is never delayed: Lifecycle::take_down): each run that ends within
// kSettledRunSeconds of its start makes the next start wait twice as long as the previous wait,
// from 1/64 s up to 1 s; a run that lasted longer starts the count afresh (a partition that
// faults once in a while is restarted at once, as before). So a crash loop costs the rest of the
// machine at most about one restart, with its console lines and its broadcast cache and TLB
// maintenance, per second, and the partition still comes back by itself. The wait is not spent
// in the kernel: the partition is Running with vCPU 0 runnable from a given counter value
// (Vcpu::start_due), so a controller can stop it meanwhile and no core is held.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

class RestartBackoff {
public:
    static constexpr u64 kSettledRunSeconds = 1;
    static constexpr u64 kFirstDelayDivisor = 64;  // the first wait: 1/64 s
    static constexpr u64 kMaxDelaySeconds = 1;

    // A run that started at counter `run_start` ended at `now`, and the partition restarts: the
    // counter ticks its new run must wait before it starts (0: at once). `frequency`: counter
    // ticks per second.
    [[nodiscard]] u64 next_delay(u64 run_start, u64 now, u64 frequency) {
        const bool settled = now >= run_start && now - run_start >= kSettledRunSeconds * frequency;
        if (settled) {
            quick_ = 0;
            return 0;
        }
        if (quick_ < kMaxQuick) ++quick_;
        const u64 delay = (frequency / kFirstDelayDivisor) << (quick_ - 1);
        return delay < kMaxDelaySeconds * frequency ? delay : kMaxDelaySeconds * frequency;
    }
    // Quick runs in a row so far.
    u32 quick_restarts() const { return quick_; }

private:
    static constexpr u32 kMaxQuick = 16;  // the delay reached its ceiling long before: no overflow
    u32 quick_ = 0;
};

}  // namespace bh

// A rate limit on kernel report lines that a partition can cause at will (the faults the kernel
// injects into a partition with fault policy "inject", docs/isolation.md "Fault policy"). Each
// such line holds the console that every partition and the kernel share (threat T-34), so after
// a burst of kBurst lines one more is allowed per `interval` counter ticks; the others are only
// counted, and the count is printed with the next line that is allowed and at the end of the
// run. A token bucket: deterministic, constant time, no memory.
#pragma once

#include <bulkhead/types.hpp>
#include <lib/spinlock.hpp>

namespace bh {

class ReportBudget {
public:
    static constexpr u32 kBurst = 16;
    // After the burst: one report per 1/kRefillsPerSecond s (the interval the callers pass).
    static constexpr u64 kRefillsPerSecond = 8;

    // True when a report may be printed now (at counter `now`); false: count it as suppressed.
    // A partition's vCPUs on several cores share one budget.
    [[nodiscard]] bool admit(u64 now, u64 interval) {
        LockGuard guard(lock_);
        if (interval != 0 && now > refilled_) {
            const u64 earned = (now - refilled_) / interval;
            if (earned != 0) {
                tokens_ = earned >= kBurst - tokens_ ? kBurst : tokens_ + static_cast<u32>(earned);
                refilled_ += earned * interval;
            }
        }
        if (tokens_ == 0) {
            ++suppressed_;
            return false;
        }
        --tokens_;
        return true;
    }
    // The reports suppressed since the last call, and zero from now on.
    u64 take_suppressed() {
        LockGuard guard(lock_);
        const u64 n = suppressed_;
        suppressed_ = 0;
        return n;
    }
    // A full bucket from `now` (a partition's new run starts with its whole burst).
    void reset(u64 now) {
        LockGuard guard(lock_);
        tokens_ = kBurst;
        refilled_ = now;
        suppressed_ = 0;
    }

private:
    SpinLock lock_;
    u32 tokens_ = kBurst;
    u64 refilled_ = 0;
    u64 suppressed_ = 0;
};

}  // namespace bh

// The capability lock: one lock serialises every capability operation on every core, because
// the derivation tree links caps of different partitions (all descend from the boot CNode's).
// It also guards notifications' waiters and the interrupt bindings. Functions that must run
// under it take `const CapLockHeld&`, which only a CapLockGuard makes.
//
// It also counts its critical sections for readers that do not take it (a seqlock around the
// whole capability state; docs/capabilities.md, "Reading a slot without the lock"): the count is
// odd while a core holds the lock and even otherwise, and every write to a slot, a CNode or a
// partition's CSpace root happens under the lock, so between an odd and an even step. A reader
// that sees the same even count before and after its reads read a state that held, unchanged,
// during them; any other reader's answer is thrown away.
#pragma once

#include <lib/spinlock.hpp>

namespace bh {

class CapabilityLock : public SpinLock {
public:
    // Guard<CapabilityLock> calls these: every holder bumps the count.
    void lock() {
        SpinLock::lock();
        // Only the holder writes sequence_. The fence orders the odd count before every write
        // of the critical section (a reader that sees one of them sees the count move).
        sequence_.store_relaxed(sequence_.load_relaxed() + 1);
        fence(Order::Release);
    }
    void unlock() {
        sequence_.store(sequence_.load_relaxed() + 1);  // release: after every write of the section
        SpinLock::unlock();
    }

    // A reader without the lock: begin_read() before its reads, then still_unchanged(begin)
    // after them; its reads are a consistent snapshot exactly when that is true. Its reads must
    // be single loads the compiler may neither repeat nor move (relaxed atomic loads), and must
    // be safe whatever they return, as a torn or stale value is only discarded afterwards.
    u32 begin_read() const { return sequence_.load(); }  // acquire: before the reads
    bool still_unchanged(u32 begin) const {
        fence(Order::Acquire);  // the reads before the second look at the count
        return (begin & 1) == 0 && sequence_.load_relaxed() == begin;
    }

private:
    Atomic<u32> sequence_;
};
using CapLockHeld = Held<CapabilityLock>;
using CapLockGuard = Guard<CapabilityLock>;

extern CapabilityLock cap_lock;

}  // namespace bh

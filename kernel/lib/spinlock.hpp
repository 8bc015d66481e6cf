// A ticket spinlock for the few short critical sections shared between cores (the console, the
// capability lock, a partition's console line and report budget). Needs normal cacheable
// memory, i.e. the EL2 MMU on; all-zero is unlocked, so locks in retyped (zeroed) objects need
// no constructor.
//
// Fair: cores get the lock in the order they asked for it, so a core waits for at most one
// critical section of each other core (threats T-34, T-36: the console and the capability lock
// are shared by every partition). A test-and-set lock has no such bound: a partition that calls
// into the kernel in a loop can take the lock again before a waiting core sees it free.
// redteam.capstorm showed it under QEMU, where a waiter spun out its turn while the holder was
// descheduled: next to a capability-call storm the victim's heartbeat period went to 9.4 M
// ticks, past its bound; with this lock it stays at 0.35 M. A waiter spins with
// arch::cpu_relax (YIELD), which lets the holder run where cores share an execution unit or are
// emulated one at a time.
#pragma once

#include <arch/arch.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class SpinLock {
public:
    void lock() {
        const u32 ticket = __atomic_fetch_add(&next_, 1u, __ATOMIC_RELAXED);
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) arch::cpu_relax();
    }
    // Only the holder writes serving_, so a plain read of it is current.
    void unlock() { __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE); }

private:
    u32 next_ = 0;     // the next ticket to hand out
    u32 serving_ = 0;  // the ticket that holds the lock
};

class LockGuard {
public:
    explicit LockGuard(SpinLock& lock) : lock_(lock) { lock_.lock(); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    SpinLock& lock_;
};

}  // namespace bh

// A ticket spinlock for the few short critical sections shared between cores (the console,
// capability operations, a partition's console line and report budget), and the lock witness:
// a function that may only run with a lock held takes `const Held<Lock>&`, which only a guard
// of that lock can make, so "called with the lock held" is checked by the compiler instead of
// stated in a comment (Hafnium's vm_locked). Needs normal cacheable memory, i.e. the EL2 MMU
// on; all-zero is unlocked.
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
#include <lib/atomic.hpp>

namespace bh {

#ifdef BH_HOST_LOCK_POINTS
// Host fuzz builds only (fuzz/CMakeLists.txt): every take and drop of a lock is a point where
// the hypercall target's interleaving mode may switch to another vCPU's call
// (arch/host/host_memory.hpp set_schedule_hook). Never defined for the EL2 kernel.
namespace host {
void lock_point();
}
#endif

class SpinLock {
public:
    void lock() {
        const u32 ticket = next_.add_fetch(1) - 1;
        while (serving_.load() != ticket) arch::cpu_relax();
#ifdef BH_HOST_LOCK_POINTS
        host::lock_point();
#endif
    }
    // Only the holder writes serving_, so its own relaxed read of it is current.
    void unlock() {
        serving_.store(serving_.load_relaxed() + 1);
#ifdef BH_HOST_LOCK_POINTS
        host::lock_point();
#endif
    }

private:
    Atomic<u32> next_;     // the next ticket to hand out
    Atomic<u32> serving_;  // the ticket that holds the lock
};

template <typename Lock>
class Guard;

// Proof that this core holds `Lock`. Neither copyable nor constructible outside Guard.
template <typename Lock>
class Held {
public:
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

private:
    friend class Guard<Lock>;
    Held() = default;
};

// Holds `lock` for its lifetime and hands out the witness.
template <typename Lock>
class Guard {
public:
    explicit Guard(Lock& lock) : lock_(lock) { lock_.lock(); }
    ~Guard() { lock_.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    const Held<Lock>& held() const { return held_; }

private:
    Lock& lock_;
    Held<Lock> held_;
};

using LockGuard = Guard<SpinLock>;

}  // namespace bh

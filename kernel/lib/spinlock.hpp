// A test-and-set spinlock for the few short critical sections shared between cores (console,
// capability operations), and the lock witness: a function that may only run with a lock held
// takes `const Held<Lock>&`, which only a guard of that lock can make, so "called with the lock
// held" is checked by the compiler instead of stated in a comment (Hafnium's vm_locked).
// Needs normal cacheable memory, i.e. the EL2 MMU on.
#pragma once

#include <lib/atomic.hpp>

namespace bh {

class SpinLock {
public:
    void lock() {
        while (held_.exchange(1) != 0) {
            while (held_.load_relaxed() != 0) {
            }
        }
    }
    void unlock() { held_.store(0); }

private:
    Atomic<u32> held_;
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

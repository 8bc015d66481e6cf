// A test-and-set spinlock for the few short critical sections shared between cores (console,
// a partition's state transitions). Needs normal cacheable memory, i.e. the EL2 MMU on.
#pragma once

#include <bulkhead/types.hpp>

namespace bh {

class SpinLock {
public:
    void lock() {
        while (__atomic_exchange_n(&held_, 1u, __ATOMIC_ACQUIRE) != 0) {
            while (__atomic_load_n(&held_, __ATOMIC_RELAXED) != 0) {
            }
        }
    }
    void unlock() { __atomic_store_n(&held_, 0u, __ATOMIC_RELEASE); }

private:
    u32 held_ = 0;
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

// Atomic<T>: the one way kernel code shares a variable between cores. Loads acquire and stores
// release unless a caller says otherwise, so a state word published with store() makes every
// write before it visible to the core that load()s it; compare_exchange is the state machines'
// transition (vcpu.hpp, partition.hpp). Works for any trivially copyable T of 1, 2, 4 or 8
// bytes (integers, enums, pointers) through the compiler's generic __atomic builtins.
#pragma once

#include <bulkhead/types.hpp>

#include <type_traits>

namespace bh {

// For the few lock-free algorithms that need more than acquire/release (the audit ring's
// seqlock): the C++ memory orders by name.
enum class Order : int {
    Relaxed = __ATOMIC_RELAXED,
    Acquire = __ATOMIC_ACQUIRE,
    Release = __ATOMIC_RELEASE,
    SeqCst = __ATOMIC_SEQ_CST,
};
inline void fence(Order order) { __atomic_thread_fence(static_cast<int>(order)); }

template <typename T>
class Atomic {
    static_assert(std::is_trivially_copyable_v<T> &&
                  (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8));

public:
    constexpr Atomic() = default;
    constexpr explicit Atomic(T value) : value_(value) {}
    Atomic(const Atomic&) = delete;
    Atomic& operator=(const Atomic&) = delete;

    T load() const { return load(__ATOMIC_ACQUIRE); }
    T load_relaxed() const { return load(__ATOMIC_RELAXED); }
    T load(Order order) const { return load(static_cast<int>(order)); }
    void store(T value) { __atomic_store(&value_, &value, __ATOMIC_RELEASE); }
    void store_relaxed(T value) { __atomic_store(&value_, &value, __ATOMIC_RELAXED); }
    void store(T value, Order order) { __atomic_store(&value_, &value, static_cast<int>(order)); }
    T exchange(T value) {
        T old;
        __atomic_exchange(&value_, &value, &old, __ATOMIC_ACQUIRE);
        return old;
    }
    // Replaces `expected` by `desired` if the variable holds `expected`; true when it did.
    bool compare_exchange(T expected, T desired) {
        return __atomic_compare_exchange(&value_, &expected, &desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    // Integers only: the value after adding / subtracting `delta`.
    T add_fetch(T delta) { return __atomic_add_fetch(&value_, delta, __ATOMIC_ACQ_REL); }
    T sub_fetch(T delta) { return __atomic_sub_fetch(&value_, delta, __ATOMIC_ACQ_REL); }
    T fetch_add(T delta, Order order) { return __atomic_fetch_add(&value_, delta, static_cast<int>(order)); }
    // Integers only: the value before setting / keeping `bits`. Sequentially consistent: a bit
    // one core sets and then checks another's state against is seen by that other core if it
    // changed its state first (the vGIC's pending words, kernel/vgic/delivery.cpp).
    T fetch_or(T bits) { return __atomic_fetch_or(&value_, bits, __ATOMIC_SEQ_CST); }
    T fetch_and(T bits) { return __atomic_fetch_and(&value_, bits, __ATOMIC_SEQ_CST); }

private:
    T load(int order) const {
        T value;
        __atomic_load(&value_, &value, order);
        return value;
    }

    T value_{};
};

}  // namespace bh

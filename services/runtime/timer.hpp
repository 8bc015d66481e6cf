// The generic timer's virtual counter, as a guest sees it (CNTVCT_EL0 = physical count minus the
// kernel's CNTVOFF_EL2), and busy-wait delays on it. No interrupts are involved.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::rt {

// Counter ticks since an arbitrary origin. The isb keeps the read from being hoisted.
inline u64 counter() {
    u64 value;
    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(value) : : "memory");
    return value;
}

// Ticks per second (62.5 MHz for QEMU's cortex-a53). Falls back to that if firmware left 0.
inline u64 counter_frequency() {
    u64 value;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(value));
    return value != 0 ? value : 62'500'000;
}

inline u64 ms_to_ticks(u64 ms) { return counter_frequency() / 1000 * ms; }
inline u64 ticks_to_ms(u64 ticks) { return ticks / (counter_frequency() / 1000); }

// Polls until the counter reaches `deadline`. No `yield` in the loop: under QEMU's
// -icount (single-threaded TCG) every yield leaves the translated code, which slows the wait
// down by an order of magnitude or more.
inline void delay_until(u64 deadline) {
    while (static_cast<i64>(counter() - deadline) < 0) {
    }
}

inline void delay_ticks(u64 ticks) { delay_until(counter() + ticks); }
inline void delay_ms(u64 ms) { delay_ticks(ms_to_ticks(ms)); }

}  // namespace bh::rt

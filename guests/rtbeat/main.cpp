// A real-time partition that checks its own deadlines: "beat <n>" every period of counter time
// (deadlines, not delays), and "LATE beat <n> by <us> us" whenever it reached a deadline a whole
// period or more after it was due, that is, when a beat was missed. At the end "done: <n> beats,
// max lateness <us> us", then PSCI SYSTEM_OFF. boot_arg: bits [15:0] the number of beats (40 if
// 0), bits [31:16] the period in ms (100 if 0).
//
// The linux.flood test runs it beside a Linux partition flooding its own SGIs and timers, under
// `qemu -icount` so that counter time is instructions, not the shared host's wall clock: a LATE
// line then means this core was kept from running, never that the host was busy.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;

namespace {

// Waits for `deadline` reading the counter only every few thousand instructions: under -icount
// every counter read ends QEMU's translated block, which made a plain polling loop (delay_until)
// cost over 30 s of host time per second of guest time (this loop: about 3 s). The granularity,
// about 2 us of guest time, is far below any lateness that matters. Each round ends with YIELD
// (a hint, nothing on hardware): QEMU's single-threaded round-robin under -icount then passes
// the turn on, as it does when a core executes IC IVAU. Without it this loop takes whole time
// slices while Linux, whose boot patches some 44,000 ftrace sites with one instruction-cache
// invalidation each, gives its turn up at every one: Linux's boot would stall until this
// partition ends, an artefact of the emulator's scheduling, not of the kernel's.
void wait_until(bh::u64 deadline) {
    while (static_cast<bh::i64>(counter() - deadline) < 0) {
        for (unsigned i = 0; i < 1024; ++i) asm volatile("" ::: "memory");
        asm volatile("yield");
    }
}

}  // namespace

extern "C" void guest_main(bh::u64 boot_arg) {
    const bh::u64 count = (boot_arg & 0xffff) != 0 ? boot_arg & 0xffff : 40;
    const bh::u64 period_ms = ((boot_arg >> 16) & 0xffff) != 0 ? (boot_arg >> 16) & 0xffff : 100;
    const bh::u64 period = ms_to_ticks(period_ms);
    const bh::u64 ticks_per_us = counter_frequency() / 1'000'000;
    bh::u64 worst = 0;
    bh::u64 next = counter();
    for (bh::u64 n = 1; n <= count; ++n) {
        next += period;
        wait_until(next);
        const bh::u64 late = counter() - next;
        if (late > worst) worst = late;
        print("beat ", n, "\n");
        if (late >= period) print("LATE beat ", n, " by ", late / ticks_per_us, " us\n");
    }
    print("done: ", count, " beats, max lateness ", worst / ticks_per_us, " us\n");
    system_off();
}

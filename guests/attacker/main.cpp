// Demo attacker: three heartbeats, then a write to IPA 0x4800_0000, outside its 16 MiB of RAM.
// In the demo that is where partition alpha's RAM lives physically, but as an IPA it is not
// mapped for the attacker: the stage-2 walk faults, the kernel reports the fault and stops
// this partition. "ATTACK SUCCEEDED" must never appear.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;

namespace {
constexpr bh::u64 kTarget = 0x4800'0000;
}

extern "C" void guest_main(bh::u64) {
    const bh::u64 period = ms_to_ticks(250);
    bh::u64 next = counter();
    for (bh::u64 n = 1; n <= 3; ++n) {
        next += period;
        delay_until(next);
        print("heartbeat ", n, "\n");
    }
    print("attacking: writing to IPA ", hex(kTarget), " outside my memory\n");
    // One explicit store, so that the faulting instruction is known exactly.
    asm volatile("str %w0, [%1]" : : "r"(0xbad0bad0u), "r"(kTarget) : "memory");
    print("ATTACK SUCCEEDED\n");
    for (;;) asm volatile("wfi");
}

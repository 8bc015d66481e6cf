// Demo guest: prints "heartbeat <n>" every 250 ms of counter time, boot_arg times (12 if 0),
// then "done", and stops its partition with PSCI SYSTEM_OFF.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;

extern "C" void guest_main(bh::u64 boot_arg) {
    const bh::u64 count = boot_arg != 0 ? boot_arg : 12;
    const bh::u64 period = ms_to_ticks(250);
    bh::u64 next = counter();
    for (bh::u64 n = 1; n <= count; ++n) {
        next += period;  // deadlines, not delays: no drift from the time spent printing
        delay_until(next);
        print("heartbeat ", n, "\n");
    }
    print("done\n");
    system_off();
}

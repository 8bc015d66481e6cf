// Baseline neighbour: keeps its core busy with plain computation for boot_arg million loop
// iterations (no exits, no calls), then stops. A victim next to spinners shows the heartbeat
// period that the machine-wide instruction count gives when every core is busy.
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

extern "C" void guest_main(bh::u64 boot_arg) {
    xtf::init();
    const bh::u64 iterations = (boot_arg != 0 ? boot_arg : 100) * 1'000'000;
    bh::u64 x = 1;
    for (bh::u64 i = 0; i < iterations; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        asm volatile("" : "+r"(x));
    }
    bh::rt::print("RESULT spin done: iterations=", iterations, " x=", bh::rt::hex(x), "\n");
}

// Attack class "restart loop" (threats T-35, T-34, T-41; invariant INV-7): a partition with
// `restart = "restart"` that faults as soon as it starts, forever. On every run vCPU 0 prints
// one line, starts vCPU 1 (which hammers PSCI CPU_ON and AFFINITY_INFO on its own partition's
// vCPUs, racing the take-down) and then writes outside its memory. The kernel must contain each
// fault, restart it clean, and space the restarts out (docs/isolation.md, "Restart back-off")
// so that the loop costs the rest of the machine neither its share of time nor the console.
//
// To let the test end, run kLastRun stops the partition instead of faulting (with the back-off
// it comes about a second after the first run; without it, within a tenth of that).
//
// boot_arg: unused. Lines: "run <n>" (n = restarts so far) on every run; "run 6: stopping".
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace bh;
using namespace bh::rt;

extern "C" void guest_secondary_main(u64) {
    xtf::init();
    for (;;) {
        (void)cpu_on(0, 0x4000'0000, 0);  // vCPU 0 is on: ALREADY_ON, never a new start
        (void)affinity_info(0);
        (void)affinity_info(1);
    }
}

constexpr u64 kLastRun = 6;

extern "C" void guest_main(u64) {
    xtf::init();
    const PartitionInfo info = partition_info();
    if (info.restarts >= kLastRun) {
        print("run ", info.restarts, ": stopping\n");
        return;  // the runtime calls PSCI SYSTEM_OFF
    }
    print("run ", info.restarts, "\n");
    (void)start_secondary(1, 0);
    // A few calls' worth of time for vCPU 1 to be in its loop, then the fault.
    for (int i = 0; i < 64; ++i) (void)affinity_info(1);
    asm volatile("str %0, [%1]" : : "r"(0ull), "r"(0x4800'0000ull) : "memory");
    print("BREACH crashloop wrote outside its memory\n");
}

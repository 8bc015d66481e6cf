// Test guest for a stop and a restart while a vCPU waits in the kernel
// (config/tests/wait-control.dts, tests/qemu/wait-control.expect). Role 1, the controller:
// signals `bell` (slot 4) and stops and restarts `sleeper` (slot 5, Control) while sleeper waits.
// Role 2, the sleeper: waits on `bell` (slot 4) for ever and prints what every wait returned.
// Each line carries the status the kernel returned (docs/abi.md: 0 ok).
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::u64;

namespace {

constexpr u64 kBell = 4;
constexpr u64 kSleeper = 5;

[[noreturn]] void sleeper() {
    for (u64 n = 1;; ++n) {
        print("wait ", n, "\n");
        const NotificationWord w = notification_wait(kBell);
        print("wait ", n, " returned: status ", w.status, " word ", w.word, "\n");
    }
}

void controller() {
    // Each pause leaves the sleeper waiting well before the next step (its line comes first).
    delay_ms(300);
    print("signal: status ", notification_signal(kBell), "\n");  // ends its first wait
    delay_ms(300);
    print("restart sleeper while it waits: status ", partition_restart(kSleeper), "\n");
    delay_ms(300);
    print("stop sleeper while it waits: status ", partition_stop(kSleeper), "\n");
    // Nobody waits now: the badge stays in the word, for the next run's first wait.
    print("signal stopped sleeper: status ", notification_signal(kBell), "\n");
    print("restart stopped sleeper: status ", partition_restart(kSleeper), "\n");
    delay_ms(300);
    print("stop sleeper for good: status ", partition_stop(kSleeper), "\n");
    print("controller done\n");
    system_off();
}

}  // namespace

extern "C" void guest_main(u64 role) {
    if (role == 2) sleeper();
    controller();
}

// The block driver's controller (config/tests/blk-restart.dts, tests/qemu/blk-restart.expect):
// restarts the driver partition through its Partition cap (Control) `boot-arg` times, each after a
// pseudo-random 4-40 ms, so the restarts land anywhere in the driver's work: in its device
// set-up, with a batch in flight, between a write and its flush, while it waits. Then it rings
// both clients' doorbells with its own badge (2) to tell them the restarts are over, and stops.
//
// CSpace: 4, 5 the two clients' doorbells (W, badge 2), 6 the driver's Partition cap (Control).
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::u64;

namespace {

constexpr u64 kClientDoorbell[2] = {4, 5};
constexpr u64 kDriver = 6;

}  // namespace

extern "C" void guest_main(u64 restarts) {
    u64 rng = counter() | 1;
    u64 done = 0;
    u64 busy = 0;
    while (done < restarts) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        delay_ms(4 + (rng >> 33) % 37);
        const bh::i64 s = partition_restart(kDriver);
        if (s == status_value(bh::Status::Busy)) {
            ++busy;  // the driver is going down by itself (its deliberate fault): try again later
            continue;
        }
        if (s != 0) {
            print("restart FAILED: status ", s, "\n");
            break;
        }
        ++done;
    }
    print(done, " restarts of the driver done (", busy, " found it busy)\n");
    for (u64 d : kClientDoorbell) (void)notification_signal(d);
    system_off();
}

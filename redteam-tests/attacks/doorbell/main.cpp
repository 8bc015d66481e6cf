// Attack class "notification flood" (threats T-52, T-36; invariants INV-5, INV-7): a partition
// that may signal the victim (a declared signal flow) rings its notification at full rate. A
// signal only ORs a badge into a word that the victim reads when it chooses (it polls once per
// pass of its heartbeat): nothing queues, nothing interrupts it; what the flood can cost the
// victim is the capability lock every signal takes. The victim must keep its pace.
//
// The notification cap is the first one in the partition's CSpace. boot_arg bit 63: long run.
#include <console.hpp>
#include <hypercall.hpp>

#include "xtf.hpp"

using namespace xtf;
using bh::rt::print;

extern "C" void guest_main(u64 boot_arg) {
    init();
    u64 doorbell = 0;
    for (u64 slot = 1; slot < 256 && doorbell == 0; ++slot)
        if (bh::rt::cap_identify(slot).type == bh::rt::cap_type::kNotification) doorbell = slot;
    const u64 signals = (boot_arg >> 63) != 0 ? 200'000 : 20'000;
    print("start: ", signals, " signals through slot ", doorbell, "\n");
    Tally t;
    for (u64 i = 0; i < signals; ++i) {
        if (bh::rt::notification_signal(doorbell) == 0) {
            t.add_reached();
        } else {
            t.add_refused();
        }
    }
    t.print("doorbell", "signals");
}

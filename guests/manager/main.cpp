// Test guest for the partition control calls (config/tests/control.dts,
// tests/qemu/control.expect). Its CSpace root holds: 1 = its own CNode, 2 and 3 = the two 2 MiB
// frames of its RAM, 4 = the Partition cap of `victim` with the Control right only (16), which
// bhcc grants for `controls = "victim";` after the frames (docs/system-description.md).
// The victim runs the heartbeat guest with a count it never reaches, so it stops only when this
// partition stops it. Every step prints one line with the status the kernel returned; the
// expectation file holds the statuses that must come back (docs/abi.md: 0 ok,
// -2 InvalidArgument, -3 Denied, -9 NotFound).
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::u64;

namespace {

// Slots of the CSpace root (config/tests/control.dts) and the slot this guest tries to fill.
constexpr u64 kOwnCNode = 1;
constexpr u64 kVictim = 4;     // Partition cap of `victim`, rights Control
constexpr u64 kNoControl = 20;  // a mint of 4 without Control, if the kernel lets one be made

}  // namespace

extern "C" void guest_main(u64) {
    // a) What the controller holds: a Partition cap (3) with the Control right (16) only.
    const CapInfo victim = cap_identify(kVictim);
    print("identify 4: status ", victim.status, " type ", victim.type, " rights ", victim.rights, "\n");

    // b) Refusals. The cap has no Grant, so it cannot be minted into a cap without Control (Denied),
    //    and the slot the mint would have filled stays empty; stopping through it is refused
    //    (InvalidArgument: an empty slot), as is stopping through a cap that is not a Partition
    //    cap (the own CNode).
    print("mint 4 -> 20 without control: status ", cap_mint(kVictim, kNoControl, 0, 0), "\n");
    const CapInfo minted = cap_identify(kNoControl);
    print("identify 20: status ", minted.status, " type ", minted.type, " rights ", minted.rights, "\n");
    if (minted.type == cap_type::kPartition) {
        // A kernel that lets the mint through: the mint has no Control, the call must be Denied.
        print("stop through 20 (no control): status ", partition_stop(kNoControl), "\n");
    } else {
        print("stop through 20 (empty): status ", partition_stop(kNoControl), "\n");
    }
    print("stop through 1 (own CNode): status ", partition_stop(kOwnCNode), "\n");

    // c) Let the victim beat for a while, then restart it: its count starts again from 1.
    delay_ms(1500);
    print("restart victim: status ", partition_restart(kVictim), "\n");
    delay_ms(1000);
    print("stop victim: status ", partition_stop(kVictim), "\n");
    print("stop victim again: status ", partition_stop(kVictim), "\n");
    // A partition stopped for good comes back with a restart.
    print("restart stopped victim: status ", partition_restart(kVictim), "\n");
    delay_ms(600);
    print("stop victim for good: status ", partition_stop(kVictim), "\n");

    // Every other partition has stopped: this SYSTEM_OFF powers the machine off.
    print("manager done\n");
    system_off();
}

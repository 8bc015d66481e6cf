// The bystander of the virtual GIC attack (main.cpp): a one-vCPU partition with a virtual GIC of
// its own, on a core of its own, that takes every interrupt there is to take (every SGI and PPI
// enabled) and may only ever take the ones it causes: its virtual timer, armed 1 ms ahead each
// round and slept for in WFI, and an SGI it sends itself each round. It measures the longest
// gap between its timer interrupts (its pace, in counter ticks) until the attacker signals that
// it is done, goes on for 20 more rounds, and reports:
//   RESULT vgic bystander: rounds=N timer=N sgi-sent=S sgi-taken=S foreign=0 max-gap=G bound=B ok
// (LATE instead of ok when a gap passed the bound; foreign counts what it did not cause).
// boot_arg: the bound in counter ticks (high 32 bits), as the victim's.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

#include "gic.hpp"
#include "xtf.hpp"

using namespace xtf;
using bh::rt::print;

namespace {

constexpr u32 kTimer = 27, kOwnSgi = 9;
constexpr u32 kRoundsAfterDone = 20;
constexpr u64 kMaxRounds = 200'000;  // 200 s of its time: the attacker long done

volatile u32 timer_taken, sgi_taken, foreign;

void irq() {
    const u32 intid = vgic_guest::acknowledge();
    if (intid >= 1020) return;  // spurious
    if (intid == kTimer) {
        vgic_guest::timer_off();
        timer_taken = timer_taken + 1;
    } else if (intid == kOwnSgi) {
        sgi_taken = sgi_taken + 1;
    } else {
        foreign = foreign + 1;
        print("UNEXPECTED bystander: took INTID ", intid, "\n");
    }
    vgic_guest::end_of_interrupt(intid);
}

u64 notification_slot() {
    const u64 slots = 1ull << bh::rt::partition_info().cspace_radix;
    for (u64 slot = 1; slot < slots; ++slot)
        if (bh::rt::cap_identify(slot).type == bh::rt::cap_type::kNotification) return slot;
    return 0;
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    init();
    set_irq_handler(irq);
    const u64 bound = boot_arg >> 32;
    const u64 done = notification_slot();
    if (done == 0) print("UNEXPECTED bystander: no notification cap\n");
    vgic_guest::gicd(vgic_guest::kCtlr) = 2;
    vgic_guest::cpu_interface_on();
    vgic_guest::gicr(0, vgic_guest::kWaker) = 0;
    vgic_guest::gicr_sgi(0, vgic_guest::kIsenabler) = ~0u;
    vgic_guest::irqs_on();
    print("every SGI and PPI enabled; taking its timer and SGI ", kOwnSgi, " until the attacker is done\n");

    u64 rounds = 0, sent = 0, max_gap = 0, after_done = 0;
    u64 last = bh::rt::counter();
    while (after_done < kRoundsAfterDone && rounds < kMaxRounds) {
        const u32 before = timer_taken;
        vgic_guest::timer_arm(bh::rt::ms_to_ticks(1));
        while (timer_taken == before) asm volatile("wfi");
        const u64 now = bh::rt::counter();
        if (now - last > max_gap) max_gap = now - last;
        last = now;
        vgic_guest::send_sgi(kOwnSgi, 1);
        ++sent;
        ++rounds;
        if (after_done != 0 || done == 0 || bh::rt::notification_poll(done).word != 0) ++after_done;
    }
    vgic_guest::irqs_off();
    print("RESULT vgic bystander: rounds=", rounds, " timer=", timer_taken, " sgi-sent=", sent, " sgi-taken=", sgi_taken,
          " foreign=", foreign, " max-gap=", max_gap, " bound=", bound, max_gap <= bound ? " ok" : " LATE", "\n");
}

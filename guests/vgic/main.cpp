// Test guest for the kernel's virtual GIC, virtual timer and emulated PL011
// (config/tests/vgic.dts, tests/qemu/vgic.expect; docs/vgic.md). It drives the GIC as an
// unmodified guest does: the emulated distributor and redistributors by MMIO, the virtual CPU
// interface by ICC_* system registers, SGIs by ICC_SGI1R_EL1. By boot_arg:
//   1  `gic` (vCPUs 0 and 1): identification registers; a self-IPI; an SGI to its other vCPU;
//      SGIs whose target lists name no vCPU of its own (Bao #389) and all-but-self; a write to
//      vCPU 1's redistributor from vCPU 0 (Bao #394); the virtual timer; vCPU 1 switched off
//      while its timer interrupt is active and started again (Bao #371); the RTC's SPI 34
//      forwarded to vCPU 1 by GICD_IROUTER; a line through its emulated UART; then it signals
//      the bystander.
//   2  `bystander` (another partition): every SGI enabled; after gic's signal it reports how
//      many it received (none may arrive), then makes a load pair from the distributor, which
//      the kernel cannot emulate and contains.
//   3  `console` (console input): echoes each line the console's UART receives, through its
//      emulated UART and its receive interrupt (SPI 33), until "quit".
//   4  `bench` (alone, run with -icount): the instructions from an ICC_SGI1R_EL1 write to the
//      IRQ handler of a self-IPI, from CNTVCT (one tick per 16 instructions under -icount
//      shift=0).
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

#include "gic.hpp"

using namespace bh::rt;
using namespace vgic_guest;
using bh::i64;

namespace {

constexpr u64 kRoleGic = 1, kRoleBystander = 2, kRoleConsole = 3, kRoleBench = 4;
constexpr u32 kTimer = 27, kUartSpi = 33, kRtcSpi = 34;
// CSpace indices (config/tests/vgic.dts, bhcc --dump): its own CNode, 8 frames of RAM, then the
// RTC page (gic only), then the notification `done`.
constexpr u64 kGicDone = 11;        // gic: Write
constexpr u64 kBystanderDone = 10;  // bystander: Read

constexpr u64 kRtcBase = 0x0901'0000;
constexpr u64 kRtcDr = 0x000, kRtcMr = 0x004, kRtcImsc = 0x010, kRtcIcr = 0x01c;
constexpr u64 kUartBase = 0x0900'0000;
constexpr u64 kUartDr = 0x000, kUartFr = 0x018, kUartLcrH = 0x02c, kUartImsc = 0x038;
constexpr u32 kUartRxEmpty = 1u << 4, kUartTxFull = 1u << 5;

constexpr unsigned kMaxVcpus = 4;
volatile u32 taken[kMaxVcpus][64];  // interrupts each vCPU's handler took, by INTID
volatile u32 vcpu1_ready;
volatile u32 vcpu1_go_off;          // vCPU 1 switches itself off inside its next timer handler
volatile u64 bench_entry;           // CNTVCT at the handler's first instruction (bench)

volatile u32& rtc(u64 offset) { return reg32(kRtcBase + offset); }
volatile u32& uart(u64 offset) { return reg32(kUartBase + offset); }

void uart_puts(const char* s) {
    for (; *s != '\0'; ++s) {
        while ((uart(kUartFr) & kUartTxFull) != 0) {
        }
        uart(kUartDr) = static_cast<bh::u8>(*s);
    }
}

// Waits for `done` at most `ms` of counter time: generous, so that a loaded host that runs a vCPU
// late fails nothing; only a wait that ends in a loss takes that long.
template <typename Done>
bool wait_for(Done done, u64 ms) {
    const u64 deadline = counter() + ms_to_ticks(ms);
    while (!done()) {
        if (static_cast<i64>(counter() - deadline) >= 0) return false;
    }
    return true;
}

// --- console: lines received through the UART's interrupt, echoed through its transmitter
char line[80];
unsigned line_length;
volatile u32 lines, console_done;

void uart_receive() {
    while ((uart(kUartFr) & kUartRxEmpty) == 0) {
        const char c = static_cast<char>(uart(kUartDr) & 0xff);
        if (c != '\n' && line_length + 1 < sizeof line) {
            line[line_length++] = c;
            continue;
        }
        if (c != '\n') continue;
        line[line_length] = '\0';
        uart_puts("rx: ");
        uart_puts(line);
        uart_puts("\n");
        lines = lines + 1;
        if (line_length == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't') console_done = 1;
        line_length = 0;
    }
}

}  // namespace

extern "C" void vgic_guest_irq() {
    const u64 now = counter();
    const u32 me = vcpu_index();
    const u32 intid = acknowledge();
    if (intid >= 1020) return;  // spurious
    if (bench_entry == 0) bench_entry = now;
    if (me < kMaxVcpus && intid < 64) taken[me][intid] = taken[me][intid] + 1;
    if (intid == kTimer) {
        timer_off();  // the level drops before the end, or it would be taken again at once
        if (me == 1 && vcpu1_go_off != 0) {
            vcpu1_go_off = 0;
            cpu_off();  // with PPI 27 still active in its list register: the kernel must end it
        }
    } else if (intid == kRtcSpi) {
        rtc(kRtcIcr) = 1;
        rtc(kRtcImsc) = 0;
    } else if (intid == kUartSpi) {
        uart_receive();
    }
    end_of_interrupt(intid);
}

namespace {

// This vCPU's virtual CPU interface and redistributor on, `sgis_ppis` enabled, IRQs unmasked.
void gic_on(u32 me, u32 sgis_ppis) {
    install_vectors();
    cpu_interface_on();
    gicr(me, kWaker) = 0;
    gicr_sgi(me, kIsenabler) = sgis_ppis;
    irqs_on();
}

void gic_role() {
    print("ICC_SRE_EL1.SRE ", icc_sre() & 1, "\n");
    print("GICD_PIDR2 ", hex(gicd(kPidr2)), " TYPER ", hex(gicd(kTyper)), " IGROUPR1 ", hex(gicd(kIgroupr + 4)), "\n");
    for (u32 v = 0; v < 2; ++v) {
        const u64 typer = reg64(kGicr + v * kGicrStride + kGicrTyper);
        print("redistributor ", v, ": affinity ", typer >> 32, ", last ", (typer >> 4) & 1, "\n");
    }
    gicd(kCtlr) = 2;  // EnableGrp1
    gic_on(0, 1u << 1 | 1u << 3 | 1u << 4 | 1u << kTimer);

    send_sgi(1, 0b1);
    print(wait_for([] { return taken[0][1] == 1; }, 10000) ? "self-IPI: SGI 1 taken on vCPU 0\n" : "SELF-IPI LOST\n");

    print("start vCPU 1: status ", start_secondary(1, 1), "\n");
    if (!wait_for([] { return vcpu1_ready != 0; }, 10000)) print("VCPU 1 DID NOT START\n");
    send_sgi(2, 0b10);
    print(wait_for([] { return taken[1][2] == 1; }, 10000) ? "SGI 2 to vCPU 1: taken on vCPU 1\n" : "SGI 2 LOST\n");

    // Target lists that name no vCPU of this partition: Aff0 2..15 (cores 2 and 3 are another
    // partition's and an unused one), RS 1 (Aff0 16..31), Aff1 1 (another cluster).
    send_sgi(4, 0xfffc);
    send_sgi(4, 0xffff, rs(1));
    send_sgi(4, 0xffff, aff1(1));
    delay_ms(100);
    print("SGI 4 to Aff0 2-15, RS 1 and Aff1 1: vCPU 0 took ", taken[0][4], ", vCPU 1 took ", taken[1][4], "\n");
    send_sgi(4, 0, kIrm);
    wait_for([] { return taken[1][4] == 1; }, 10000);
    delay_ms(20);
    print("SGI 4 to all but self: vCPU 0 took ", taken[0][4], ", vCPU 1 took ", taken[1][4], "\n");

    // vCPU 1's own SGI 3 off, through its redistributor frame, written by vCPU 0.
    gicr_sgi(1, kIcenabler) = 1u << 3;
    send_sgi(3, 0b11);
    wait_for([] { return taken[0][3] == 1; }, 10000);
    delay_ms(100);
    print("SGI 3 to both, vCPU 1's disabled at its redistributor: vCPU 0 took ", taken[0][3], ", vCPU 1 took ",
          taken[1][3], "\n");
    gicr_sgi(1, kIsenabler) = 1u << 3;
    print(wait_for([] { return taken[1][3] == 1; }, 10000) ? "vCPU 1's SGI 3 enabled again: the pending one taken\n"
                                                          : "PENDING SGI 3 LOST\n");

    for (u32 i = 1; i <= 5; ++i) {
        timer_arm(ms_to_ticks(5));
        if (!wait_for([i] { return taken[0][kTimer] == i; }, 10000)) break;
    }
    print("virtual timer: ", taken[0][kTimer], " interrupts on vCPU 0\n");

    vcpu1_go_off = 1;  // vCPU 1 arms its timer and goes off inside the handler, PPI 27 active
    if (wait_for([] { return affinity_info(1) == 1; }, 10000)) {
        print("vCPU 1 off inside its timer handler (timer interrupts taken: ", taken[1][kTimer], ")\n");
        print("start vCPU 1 again: status ", start_secondary(1, 2), "\n");
        print(wait_for([] { return taken[1][kTimer] == 2; }, 10000) ? "vCPU 1 restarted: its timer interrupt arrives again\n"
                                                                  : "TIMER LOST AFTER RESET\n");
    } else {
        print("VCPU 1 DID NOT GO OFF\n");
    }

    reg64(kGicd + irouter(kRtcSpi)) = 1;  // to vCPU 1
    gicd(kIsenabler + 4) = 1u << (kRtcSpi - 32);
    rtc(kRtcIcr) = 1;
    rtc(kRtcImsc) = 1;
    rtc(kRtcMr) = rtc(kRtcDr) + 1;
    print(wait_for([] { return taken[1][kRtcSpi] == 1; }, 10000)
              ? "RTC SPI 34 routed to vCPU 1: taken there, its line cleared\n"
              : "RTC SPI 34 LOST\n");

    uart_puts("uart: hello through the emulated PL011\n");
    print("signal the bystander: status ", notification_signal(kGicDone), "\n");
}

void bystander_role() {
    gicd(kCtlr) = 2;
    gic_on(0, 0xffff);
    print("every SGI enabled; waiting for gic\n");
    const NotificationWord w = notification_wait(kBystanderDone);
    delay_ms(50);  // anything pending would be taken now
    u32 total = 0;
    for (u32 sgi = 0; sgi < 16; ++sgi) total += taken[0][sgi];
    print("woken (status ", w.status, "): ", total, " SGIs received\n");
    print("load pair from the GIC distributor (no instruction syndrome)\n");
    u64 a, b;
    asm volatile("ldp %0, %1, [%2]" : "=r"(a), "=r"(b) : "r"(kGicd) : "memory");
    print("FAULT NOT CONTAINED ", a, b, "\n");
}

void console_role() {
    gicd(kCtlr) = 2;
    reg64(kGicd + irouter(kUartSpi)) = 0;
    gicd(kIsenabler + 4) = 1u << (kUartSpi - 32);
    uart(kUartLcrH) = 0x70;                 // 8 bits, FIFO on
    uart(kUartImsc) = 1u << 4 | 1u << 6;    // RXIM, RTIM
    gic_on(0, 0);
    uart_puts("console: echoing lines until quit\n");
    while (console_done == 0) asm volatile("wfi");
    irqs_off();
    print("console: ", lines, " lines, ", taken[0][kUartSpi], " receive interrupts\n");
}

// Starts a measurement `phase` (0..15) instructions after a tick of the counter: over 16
// consecutive phases the ticks counted average to the instructions measured / 16 exactly,
// whatever the measured path's length (a fixed phase would round it the same way each time).
u64 counter_at_phase(u64 phase) {
    const u64 edge = counter();
    while (counter() == edge) {
    }
    asm volatile(
        "adr x9, 1f\n\t"
        "sub x9, x9, %0, lsl #2\n\t"
        "br x9\n\t"
        ".rept 16\n\tnop\n\t.endr\n"
        "1:"
        :
        : "r"(phase & 15)
        : "x9", "memory");
    return counter();
}

void bench_role() {
    gic_on(0, 1u << 1);
    constexpr u32 kRounds = 1600;  // 100 of each phase
    u64 ticks = 0;
    for (u32 i = 0; i < kRounds; ++i) {
        bench_entry = 0;
        const u32 before = taken[0][1];
        const u64 start = counter_at_phase(i);
        send_sgi(1, 0b1);
        while (taken[0][1] == before) {
        }
        ticks += bench_entry - start;
    }
    // Under -icount shift=0 one instruction is 1 ns and the 62.5 MHz counter ticks every 16;
    // what is counted runs from the counter read before the write to the one in the handler.
    print("self-IPI, ICC_SGI1R_EL1 write to IRQ handler: ", kRounds, " rounds, ", ticks, " ticks, ",
          ticks * 16 / kRounds, ".", ticks * 16 % kRounds * 10 / kRounds, " instructions each\n");
}

}  // namespace

extern "C" void guest_secondary_main(u64 context) {
    // vCPU 1 of `gic`: context 1 its first start, 2 its start after going off.
    gic_on(1, 1u << 2 | 1u << 3 | 1u << 4 | 1u << kTimer);
    if (context == 1) {
        vcpu1_ready = 1;
        while (vcpu1_go_off == 0) {  // polled: nothing would wake a WFI for a store to memory
        }
    }
    timer_arm(ms_to_ticks(5));
    for (;;) asm volatile("wfi");
}

extern "C" void guest_main(u64 boot_arg) {
    switch (boot_arg) {
        case kRoleGic: gic_role(); break;
        case kRoleBystander: bystander_role(); break;
        case kRoleConsole: console_role(); break;
        case kRoleBench: bench_role(); break;
        default: print("unknown role ", boot_arg, "\n"); break;
    }
    print("done\n");
}

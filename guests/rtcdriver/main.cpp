// Test guest for interrupt capabilities (config/tests/irq.dts, tests/qemu/irq.expect). Role 1,
// `driver`: the PL031 real-time clock's driver partition. It holds the RTC's MMIO page, the
// IrqHandler cap of its SPI (INTID 34) and the Read cap of the notification `rtc-events`, which
// the `client` partition also signals (badge 1). Its CSpace (bhcc --dump):
//   1 = its CNode, 2..3 = its RAM frames, 4 = the RTC page (DeviceMmio, R W),
//   5 = notification rtc-events (R), 6 = IrqHandler INTID 34 (Control).
// It binds the SPI to the notification with badge 0x100 and arms the alarm four times:
//   1, 2. the alarm is delivered as badge 0x100; the driver clears the device and acknowledges
//      (acknowledging lets the SPI in again);
//   3. delivered, cleared, but not acknowledged; the driver arms alarm 4 at once: the device
//      raises its line (RTCRIS), but the kernel keeps the SPI disabled, so nothing arrives for
//      2.5 s; after IrqAck the held-back alarm 4 arrives.
// Then unbind; a later ack finds nothing bound. Last, alarm 5 is left asserted (never cleared):
// 200 acknowledgements give exactly 200 deliveries and none comes without an ack. Before binding it tries the calls with the wrong
// caps and a zero badge, each refused.
// Role 2, `client`: signals rtc-events once, then tries to bind and acknowledge with the caps it
// has (a Write cap to the notification, no IrqHandler cap): refused.
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::i64;
using bh::u32;
using bh::u64;

namespace {

constexpr u64 kRoleDriver = 1;
constexpr u64 kRoleClient = 2;

// Driver CSpace indices (config/tests/irq.dts).
constexpr u64 kFrame = 2;
constexpr u64 kRtcPage = 4;
constexpr u64 kEvents = 5;
constexpr u64 kIrq = 6;
// Client CSpace index: its Write cap to rtc-events.
constexpr u64 kClientEvents = 4;

constexpr u64 kIrqBadge = 0x100;
constexpr u64 kClientBadge = 1;
constexpr u64 kStormAcks = 200;

// PL031 registers (the page is mapped at IPA == PA).
constexpr u64 kRtcBase = 0x0901'0000;
constexpr u64 kRtcDr = 0x000;    // data: seconds
constexpr u64 kRtcMr = 0x004;    // match: the alarm
constexpr u64 kRtcImsc = 0x010;  // interrupt mask set/clear (1: enabled)
constexpr u64 kRtcRis = 0x014;   // raw interrupt status
constexpr u64 kRtcMis = 0x018;   // masked interrupt status: the line
constexpr u64 kRtcIcr = 0x01c;   // interrupt clear

volatile u32& rtc(u64 offset) { return *reinterpret_cast<volatile u32*>(kRtcBase + offset); }

void arm_alarm() {
    rtc(kRtcIcr) = 1;
    rtc(kRtcImsc) = 1;
    rtc(kRtcMr) = rtc(kRtcDr) + 1;  // the next second
}

// Waits until the alarm's badge arrives; reports the client's request when it comes along.
bool wait_alarm(u64 round) {
    for (;;) {
        const NotificationWord w = notification_wait(kEvents);
        if (w.status != 0) {
            print("wait ", round, ": status ", w.status, "\n");
            return false;
        }
        if ((w.word & kClientBadge) != 0) print("request from client (badge ", kClientBadge, ")\n");
        if ((w.word & ~(kIrqBadge | kClientBadge)) != 0) print("unexpected badge ", hex(w.word), "\n");
        if ((w.word & kIrqBadge) != 0) {
            print("alarm ", round, " delivered: badge ", hex(kIrqBadge), ", RTCMIS ", rtc(kRtcMis), "\n");
            return true;
        }
    }
}

void driver() {
    const CapInfo irq = cap_identify(kIrq);
    print("irq cap ", kIrq, ": status ", irq.status, " type ", irq.type, " rights ", irq.rights, "\n");
    print("ack before bind: status ", irq_ack(kIrq), "\n");
    print("bind with badge 0: status ", irq_bind(kIrq, kEvents, 0), "\n");
    print("bind a frame cap as the irq: status ", irq_bind(kFrame, kEvents, kIrqBadge), "\n");
    print("bind to a frame cap: status ", irq_bind(kIrq, kFrame, kIrqBadge), "\n");
    print("bind: status ", irq_bind(kIrq, kEvents, kIrqBadge), "\n");

    for (u64 round = 1; round <= 2; ++round) {
        arm_alarm();
        if (!wait_alarm(round)) return;
        rtc(kRtcIcr) = 1;  // the device lowers its line; then the SPI may come in again
        print("ack ", round, ": status ", irq_ack(kIrq), "\n");
    }

    arm_alarm();
    if (!wait_alarm(3)) return;
    rtc(kRtcIcr) = 1;
    arm_alarm();  // the device raises its line again within a second; the SPI stays disabled
    const u64 deadline = counter() + ms_to_ticks(2500);
    delay_until(deadline);
    const NotificationWord held = notification_poll(kEvents);
    print("while not acknowledged: RTCRIS ", rtc(kRtcRis), ", alarm badge seen ",
          (held.word & kIrqBadge) != 0 ? "yes" : "no", "\n");
    print("ack 3: status ", irq_ack(kIrq), "\n");
    if (!wait_alarm(4)) return;
    rtc(kRtcIcr) = 1;
    rtc(kRtcImsc) = 0;

    print("unbind: status ", irq_unbind(kIrq), "\n");
    print("ack after unbind: status ", irq_ack(kIrq), "\n");

    // A device that keeps its line asserted (the driver never clears it): every IrqAck lets
    // exactly one delivery through, and nothing comes without one.
    print("rebind: status ", irq_bind(kIrq, kEvents, kIrqBadge), "\n");
    arm_alarm();
    if (!wait_alarm(5)) return;
    u64 deliveries = 0, unasked = 0;
    for (u64 i = 0; i < kStormAcks; ++i) {
        if ((notification_poll(kEvents).word & kIrqBadge) != 0) ++unasked;
        if (irq_ack(kIrq) != 0) break;
        const NotificationWord w = notification_wait(kEvents);
        if (w.status == 0 && (w.word & kIrqBadge) != 0) ++deliveries;
    }
    print("line held asserted: ", kStormAcks, " acks, ", deliveries, " deliveries, ", unasked, " without an ack\n");
    rtc(kRtcIcr) = 1;
    rtc(kRtcImsc) = 0;
    print("unbind: status ", irq_unbind(kIrq), "\n");
}

void client() {
    print("signal rtc-events: status ", notification_signal(kClientEvents), "\n");
    // No IrqHandler cap here: its Write cap to the notification is no interrupt.
    print("bind through the notification cap: status ", irq_bind(kClientEvents, kClientEvents, 1), "\n");
    print("ack through the notification cap: status ", irq_ack(kClientEvents), "\n");
    print("bind through an empty slot: status ", irq_bind(200, kClientEvents, 1), "\n");
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    if (boot_arg == kRoleDriver) {
        driver();
    } else if (boot_arg == kRoleClient) {
        client();
    } else {
        print("unknown role ", boot_arg, "\n");
    }
    print("done\n");
    system_off();
}

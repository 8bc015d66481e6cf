// The emulated PL011 of a partition (kernel/vuart, docs/vgic.md "Virtual UART"): the registers
// Linux's driver and AMBA bus read, transmission into the partition's console line, and the
// console's input reaching the console-input partition, with its SPI 33 through the vGIC.
#include <catch2/catch_test_macros.hpp>

#include <string>

#include "vgic_fixture.hpp"

using namespace bh;
using namespace bh::test;

namespace {

constexpr u32 kUartSpi = 33;
enum : u64 { kDr = 0x0, kFr = 0x18, kIbrd = 0x24, kFbrd = 0x28, kLcrH = 0x2c, kCr = 0x30, kIfls = 0x34,
             kImsc = 0x38, kRis = 0x3c, kMis = 0x40, kIcr = 0x44, kDmacr = 0x48 };
constexpr u32 kRx = 1u << 4, kTx = 1u << 5;
constexpr u32 kRxEmpty = 1u << 4, kRxFull = 1u << 6, kTxEmpty = 1u << 7;

// "tty": virtual GIC, UART and console input, one vCPU on core 1. "quiet": a UART only, core 2.
struct World : VgicFixture {
    Partition* tty = nullptr;
    Partition* quiet = nullptr;
    World() {
        tty = &make("tty", kPartitionPa, 1, 1, manifest::RestartPolicy::Stop,
                     flag::kVirtualGic | flag::kVirtualUart | flag::kConsoleInput);
        quiet = &make("quiet", kPartitionPa + 4 * kMiB, 2, 1, manifest::RestartPolicy::Stop, flag::kVirtualUart);
        REQUIRE(seal().ok());
        enter(v());
        enter(q());
    }
    Vcpu& v() { return tty->vcpus[0]; }
    Vcpu& q() { return quiet->vcpus[0]; }
    u64 reg(u64 offset, unsigned size = 4) { return read(v(), kUart + offset, size); }
    void set(u64 offset, u64 value, unsigned size = 4) { write(v(), kUart + offset, value, size); }
    // The console's UART received `bytes`: its SPI 33 at the core it is routed to.
    void type(const std::string& bytes) {
        host::console_receive(bytes);
        REQUIRE(host::console_input_core() == 1);
        CHECK_FALSE(interrupt(v(), platform::kUartSpi));  // the kernel's, never forwarded
    }
    void enable_interrupt() {
        write(v(), kGicd + 0x0, 0x2);
        write(v(), kGicd + 0x104, 1u << (kUartSpi - 32));
    }
};

}  // namespace

TEST_CASE("vuart: the registers Linux's PL011 driver and AMBA bus read", "[vuart]") {
    World w;
    const u8 ids[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};  // PeriphID, PCellID
    for (unsigned i = 0; i < 8; ++i) CHECK(w.reg(0xfe0 + 4 * i) == ids[i]);
    CHECK(w.reg(kFr) == (kTxEmpty | kRxEmpty));
    CHECK(w.reg(kCr) == 0x300);
    CHECK(w.reg(kIfls) == 0x12);
    CHECK(w.reg(kLcrH) == 0);
    w.set(kLcrH, 0x70);
    CHECK(w.reg(kLcrH) == 0x70);
    w.set(kIbrd, 0x1'0027);
    w.set(kFbrd, 0xff);
    CHECK(w.reg(kIbrd) == 0x27);
    CHECK(w.reg(kFbrd) == 0x3f);
    w.set(kCr, 0xffff'ffff);
    CHECK(w.reg(kCr) == 0xff87);
    w.set(kDmacr, 0xff);
    CHECK(w.reg(kDmacr) == 0x7);
    // Halfword and byte reads see the register's lanes; an upper lane's write alone is ignored.
    CHECK(w.reg(kCr, 2) == 0xff87);
    CHECK(w.reg(kCr + 1, 1) == 0xff);
    w.set(kCr + 2, 0, 2);
    CHECK(w.reg(kCr) == 0xff87);
    w.set(kCr, 0x01, 1);
    CHECK(w.reg(kCr) == 0x01);
    for (u64 reserved : {0x8ull, 0x4cull, 0x800ull, 0xfdcull}) CHECK(w.reg(reserved) == 0);
    CHECK(w.reg(kIcr) == 0);  // write-only
}

TEST_CASE("vuart: what a partition transmits is its console line, prefixed with its name", "[vuart][T-81]") {
    World w;
    for (char c : std::string("hello\r\n")) w.set(kDr, static_cast<u8>(c), 1);
    for (char c : std::string("\x1b[2J\tx\n")) w.write(w.q(), kUart + kDr, static_cast<u8>(c), 4);
    CHECK(host::console_output().find("[tty] hello\n") != std::string::npos);
    CHECK(host::console_output().find("[quiet] ?[2J x\n") != std::string::npos);  // no terminal control
    CHECK(w.reg(kRis) == kTx);  // sent at once: the transmit interrupt is raised
    CHECK(w.reg(kMis) == 0);
    w.set(kImsc, kTx);
    CHECK(w.reg(kMis) == kTx);
    w.set(kIcr, kTx);
    CHECK(w.reg(kRis) == 0);
    CHECK(w.reg(kFr) == (kTxEmpty | kRxEmpty));  // never busy, never full
}

TEST_CASE("vuart: the transmit interrupt is the partition's SPI 33, raised while it asserts", "[vuart][T-78]") {
    World w;
    w.enable_interrupt();
    w.set(kImsc, kTx);
    w.set(kDr, 'a', 1);
    CHECK(w.in_lrs(w.v()) == std::vector<u32>{kUartSpi});
    CHECK((w.lr(w.v(), 0) >> 41 & 1) == 1);  // EOI: its end is when the level is looked at again
    CHECK(w.acknowledge(w.v()) == kUartSpi);
    w.set(kDr, 'b', 1);  // still asserted, already with the guest: not raised twice
    CHECK(lr_state(w.lr(w.v(), 0)) == 2);
    REQUIRE(w.end(w.v(), kUartSpi));
    CHECK_FALSE(w.interrupt(w.v(), 25));  // EOI maintenance: it still asserts, so it is raised again
    CHECK(w.in_lrs(w.v()) == std::vector<u32>{kUartSpi});
    CHECK(w.acknowledge(w.v()) == kUartSpi);
    w.set(kImsc, 0);  // the driver stops transmitting
    REQUIRE(w.end(w.v(), kUartSpi));
    CHECK_FALSE(w.interrupt(w.v(), 25));
    CHECK(w.in_lrs(w.v()).empty());
    // Without a virtual GIC there is no interrupt, and nothing breaks.
    w.write(w.q(), kUart + kImsc, kTx);
    w.write(w.q(), kUart + kDr, 'q');
    CHECK(w.in_lrs(w.q()).empty());
}

TEST_CASE("vuart: the console's input reaches the console-input partition, its FIFO and its SPI", "[vuart][T-81]") {
    World w;
    w.enable_interrupt();
    w.set(kImsc, kRx);
    w.type("ab");
    CHECK(w.reg(kRis) == kRx);
    CHECK(w.in_lrs(w.v()) == std::vector<u32>{kUartSpi});
    CHECK(w.acknowledge(w.v()) == kUartSpi);
    CHECK(w.reg(kFr) == (kTxEmpty | kRxFull));  // FIFO off (LCR_H.FEN = 0): one character fills it
    CHECK(w.reg(kDr) == 'a');
    CHECK(w.reg(kDr) == 'b');      // the second waited in the console's UART and followed
    CHECK(w.reg(kFr) == (kTxEmpty | kRxEmpty));
    CHECK(w.reg(kRis) == 0);
    REQUIRE(w.end(w.v(), kUartSpi));
    CHECK_FALSE(w.interrupt(w.v(), 25));
    CHECK(w.in_lrs(w.v()).empty());  // no longer asserted: not raised again
    CHECK(w.reg(kDr) == 0);          // empty: reads as zero
    CHECK(w.quiet->uart.rx_count == 0);  // only the console-input partition receives
}

TEST_CASE("vuart: a full FIFO holds the console's input back at its UART", "[vuart][T-81][INV-7]") {
    World w;
    w.set(kLcrH, 0x10);  // FEN: 32 characters
    std::string input;
    for (int i = 0; i < 40; ++i) input += static_cast<char>('A' + i % 26);
    w.type(input);
    CHECK(w.tty->uart.rx_count == 32);
    CHECK(host::console_bytes_waiting() == 8);
    CHECK(host::console_input_held());
    CHECK((w.reg(kFr) & kRxFull) != 0);
    CHECK(w.reg(kDr) == 'A');
    CHECK(host::console_bytes_waiting() == 7);  // room for one: the next moved in, and it is full again
    CHECK(w.tty->uart.rx_count == 32);
    CHECK(host::console_input_held());
    std::string got = "A";
    for (int i = 0; i < 39; ++i) got += static_cast<char>(w.reg(kDr));
    CHECK(got == input);
    CHECK(host::console_bytes_waiting() == 0);
    CHECK_FALSE(host::console_input_held());
}

TEST_CASE("vuart: input for a console-input partition that is not running is dropped", "[vuart][T-81]") {
    World w;
    REQUIRE_FALSE(hypercall(w.kernel, w.v(), hvc::psci::kSystemOff));
    host::console_receive("lost");
    host::set_current_core(1);
    CHECK_FALSE(physical_interrupt(w.kernel, CoreId(1), platform::kUartSpi, false));
    CHECK(host::console_bytes_waiting() == 0);  // read and dropped: the line cannot storm
    CHECK(w.tty->uart.rx_count == 0);
}

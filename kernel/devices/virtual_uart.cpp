#include <arch/vgic_hw.hpp>
#include <calls/console.hpp>
#include <devices/virtual_uart.hpp>
#include <partition/partition.hpp>
#include <vgic/vgic.hpp>

namespace bh::vuart {

namespace {

// PL011 registers (Arm PrimeCell UART (PL011) Technical Reference Manual, 3.2).
enum : u64 {
    kDr = 0x000,
    kRsr = 0x004,
    kFr = 0x018,
    kIlpr = 0x020,
    kIbrd = 0x024,
    kFbrd = 0x028,
    kLcrH = 0x02C,
    kCr = 0x030,
    kIfls = 0x034,
    kImsc = 0x038,
    kRis = 0x03C,
    kMis = 0x040,
    kIcr = 0x044,
    kDmacr = 0x048,
    kPeriphId0 = 0xFE0,  // PeriphID0-3, then PCellID0-3 at 0xFF0: what the AMBA bus probes
};

constexpr u32 kFrRxEmpty = 1u << 4;
constexpr u32 kFrRxFull = 1u << 6;
constexpr u32 kFrTxEmpty = 1u << 7;
constexpr u32 kIntRx = 1u << 4;
constexpr u32 kIntTx = 1u << 5;
constexpr u32 kInterruptBits = 0x7ff;
constexpr u32 kLcrFifoEnable = 1u << 4;
// A PL011 r1p4 (as QEMU's): PeriphID 0x00141011, PCellID 0xb105f00d.
constexpr u8 kIds[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
constexpr u32 kResetCr = 0x300;  // TXE, RXE
constexpr u32 kResetIfls = 0x12;

u32 capacity(const VirtualUart& u) { return (u.lcr_h & kLcrFifoEnable) != 0 ? kFifoDepth : 1; }

// The UART's interrupt output, as the partition's SPI 33: raised when it asserts and is not
// already with the guest; raised again when the guest completes it while it still asserts.
void update_line(Partition& p) {
    VirtualUart& u = p.uart;
    if ((u.ris & u.imsc) == 0) {
        u.asserted = false;
        return;
    }
    if (u.asserted || !p.has_vgic()) return;
    u.asserted = vgic::raise_spi(p, vgic::kUartSpi);
}

void push(VirtualUart& u, u8 byte) {
    u.rx[(u.rx_head + u.rx_count) % kFifoDepth] = byte;
    ++u.rx_count;
    u.ris |= kIntRx;  // QEMU's trigger level: one character
}

// Moves what the console's UART holds into the FIFO while there is room; holds its receive
// interrupt off while the FIFO is full (the bytes wait in the physical UART, then in QEMU).
void receive(Partition& p) {
    VirtualUart& u = p.uart;
    u8 byte = 0;
    while (u.rx_count < capacity(u) && arch::console_read(byte)) push(u, byte);
    arch::console_input_hold(u.rx_count >= capacity(u));
}

u32 read_register(Partition& p, u64 reg) {
    VirtualUart& u = p.uart;
    switch (reg) {
        case kDr: {
            if (u.rx_count == 0) return 0;
            const u8 byte = u.rx[u.rx_head];
            u.rx_head = (u.rx_head + 1) % kFifoDepth;
            --u.rx_count;
            if (u.rx_count == 0) u.ris &= ~kIntRx;
            if (p.has_console_input()) receive(p);
            return byte;
        }
        case kRsr: return u.rsr;
        case kFr:
            return kFrTxEmpty | (u.rx_count == 0 ? kFrRxEmpty : 0) | (u.rx_count >= capacity(u) ? kFrRxFull : 0);
        case kIlpr: return u.ilpr;
        case kIbrd: return u.ibrd;
        case kFbrd: return u.fbrd;
        case kLcrH: return u.lcr_h;
        case kCr: return u.cr;
        case kIfls: return u.ifls;
        case kImsc: return u.imsc;
        case kRis: return u.ris;
        case kMis: return u.ris & u.imsc;
        case kDmacr: return u.dmacr;
        default:
            if (reg >= kPeriphId0 && reg < kPeriphId0 + 4 * sizeof kIds) return kIds[(reg - kPeriphId0) / 4];
            return 0;  // reserved, ICR (write-only), test registers
    }
}

void write_register(Partition& p, u64 reg, u32 value) {
    VirtualUart& u = p.uart;
    switch (reg) {
        case kDr: {
            const char c = static_cast<char>(value & 0xff);
            console_write(p, &c, 1);
            u.ris |= kIntTx;  // sent at once: the FIFO is below its trigger level again
            break;
        }
        case kRsr: u.rsr = 0; break;  // UARTECR: clears the error flags
        case kIlpr: u.ilpr = value & 0xff; break;
        case kIbrd: u.ibrd = value & 0xffff; break;
        case kFbrd: u.fbrd = value & 0x3f; break;
        case kLcrH: u.lcr_h = value & 0xff; break;
        case kCr: u.cr = value & 0xff87; break;
        case kIfls: u.ifls = value & 0x3f; break;
        case kImsc: u.imsc = value & kInterruptBits; break;
        case kIcr: u.ris &= ~(value & kInterruptBits); break;
        case kDmacr: u.dmacr = value & 0x7; break;  // kept, never acted on: there is no DMA
        default: break;  // FR, RIS, MIS, the ID registers: read-only
    }
}

}  // namespace

void reset(Partition& p) {
    VirtualUart& u = p.uart;
    LockGuard guard(u.lock);
    u.rx_head = u.rx_count = 0;
    u.ris = u.imsc = u.lcr_h = u.ibrd = u.fbrd = u.ilpr = u.dmacr = u.rsr = 0;
    u.cr = kResetCr;
    u.ifls = kResetIfls;
    u.asserted = false;
}

const char* access(Vcpu& v, u64 offset, unsigned size, bool write, u64& value) {
    if (size != 1 && size != 2 && size != 4) return "the UART's registers are accessed by bytes, halfwords or words";
    Partition& p = *v.partition;
    LockGuard guard(p.uart.lock);
    const u64 reg = offset & ~3ull;
    const unsigned lane = static_cast<unsigned>(offset & 3);
    if (write) {
        // A narrower write reaches the register from its lowest byte (zero-extended, as QEMU's
        // model has it); a write into a register's upper bytes alone is ignored.
        if (lane == 0) write_register(p, reg, static_cast<u32>(value));
    } else {
        const u64 mask = size == 4 ? 0xffff'ffffull : (1ull << (8 * size)) - 1;
        value = (read_register(p, reg) >> (8 * lane)) & mask;
    }
    update_line(p);
    return nullptr;
}

void console_input(Partition& p) {
    LockGuard guard(p.uart.lock);
    receive(p);
    update_line(p);
}

void interrupt_completed(Partition& p) {
    LockGuard guard(p.uart.lock);
    p.uart.asserted = false;
    update_line(p);
}

}  // namespace bh::vuart

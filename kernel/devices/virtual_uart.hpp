// A partition's emulated PL011 UART (docs/vgic.md, "Virtual UART"): the 4 KiB window at the
// machine's UART address (platform::kUartBase) trapped and emulated with the registers an
// unmodified guest's driver and Linux's AMBA bus probe use. What it transmits goes to the
// partition's console line, prefixed with the partition's name like ConsoleWrite; the partition
// marked for console input receives what the console's own UART receives. Its interrupt is the
// partition's virtual SPI 33 (level: raised while RIS & IMSC is non-zero), through the vGIC.
//
// The model is QEMU's PL011 (which Linux drives daily): transmission is immediate (the FIFO is
// never full, TXRIS is set by every write to DR and cleared only through ICR); RXRIS is set while
// the receive FIFO holds data. The enable bits of CR are kept but not enforced.
#pragma once

#include <bulkhead/types.hpp>
#include <lib/spinlock.hpp>

namespace bh {
class Partition;
struct Vcpu;
}

namespace bh::vuart {

inline constexpr u32 kFifoDepth = 32;

struct VirtualUart {
    SpinLock lock;  // its vCPUs' accesses and the console's input
    u8 rx[kFifoDepth] = {};
    u32 rx_head = 0;
    u32 rx_count = 0;
    u32 ris = 0;  // raw interrupt status (UARTRIS)
    u32 imsc = 0;
    u32 cr = 0;
    u32 lcr_h = 0;
    u32 ibrd = 0;
    u32 fbrd = 0;
    u32 ifls = 0;
    u32 ilpr = 0;
    u32 dmacr = 0;
    u32 rsr = 0;
    bool asserted = false;  // its SPI was raised and the guest has not completed it yet
};

// The partition (re)starts: registers at their reset values, the receive FIFO empty.
void reset(Partition& p);
// A guest access at `offset` of the 4 KiB window (1, 2 or 4 bytes). Reads fill `value`. Returns
// nullptr, or why the access is the partition's fault.
const char* access(Vcpu& v, u64 offset, unsigned size, bool write, u64& value);
// The console's UART received bytes (any core): they move into `p`'s receive FIFO while it has
// room; the console's receive interrupt is held off while it is full.
void console_input(Partition& p);
// Own core of the vCPU that took it: the guest deactivated SPI 33 (EOI maintenance); it is
// raised again if the UART still asserts it.
void interrupt_completed(Partition& p);

}  // namespace bh::vuart

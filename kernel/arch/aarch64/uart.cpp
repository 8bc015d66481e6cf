// PL011: the kernel's debug console, and its receive side for the partition that gets the
// console's input (kernel/vuart). QEMU's UART needs no baud-rate setup.
#include <bulkhead/platform.hpp>

#include "sysreg.hpp"

namespace bh::aarch64 {

namespace {
constexpr u64 kData = platform::kUartBase + 0x00;
constexpr u64 kFlags = platform::kUartBase + 0x18;
constexpr u64 kControl = platform::kUartBase + 0x30;
constexpr u64 kInterruptMask = platform::kUartBase + 0x38;
constexpr u32 kTxFull = 1u << 5;
constexpr u32 kRxEmpty = 1u << 4;
constexpr u32 kRxInterrupts = (1u << 4) | (1u << 6);  // RXIM, RTIM
constexpr u32 kEnable = 1u << 0;
constexpr u32 kTxEnable = 1u << 8;
constexpr u32 kRxEnable = 1u << 9;
}  // namespace

void uart_init() { mmio_write<u32>(kControl, kEnable | kTxEnable | kRxEnable); }

void uart_putc(char c) {
    while ((mmio_read<u32>(kFlags) & kTxFull) != 0) {
    }
    mmio_write<u32>(kData, static_cast<u8>(c));
}

bool uart_getc(u8& byte) {
    if ((mmio_read<u32>(kFlags) & kRxEmpty) != 0) return false;
    byte = static_cast<u8>(mmio_read<u32>(kData));  // the error bits [11:8] are dropped
    return true;
}

void uart_rx_interrupt(bool enable) { mmio_write<u32>(kInterruptMask, enable ? kRxInterrupts : 0); }

}  // namespace bh::aarch64

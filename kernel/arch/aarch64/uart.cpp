// PL011 transmit only: the kernel's debug console. QEMU's UART needs no baud-rate setup.
#include <bulkhead/platform.hpp>

#include "sysreg.hpp"

namespace bh::aarch64 {

namespace {
constexpr u64 kData = platform::kUartBase + 0x00;
constexpr u64 kFlags = platform::kUartBase + 0x18;
constexpr u64 kControl = platform::kUartBase + 0x30;
constexpr u32 kTxFull = 1u << 5;
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

}  // namespace bh::aarch64

// QEMU's `edu` PCIe device as test guests drive it (QEMU hw/misc/edu.c): a 1 MiB register BAR, a
// 4 KiB buffer inside the device at device address 0x40000, and a DMA engine that copies between
// that buffer and a bus address (for a partition: one of its IPAs, through the SMMU) 100 ms of
// virtual time after it is started, then raises INTA if asked to.
#pragma once

#include <bulkhead/types.hpp>
#include <timer.hpp>

namespace edu {

using bh::u32;
using bh::u64;

inline constexpr u32 kVendorDevice = 0x11e8'1234;  // vendor 0x1234, device 0x11e8
inline constexpr u32 kIdentification = 0x010000ed;
inline constexpr u64 kBuffer = 0x40000;  // the device's own buffer, in its DMA address space
inline constexpr u64 kBufferSize = 4096;

// Registers (offsets in BAR0).
inline constexpr u64 kRegId = 0x00;
inline constexpr u64 kRegLiveness = 0x04;  // reads back the complement of what was written
inline constexpr u64 kRegIrqStatus = 0x24;
inline constexpr u64 kRegIrqAck = 0x64;
inline constexpr u64 kRegDmaSource = 0x80;
inline constexpr u64 kRegDmaDestination = 0x88;
inline constexpr u64 kRegDmaCount = 0x90;
inline constexpr u64 kRegDmaCommand = 0x98;
inline constexpr u64 kDmaRun = 1;
inline constexpr u64 kDmaToRam = 2;  // the device buffer to the bus address (else the other way)
inline constexpr u64 kDmaIrq = 4;
inline constexpr u32 kIrqDma = 0x100;

class Device {
public:
    explicit Device(u64 bar0) : bar_(bar0) {}
    u32 read32(u64 offset) const { return *reinterpret_cast<volatile u32*>(bar_ + offset); }
    void write32(u64 offset, u32 v) const { *reinterpret_cast<volatile u32*>(bar_ + offset) = v; }
    u64 read64(u64 offset) const { return *reinterpret_cast<volatile u64*>(bar_ + offset); }
    void write64(u64 offset, u64 v) const { *reinterpret_cast<volatile u64*>(bar_ + offset) = v; }

    // Starts a copy of `count` bytes; `to_ram`: device buffer -> `address`, else `address` ->
    // device buffer. Returns at once; the device runs it 100 ms later.
    void start(u64 address, u64 count, bool to_ram, bool irq) const {
        write64(kRegDmaSource, to_ram ? kBuffer : address);
        write64(kRegDmaDestination, to_ram ? address : kBuffer);
        write64(kRegDmaCount, count);
        write64(kRegDmaCommand, kDmaRun | (to_ram ? kDmaToRam : 0) | (irq ? kDmaIrq : 0));
    }
    // Waits until the device has run the copy (whether or not its accesses got through).
    bool wait(u64 timeout_ms = 3000) const {
        const u64 deadline = bh::rt::counter() + bh::rt::ms_to_ticks(timeout_ms);
        while ((read64(kRegDmaCommand) & kDmaRun) != 0)
            if (static_cast<bh::i64>(bh::rt::counter() - deadline) >= 0) return false;
        return true;
    }
    bool copy(u64 address, u64 count, bool to_ram) const {
        start(address, count, to_ram, false);
        return wait();
    }

private:
    u64 bar_;
};

inline void fill(u64 address, u64 size, u32 seed) {
    volatile u32* p = reinterpret_cast<volatile u32*>(address);
    for (u64 i = 0; i < size / 4; ++i) p[i] = seed * 0x9e37'79b9u + static_cast<u32>(i);
}
// Words of [address, +size) that differ from fill(address, size, seed).
inline u64 mismatches(u64 address, u64 size, u32 seed) {
    const volatile u32* p = reinterpret_cast<const volatile u32*>(address);
    u64 n = 0;
    for (u64 i = 0; i < size / 4; ++i) n += p[i] != seed * 0x9e37'79b9u + static_cast<u32>(i) ? 1 : 0;
    return n;
}
inline u64 nonzero_words(u64 address, u64 size) {
    const volatile u32* p = reinterpret_cast<const volatile u32*>(address);
    u64 n = 0;
    for (u64 i = 0; i < size / 4; ++i) n += p[i] != 0 ? 1 : 0;
    return n;
}
// A checksum of [address, +size) (FNV-1a over words): what a victim compares before and after.
inline u32 checksum(u64 address, u64 size) {
    const volatile u32* p = reinterpret_cast<const volatile u32*>(address);
    u32 h = 0x811c'9dc5u;
    for (u64 i = 0; i < size / 4; ++i) h = (h ^ p[i]) * 0x0100'0193u;
    return h;
}

}  // namespace edu

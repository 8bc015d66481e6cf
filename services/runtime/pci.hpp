// A partition's view of PCIe configuration space (docs/isolation.md "DMA and PCIe"): bus 0 at
// platform::kPciConfigWindowIpa, where the kernel shows only the functions the partition owns
// (every other reads as all ones). Accesses are single loads and stores the kernel emulates.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/types.hpp>

namespace bh::rt::pci {

inline constexpr u32 kId = 0x00;
inline constexpr u32 kCommand = 0x04;
inline constexpr u32 kBar0 = 0x10;
inline constexpr u32 kRomBar = 0x30;
inline constexpr u32 kInterruptPin = 0x3d;
inline constexpr u16 kCommandMemory = 1u << 1;
inline constexpr u16 kCommandBusMaster = 1u << 2;

inline volatile u8* config(u32 bdf, u32 offset) {
    return reinterpret_cast<volatile u8*>(platform::kPciConfigWindowIpa + bdf * platform::kPcieFunctionConfigSize + offset);
}
inline u32 read32(u32 bdf, u32 offset) { return *reinterpret_cast<volatile u32*>(config(bdf, offset)); }
inline u16 read16(u32 bdf, u32 offset) { return *reinterpret_cast<volatile u16*>(config(bdf, offset)); }
inline u8 read8(u32 bdf, u32 offset) { return *config(bdf, offset); }
inline void write32(u32 bdf, u32 offset, u32 v) { *reinterpret_cast<volatile u32*>(config(bdf, offset)) = v; }
inline void write16(u32 bdf, u32 offset, u16 v) { *reinterpret_cast<volatile u16*>(config(bdf, offset)) = v; }

inline u32 bar(u32 bdf, u32 index) { return read32(bdf, kBar0 + 4 * index); }

// The size of a memory BAR as its sizing answers (all ones written, then restored).
inline u64 bar_size(u32 bdf, u32 index) {
    const u32 saved = bar(bdf, index);
    write32(bdf, kBar0 + 4 * index, 0xffff'ffffu);
    const u32 mask = bar(bdf, index) & ~0xfu;
    write32(bdf, kBar0 + 4 * index, saved);
    return mask == 0 ? 0 : static_cast<u64>(~mask) + 1;
}

// "00:03.0"-style: the functions of bus 0 that are there for this partition, in bdf order.
template <class F>
void for_each_function(F&& f) {
    for (u32 bdf = 0; bdf < platform::kStreamCount; ++bdf)
        if ((read32(bdf, kId) & 0xffff) != 0xffff) f(bdf);
}

}  // namespace bh::rt::pci

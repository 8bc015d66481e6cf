// The arch PCIe configuration interface on the host: functions of bus 0 that tests add, each a
// 4 KiB configuration space with read-only identity registers, a command register, and BARs that
// answer sizing as hardware does (the bits below the BAR's size read as zero).
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <bulkhead/platform.hpp>

#include "arch/pci.hpp"
#include "arch/host/host_memory.hpp"

namespace bh {
namespace {

struct FakeFunction {
    std::array<u8, platform::kPcieFunctionConfigSize> config{};
    std::vector<host::FakeBar> bars;  // index = BAR register; size 0: not implemented
};
std::map<u32, FakeFunction> g_functions;

u32 load(const FakeFunction& f, u32 offset) {
    u32 v = 0;
    std::memcpy(&v, f.config.data() + offset, 4);
    return v;
}
void store(FakeFunction& f, u32 offset, u32 v) { std::memcpy(f.config.data() + offset, &v, 4); }

// The low flag bits a memory BAR reads with: 64-bit type (0b10 << 1), prefetchable (bit 3).
u32 bar_flags(const host::FakeBar& b) { return (b.is64 ? 4u : 0u) | (b.prefetchable ? 8u : 0u); }

// A dword written to the function, with the hardware's write masks applied.
void write_dword(FakeFunction& f, u32 offset, u32 value) {
    if (offset < 0x04 || offset == 0x08) return;  // identity and class: read-only
    if (offset >= 0x10 && offset < 0x28) {
        const u32 index = (offset - 0x10) / 4;
        // The upper half of a 64-bit BAR: the BAR below it describes it.
        if (index > 0 && index - 1 < f.bars.size() && f.bars[index - 1].is64) {
            store(f, offset, value);
            return;
        }
        if (index >= f.bars.size() || f.bars[index].size == 0) return;  // not implemented: reads 0
        const host::FakeBar& b = f.bars[index];
        store(f, offset, (value & ~static_cast<u32>(b.size - 1) & ~0xfu) | bar_flags(b));
        return;
    }
    if (offset == 0x04) {
        // Command: IO, MEM, BME, SERR, INTx disable are writable; status bits are write-1-to-clear
        // and none is set in the fake.
        store(f, offset, value & 0x0547u);
        return;
    }
    if (offset == 0x30) return;  // no expansion ROM
    store(f, offset, value);
}

}  // namespace

namespace arch {

u32 pci_config_read(u32 bdf, u32 offset, unsigned size) {
    auto it = g_functions.find(bdf);
    if (it == g_functions.end() || offset >= platform::kPcieFunctionConfigSize || offset % size != 0) return ~0u;
    const u32 dword = load(it->second, offset & ~3u);
    const u32 shift = 8 * (offset & 3);
    return size == 4 ? dword : (dword >> shift) & ((1u << (8 * size)) - 1);
}

void pci_config_write(u32 bdf, u32 offset, unsigned size, u32 value) {
    auto it = g_functions.find(bdf);
    if (it == g_functions.end() || offset >= platform::kPcieFunctionConfigSize || offset % size != 0) return;
    FakeFunction& f = it->second;
    const u32 aligned = offset & ~3u;
    u32 dword = load(f, aligned);
    if (size == 4) {
        dword = value;
    } else {
        const u32 shift = 8 * (offset & 3), mask = ((1u << (8 * size)) - 1) << shift;
        dword = (dword & ~mask) | ((value << shift) & mask);
    }
    write_dword(f, aligned, dword);
    host::trace().push_back("pci " + std::to_string(bdf) + " write " + std::to_string(offset) + " = " +
                            std::to_string(value));
}

}  // namespace arch

namespace host {

void pci_add_function(u32 bdf, u16 vendor, u16 device, std::vector<FakeBar> bars, u8 header_type, u8 interrupt_pin) {
    FakeFunction f;
    store(f, 0x00, vendor | (static_cast<u32>(device) << 16));
    store(f, 0x08, 0x00ff'0010u);  // class "other", revision 0x10
    f.config[0x0e] = header_type;
    f.config[0x3d] = interrupt_pin;
    for (u32 i = 0; i < bars.size() && i < 6; ++i)
        if (bars[i].size != 0) store(f, 0x10 + 4 * i, bar_flags(bars[i]));
    f.bars = std::move(bars);
    g_functions[bdf] = f;
}

u32 pci_raw(u32 bdf, u32 offset) {
    auto it = g_functions.find(bdf);
    return it == g_functions.end() ? ~0u : load(it->second, offset & ~3u);
}

void pci_reset() { g_functions.clear(); }

}  // namespace host
}  // namespace bh

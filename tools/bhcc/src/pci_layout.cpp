#include <bhcc/pci_layout.hpp>

#include <bulkhead/platform.hpp>

#include <algorithm>
#include <cstdio>

namespace bhcc {

std::optional<std::vector<PlacedBar>> place_bars(const SystemDescription& system) {
    std::vector<PlacedBar> bars;
    for (std::size_t f = 0; f < system.pci_functions.size(); ++f) {
        const PciFunction& function = system.pci_functions[f];
        if (!function.well_formed) continue;
        for (const PciBar& bar : function.bars) bars.push_back({f, bar.index, bar.size, 0, std::max(bar.size, kBarSlotMin)});
    }
    // Largest first keeps every slot aligned with no gap between them; ties in document order
    // (function, then BAR), spelled out rather than left to std::stable_sort, whose temporary
    // buffer libstdc++ 12 implements with an API clang 19 warns about (the MC/DC build).
    std::sort(bars.begin(), bars.end(), [](const PlacedBar& a, const PlacedBar& b) {
        if (a.slot != b.slot) return a.slot > b.slot;
        return a.function != b.function ? a.function < b.function : a.index < b.index;
    });
    u64 cursor = bh::platform::kPcieMmio32Base;
    const u64 end = bh::platform::kPcieMmio32Base + bh::platform::kPcieMmio32Size;
    for (PlacedBar& bar : bars) {
        if (bar.slot == 0 || (bar.slot & (bar.slot - 1)) != 0) return std::nullopt;  // not a power of two
        cursor = bh::align_up(cursor, bar.slot);
        if (cursor > end || end - cursor < bar.slot) return std::nullopt;
        bar.address = cursor;
        cursor += bar.slot;
    }
    return bars;
}

u64 pci_bar_pages(const SystemDescription& system, const std::string& partition) {
    if (!place_bars(system)) return 0;  // reported on /pci; no page count is right then
    u64 pages = 0;
    for (const PciFunction& function : system.pci_functions) {
        if (!function.well_formed || function.partition != partition) continue;
        for (const PciBar& bar : function.bars) pages += std::max(bar.size, kBarSlotMin) / kBarSlotMin;
    }
    return pages;
}

u64 pci_capabilities(const SystemDescription& system, const std::string& partition) {
    u64 functions = 0;
    for (const PciFunction& function : system.pci_functions)
        if (function.well_formed && function.partition == partition) ++functions;
    return functions + pci_bar_pages(system, partition);
}

u64 intx_intid(const PciFunction& function) { return bh::platform::pci_intx_intid(function.device, function.pin); }

std::string function_name(const PciFunction& function) {
    char text[16];
    std::snprintf(text, sizeof text, "00:%02x.%u", function.device, function.function);
    return text;
}

std::vector<std::string> qemu_arguments(const SystemDescription& system) {
    std::vector<std::string> args;
    unsigned disks = 0;
    for (const PciFunction& function : system.pci_functions) {
        if (!function.well_formed || function.qemu_device.empty()) continue;
        char address[24];
        std::snprintf(address, sizeof address, ",bus=pcie.0,addr=0x%x.%u", function.device, function.function);
        std::string device = function.qemu_device + address;
        // Function 0 of a device with more functions must say so, or QEMU refuses the others.
        if (function.function == 0) {
            for (const PciFunction& other : system.pci_functions)
                if (&other != &function && other.device == function.device && !other.qemu_device.empty()) {
                    device += ",multifunction=on";
                    break;
                }
        }
        if (!function.qemu_disk.empty()) {
            const std::string id = "disk" + std::to_string(disks++);
            args.push_back("-drive");
            args.push_back("if=none,format=raw,id=" + id + ",file=" + function.qemu_disk);
            device += ",drive=" + id;
        }
        args.push_back("-device");
        args.push_back(device);
    }
    return args;
}

}  // namespace bhcc

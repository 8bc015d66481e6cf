// Where bhcc puts the BARs of the description's PCIe functions, what each function gives its
// partition, and what tools/qemu-run plugs into the machine for them. Shared by the validator,
// the manifest builder and the command line, so the rule and the program can never disagree.
// docs/system-description.md, "PCIe functions", describes the result.
#pragma once

#include <bhcc/system_description.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bhcc {

// Each BAR gets a slot of its own, naturally aligned, of at least 2 MiB: the partition maps the
// whole slot (2 MiB DeviceMmio pages, one mapping each), and no two BARs ever share a page.
inline constexpr u64 kBarSlotMin = 2ull << 20;

struct PlacedBar {
    std::size_t function;  // index into system.pci_functions
    unsigned index;        // BAR register
    u64 size;              // the BAR's own size
    u64 address;           // bus address == physical address == the owner's IPA
    u64 slot;              // what the owner maps from `address`: max(size, kBarSlotMin)
};

// Every BAR of every well-formed function, largest slots first from the bottom of the 32-bit
// window (ties in document order), each aligned to its slot; nullopt when they do not all fit.
[[nodiscard]] std::optional<std::vector<PlacedBar>> place_bars(const SystemDescription& system);

// DeviceMmio pages (2 MiB each) the BARs of `partition`'s functions take (0 when the BARs do not
// fit the window: that is reported once, on /pci, and no count would be right).
[[nodiscard]] u64 pci_bar_pages(const SystemDescription& system, const std::string& partition);
// Capabilities those functions add to its CSpace: one DmaStream cap each, plus the BAR pages.
[[nodiscard]] u64 pci_capabilities(const SystemDescription& system, const std::string& partition);

// The INTID the function's interrupt pin reaches (virt's swizzle, platform::pci_intx_intid).
[[nodiscard]] u64 intx_intid(const PciFunction& function);
// "00:03.0"
[[nodiscard]] std::string function_name(const PciFunction& function);

// QEMU arguments, one per element, that plug in the description's devices: per function with a
// `qemu-device`, its -device (on the root bus at its address) and, with a `qemu-disk`, the -drive
// of that raw image (a file name, resolved by tools/qemu-run next to the boot image).
[[nodiscard]] std::vector<std::string> qemu_arguments(const SystemDescription& system);

}  // namespace bhcc

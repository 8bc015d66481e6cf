#include <bhcc/linux_partition_check.hpp>

#include <bhcc/guest_device_tree.hpp>
#include <bhcc/hex.hpp>

namespace bhcc {
namespace {

namespace attr = bh::manifest::attr;
namespace gp = guest_platform;

struct EmulatedWindow {
    const char* name;
    bh::u64 base;
    bh::u64 size;
};

}  // namespace

void check_linux_partition(const Partition& partition, Diagnostics& diagnostics) {
    // x0 is the device tree's IPA (booting.rst); a second source of x0 would be ignored silently.
    if (partition.boot_arg_present) {
        diagnostics.error(partition.node, "boot-arg is not allowed for a Linux partition: x0 is its device tree's IPA");
    }
    if (partition.bootargs.size() >= kLinuxCommandLineSize) {
        diagnostics.error(partition.node, "bootargs is " + std::to_string(partition.bootargs.size()) +
                                              " characters, at most " + std::to_string(kLinuxCommandLineSize - 1) +
                                              " (Linux's COMMAND_LINE_SIZE)");
    }
    // The windows the device tree describes and the kernel traps; RAM there would hide them.
    const EmulatedWindow windows[] = {
        {"GIC distributor", gp::kGicdIpa, gp::kGicdSize},
        {"GIC redistributors", gp::kGicrIpa, partition.cpus.size() * gp::kGicrStride},
        {"PL011 UART", gp::kUartIpa, gp::kUartSize},
    };
    for (const MemoryRegion& region : partition.regions) {
        if (!region.well_formed) continue;
        // Linux executes from any page of its RAM (modules, BPF, trampolines) and writes to all of
        // it; and it makes no hypercalls, so frames it would have to map itself are of no use.
        if (!region.mapped) {
            diagnostics.error(region.node, "a Linux partition cannot use an unmapped region (Linux makes no hypercalls)");
        } else if (region.attrs != (attr::kRead | attr::kWrite | attr::kExecute)) {
            diagnostics.error(region.node, "a Linux partition's memory must have access \"rwx\" (Linux executes from any page of its RAM)");
        }
        if (!region.mapped || !bh::range_valid(region.ipa, region.size)) continue;  // M7/M8 report those
        for (const EmulatedWindow& window : windows) {
            if (window.size != 0 && bh::ranges_overlap(region.ipa, region.size, window.base, window.size)) {
                diagnostics.error(region.node, "IPA range " + hex_range(region.ipa, region.size) + " overlaps the emulated " +
                                                   window.name + " " + hex_range(window.base, window.size));
            }
        }
    }
}

}  // namespace bhcc

#include <bhcc/system_validator.hpp>

#include <bhcc/cap_layout.hpp>
#include <bhcc/forward_rules.hpp>
#include <bhcc/hex.hpp>
#include <bhcc/kernel_limits.hpp>
#include <bhcc/pci_layout.hpp>
#include <bhcc/linux_partition_check.hpp>
#include <bhcc/platform_devices.hpp>

#include <bulkhead/objects.hpp>

#include <bit>
#include <map>
#include <set>

namespace bhcc {
namespace {

namespace platform = bh::platform;
using bh::kPageSize;

constexpr u64 kIpaLimit = 1ull << platform::kIpaBits;
// The kernel's emulated GIC frames (kernel/vgic/vgic.hpp): the distributor's 64 KiB, and one
// RD_base + SGI_base pair of 64 KiB frames per vCPU from the redistributor base.
constexpr u64 kGicDistributorSize = 0x1'0000;
constexpr u64 kGicRedistributorStride = 0x2'0000;

// Who already holds a core, a device or a piece of physical memory, in document order: the
// later claimant is the one reported, naming the earlier one.
struct Claims {
    std::map<unsigned, std::string> cores;
    std::map<std::string, std::string> devices;
    std::map<u64, std::string> interrupts;  // INTID -> the partition node it is given to
    std::string console_input;              // the partition node that has console-input
    std::vector<const MemoryRegion*> memory;
};

void check_ram(const SystemDescription& system, Diagnostics& diagnostics) {
    if (!bh::range_valid(system.ram_base, system.ram_size) || !bh::is_aligned(system.ram_base, kPageSize) ||
        !bh::is_aligned(system.ram_size, kPageSize)) {
        diagnostics.error(system.ram_node, "RAM must be a non-empty, 4 KiB aligned range");
        return;
    }
    // The kernel runs on the machine's RAM and refuses at boot a manifest compiled for other RAM
    // (platform::manifest_ram_supported): a description may name the machine's RAM or less.
    if (!platform::manifest_ram_supported(system.ram_base, system.ram_size)) {
        diagnostics.error(system.ram_node, "RAM must start at " + hex(platform::kRamBase) + " and end by " +
                                               hex(platform::kRamBase + platform::kDefaultRamSize) +
                                               " (the machine's RAM)");
        return;
    }
    if (!bh::range_inside(platform::kKernelRegionBase, platform::kKernelRegionSize, system.ram_base,
                          system.ram_size)) {
        diagnostics.error(system.ram_node, "RAM must contain the kernel region " +
                                               hex_range(platform::kKernelRegionBase, platform::kKernelRegionSize));
    }
}

void check_cores(const Partition& partition, Claims& claims, Diagnostics& diagnostics) {
    if (!partition.cpus_present) return;  // reported by the parser
    if (partition.cpus.empty()) {
        diagnostics.error(partition.node, "cpus is empty");
        return;
    }
    if (partition.cpus.size() > bh::manifest::kMaxVcpusPerPartition) {
        diagnostics.error(partition.node, "cpus lists " + std::to_string(partition.cpus.size()) +
                                              " cores, at most " +
                                              std::to_string(bh::manifest::kMaxVcpusPerPartition));
        return;
    }
    std::set<unsigned> seen;
    for (unsigned core : partition.cpus) {
        if (core >= platform::kMaxCores) {
            diagnostics.error(partition.node, "core " + std::to_string(core) + " is out of range (0.." +
                                                  std::to_string(platform::kMaxCores - 1) + ")");
        } else if (!seen.insert(core).second) {
            diagnostics.error(partition.node, "core " + std::to_string(core) + " is listed twice");
        } else if (auto [held, fresh] = claims.cores.emplace(core, partition.node); !fresh) {
            diagnostics.error(partition.node,
                              "core " + std::to_string(core) + " is already assigned to " + held->second);
        }
    }
}

// The region's own numbers; false when broken enough that comparing it with others is noise.
[[nodiscard]] bool check_region_shape(const MemoryRegion& region, Diagnostics& diagnostics) {
    bool fine = true;
    for (auto [what, value] : {std::pair{"ipa", region.ipa}, {"phys", region.phys}, {"size", region.size}}) {
        if (!bh::is_aligned(value, kPageSize)) {
            diagnostics.error(region.node, std::string(what) + " " + hex(value) + " is not 4 KiB aligned");
            fine = false;
        }
    }
    if (region.size == 0) {
        diagnostics.error(region.node, "size is zero");
        return false;
    }
    if (!bh::range_valid(region.ipa, region.size) || !bh::range_valid(region.phys, region.size)) {
        diagnostics.error(region.node, "range wraps around the 64-bit address space");
        return false;
    }
    return fine;
}

void check_region_placement(const SystemDescription& system, const MemoryRegion& region,
                            Diagnostics& diagnostics) {
    if (region.mapped && region.ipa + region.size > kIpaLimit) {
        diagnostics.error(region.node, "IPA range " + hex_range(region.ipa, region.size) + " exceeds the " +
                                           std::to_string(platform::kIpaBits) + "-bit IPA space");
    }
    if (!bh::range_inside(region.phys, region.size, system.ram_base, system.ram_size)) {
        diagnostics.error(region.node, "physical range " + hex_range(region.phys, region.size) +
                                           " is outside RAM " + hex_range(system.ram_base, system.ram_size));
    } else if (bh::ranges_overlap(region.phys, region.size, platform::kKernelRegionBase,
                                  platform::kKernelRegionSize)) {
        diagnostics.error(region.node, "physical range " + hex_range(region.phys, region.size) +
                                           " overlaps the kernel region " +
                                           hex_range(platform::kKernelRegionBase, platform::kKernelRegionSize));
    }
}

void check_memory(const SystemDescription& system, const Partition& partition, Claims& claims,
                  Diagnostics& diagnostics) {
    if (partition.regions.empty()) {
        diagnostics.error(partition.node, "partition has no memory region");
        return;
    }
    std::vector<const MemoryRegion*> own;
    for (const MemoryRegion& region : partition.regions) {
        if (!region.well_formed || !check_region_shape(region, diagnostics)) continue;
        check_region_placement(system, region, diagnostics);
        // Exclusivity (invariant 1) holds across all partitions and within one: two regions of
        // the same partition on the same frames would alias with possibly different rights.
        for (const MemoryRegion* other : claims.memory) {
            if (bh::ranges_overlap(region.phys, region.size, other->phys, other->size)) {
                diagnostics.error(region.node, "physical memory overlaps " + other->node);
            }
        }
        for (const MemoryRegion* other : own) {
            // An unmapped region has no IPA range: it overlaps no other region's.
            if (region.mapped && other->mapped && bh::ranges_overlap(region.ipa, region.size, other->ipa, other->size)) {
                diagnostics.error(region.node, "IPA range overlaps " + other->node);
            }
        }
        claims.memory.push_back(&region);
        own.push_back(&region);
    }
}

// Every mapped frame and device page is one MapFrame at boot, and one of the kernel's mapping
// records (Partition::kMaxRegions) for as long as it stays mapped. Counted only when the
// partition's regions and devices are otherwise right (a broken one would be counted wrong).
void check_mapping_count(const SystemDescription& system, const Partition& partition, Diagnostics& diagnostics) {
    const u64 mappings =
        boot_mappings(partition) + pci_bar_pages(system, partition.name) + forward_mappings(system, partition.name);
    if (mappings > kMaxMappingsPerPartition) {
        diagnostics.error(partition.node, "partition maps " + std::to_string(mappings) +
                                              " frames and device pages at boot, at most " +
                                              std::to_string(kMaxMappingsPerPartition));
        return;
    }
    // The tables of those mappings come from the partition object, which holds a fixed number
    // (bulkhead/objects.hpp); the kernel refuses the MapFrame that needs one more.
    const u64 tables = boot_stage2_table_pages(partition);
    const u64 room = bh::caps::partition_table_pages(kPartitionObjectBits);
    if (tables > room) {
        diagnostics.error(partition.node, "the boot mappings need " + std::to_string(tables) +
                                              " stage-2 table pages, the partition object holds " + std::to_string(room));
    }
}

void check_devices(const SystemDescription& system, const Partition& partition, Claims& claims, Diagnostics& diagnostics) {
    std::set<std::string> seen;
    for (const std::string& name : partition.devices) {
        const PlatformDevice* device = find_platform_device(name);
        if (!seen.insert(name).second) {
            diagnostics.error(partition.node, "device \"" + name + "\" is listed twice");
        } else if (name == "pcie-mmio" && !system.pci_functions.empty()) {
            diagnostics.error(partition.node, "device \"pcie-mmio\" cannot be given: /pci places BARs in it");
        } else if (device == nullptr) {
            diagnostics.error(partition.node, "unknown device \"" + name + "\"");
        } else if (!device->assignable) {
            diagnostics.error(partition.node, "device \"" + name + "\" is reserved for the kernel");
        } else if (auto [held, fresh] = claims.devices.emplace(name, partition.node); !fresh) {
            diagnostics.error(partition.node, "device \"" + name + "\" is already assigned to " + held->second);
        } else {
            // Devices are mapped at IPA == PA, so they must not land inside the guest's RAM.
            for (const MemoryRegion& region : partition.regions) {
                if (region.well_formed && region.mapped && bh::ranges_overlap(device->base, device->size, region.ipa, region.size)) {
                    diagnostics.error(partition.node, "device \"" + name + "\" at " +
                                                          hex_range(device->base, device->size) +
                                                          " overlaps the IPA range of " + region.node);
                }
            }
        }
    }
}

// Interrupt ownership (invariant 5): each SPI is one of the platform's assignable ones and is
// given to one partition, once.
void check_interrupts(const Partition& partition, Claims& claims, Diagnostics& diagnostics) {
    std::set<u64> seen;
    for (const u64 intid : partition.interrupts) {
        const std::string what = "interrupt " + std::to_string(intid);
        if (!seen.insert(intid).second) {
            diagnostics.error(partition.node, what + " is listed twice");
        } else if (bh::platform::assignable_spi(intid) == nullptr) {
            std::string assignable;
            for (const bh::platform::SpiRange& r : bh::platform::kAssignableSpis) {
                assignable += (assignable.empty() ? "" : ", ") + std::to_string(r.first) +
                              (r.count > 1 ? "-" + std::to_string(r.first + r.count - 1) : "") + " " + r.name;
            }
            diagnostics.error(partition.node, what + " is not assignable to partitions (assignable: " + assignable + ")");
        } else if (auto [held, fresh] = claims.interrupts.emplace(intid, partition.node); !fresh) {
            diagnostics.error(partition.node, what + " is already given to " + held->second);
        }
    }
}

// Every frame and device page is granted into the partition's CSpace root (radix 8): index 0
// stays empty and index 1 is the CNode itself, so 254 frames and pages at most. Checked only
// for a partition without other findings: its regions and devices must be right to count.
void check_capacity(const SystemDescription& system, const Partition& partition, Diagnostics& diagnostics) {
    if (capabilities_needed(system, partition) > kCSpaceLastIndex) {
        diagnostics.error(partition.node,
                          "partition needs more than " + std::to_string(kCSpaceLastIndex) + " capabilities");
    }
}

// `controls` names partitions of this description (later ones and itself included), each once.
void check_controls(const SystemDescription& system, const Partition& partition, Diagnostics& diagnostics) {
    std::set<std::string> seen;
    for (const std::string& name : partition.controls) {
        bool known = false;
        for (const Partition& other : system.partitions) known |= other.name == name;
        if (!seen.insert(name).second) {
            diagnostics.error(partition.node, "partition \"" + name + "\" is listed twice in controls");
        } else if (!known) {
            diagnostics.error(partition.node, "unknown partition \"" + name + "\" in controls");
        }
    }
}

// Stopping a partition waits for its vCPUs; partitions that control each other in a cycle could
// wait for each other for ever, so the kernel refuses such a system at Seal. bhcc refuses it
// first: one message per strongly connected group of partitions, at its first partition in
// document order, naming one shortest cycle through it. A partition controlling itself is no
// cycle (it takes down only itself).
void check_control_cycles(const SystemDescription& system, Diagnostics& diagnostics) {
    const std::size_t n = system.partitions.size();
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) index.emplace(system.partitions[i].name, i);
    // Edges in `controls` order, without self edges, unknown names or repeats.
    std::vector<std::vector<std::size_t>> edges(n);
    std::vector<std::vector<bool>> reach(n, std::vector<bool>(n, false));
    for (std::size_t i = 0; i < n; ++i) {
        for (const std::string& name : system.partitions[i].controls) {
            auto found = index.find(name);
            if (found == index.end() || found->second == i || reach[i][found->second]) continue;
            reach[i][found->second] = true;
            edges[i].push_back(found->second);
        }
    }
    for (std::size_t k = 0; k < n; ++k)
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j)
                if (reach[i][k] && reach[k][j]) reach[i][j] = true;

    std::vector<bool> reported(n, false);
    for (std::size_t start = 0; start < n; ++start) {
        if (!reach[start][start] || reported[start]) continue;
        // Its group: the partitions it reaches and that reach it.
        for (std::size_t j = 0; j < n; ++j) reported[j] = reported[j] || (reach[start][j] && reach[j][start]);
        // Breadth first from `start` inside the group, until an edge leads back to it.
        std::vector<std::size_t> parent(n, n);
        std::vector<std::size_t> queue{start};
        std::size_t last = n;
        for (std::size_t head = 0; head < queue.size() && last == n; ++head) {
            const std::size_t at = queue[head];
            for (std::size_t next : edges[at]) {
                if (next == start) {
                    last = at;
                    break;
                }
                if (parent[next] != n || !reach[next][start]) continue;
                parent[next] = at;
                queue.push_back(next);
            }
        }
        std::vector<std::size_t> path;
        for (std::size_t at = last; at != start; at = parent[at]) path.push_back(at);
        std::string cycle = system.partitions[start].name;
        for (auto it = path.rbegin(); it != path.rend(); ++it) cycle += " -> " + system.partitions[*it].name;
        cycle += " -> " + system.partitions[start].name;
        diagnostics.error(system.partitions[start].node, "partitions control each other in a cycle: " + cycle);
    }
}

// A list of partition names in a channel or notification (`property` names it in messages):
// each name a partition of this description, each once. False when a name was reported.
bool check_members(const SystemDescription& system, const std::string& node, const char* property,
                   const std::vector<std::string>& names, Diagnostics& diagnostics) {
    bool fine = true;
    std::set<std::string> seen;
    for (const std::string& name : names) {
        bool known = false;
        for (const Partition& partition : system.partitions) known |= partition.name == name;
        if (!seen.insert(name).second) {
            diagnostics.error(node, "partition \"" + name + "\" is listed twice in " + property);
            fine = false;
        } else if (!known) {
            diagnostics.error(node, "unknown partition \"" + name + "\" in " + property);
            fine = false;
        }
    }
    return fine;
}

// A channel's shared region is one Channel object: a naturally aligned power of two of 4 KiB
// to 2 MiB (what retype and a stage-2 leaf allow), in RAM, outside the kernel region, and apart
// from every partition region and every other channel (invariant 1: its frames belong to the
// channel object alone, reached only through channel caps).
void check_channel_region(const SystemDescription& system, const Channel& channel, Claims& claims,
                          std::vector<const Channel*>& placed, Diagnostics& diagnostics) {
    const u64 min_size = 1ull << bh::caps::kMinChannelBits;
    const u64 max_size = 1ull << bh::caps::kMaxChannelBits;
    if (!std::has_single_bit(channel.size) || channel.size < min_size || channel.size > max_size) {
        diagnostics.error(channel.node, "size " + hex(channel.size) + " must be a power of two from 4 KiB to 2 MiB");
        return;
    }
    if (!bh::is_aligned(channel.phys, channel.size)) {
        diagnostics.error(channel.node,
                          "phys " + hex(channel.phys) + " is not aligned to the channel size " + hex(channel.size));
        return;
    }
    if (!bh::range_inside(channel.phys, channel.size, system.ram_base, system.ram_size)) {
        diagnostics.error(channel.node, "physical range " + hex_range(channel.phys, channel.size) +
                                            " is outside RAM " + hex_range(system.ram_base, system.ram_size));
        return;
    }
    if (bh::ranges_overlap(channel.phys, channel.size, platform::kKernelRegionBase, platform::kKernelRegionSize)) {
        diagnostics.error(channel.node, "physical range " + hex_range(channel.phys, channel.size) +
                                            " overlaps the kernel region " +
                                            hex_range(platform::kKernelRegionBase, platform::kKernelRegionSize));
        return;
    }
    for (const MemoryRegion* region : claims.memory) {
        if (bh::ranges_overlap(channel.phys, channel.size, region->phys, region->size)) {
            diagnostics.error(channel.node, "physical memory overlaps " + region->node);
        }
    }
    for (const Channel* other : placed) {
        if (bh::ranges_overlap(channel.phys, channel.size, other->phys, other->size)) {
            diagnostics.error(channel.node, "physical memory overlaps " + other->node);
        }
    }
    placed.push_back(&channel);
}

void check_channels(const SystemDescription& system, Claims& claims, Diagnostics& diagnostics) {
    std::vector<const Channel*> placed;
    for (const Channel& channel : system.channels) {
        if (channel.well_formed) check_channel_region(system, channel, claims, placed, diagnostics);
        if (!channel.members_well_formed) continue;
        const bool writers_fine = check_members(system, channel.node, "writers", channel.writers, diagnostics);
        const bool readers_fine = check_members(system, channel.node, "readers", channel.readers, diagnostics);
        if (channel.writers.empty()) {
            diagnostics.error(channel.node, "channel has no writers");
        } else if (writers_fine && readers_fine) {
            std::set<std::string> members(channel.writers.begin(), channel.writers.end());
            members.insert(channel.readers.begin(), channel.readers.end());
            if (members.size() < 2) diagnostics.error(channel.node, "channel must connect at least two partitions");
        }
    }
}

void check_notifications(const SystemDescription& system, Diagnostics& diagnostics) {
    for (const Notification& notification : system.notifications) {
        if (!notification.members_well_formed) continue;
        const bool signallers_fine =
            check_members(system, notification.node, "signallers", notification.signallers, diagnostics);
        const bool waiters_fine = check_members(system, notification.node, "waiters", notification.waiters, diagnostics);
        // Without signallers it is useful only to a waiter that binds its own interrupts to it.
        bool waiter_has_interrupts = false;
        for (const Partition& p : system.partitions)
            for (const std::string& waiter : notification.waiters)
                waiter_has_interrupts |= p.name == waiter && !p.interrupts.empty();
        // A forward's doorbell is signalled by the kernel, for the forward's client.
        if (notification.signallers.empty() && !waiter_has_interrupts && !is_forward_doorbell(system, notification.node))
            diagnostics.error(notification.node, "notification has no signallers (and its waiter has no interrupts)");
        // One waiter: the kernel lets one vCPU wait at a time, and two Read holders observe each
        // other (one takes the word the other would have seen), a flow no DeclareFlow can express.
        if (notification.waiters.size() != 1) {
            diagnostics.error(notification.node, "waiters must name exactly one partition (" +
                                                     std::to_string(notification.waiters.size()) + " named)");
        } else if (signallers_fine && waiters_fine) {
            const std::string& waiter = notification.waiters.front();
            for (const std::string& signaller : notification.signallers) {
                if (signaller == waiter) {
                    diagnostics.error(notification.node,
                                      "partition \"" + waiter + "\" is both a signaller and the waiter");
                }
            }
        }
    }
}

const Partition* find_partition(const SystemDescription& system, const std::string& name) {
    for (const Partition& p : system.partitions)
        if (p.name == name) return &p;
    return nullptr;
}

// One function: its owner exists, it is not the host bridge, its BARs are memory BARs 0..5 given
// once each with a power-of-two size, its QEMU disk has a device to belong to.
void check_pci_function(const SystemDescription& system, const PciFunction& f, Diagnostics& diagnostics) {
    if (find_partition(system, f.partition) == nullptr)
        diagnostics.error(f.node, "unknown partition \"" + f.partition + "\" in partition");
    if (f.device == 0) diagnostics.error(f.node, "device 0 is the PCIe host bridge");
    std::set<unsigned> seen;
    for (const PciBar& bar : f.bars) {
        const std::string what = "bar " + std::to_string(bar.index);
        if (bar.index > 5) {
            diagnostics.error(f.node, what + ": a function has BARs 0 to 5");
        } else if (!seen.insert(bar.index).second) {
            diagnostics.error(f.node, what + " is listed twice");
        } else if (!std::has_single_bit(bar.size) || bar.size < 16 || bar.size > (1ull << 30)) {
            diagnostics.error(f.node, what + ": size " + hex(bar.size) + " must be a power of two from 16 bytes to 1 GiB");
        }
    }
    if (!f.qemu_disk.empty() && f.qemu_device.empty())
        diagnostics.error(f.node, "qemu-disk needs a qemu-device to attach it to");
    if (f.qemu_disk.find('/') != std::string::npos)
        diagnostics.error(f.node, "qemu-disk must be a file name, without a directory");
    // QEMU gives a virtio device the SMMU's address space only with iommu_platform=on; without
    // it the device's DMA uses physical addresses and reaches all memory (docs/isolation.md).
    if (f.qemu_device.starts_with("virtio-") && f.qemu_device.find(",iommu_platform=on") == std::string::npos)
        diagnostics.error(f.node, "a virtio qemu-device needs iommu_platform=on: without it its DMA bypasses the SMMU");
}

// Where the owner reaches its functions: the configuration window and its BARs (IPA == PA) must
// not land in its RAM; its INTx line must not be another partition's interrupt.
void check_pci_owner(const SystemDescription& system, const PciFunction& f, const std::vector<PlacedBar>& placed,
                     std::size_t index, Diagnostics& diagnostics) {
    const Partition* owner = find_partition(system, f.partition);
    if (owner == nullptr) return;
    for (const MemoryRegion& region : owner->regions) {
        if (!region.well_formed || !region.mapped) continue;
        if (bh::ranges_overlap(region.ipa, region.size, platform::kPciConfigWindowIpa, platform::kPcieBusConfigSize))
            diagnostics.error(f.node, "the PCIe configuration window " +
                                          hex_range(platform::kPciConfigWindowIpa, platform::kPcieBusConfigSize) +
                                          " overlaps the IPA range of " + region.node);
        for (const PlacedBar& bar : placed)
            if (bar.function == index && bh::ranges_overlap(region.ipa, region.size, bar.address, bar.slot))
                diagnostics.error(f.node, "bar " + std::to_string(bar.index) + " at " + hex_range(bar.address, bar.slot) +
                                              " overlaps the IPA range of " + region.node);
    }
    for (const Partition& other : system.partitions) {
        if (other.name == f.partition) continue;
        for (const u64 intid : other.interrupts)
            if (intid == intx_intid(f))
                diagnostics.error(other.node, "interrupt " + std::to_string(intid) + " is the INTx line of " +
                                                  function_name(f) + " (" + f.node + "), which belongs to \"" +
                                                  f.partition + "\"");
    }
}

// PCIe functions (`/pci`): each once, each well formed, the BARs placed inside the 32-bit window
// (which then belongs to them: check_devices refuses `pcie-mmio` besides).
void check_pci(const SystemDescription& system, Diagnostics& diagnostics) {
    if (system.pci_functions.empty()) return;
    if (system.pci_functions.size() > bh::manifest::kMaxPciFunctions)
        diagnostics.error("/pci", "too many PCIe functions (" + std::to_string(system.pci_functions.size()) + ", at most " +
                                      std::to_string(bh::manifest::kMaxPciFunctions) + ")");
    std::map<u32, std::string> taken;
    for (const PciFunction& f : system.pci_functions) {
        if (!f.well_formed) continue;
        check_pci_function(system, f, diagnostics);
        if (auto [held, fresh] = taken.emplace(f.bdf(), f.node); !fresh)
            diagnostics.error(f.node, "function " + function_name(f) + " is already given by " + held->second);
    }
    const auto placed = place_bars(system);
    if (!placed) {
        diagnostics.error("/pci", "the BARs do not fit the 32-bit PCIe MMIO window " +
                                      hex_range(platform::kPcieMmio32Base, platform::kPcieMmio32Size) +
                                      " (each takes a naturally aligned slot of at least 2 MiB)");
        return;
    }
    for (std::size_t i = 0; i < system.pci_functions.size(); ++i)
        if (system.pci_functions[i].well_formed) check_pci_owner(system, system.pci_functions[i], *placed, i, diagnostics);
}

}  // namespace

// The emulated devices a partition asks for (`virtual-gic`, `virtual-uart`, `console-input`):
// console input needs the UART it arrives at and goes to one partition; no memory region may lie
// where the guest reaches an emulated device, or it would reach memory instead.
void check_emulated_devices(const Partition& partition, Claims& claims, Diagnostics& diagnostics) {
    namespace flag = bh::manifest::partition_flag;
    if ((partition.flags & flag::kConsoleInput) != 0) {
        if ((partition.flags & flag::kVirtualUart) == 0) {
            diagnostics.error(partition.node, "console-input needs virtual-uart (the input arrives at its UART)");
        } else if (!claims.console_input.empty()) {
            diagnostics.error(partition.node, "console-input is already given to " + claims.console_input);
        } else {
            claims.console_input = partition.node;
        }
    }
    struct Window {
        u64 flag;
        u64 base;
        u64 size;
        const char* name;
    };
    const Window windows[] = {
        {flag::kVirtualGic, platform::kGicdBase, kGicDistributorSize, "the emulated GIC distributor"},
        {flag::kVirtualGic, platform::kGicrBase, partition.cpus.size() * kGicRedistributorStride,
         "the emulated GIC redistributors"},
        {flag::kVirtualUart, platform::kUartBase, kPageSize, "the emulated UART"},
    };
    for (const Window& w : windows) {
        if ((partition.flags & w.flag) == 0 || w.size == 0) continue;
        for (const MemoryRegion& region : partition.regions) {
            if (region.well_formed && region.mapped && bh::ranges_overlap(region.ipa, region.size, w.base, w.size))
                diagnostics.error(region.node, "IPA range " + hex_range(region.ipa, region.size) + " overlaps " + w.name +
                                                   " " + hex_range(w.base, w.size));
        }
    }
}

void validate_system(const SystemDescription& system, Diagnostics& diagnostics) {
    check_ram(system, diagnostics);
    Claims claims;
    for (const Partition& partition : system.partitions) {
        const std::size_t before = diagnostics.count();
        check_cores(partition, claims, diagnostics);
        check_memory(system, partition, claims, diagnostics);
        check_devices(system, partition, claims, diagnostics);
        check_controls(system, partition, diagnostics);
        check_interrupts(partition, claims, diagnostics);
        if (partition.is_linux()) check_linux_partition(partition, diagnostics);
        check_emulated_devices(partition, claims, diagnostics);
        if (diagnostics.count() == before) check_mapping_count(system, partition, diagnostics);
        if (diagnostics.count() == before) check_capacity(system, partition, diagnostics);
    }
    check_control_cycles(system, diagnostics);
    check_channels(system, claims, diagnostics);
    check_notifications(system, diagnostics);
    check_pci(system, diagnostics);
    check_forwards(system, diagnostics);
}

}  // namespace bhcc

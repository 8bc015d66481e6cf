#include <bhcc/cap_layout.hpp>
#include <bhcc/forward_rules.hpp>

#include <bhcc/pci_layout.hpp>
#include <bhcc/platform_devices.hpp>

#include <bulkhead/objects.hpp>

#include <algorithm>
#include <bit>
#include <set>
#include <tuple>

namespace bhcc {

std::vector<UntypedBlock> split_into_blocks(u64 phys, u64 size, u64 ipa, bool mapped) {
    std::vector<UntypedBlock> blocks;
    const u64 end = phys + size;
    for (u64 pa = phys; pa < end;) {
        unsigned bits = pa == 0 ? bh::caps::kMaxUntypedBits : static_cast<unsigned>(std::countr_zero(pa));
        if (bits > bh::caps::kMaxUntypedBits) bits = bh::caps::kMaxUntypedBits;
        while ((1ull << bits) > end - pa) --bits;
        UntypedBlock block;
        block.pa = pa;
        block.bits = bits;
        block.ipa = ipa + (pa - phys);
        const bool large = bits >= kLargeFrameBits && (!mapped || bh::is_aligned(block.ipa, 1ull << kLargeFrameBits));
        block.frame_bits = large ? kLargeFrameBits : kSmallFrameBits;
        blocks.push_back(block);
        pa += 1ull << bits;
    }
    return blocks;
}

std::vector<UntypedBlock> region_blocks(const MemoryRegion& region) {
    return split_into_blocks(region.phys, region.size, region.ipa, region.mapped);
}

std::vector<UntypedBlock> device_blocks(u64 base, u64 size) { return split_into_blocks(base, size, base, true); }

namespace {

[[nodiscard]] bool countable(const MemoryRegion& region) {
    return region.well_formed && region.size != 0 && bh::is_aligned(region.phys | region.size, bh::kPageSize) &&
           bh::range_valid(region.phys, region.size) && (!region.mapped || bh::is_aligned(region.ipa, bh::kPageSize));
}

[[nodiscard]] u64 frames(const std::vector<UntypedBlock>& blocks) {
    u64 count = 0;
    for (const UntypedBlock& block : blocks) count += block.frame_count();
    return count;
}

[[nodiscard]] u64 device_pages(const Partition& partition) {
    u64 count = 0;
    for (const std::string& name : partition.devices) {
        const PlatformDevice* device = find_platform_device(name);
        if (device != nullptr && device->assignable) count += frames(device_blocks(device->base, device->size));
    }
    return count;
}

}  // namespace

namespace {

// Index 1 (its CNode), then frames and device pages.
[[nodiscard]] u64 memory_capabilities(const Partition& partition) {
    u64 count = 1;  // its own CNode
    for (const MemoryRegion& region : partition.regions) {
        if (countable(region)) count += frames(region_blocks(region));
    }
    return count + device_pages(partition);
}

}  // namespace

namespace {

[[nodiscard]] bool listed(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

[[nodiscard]] std::size_t position(const std::vector<std::string>& names, const std::string& name) {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

}  // namespace

std::vector<IpcGrant> ipc_grants(const SystemDescription& system) {
    std::vector<IpcGrant> grants;
    for (std::size_t c = 0; c < system.channels.size(); ++c) {
        const Channel& channel = system.channels[c];
        for (std::size_t p = 0; p < system.partitions.size(); ++p) {
            const std::string& name = system.partitions[p].name;
            if (listed(channel.writers, name)) {
                grants.push_back({IpcKind::Channel, c, p, bh::rights::kRead | bh::rights::kWrite, 0});
            } else if (listed(channel.readers, name)) {
                grants.push_back({IpcKind::Channel, c, p, bh::rights::kRead, 0});
            }
        }
    }
    for (std::size_t n = 0; n < system.notifications.size(); ++n) {
        const Notification& notification = system.notifications[n];
        for (std::size_t p = 0; p < system.partitions.size(); ++p) {
            const std::string& name = system.partitions[p].name;
            if (listed(notification.signallers, name)) {
                // Its own bit: Signal ORs the badge into the word, so bits tell signallers apart
                // (rule N7 keeps the position below 64).
                const std::size_t bit = position(notification.signallers, name);
                grants.push_back({IpcKind::Notification, n, p, bh::rights::kWrite, bit < 64 ? 1ull << bit : 0});
            } else if (listed(notification.waiters, name)) {
                grants.push_back({IpcKind::Notification, n, p, bh::rights::kRead, 0});
            }
        }
    }
    return grants;
}

std::vector<Flow> flows_of(const std::vector<IpcGrant>& grants) {
    std::set<std::tuple<u64, std::size_t, std::size_t>> edges;  // (kind, source, destination)
    for (const IpcGrant& from : grants) {
        if ((from.rights & bh::rights::kWrite) == 0) continue;
        for (const IpcGrant& to : grants) {
            if (to.kind != from.kind || to.object != from.object || to.partition == from.partition ||
                (to.rights & bh::rights::kRead) == 0)
                continue;
            const auto kind = from.kind == IpcKind::Channel ? bh::manifest::FlowKind::Memory
                                                            : bh::manifest::FlowKind::Signal;
            edges.emplace(static_cast<u64>(kind), from.partition, to.partition);
        }
    }
    std::vector<Flow> flows;
    for (const auto& [kind, source, destination] : edges) {
        flows.push_back({source, destination, static_cast<bh::manifest::FlowKind>(kind)});
    }
    return flows;
}

u64 ipc_capabilities(const SystemDescription& system, const std::string& name) {
    u64 count = 0;
    for (const Channel& channel : system.channels) {
        if (listed(channel.writers, name) || listed(channel.readers, name)) ++count;
    }
    for (const Notification& notification : system.notifications) {
        if (listed(notification.signallers, name) || listed(notification.waiters, name)) ++count;
    }
    return count;
}

u64 forward_capabilities(const SystemDescription& system, const std::string& server) {
    return 2 * forwards_served(system, server).size();
}

u64 capabilities_needed(const SystemDescription& system, const Partition& partition) {
    return memory_capabilities(partition) + ipc_capabilities(system, partition.name) +
           forward_capabilities(system, partition.name) + partition.controls.size() +
           partition.interrupts.size() + pci_capabilities(system, partition.name) + (partition.audit ? 1 : 0);
}

u64 first_ipc_index(const Partition& partition) { return kCSpaceOwnCNodeIndex + memory_capabilities(partition); }

u64 first_control_index(const SystemDescription& system, const Partition& partition) {
    return first_ipc_index(partition) + ipc_capabilities(system, partition.name) +
           forward_capabilities(system, partition.name);
}

u64 boot_stage2_table_pages(const Partition& partition) {
    std::set<u64> level2, level3;  // the 1 GiB and 2 MiB areas that need a table
    auto add = [&](const std::vector<UntypedBlock>& blocks) {
        for (const UntypedBlock& block : blocks) {
            for (u64 i = 0; i < block.frame_count(); ++i) {
                const u64 ipa = block.ipa + (i << block.frame_bits);
                level2.insert(ipa >> bh::caps::kStage2Level2SpanBits);
                if (block.frame_bits < bh::caps::kStage2Level3SpanBits) level3.insert(ipa >> bh::caps::kStage2Level3SpanBits);
            }
        }
    };
    for (const MemoryRegion& region : partition.regions) {
        if (countable(region) && region.mapped) add(region_blocks(region));
    }
    for (const std::string& name : partition.devices) {
        const PlatformDevice* device = find_platform_device(name);
        if (device != nullptr && device->assignable) add(device_blocks(device->base, device->size));
    }
    return level2.size() + level3.size();
}

u64 boot_mappings(const Partition& partition) {
    u64 count = 0;
    for (const MemoryRegion& region : partition.regions) {
        if (countable(region) && region.mapped) count += frames(region_blocks(region));
    }
    return count + device_pages(partition);
}

}  // namespace bhcc

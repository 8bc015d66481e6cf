#include <bhcc/forward_rules.hpp>

#include <bhcc/hex.hpp>

#include <bulkhead/platform.hpp>

#include <bit>

namespace bhcc {
namespace {

namespace platform = bh::platform;
using bh::kPageSize;

constexpr u64 kIpaLimit = 1ull << platform::kIpaBits;
// The kernel's virtual distributor implements INTIDs below 64 (GICD_TYPER.ITLinesNumber = 1).
constexpr u64 kVirtualSpiLimit = 64;
constexpr u64 kFirstSpi = 32;
constexpr u64 kUartSpi = 33;
// Linux on arm64 limits ZONE_DMA to 32 bits (arch/arm64/mm/init.c, zone_dma_bits).
constexpr u64 kLinuxZoneDmaLimit = 1ull << 32;

// The node name of a /notifications or /channels child: the last part of its path.
std::string leaf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

const Partition* partition_named(const SystemDescription& system, const std::string& name) {
    for (const Partition& p : system.partitions)
        if (p.name == name) return &p;
    return nullptr;
}

const Channel* channel_named(const SystemDescription& system, const std::string& name) {
    for (const Channel& c : system.channels)
        if (leaf(c.node) == name) return &c;
    return nullptr;
}

bool is_member(const std::vector<std::string>& names, const std::string& name) {
    for (const std::string& n : names)
        if (n == name) return true;
    return false;
}

// The IPA windows a partition's emulated devices occupy (as the kernel's overlaps_emulated_window).
bool overlaps_emulated(const Partition& p, u64 ipa, u64 size) {
    namespace flag = bh::manifest::partition_flag;
    if ((p.flags & flag::kVirtualGic) != 0 &&
        (bh::ranges_overlap(ipa, size, platform::kGicdBase, 0x1'0000) ||
         bh::ranges_overlap(ipa, size, platform::kGicrBase, p.cpus.size() * platform::kGicrStride)))
        return true;
    return (p.flags & flag::kVirtualUart) != 0 && bh::ranges_overlap(ipa, size, platform::kUartBase, kPageSize);
}

// [ipa, ipa + size) is free in `p`'s IPA space: no mapped region, no emulated device.
void check_ipa_free(const Partition& p, u64 ipa, u64 size, const std::string& node, const char* what,
                    Diagnostics& diagnostics) {
    for (const MemoryRegion& region : p.regions)
        if (region.well_formed && region.mapped && bh::ranges_overlap(ipa, size, region.ipa, region.size))
            diagnostics.error(node, std::string(what) + " " + hex_range(ipa, size) + " overlaps " + region.node);
    if (overlaps_emulated(p, ipa, size))
        diagnostics.error(node, std::string(what) + " " + hex_range(ipa, size) + " overlaps an emulated device of " +
                                    p.node);
}

void check_request_page(const SystemDescription& system, const MmioForward& f, const Partition& server,
                        Diagnostics& diagnostics) {
    if (!bh::is_aligned(f.requests, kPageSize) ||
        !bh::range_inside(f.requests, kPageSize, system.ram_base, system.ram_size) ||
        bh::ranges_overlap(f.requests, kPageSize, platform::kKernelRegionBase, platform::kKernelRegionSize)) {
        diagnostics.error(f.node, "requests " + hex(f.requests) + " must be a 4 KiB aligned page of RAM outside the kernel region");
    }
    for (const Partition& p : system.partitions)
        for (const MemoryRegion& region : p.regions)
            if (region.well_formed && bh::ranges_overlap(f.requests, kPageSize, region.phys, region.size))
                diagnostics.error(f.node, "requests page overlaps " + region.node);
    for (const Channel& c : system.channels)
        if (c.well_formed && bh::ranges_overlap(f.requests, kPageSize, c.phys, c.size))
            diagnostics.error(f.node, "requests page overlaps " + c.node);
    for (const MmioForward& other : system.forwards)
        if (&other != &f && other.well_formed && other.requests == f.requests)
            diagnostics.error(f.node, "requests page is also " + other.node + "'s");
    if (!bh::is_aligned(f.requests_ipa, kPageSize) || f.requests_ipa + kPageSize > kIpaLimit)
        diagnostics.error(f.node, "requests-ipa " + hex(f.requests_ipa) + " must be 4 KiB aligned inside the IPA space");
    check_ipa_free(server, f.requests_ipa, kPageSize, f.node, "requests-ipa", diagnostics);
}

void check_doorbell(const SystemDescription& system, const MmioForward& f, Diagnostics& diagnostics) {
    for (const Notification& n : system.notifications) {
        if (leaf(n.node) != f.doorbell) continue;
        if (n.waiters.size() != 1 || n.waiters.front() != f.server)
            diagnostics.error(f.node, "doorbell " + n.node + " must have the server \"" + f.server + "\" as its waiter");
        return;
    }
    diagnostics.error(f.node, "doorbell \"" + f.doorbell + "\" is not a /notifications node");
}

void check_interrupt(const MmioForward& f, const Partition& client, Diagnostics& diagnostics) {
    if (f.interrupt == 0) return;
    if ((client.flags & bh::manifest::partition_flag::kVirtualGic) == 0) {
        diagnostics.error(f.node, "interrupt needs a client with virtual-gic");
    } else if (f.interrupt < kFirstSpi || f.interrupt >= kVirtualSpiLimit || f.interrupt == kUartSpi ||
               platform::assignable_spi(f.interrupt) != nullptr) {
        diagnostics.error(f.node, "interrupt " + std::to_string(f.interrupt) +
                                      " must be a virtual SPI from 32 to 63 that is neither the UART's (33) nor one the "
                                      "machine assigns to partitions");
    }
}

// The client's DMA window: a channel the client and the server write, mapped into the client
// at its own IPA. For Linux it must also be the only memory below a power-of-two boundary, so that
// ZONE_DMA and the device's dma-ranges are the window and nothing else (docs/blk-protocol.md,
// "Linux as an unmodified client").
void check_dma_window(const SystemDescription& system, const MmioForward& f, const Partition& client,
                      Diagnostics& diagnostics) {
    if (f.dma_window.empty()) return;
    const Channel* c = channel_named(system, f.dma_window);
    if (c == nullptr) {
        diagnostics.error(f.node, "dma-window \"" + f.dma_window + "\" is not a /channels node");
        return;
    }
    if (!is_member(c->writers, f.client) || !is_member(c->writers, f.server))
        diagnostics.error(f.node, "dma-window " + c->node + " must have the client and the server as writers");
    if (!c->well_formed) return;
    if (!bh::is_aligned(f.dma_window_ipa, c->size) || f.dma_window_ipa + c->size > kIpaLimit)
        diagnostics.error(f.node, "dma-window-ipa " + hex(f.dma_window_ipa) + " must be aligned to the channel's size " +
                                      hex(c->size) + " inside the IPA space");
    check_ipa_free(client, f.dma_window_ipa, c->size, f.node, "dma-window", diagnostics);
    if (bh::ranges_overlap(f.dma_window_ipa, c->size, f.ipa, f.size))
        diagnostics.error(f.node, "dma-window overlaps the forwarded window");
    if (!client.is_linux()) return;
    const u64 end = f.dma_window_ipa + c->size;
    if (!std::has_single_bit(end) || end > kLinuxZoneDmaLimit)
        diagnostics.error(f.node, "dma-window must end at a power of two no higher than 4 GiB for a Linux client (its "
                                  "ZONE_DMA ends there)");
    for (const MemoryRegion& region : client.regions)
        if (region.well_formed && region.mapped && region.ipa < end)
            diagnostics.error(f.node, "dma-window must lie below all of a Linux client's memory (" + region.node +
                                          " is below its end): the window is then its only DMA-capable memory");
}

void check_forward(const SystemDescription& system, const MmioForward& f, Diagnostics& diagnostics) {
    const Partition* client = partition_named(system, f.client);
    const Partition* server = partition_named(system, f.server);
    if (client == nullptr) diagnostics.error(f.node, "client \"" + f.client + "\" is not a partition");
    if (server == nullptr) diagnostics.error(f.node, "server \"" + f.server + "\" is not a partition");
    if (client == nullptr || server == nullptr) return;
    if (client == server) {
        diagnostics.error(f.node, "client and server are the same partition");
        return;
    }
    for (const MmioForward& other : system.forwards) {
        if (&other == &f) break;
        if (other.client == f.client) diagnostics.error(f.node, "client \"" + f.client + "\" forwards " + other.node + " already");
    }
    if (f.size == 0 || !bh::is_aligned(f.ipa, kPageSize) || !bh::is_aligned(f.size, kPageSize) ||
        f.size > 0xffff'ffffull || !bh::range_inside(f.ipa, f.size, 0, kIpaLimit)) {
        diagnostics.error(f.node, "window " + hex_range(f.ipa, f.size) +
                                      " must be 4 KiB aligned, non-empty, below 4 GiB in size, inside the IPA space");
    } else {
        check_ipa_free(*client, f.ipa, f.size, f.node, "window", diagnostics);
    }
    check_interrupt(f, *client, diagnostics);
    check_request_page(system, f, *server, diagnostics);
    check_doorbell(system, f, diagnostics);
    check_dma_window(system, f, *client, diagnostics);
}

}  // namespace

bool is_forward_doorbell(const SystemDescription& system, const std::string& notification_node) {
    for (const MmioForward& f : system.forwards)
        if (!f.doorbell.empty() && leaf(notification_node) == f.doorbell) return true;
    return false;
}

u64 forward_mappings(const SystemDescription& system, const std::string& name) {
    u64 n = 0;
    for (const MmioForward& f : system.forwards) {
        if (!f.well_formed) continue;
        if (f.server == name) ++n;
        if (f.client == name && !f.dma_window.empty()) ++n;
    }
    return n;
}

std::vector<std::size_t> forwards_served(const SystemDescription& system, const std::string& server) {
    std::vector<std::size_t> served;
    for (std::size_t i = 0; i < system.forwards.size(); ++i)
        if (system.forwards[i].well_formed && system.forwards[i].server == server) served.push_back(i);
    return served;
}

void check_forwards(const SystemDescription& system, Diagnostics& diagnostics) {
    if (system.forwards.size() > kMaxForwards)
        diagnostics.error("/forwards", "at most " + std::to_string(kMaxForwards) + " forwards");
    for (const MmioForward& f : system.forwards)
        if (f.well_formed) check_forward(system, f, diagnostics);
}

}  // namespace bhcc

// The rules of `/forwards` (docs/system-description.md, "Forwarded MMIO"): who the client and
// server are, where the window, the request page and the DMA window lie, the doorbell, the
// device's interrupt, and for a Linux client the layout that confines its DMA to the window.
#pragma once

#include <bhcc/diagnostics.hpp>
#include <bhcc/system_description.hpp>

namespace bhcc {

// At most this many forwards: each signals its doorbell with its own badge bit, 1 << (31 - its
// position in /forwards), above the bits the doorbell's signallers get.
inline constexpr std::size_t kMaxForwards = 16;

// The badge the kernel ORs into the doorbell for a request of forward `index`.
[[nodiscard]] constexpr bh::u64 forward_badge(std::size_t index) { return 1ull << (31 - index); }

// Whether a notification is some forward's doorbell (it needs no signallers then: the kernel
// signals it).
[[nodiscard]] bool is_forward_doorbell(const SystemDescription& system, const std::string& notification_node);

void check_forwards(const SystemDescription& system, Diagnostics& diagnostics);

// The boot mappings the forwards give partition `name`: the request page of each forward it
// serves, the DMA window of each it is the client of.
[[nodiscard]] u64 forward_mappings(const SystemDescription& system, const std::string& name);

// The forwards `server` serves, in document order (indices into system.forwards).
[[nodiscard]] std::vector<std::size_t> forwards_served(const SystemDescription& system, const std::string& server);

}  // namespace bhcc

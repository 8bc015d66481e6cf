// How bhcc turns a partition's memory regions and devices into capabilities: the untyped
// blocks it creates, the frames it retypes from them, and where each frame lands in the
// partition's CSpace. Shared by the validator (CSpace capacity) and the manifest builder, so
// the rule and the program can never disagree. docs/system-description.md describes the layout.
#pragma once

#include <bhcc/system_description.hpp>

#include <bulkhead/types.hpp>

#include <string>
#include <vector>

namespace bhcc {

using bh::u32;
using bh::u64;

// The partition's CSpace root: a CNode of 2^kCSpaceRadix slots. Index 0 stays empty, index 1
// is the partition's own CNode cap, frames and device pages follow from index 2, then its
// Channel caps (channels in document order) and Notification caps (notifications in document
// order), then per forward it serves the request page and the client's Partition cap (Write),
// then one Partition cap (rights Control only) per `controls` entry, in `controls` order,
// then one IrqHandler cap (rights Control only) per `interrupts` entry, in `interrupts` order,
// then per `/pci` function it owns (document order) its DmaStream cap (rights Control, Grant)
// followed by the 2 MiB DeviceMmio pages of its BARs (rights R W), BAR by BAR in index order.
inline constexpr unsigned kCSpaceRadix = 8;
inline constexpr u32 kCSpaceOwnCNodeIndex = 1;
inline constexpr u32 kCSpaceFirstFrameIndex = 2;
inline constexpr u32 kCSpaceLastIndex = (1u << kCSpaceRadix) - 1;  // 255
// The Partition object retyped from the kernel's untyped (it embeds the stage-2 table pool).
inline constexpr unsigned kPartitionObjectBits = 16;

inline constexpr unsigned kSmallFrameBits = 12;  // 4 KiB
inline constexpr unsigned kLargeFrameBits = 21;  // 2 MiB

// One naturally aligned power-of-two piece of a region: one untyped, retyped into frames of
// 2^frame_bits bytes. `ipa` is the IPA of `pa` (meaningful only when the range is mapped).
struct UntypedBlock {
    u64 pa = 0;
    unsigned bits = 0;
    unsigned frame_bits = 0;
    u64 ipa = 0;

    [[nodiscard]] u64 frame_count() const { return 1ull << (bits - frame_bits); }
};

// Splits [phys, phys + size) (4 KiB aligned, size > 0) greedily, lowest address first, into
// the largest naturally aligned power-of-two blocks. A block of 2 MiB or more is cut into
// 2 MiB frames when the range is unmapped or the block's IPA is 2 MiB aligned, else 4 KiB.
[[nodiscard]] std::vector<UntypedBlock> split_into_blocks(u64 phys, u64 size, u64 ipa, bool mapped);

[[nodiscard]] std::vector<UntypedBlock> region_blocks(const MemoryRegion& region);
// A device window is mapped at IPA == PA.
[[nodiscard]] std::vector<UntypedBlock> device_blocks(u64 base, u64 size);

// One Channel or Notification cap granted to a partition (docs/system-description.md,
// "Channels and notifications"). A partition gets at most one cap per object: a channel's
// writers get Read|Write (a writer can read what others wrote), its other members Read; a
// notification's signallers get Write badged 1 << (position in `signallers`), its waiter Read,
// badge 0. No Grant: a partition cannot pass the cap on.
enum class IpcKind { Channel, Notification };
struct IpcGrant {
    IpcKind kind;
    std::size_t object;     // index into system.channels or system.notifications
    std::size_t partition;  // index into system.partitions
    u64 rights;             // Rights bits
    u64 badge;
};

// Every IPC grant, in the order the program makes them, which is also each partition's CSpace
// order: channels in document order, then notifications in document order; per object, its
// partitions in document order. Names that are not partitions are skipped (rule CH8/N3).
[[nodiscard]] std::vector<IpcGrant> ipc_grants(const SystemDescription& system);

// An information flow (invariant 6) between partitions (indices into system.partitions).
struct Flow {
    std::size_t source;
    std::size_t destination;
    bh::manifest::FlowKind kind;
    bool operator==(const Flow&) const = default;
};

// The flows the grants make possible, computed as the kernel computes them from capabilities:
// Memory A -> B iff A holds a Channel cap with Write and B a cap with Read to the same channel;
// Signal A -> B iff A holds a Notification cap with Write and B one with Read; A != B. Each
// flow once: Memory flows first, then Signal, each ordered by source, then destination index.
[[nodiscard]] std::vector<Flow> flows_of(const std::vector<IpcGrant>& grants);

// The IPC caps partition `name` receives (channels it writes or reads, notifications it
// signals or waits on: one each).
[[nodiscard]] u64 ipc_capabilities(const SystemDescription& system, const std::string& name);
// The caps partition `server` receives for the forwards it serves (forward_rules.hpp): per
// forward in document order, the request page's Frame (Read) and the client's Partition cap
// (Write), right after its IPC caps.
[[nodiscard]] u64 forward_capabilities(const SystemDescription& system, const std::string& server);

// CSpace indices the partition needs: its CNode plus one per frame and device page, per channel
// and notification cap, per `controls` entry, per `interrupts` entry, and per PCIe function
// (pci_layout.hpp: its DmaStream cap and BAR pages). Counting only (no enumeration), so a 512 GiB
// window costs nothing. Regions that are not well formed and unknown devices are skipped (they
// are reported elsewhere).
[[nodiscard]] u64 capabilities_needed(const SystemDescription& system, const Partition& partition);
// The CSpace index of the partition's first Channel/Notification cap: the first index after
// its frames and device pages.
[[nodiscard]] u64 first_ipc_index(const Partition& partition);
// The CSpace index of the Partition cap for `controls[0]`: the first index after the frames,
// device pages, IPC caps and forward caps (`controls[i]` is at this index + i).
[[nodiscard]] u64 first_control_index(const SystemDescription& system, const Partition& partition);
// MapFrame ops the partition gets at boot: frames of mapped regions plus device pages.
[[nodiscard]] u64 boot_mappings(const Partition& partition);
// Stage-2 table pages (besides the root) the kernel needs for those mappings: one level-2 table
// per 1 GiB of IPA space holding one, one level-3 table per 2 MiB holding a 4 KiB one
// (bulkhead/objects.hpp). Enumerates the mappings: call it once boot_mappings is known small.
[[nodiscard]] u64 boot_stage2_table_pages(const Partition& partition);

}  // namespace bhcc

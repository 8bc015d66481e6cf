// What a booted system lets each partition reach, read from the kernel's own state: the boot
// program of a manifest run on a host Kernel (kernel/arch/host, as the unit tests and fuzzers
// run it), then, per partition, every leaf of the stage-2 tables it built (walked in host memory)
// and every capability in the partition's CSpace. The concrete check (concrete_check.hpp) proves
// INV-1, INV-2 and INV-6 over this, so it checks the tables the kernel built, not a replay.
#pragma once

#include <bulkhead/types.hpp>
#include <caps/capability.hpp>
#include <memory/map_attributes.hpp>
#include <policy/flow_graph.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bh {
class Kernel;
}

namespace bh::proofs {

// One leaf descriptor of a partition's stage-2 tables: [ipa, +size) -> [pa, +size).
struct Leaf {
    u64 ipa, pa, size;
    MapAttributes attrs;
};

// A cap the partition holds. A mappable one (Frame, DeviceMmio, Channel with Read or Write) can
// be FrameMapped anywhere in the partition's IPA space at run time, so its whole object counts
// as reachable whether or not the boot program mapped it.
struct HeldCap {
    ObjectType type;
    u64 object, size;
    Rights rights;
    u64 slot;  // index in the partition's CSpace
};

struct PartitionView {
    std::string name;
    std::vector<Leaf> leaves;
    std::vector<HeldCap> caps;
};

struct World {
    std::vector<PartitionView> partitions;
    // Every live Channel object (boot CNode and CSpaces): the one kind of memory two partitions
    // may both reach (INV-1's exception). Distinct objects never overlap (INV-4).
    std::vector<std::pair<u64, u64>> channels;  // base, size
    FlowGraph possible;  // the kernel's flow rule (flows_between) over leaves and held caps
    FlowGraph declared;  // the boot program's DeclareFlow ops
    // INV-3 on the stream table the kernel built, by the invariant checker (check_dma.cpp):
    // every STE aborts or walks its owner's tables, each DmaStream cap held by its function's
    // owner, no BAR reachable by another partition. Its violations, one line each.
    std::vector<std::string> dma_violations;
};

// Whether a held cap can be mapped at all (check_map_frame: a mappable type, and some of R/W).
bool mappable_now(const HeldCap& c);

// The world of a kernel in any state (tests build one through the capability core directly).
World extract_world(const Kernel& kernel);

// Runs `manifest` through the kernel's reader and boot program on a fresh host Kernel and
// extracts its world. On refusal: nullopt and `error` says which op the kernel refused and why.
// Not reentrant (the host machine is one global simulation).
std::optional<World> boot_world(std::span<const std::uint8_t> manifest, std::string& error);

}  // namespace bh::proofs

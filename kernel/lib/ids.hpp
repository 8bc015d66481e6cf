// Typed indices: a partition's place in the partition table, a physical core, a vCPU's index in
// its partition, a slot of the boot CNode. Distinct types so that one cannot be passed for
// another, each with an explicit "none" instead of an off-by-one encoding (index + 1, 0 = none).
#pragma once

#include <bulkhead/types.hpp>

#include <compare>

namespace bh {

template <typename Tag>
class Index {
public:
    static constexpr u32 kNone = ~0u;
    static constexpr Index none() { return Index(); }

    constexpr Index() = default;
    constexpr explicit Index(u32 raw) : raw_(raw) {}
    constexpr u32 raw() const { return raw_; }
    constexpr bool is_none() const { return raw_ == kNone; }
    constexpr auto operator<=>(const Index&) const = default;

private:
    u32 raw_ = kNone;
};

using PartitionId = Index<struct PartitionTag>;  // index in the partition table; VMID = index + 1
using CoreId = Index<struct CoreTag>;            // physical core (MPIDR Aff0 on the reference machine)
using VcpuIndex = Index<struct VcpuTag>;         // vCPU number within its partition (its virtual Aff0)
using BootSlot = Index<struct BootSlotTag>;      // slot of the boot CNode (manifest ops name these)

static_assert(PartitionId::none().is_none() && !PartitionId(0).is_none() && sizeof(CoreId) == 4);

}  // namespace bh

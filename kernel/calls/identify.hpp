// CapIdentify's answer about a cap: one function for the full path (calls/cap_invoke.cpp) and the
// lock-free one (calls/identify_unlocked.hpp), so that the two cannot answer differently.
#pragma once

#include <arch/guest.hpp>
#include <caps/capability.hpp>
#include <partition/partition.hpp>

namespace bh {

// CapIdentify's answer about `cap` as `caller` sees it, in x1..x6.
[[gnu::always_inline]] inline void identify(const Capability& cap, const Partition& caller, arch::GuestRegs& r) {
    r.x[1] = static_cast<u64>(cap.type);
    r.x[2] = cap.rights.bits();
    r.x[3] = cap.badge;
    r.x[4] = cap.size_bits;
    // The physical address is not revealed: a partition has no use for the machine's layout.
    const bool mapped_here = cap.mapped() && cap.mapped_partition() == caller.index;
    r.x[5] = mapped_here ? 1 : 0;
    r.x[6] = mapped_here ? cap.mapped_ipa() : 0;
}

}  // namespace bh

// Mapping Frame, DeviceMmio and Channel caps into a partition's stage 2: the one policy shared
// by the boot program (MapFrame) and the FrameMap/FrameUnmap hypercalls, in two halves so that
// a capability call can decode (check) before it invokes (map), which then cannot fail.
//
// Rules: the cap's rights cover the attributes; device memory and channels are never
// executable; a cap maps at most one place; a Frame or DeviceMmio page is mapped into one
// partition only (copies of its cap may map it again, but only into the partition that already
// has it); a Channel may be mapped by every partition that holds a cap to it, each cap once.
#pragma once

#include <bulkhead/status.hpp>
#include <caps/cap_slot.hpp>
#include <memory/map_attributes.hpp>

namespace bh {

class Partition;
class PartitionTable;

// Everything map_frame_checked would refuse, with its reason; changes nothing.
Outcome check_map_frame(const Partition& p, const CapSlot& frame, Ipa ipa, MapAttributes attrs);
// Maps a request check_map_frame accepted (with nothing changed in between).
void map_frame_checked(Partition& p, CapSlot& frame, Ipa ipa, MapAttributes attrs);
// Both halves: the boot program's MapFrame.
Outcome map_frame(Partition& p, CapSlot& frame, Ipa ipa, MapAttributes attrs);

// FrameUnmap: NotFound unless `frame` is mapped in `p`.
Outcome check_unmap_frame(const Partition& p, const CapSlot& frame);
// Removes the mapping a mapped cap records from its partition's stage 2 (and its region
// record) and invalidates the VMID's TLB entries; the caller clears the cap's record (or
// deletes the cap: this is also the capability core's unmap hook).
void unmap_frame(const PartitionTable& partitions, const Capability& cap);

}  // namespace bh

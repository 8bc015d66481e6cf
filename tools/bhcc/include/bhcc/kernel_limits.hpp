// Per-partition capacities of the kernel that are not (yet) part of the manifest contract in
// bulkhead/manifest.hpp. Taken from the kernel's own Partition so bhcc can never drift from it;
// this is the one place where bhcc looks at kernel internals.
#pragma once

#include <partition/partition.hpp>

namespace bhcc {

// Mappings per partition: MapFrame ops (mapped frames plus device pages), rule M14.
inline constexpr unsigned kMaxMappingsPerPartition = bh::Partition::kMaxRegions;
// LoadImage ops per partition: PT_LOAD segments with file data.
inline constexpr unsigned kMaxImageSegmentsPerPartition = bh::Partition::kMaxImages;

}  // namespace bhcc

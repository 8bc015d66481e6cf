// Per-partition capacities of the kernel that bhcc checks a description against; the kernel
// takes them from the same ABI constants (bulkhead/manifest.hpp).
#pragma once

#include <bulkhead/manifest.hpp>

namespace bhcc {

// Mappings per partition: MapFrame ops (mapped frames plus device pages), rule M14.
inline constexpr unsigned kMaxMappingsPerPartition = bh::manifest::kMaxMappingsPerPartition;
// LoadImage ops per partition: PT_LOAD segments with file data.
inline constexpr unsigned kMaxImageSegmentsPerPartition = bh::manifest::kMaxImagesPerPartition;

}  // namespace bhcc

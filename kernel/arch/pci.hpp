// PCIe configuration space of bus 0 as generic code sees it: the ECAM, which only the kernel maps
// (kernel/arch/aarch64/pci.cpp; a fake bus in kernel/arch/host/pci_host.cpp for tests).
#pragma once

#include <bulkhead/types.hpp>

namespace bh::arch {

// `size` is 1, 2 or 4 and `offset` (below 4096) is aligned to it; an absent function reads as
// all ones.
u32 pci_config_read(u32 bdf, u32 offset, unsigned size);
void pci_config_write(u32 bdf, u32 offset, unsigned size, u32 value);

}  // namespace bh::arch

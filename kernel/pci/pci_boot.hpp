// The boot program's AssignPciFunction op (docs/system-description.md "PCIe functions"), which
// involves three parts: the boot CNode, the PCIe functions and their DMA streams. PlacePciBar is
// PciFunctions::place_bar.
#pragma once

#include <bulkhead/status.hpp>
#include <lib/ids.hpp>

namespace bh {

class BootSpace;
class DmaStreamTable;
class Partition;
class PciFunctions;

// AssignPciFunction: function `bdf` of bus 0 becomes `p`'s (its identity must be `id`,
// vendor | device << 16), and boot slot `slot` := the DmaStream cap of its stream.
Outcome assign_pci_function(const BootSpace& boot, PciFunctions& pci, DmaStreamTable& dma, BootSlot slot,
                            const Partition& p, u32 bdf, u32 id);

}  // namespace bh

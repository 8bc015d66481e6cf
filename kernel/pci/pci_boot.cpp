#include <boot/boot_space.hpp>
#include <dma/dma_streams.hpp>
#include <partition/partition.hpp>
#include <pci/pci_boot.hpp>
#include <pci/pci_functions.hpp>

namespace bh {

Outcome assign_pci_function(const BootSpace& boot, PciFunctions& pci, DmaStreamTable& dma, BootSlot slot,
                            const Partition& p, u32 bdf, u32 id) {
    if (boot.closed()) return kSealed;
    CapSlot* dest = boot.slot(slot);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (!dest->empty()) return refuse(Status::Exists, "slot occupied");
    if (const Outcome o = pci.assign(bdf, p.index, id); !o.ok()) return o;
    // A function is assigned once, so its stream's cap cannot exist yet.
    return dma.create(*dest, bdf, p.index);
}

}  // namespace bh

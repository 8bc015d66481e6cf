// A partition's PCIe configuration window (docs/isolation.md "DMA and PCIe"): bus 0's
// configuration space at platform::kPciConfigWindowIpa, reduced to the partition's own functions
// (pci/pci_functions.hpp). The partition has no mapping there: each load or store faults, and the
// kernel carries it out on the partition's view when the arch decoded it as a single, aligned
// register access (arch::DecodedMmio, arch/aarch64/trapped_access.hpp); anything else there is
// the partition's fault. Only a partition that owns PCIe functions has the window.
#pragma once

#include <arch/guest.hpp>

namespace bh {

class PciFunctions;
struct Vcpu;

// True when `exit` was such an access and has been completed: the vCPU resumes after it. False:
// not the window, not an access the kernel carries out, or a partition without functions; the
// exit stays a fault. Takes the capability lock (the view changes with the streams' bindings).
[[nodiscard]] bool emulate_config_window(PciFunctions& pci, Vcpu& vcpu, const arch::GuestExit& exit);

}  // namespace bh

#include <bulkhead/platform.hpp>
#include <caps/cap_lock.hpp>
#include <partition/partition.hpp>
#include <pci/config_window.hpp>
#include <pci/pci_functions.hpp>

namespace bh {

bool emulate_config_window(PciFunctions& pci, Vcpu& vcpu, const arch::GuestExit& e) {
    const arch::MmioAccess& a = e.access;
    if (e.cause != arch::GuestExit::Cause::MemoryAbort || !a.valid) return false;
    if (!range_inside(e.ipa.raw(), a.size, platform::kPciConfigWindowIpa, platform::kPcieBusConfigSize)) return false;
    const PartitionId p = vcpu.partition->index;
    CapLockGuard guard(cap_lock);
    if (!pci.owns_any(p)) return false;
    const u64 offset = e.ipa.raw() - platform::kPciConfigWindowIpa;
    // Configuration space has no 8-byte registers: such an access reads all ones, writes nothing.
    if (e.write) {
        if (a.size <= 4) pci.config_write(p, offset, a.size, static_cast<u32>(arch::mmio_store_value(vcpu.regs, a)), guard.held());
        arch::mmio_complete_store(vcpu.regs);
    } else {
        arch::mmio_complete_load(vcpu.regs, a, a.size <= 4 ? pci.config_read(p, offset, a.size, guard.held()) : ~0ull);
    }
    return true;
}

}  // namespace bh

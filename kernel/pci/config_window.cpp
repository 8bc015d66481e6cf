#include <bulkhead/platform.hpp>
#include <caps/cap_lock.hpp>
#include <partition/partition.hpp>
#include <pci/config_window.hpp>
#include <pci/pci_functions.hpp>

namespace bh {

bool emulate_config_window(PciFunctions& pci, Vcpu& vcpu, const arch::GuestExit& e) {
    if (e.cause != arch::GuestExit::Cause::MemoryAbort || !e.mmio.ok()) return false;
    const arch::MmioAccess& a = e.mmio.access;
    if (!range_inside(a.ipa.raw(), a.size, platform::kPciConfigWindowIpa, platform::kPcieBusConfigSize)) return false;
    const PartitionId p = vcpu.partition->index;
    CapLockGuard guard(cap_lock);
    if (!pci.owns_any(p)) return false;
    const u64 offset = a.ipa.raw() - platform::kPciConfigWindowIpa;
    // Configuration space has no 8-byte registers: such an access reads all ones, writes nothing.
    if (a.write) {
        if (a.size <= 4) pci.config_write(p, offset, a.size, static_cast<u32>(arch::store_value(a, vcpu.regs)), guard.held());
    } else {
        arch::complete_load(a, vcpu.regs, a.size <= 4 ? pci.config_read(p, offset, a.size, guard.held()) : ~0ull);
    }
    vcpu.regs.elr += 4;  // ESR.IL: every AArch64 instruction is 4 bytes
    return true;
}

}  // namespace bh

#include <emulated_mmio.hpp>
#include <esr.hpp>
#include <notification.hpp>

namespace bh {

namespace {

// ISS of a data abort (Arm ARM D17.2.40).
constexpr u32 kIsv = 1u << 24;
constexpr unsigned kSasShift = 22;
constexpr u32 kSse = 1u << 21;
constexpr unsigned kSrtShift = 16;
constexpr u32 kSf = 1u << 15;
constexpr u32 kCm = 1u << 8;     // cache maintenance
constexpr u32 kS1ptw = 1u << 7;  // the fault was on a stage-1 table walk
constexpr u32 kDfscTranslation = 0b0001'00;  // 0b0001LL: translation fault, level LL
constexpr u32 kInstructionLength = 4;         // A64 only: aarch32 guests exit as faults

u64 size_mask(unsigned size) { return size == 8 ? ~0ull : (1ull << (8 * size)) - 1; }

}  // namespace

Result<MmioAccess> decode_mmio_access(u64 esr_value, Ipa ipa) {
    if (esr::exception_class(esr_value) != esr::Class::DataAbortLower) return Status::InvalidArgument;
    const u32 iss = esr::iss(esr_value);
    if ((iss & kIsv) == 0 || (iss & (kCm | kS1ptw)) != 0) return Status::InvalidArgument;
    if ((esr::fault_status(esr_value) & ~3u) != kDfscTranslation) return Status::InvalidArgument;
    MmioAccess a{};
    a.ipa = ipa;
    a.size = 1u << ((iss >> kSasShift) & 3);
    a.write = esr::is_write(esr_value);
    a.reg = (iss >> kSrtShift) & 0x1f;
    a.sign_extend = (iss & kSse) != 0;
    a.sixty_four = (iss & kSf) != 0;
    return a;
}

u64 mmio_store_value(const GuestRegs& regs, const MmioAccess& a) {
    return a.reg == 31 ? 0 : regs.x[a.reg] & size_mask(a.size);
}

void mmio_complete_load(GuestRegs& regs, const MmioAccess& a, u64 value) {
    value &= size_mask(a.size);
    if (a.sign_extend && a.size < 8 && (value >> (8 * a.size - 1)) != 0) value |= ~size_mask(a.size);
    if (!a.sixty_four) value &= 0xffff'ffffull;
    if (a.reg != 31) regs.x[a.reg] = value;
    regs.elr += kInstructionLength;
}

void mmio_complete_store(GuestRegs& regs) { regs.elr += kInstructionLength; }

bool emulate_mmio(System& system, Vcpu& vcpu, const ExitSyndrome& syndrome) {
    const Result<MmioAccess> decoded = decode_mmio_access(syndrome.esr, Ipa(fault_ipa(syndrome)));
    if (!decoded.ok()) return false;
    const MmioAccess a = decoded.value();
    Partition& p = *vcpu.partition;
    if (!range_inside(a.ipa.raw(), a.size, platform::kPciConfigWindowIpa, platform::kPcieBusConfigSize)) return false;
    LockGuard guard(cap_lock);  // the functions' state changes with their streams' bindings
    PciFunctions& pci = system.pci();
    if (!pci.owns_any(p.index)) return false;
    const u64 offset = a.ipa.raw() - platform::kPciConfigWindowIpa;
    // Configuration space has no 8-byte registers: such an access reads all ones, writes nothing.
    if (a.write) {
        if (a.size <= 4) pci.config_write(p.index, offset, a.size, static_cast<u32>(mmio_store_value(vcpu.regs, a)));
        mmio_complete_store(vcpu.regs);
    } else {
        mmio_complete_load(vcpu.regs, a, a.size <= 4 ? pci.config_read(p.index, offset, a.size) : ~0ull);
    }
    return true;
}

}  // namespace bh

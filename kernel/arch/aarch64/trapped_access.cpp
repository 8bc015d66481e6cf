#include "arch/aarch64/trapped_access.hpp"

#include "arch/aarch64/esr.hpp"

namespace bh::arch {

namespace {

// ISS fields of a data abort (ESR_EL2[24:0]).
constexpr u32 kIsv = 1u << 24;
constexpr unsigned kSasShift = 22;
constexpr u32 kSse = 1u << 21;
constexpr unsigned kSrtShift = 16;
constexpr u32 kSf = 1u << 15;
constexpr u32 kFnv = 1u << 10;
constexpr u32 kEa = 1u << 9;
constexpr u32 kCm = 1u << 8;
constexpr u32 kS1ptw = 1u << 7;
constexpr u32 kWnr = 1u << 6;
constexpr u32 kXzr = 31;

constexpr u64 low_bytes(u64 value, unsigned size) { return size >= 8 ? value : value & ((1ull << (8 * size)) - 1); }

}  // namespace

DecodedMmio decode_mmio(u64 esr, Ipa ipa) {
    DecodedMmio d;
    if (esr::exception_class(esr) != esr::Class::DataAbortLower) {
        d.refusal = "not a data abort from the guest";
        return d;
    }
    const u32 iss = esr::iss(esr);
    const u32 fsc = iss & 0x3f;
    // Order: what the syndrome says about the access before what it says about its operands.
    if ((iss & kS1ptw) != 0) {
        d.refusal = "a stage-1 table walk touched the window";
    } else if ((iss & kCm) != 0) {
        d.refusal = "cache maintenance on an emulated window";
    } else if ((iss & kEa) != 0) {
        d.refusal = "external abort";
    } else if (fsc < 0x04 || fsc > 0x07) {  // only a translation fault means "nothing mapped here"
        d.refusal = "not a translation fault";
    } else if ((iss & kFnv) != 0) {
        d.refusal = "no valid fault address";
    } else if ((iss & kIsv) == 0) {
        d.refusal = "no instruction syndrome (ISV = 0: pair, writeback, SIMD or exclusive access)";
    }
    if (d.refusal != nullptr) return d;
    MmioAccess& a = d.access;
    a.ipa = ipa;
    a.size = static_cast<u8>(1u << ((iss >> kSasShift) & 3));
    a.write = (iss & kWnr) != 0;
    a.sign_extend = (iss & kSse) != 0;
    a.wide = (iss & kSf) != 0;
    a.reg = static_cast<u8>((iss >> kSrtShift) & 0x1f);
    if (!ipa.aligned(a.size)) d.refusal = "misaligned access";
    // A sign-extending store does not exist; a syndrome saying so is not an instruction's.
    else if (a.write && a.sign_extend) d.refusal = "sign-extending store";
    // Loading 8 bytes into a W register, or sign-extending 8 bytes, does not exist either.
    else if (a.size == 8 && (!a.wide || a.sign_extend)) d.refusal = "8-byte access to a 32-bit register";
    return d;
}

u64 store_value(const MmioAccess& access, const GuestRegs& regs) {
    const u64 source = access.reg == kXzr ? 0 : regs.x[access.reg];
    return low_bytes(source, access.size);
}

void complete_load(const MmioAccess& access, GuestRegs& regs, u64 value) {
    u64 v = low_bytes(value, access.size);
    if (access.sign_extend && access.size < 8) {
        const unsigned shift = 64 - 8 * access.size;
        v = static_cast<u64>(static_cast<i64>(v << shift) >> shift);
    }
    if (!access.wide) v &= 0xffff'ffffull;  // a W register: the upper half of Xt reads as zero
    if (access.reg != kXzr) regs.x[access.reg] = v;
}

}  // namespace bh::arch

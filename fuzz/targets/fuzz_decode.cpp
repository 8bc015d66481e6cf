// Fuzz target: the decode layer on its own (kernel/calls/guest_call.hpp). Every register file,
// HVC immediate and caller vCPU count a guest can present is decoded; nothing else runs.
//
// Input: u8 vCPU count (1 .. kMaxVcpusPerPartition), u16 immediate (0 most of the time), then
// x0 .. x7 (x0 as a function ID near the ABI's, or any 64-bit value).
//
// Oracle, for every input:
//   * decoding is a pure function of the registers: the same input decodes the same twice;
//   * a refusal leaves a value the ABI allows in x0: SMCCC unknown for a call outside the
//     ranges or with HVC #imm != 0, a Status for a vendor call, a PSCI error for PSCI;
//   * an accepted call's typed arguments are within what decoding promises: a known CallId of
//     the function's family, console length <= kConsoleChunk, mint masks of known rights only,
//     FrameMap IPAs inside the IPA space with decodable attributes, PSCI targets among the
//     caller's vCPUs, AFFINITY_INFO at level 0 only, CPU_SUSPEND power states without reserved
//     bits; and they equal the registers they came from (an SMC32 PSCI call's, their low halves).
#include <bulkhead/hypercall.hpp>
#include <bulkhead/platform.hpp>
#include <calls/guest_call.hpp>
#include <partition/partition.hpp>

#include <new>

#include "fuzz_common.hpp"

using namespace bh;

namespace {

constexpr u64 kIds[] = {
    0xC600'0000, 0xC600'0001, 0xC600'0002, 0xC600'0010, 0xC600'0011, 0xC600'0012, 0xC600'0013,
    0xC600'0014, 0xC600'0015, 0xC600'0020, 0xC600'0021, 0xC600'0030, 0xC600'0031, 0xC600'0032,
    0xC600'0040, 0xC600'0041, 0xC600'0050, 0xC600'0051, 0xC600'0052, hvc::psci::kVersion,
    hvc::psci::kCpuOff,  hvc::psci::kCpuOn, hvc::psci::kAffinityInfo, hvc::psci::kSystemOff,
    hvc::psci::kSystemReset, hvc::psci::kFeatures, hvc::psci::kCpuSuspend, hvc::psci::kCpuSuspend32,
    hvc::psci::kCpuOn32, hvc::psci::kAffinityInfo32, hvc::psci::kMigrateInfoType,
};

bool same(const DecodedCall& a, const DecodedCall& b) {
    if (a.ok != b.ok) return false;
    if (!a.ok) return a.refusal.x0 == b.refusal.x0;
    // The arguments are compared with the registers they came from below.
    return a.call.id == b.call.id;
}

bool vendor(u64 fid) { return (fid & 0xFF00'0000) == hvc::kVendorBase; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Bytes in(data, size);
    alignas(Partition) static unsigned char storage[sizeof(Partition)];
    Partition* p = new (storage) Partition();
    p->vcpu_count = 1 + in.u8() % manifest::kMaxVcpusPerPartition;
    const u8 imm_choice = in.u8();
    const u16 immediate = imm_choice < 224 ? 0 : in.u16();
    arch::GuestRegs r{};
    const u8 id_choice = in.u8();
    r.x[0] = id_choice < 200 ? kIds[id_choice % (sizeof kIds / sizeof kIds[0])] ^ (in.u8() < 16 ? in.u8() : 0) : in.u64();
    for (unsigned k = 1; k < 8; ++k) r.x[k] = in.u8() < 128 ? in.u8() : in.u64();

    const DecodedCall d = decode_call(r, immediate, *p);
    if (!same(d, decode_call(r, immediate, *p))) fuzz::finding("decoding is not a function of the registers");
    const bool psci = (r.x[0] & ~0x1full) == 0x8400'0000 || (r.x[0] & ~0x1full) == 0xC400'0000;
    if (!d.ok) {
        const i64 v = static_cast<i64>(d.refusal.x0);
        if (immediate != 0 || (!psci && !vendor(r.x[0]))) {
            if (d.refusal.x0 != kSmcccUnknown) fuzz::finding("a call outside the ABI was not answered SMCCC unknown");
        } else if (psci) {
            if (v > -1 || v < -9) fuzz::finding("a PSCI refusal outside PSCI's error codes");
        } else if (v >= 0 || v < static_cast<i64>(Status::Busy)) {
            fuzz::finding("a vendor refusal outside Status");
        }
        return 0;
    }
    if (immediate != 0) fuzz::finding("HVC #imm != 0 was accepted");
    const GuestCall& c = d.call;
    if (is_psci_call(c.id) != psci) fuzz::finding("a call decoded into another family");
    // PSCI's SMC32 calls take the low 32 bits of their argument registers.
    const u64 mask = psci && (r.x[0] & 0x4000'0000) == 0 ? 0xffff'ffffull : ~0ull;
    switch (c.id) {
        case CallId::ConsoleWrite:
            if (c.console.length > hvc::kConsoleChunk || c.console.length != r.x[2]) fuzz::finding("console length");
            if (r.x[1] != 0) fuzz::finding("a capability-less call with x1 != 0 was accepted");
            break;
        case CallId::AbiVersion:
        case CallId::PartitionInfo:
            if (r.x[1] != 0) fuzz::finding("a capability-less call with x1 != 0 was accepted");
            break;
        case CallId::CapMint:
            if ((r.x[3] & ~static_cast<u64>(Rights::kAllBits)) != 0 || c.mint.mask.bits() != r.x[3])
                fuzz::finding("a mint mask with unknown rights bits");
            if (c.mint.source != r.x[1] || c.mint.destination != r.x[2] || c.mint.badge != r.x[4])
                fuzz::finding("mint arguments differ from their registers");
            break;
        case CallId::FrameMap:
            if (c.map.ipa.raw() >= (1ull << platform::kIpaBits) || c.map.ipa.raw() != r.x[2])
                fuzz::finding("a FrameMap IPA outside the IPA space");
            if (!MapAttributes::decode(r.x[3]).ok() || c.map.attrs.bits() != r.x[3] || c.map.attrs.device())
                fuzz::finding("FrameMap attributes decoding refuses");
            break;
        case CallId::PsciCpuOn:
            if (c.cpu_on.target.raw() >= p->vcpu_count) fuzz::finding("CPU_ON of a vCPU the caller does not have");
            if (c.cpu_on.entry != (r.x[2] & mask) || c.cpu_on.context != (r.x[3] & mask)) fuzz::finding("CPU_ON arguments");
            break;
        case CallId::PsciAffinityInfo:
            if (c.affinity.target.raw() >= p->vcpu_count || (r.x[2] & mask) != 0)
                fuzz::finding("AFFINITY_INFO target or level");
            break;
        case CallId::PsciCpuSuspend: {
            const u64 state = r.x[1] & mask;
            if ((state & ~(0xffffull | 1ull << 16 | 3ull << 24)) != 0) fuzz::finding("CPU_SUSPEND with reserved bits");
            if (c.suspend.power_down != ((state >> 16 & 1) != 0) || c.suspend.entry != (r.x[2] & mask) ||
                c.suspend.context != (r.x[3] & mask))
                fuzz::finding("CPU_SUSPEND arguments");
            break;
        }
        default:
            if (is_cap_call(c.id) && c.id != CallId::CapCopy && c.id != CallId::CapMove && c.id != CallId::IrqBind &&
                c.one.cap != r.x[1])
                fuzz::finding("a capability call's cptr differs from x1");
            break;
    }
    return 0;
}

#include <bulkhead/platform.hpp>
#include <calls/guest_call.hpp>
#include <lib/nospec.hpp>
#include <partition/partition.hpp>

namespace bh {

namespace {

DecodedCall call(const GuestCall& c) { return DecodedCall{true, c, {}}; }
DecodedCall refused(u64 x0) { return DecodedCall{false, GuestCall{}, CallRefusal{x0}}; }
DecodedCall refused(Status s) { return refused(status_value(s)); }
DecodedCall psci_refused(i64 value) { return refused(static_cast<u64>(value)); }

// Built in place: the aggregate form (a GuestCall, then call()) compiled to a memset of the
// whole DecodedCall and a memcpy of the call, ~200 instructions on AbiVersion's path.
DecodedCall with_id(CallId id) {
    DecodedCall d;
    d.ok = true;
    d.call.id = id;
    d.refusal = CallRefusal{0};
    return d;
}

bool in_psci_range(u64 fid) {
    const u64 base = fid & ~0x1full;
    return base == 0x8400'0000 || base == 0xC400'0000;
}

// PSCI names cores by MPIDR; a partition's vCPUs are Aff0 = vCPU index, Aff1..3 = 0.
// The index picks p.vcpus[] for the handler: bounded under speculation too (lib/nospec.hpp).
VcpuIndex vcpu_by_mpidr(const Partition& p, u64 mpidr) {
    const u64 affinity = mpidr & 0xff'00ff'ffffull;
    if (affinity >= p.vcpu_count) return VcpuIndex::none();
    return VcpuIndex(static_cast<u32>(index_nospec(affinity, p.vcpu_count)));
}

// CPU_SUSPEND's power_state, original format: StateID [15:0], StateType [16] (1: power down),
// PowerLevel [25:24]; the other bits are reserved.
constexpr u64 kPowerStateReserved = ~((1ull << 17) - 1) & ~(3ull << 24);
constexpr u64 kPowerDown = 1ull << 16;

// PSCI 1.1 (the calls Linux's PSCI driver makes; docs/abi.md, "PSCI"). CPU_SUSPEND, CPU_ON and
// AFFINITY_INFO exist as SMC64 and SMC32 calls; an SMC32 call's arguments are the low 32 bits of
// their registers.
DecodedCall decode_psci(const arch::GuestRegs& r, const Partition& caller) {
    namespace psci = hvc::psci;
    const u64 mask = (r.x[0] & 0x4000'0000) != 0 ? ~0ull : 0xffff'ffffull;
    const u64 a1 = r.x[1] & mask, a2 = r.x[2] & mask, a3 = r.x[3] & mask;
    GuestCall c;
    switch (r.x[0]) {
        case psci::kVersion: return with_id(CallId::PsciVersion);
        case psci::kFeatures:
            c.id = CallId::PsciFeatures;
            c.features = PsciFeaturesArgs{r.x[1]};
            return call(c);
        case psci::kMigrateInfoType: return with_id(CallId::PsciMigrateInfoType);
        case psci::kCpuSuspend:
        case psci::kCpuSuspend32:
            if ((a1 & kPowerStateReserved) != 0) return psci_refused(psci::kInvalidParameters);
            c.id = CallId::PsciCpuSuspend;
            c.suspend = PsciCpuSuspendArgs{(a1 & kPowerDown) != 0, a2, a3};
            return call(c);
        case psci::kCpuOn:
        case psci::kCpuOn32: {
            const VcpuIndex target = vcpu_by_mpidr(caller, a1);
            if (target.is_none()) return psci_refused(psci::kInvalidParameters);
            c.id = CallId::PsciCpuOn;
            c.cpu_on = PsciCpuOnArgs{target, a2, a3};
            return call(c);
        }
        case psci::kAffinityInfo:
        case psci::kAffinityInfo32: {
            // Lowest affinity level 0 only: the partition's vCPUs are its only level.
            const VcpuIndex target = vcpu_by_mpidr(caller, a1);
            if (target.is_none() || a2 != 0) return psci_refused(psci::kInvalidParameters);
            c.id = CallId::PsciAffinityInfo;
            c.affinity = PsciAffinityArgs{target};
            return call(c);
        }
        case psci::kCpuOff: return with_id(CallId::PsciCpuOff);
        case psci::kSystemOff: return with_id(CallId::PsciSystemOff);
        case psci::kSystemReset: return with_id(CallId::PsciSystemReset);
        default: return psci_refused(psci::kNotSupported);
    }
}

DecodedCall decode_vendor(const arch::GuestRegs& r) {
    using F = hvc::Function;
    GuestCall c;
    const auto fn = static_cast<F>(r.x[0]);
    switch (fn) {
        case F::AbiVersion:
        case F::ConsoleWrite:
        case F::PartitionInfo:
            if (r.x[1] != 0) return refused(Status::InvalidArgument);  // these invoke no capability
            if (fn == F::AbiVersion) return with_id(CallId::AbiVersion);
            if (fn == F::PartitionInfo) return with_id(CallId::PartitionInfo);
            if (r.x[2] > hvc::kConsoleChunk) return refused(Status::InvalidArgument);
            c.id = CallId::ConsoleWrite;
            c.console.length = static_cast<u8>(r.x[2]);
            for (unsigned i = 0; i < hvc::kConsoleChunk; ++i)
                c.console.bytes[i] = static_cast<char>(r.x[3 + i / 8] >> (8 * (i % 8)));
            return call(c);
        case F::CapIdentify: c.id = CallId::CapIdentify; break;
        case F::CapDelete: c.id = CallId::CapDelete; break;
        case F::CapRevoke: c.id = CallId::CapRevoke; break;
        case F::FrameUnmap: c.id = CallId::FrameUnmap; break;
        case F::NotificationSignal: c.id = CallId::NotificationSignal; break;
        case F::NotificationWait: c.id = CallId::NotificationWait; break;
        case F::NotificationPoll: c.id = CallId::NotificationPoll; break;
        case F::PartitionStop: c.id = CallId::PartitionStop; break;
        case F::PartitionRestart: c.id = CallId::PartitionRestart; break;
        case F::IrqAck: c.id = CallId::IrqAck; break;
        case F::IrqUnbind: c.id = CallId::IrqUnbind; break;
        case F::DmaStreamBind: c.id = CallId::DmaStreamBind; break;
        case F::DmaStreamUnbind: c.id = CallId::DmaStreamUnbind; break;
        case F::MmioRaise: c.id = CallId::MmioRaise; break;
        case F::MmioReply:
            c.id = CallId::MmioReply;
            c.reply = MmioReplyArgs{r.x[1], r.x[2], r.x[3], r.x[4]};
            return call(c);
        case F::CapCopy:
        case F::CapMove:
            c.id = fn == F::CapCopy ? CallId::CapCopy : CallId::CapMove;
            c.two = TwoCapArgs{r.x[1], r.x[2]};
            return call(c);
        case F::CapMint:
            // Unknown rights bits are refused, never dropped: they could become rights the day a
            // new bit is defined.
            if ((r.x[3] & ~static_cast<u64>(Rights::kAllBits)) != 0) return refused(Status::InvalidArgument);
            c.id = CallId::CapMint;
            c.mint = CapMintArgs{r.x[1], r.x[2], Rights::from_bits(r.x[3]), r.x[4]};
            return call(c);
        case F::FrameMap: {
            if (!range_inside(r.x[2], 1, 0, 1ull << platform::kIpaBits)) return refused(Status::OutOfRange);
            const Result<MapAttributes> attrs = MapAttributes::decode(r.x[3]);
            if (!attrs.ok()) return refused(attrs.status());
            c.id = CallId::FrameMap;
            c.map = FrameMapArgs{r.x[1], Ipa(r.x[2]), attrs.value()};
            return call(c);
        }
        case F::AuditRead:
            c.id = CallId::AuditRead;
            c.audit = AuditReadArgs{r.x[1], r.x[2]};
            return call(c);
        case F::IrqBind:
            c.id = CallId::IrqBind;
            c.bind = IrqBindArgs{r.x[1], r.x[2], r.x[3]};
            return call(c);
        default: return refused(Status::NotSupported);
    }
    c.one = OneCapArgs{r.x[1]};
    return call(c);
}

}  // namespace

DecodedCall decode_call(const arch::GuestRegs& regs, u16 immediate, const Partition& caller) {
    if (immediate != 0) return refused(kSmcccUnknown);  // HVC #imm other than 0 is not part of the ABI
    const u64 fid = regs.x[0];
    if (in_psci_range(fid)) return decode_psci(regs, caller);
    if ((fid & 0xFF00'0000) == hvc::kVendorBase) return decode_vendor(regs);
    return refused(kSmcccUnknown);  // never forwarded to firmware
}

}  // namespace bh

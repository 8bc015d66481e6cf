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

DecodedCall with_id(CallId id) {
    GuestCall c;
    c.id = id;
    return call(c);
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

DecodedCall decode_psci(const arch::GuestRegs& r, const Partition& caller) {
    GuestCall c;
    switch (r.x[0]) {
        case hvc::psci::kVersion: return with_id(CallId::PsciVersion);
        case hvc::psci::kFeatures:
            c.id = CallId::PsciFeatures;
            c.features = PsciFeaturesArgs{r.x[1]};
            return call(c);
        case hvc::psci::kCpuOn: {
            const VcpuIndex target = vcpu_by_mpidr(caller, r.x[1]);
            if (target.is_none()) return psci_refused(hvc::psci::kInvalidParameters);
            c.id = CallId::PsciCpuOn;
            c.cpu_on = PsciCpuOnArgs{target, r.x[2], r.x[3]};
            return call(c);
        }
        case hvc::psci::kAffinityInfo: {
            const VcpuIndex target = vcpu_by_mpidr(caller, r.x[1]);
            if (target.is_none() || r.x[2] != 0) return psci_refused(hvc::psci::kInvalidParameters);
            c.id = CallId::PsciAffinityInfo;
            c.affinity = PsciAffinityArgs{target};
            return call(c);
        }
        case hvc::psci::kCpuOff: return with_id(CallId::PsciCpuOff);
        case hvc::psci::kSystemOff: return with_id(CallId::PsciSystemOff);
        case hvc::psci::kSystemReset: return with_id(CallId::PsciSystemReset);
        default: return psci_refused(hvc::psci::kNotSupported);
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

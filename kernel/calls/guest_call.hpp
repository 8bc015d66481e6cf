// Everything a guest can ask of the kernel by HVC or SMC, decoded from its registers: which call
// (the SMC Calling Convention's function ID in the vendor-specific hypervisor range or PSCI's,
// HVC #0 only) and its arguments, typed — capability addresses, rights and mapping-attribute
// masks, IPAs, PSCI targets by MPIDR, console bytes. Decoding reads registers and the caller
// partition's static configuration only; anything it refuses is answered with a status without
// touching kernel state. What the call then does to capabilities is decided in
// calls/cap_invoke.cpp (resolve and check under the capability lock, then invoke).
#pragma once

#include <arch/guest.hpp>
#include <bulkhead/hypercall.hpp>
#include <bulkhead/status.hpp>
#include <caps/rights.hpp>
#include <lib/ids.hpp>
#include <memory/map_attributes.hpp>

namespace bh {

class Partition;

enum class CallId : u8 {
    // vendor calls that invoke no capability (x1 must be 0)
    AbiVersion,
    ConsoleWrite,
    PartitionInfo,
    // capability invocations (x1 = a cptr in the caller's CSpace)
    CapIdentify,
    CapCopy,
    CapMint,
    CapMove,
    CapDelete,
    CapRevoke,
    FrameMap,
    FrameUnmap,
    NotificationSignal,
    NotificationWait,
    NotificationPoll,
    PartitionStop,
    PartitionRestart,
    IrqBind,
    IrqAck,
    IrqUnbind,
    AuditRead,
    DmaStreamBind,
    DmaStreamUnbind,
    MmioReply,
    MmioRaise,
    // PSCI, on the caller's own partition
    PsciVersion,
    PsciFeatures,
    PsciCpuOn,
    PsciCpuOff,
    PsciAffinityInfo,
    PsciSystemOff,
    PsciSystemReset,
    PsciCpuSuspend,
    PsciMigrateInfoType,
};

constexpr bool is_cap_call(CallId id) { return id >= CallId::CapIdentify && id <= CallId::MmioRaise; }
constexpr bool is_psci_call(CallId id) { return id >= CallId::PsciVersion; }

// The arguments of each call (NOVA's per-call views of the registers).
struct ConsoleWriteArgs {
    u8 length;
    char bytes[hvc::kConsoleChunk];
};
struct OneCapArgs {
    u64 cap;  // cptr
};
struct TwoCapArgs {  // CapCopy, CapMove
    u64 source;
    u64 destination;
};
struct CapMintArgs {
    u64 source;
    u64 destination;
    Rights mask;
    u64 badge;  // 0: keep the source's
};
struct FrameMapArgs {
    u64 frame;
    Ipa ipa;
    MapAttributes attrs;
};
struct AuditReadArgs {
    u64 log;     // cptr of the AuditLog cap
    u64 cursor;  // a sequence number: the oldest entry at or after it is read
};
struct IrqBindArgs {
    u64 irq;
    u64 notification;
    u64 badge;
};
struct MmioReplyArgs {
    u64 client;    // cptr of the client's Partition cap
    u64 vcpu;      // the client's vCPU index (checked against the client when the cap is resolved)
    u64 sequence;
    u64 value;
};
struct PsciFeaturesArgs {
    u64 function;
};
struct PsciCpuOnArgs {
    VcpuIndex target;
    u64 entry;
    u64 context;
};
struct PsciAffinityArgs {
    VcpuIndex target;
};
struct PsciCpuSuspendArgs {
    bool power_down;  // power_state.StateType: the vCPU may lose its context, resuming at `entry`
    u64 entry;
    u64 context;
};

struct GuestCall {
    CallId id = CallId::AbiVersion;
    union {
        ConsoleWriteArgs console;
        OneCapArgs one;
        TwoCapArgs two;
        CapMintArgs mint;
        FrameMapArgs map;
        IrqBindArgs bind;
        MmioReplyArgs reply;
        AuditReadArgs audit;
        PsciFeaturesArgs features;
        PsciCpuOnArgs cpu_on;
        PsciAffinityArgs affinity;
        PsciCpuSuspendArgs suspend;
    };
    GuestCall() : one{} {}
};

// The answer to a call that decoding already refuses: the value to leave in x0.
struct CallRefusal {
    u64 x0;
};

// Decodes the call in `regs` (x0 = function ID, x1.. arguments) made by HVC #`immediate` (0 for
// an SMC) from a vCPU of `caller`. Refusals: HVC #imm other than 0, a function ID in no range
// the kernel serves (SMCCC "unknown"); an unknown vendor or PSCI function (NotSupported); a
// capability-less vendor call with x1 != 0, a console chunk longer than kConsoleChunk, unknown
// rights bits, a bad mapping request, a PSCI target or affinity level the caller does not have,
// reserved bits of CPU_SUSPEND's power_state
// (InvalidArgument / OutOfRange / PSCI INVALID_PARAMETERS).
struct DecodedCall {
    bool ok;
    GuestCall call;
    CallRefusal refusal;
};
DecodedCall decode_call(const arch::GuestRegs& regs, u16 immediate, const Partition& caller);

inline constexpr u64 kSmcccUnknown = ~0ull;  // SMCCC: unknown function ID
inline u64 status_value(Status s) { return static_cast<u64>(static_cast<i64>(s)); }

}  // namespace bh

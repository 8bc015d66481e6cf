// Hypercall ABI shared by the kernel and guests (docs/abi.md is the reference).
// HVC #0, SMC Calling Convention: x0 = function ID, x1 = address of the invoked capability in
// the caller's CSpace (0 for calls that invoke none), x2..x7 = arguments. On return x0 = Status
// (0 or a negative error), x1..x7 = results.
//
// Capability addresses (cptr) are resolved in the caller's CSpace root with a depth equal to
// the root's radix: one level, so a cptr is a slot index of the root CNode.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::hvc {

// Vendor-specific hypervisor service range of the SMCCC, fast calls, SMC64.
inline constexpr u64 kVendorBase = 0xC600'0000;

enum class Function : u64 {
    AbiVersion = kVendorBase | 0x00,     // -> x1 = kAbiVersion
    ConsoleWrite = kVendorBase | 0x01,   // x2 = length (<= kConsoleChunk), x3..x7 = bytes
    PartitionInfo = kVendorBase | 0x02,  // -> x1 = partition, x2 = vcpu index, x3 = vcpus,
                                         //    x4 = restarts, x5 = CSpace radix
    CapIdentify = kVendorBase | 0x10,    // x1 = cptr -> x1 = object type, x2 = rights, x3 = badge,
                                         //    x4 = size_bits, x5 = 1 if mapped, x6 = mapped IPA
    CapCopy = kVendorBase | 0x11,        // x1 = source, x2 = destination
    CapMint = kVendorBase | 0x12,        // x1 = source, x2 = destination, x3 = rights mask, x4 = badge
    CapMove = kVendorBase | 0x13,        // x1 = source, x2 = destination
    CapDelete = kVendorBase | 0x14,      // x1 = slot
    CapRevoke = kVendorBase | 0x15,      // x1 = slot -> x1 = caps deleted by this call; Busy while
                                         //    descendants remain: call again
    FrameMap = kVendorBase | 0x20,       // x1 = Frame/DeviceMmio cap, x2 = IPA, x3 = attrs (R 1, W 2, X 4)
    FrameUnmap = kVendorBase | 0x21,     // x1 = Frame/DeviceMmio cap
    NotificationSignal = kVendorBase | 0x30,  // x1 = Notification cap (Write): OR its badge (1 if
                                              //    unbadged) into the word, wake the waiter
    NotificationWait = kVendorBase | 0x31,    // x1 = Notification cap (Read) -> x1 = the word,
                                              //    cleared; blocks the vCPU while it is 0
    NotificationPoll = kVendorBase | 0x32,    // x1 = Notification cap (Read) -> x1 = the word,
                                              //    cleared; never blocks
    PartitionStop = kVendorBase | 0x40,       // x1 = Partition cap (Control): stop it for good
    PartitionRestart = kVendorBase | 0x41,    // x1 = Partition cap (Control): restart it clean
    IrqBind = kVendorBase | 0x50,    // x1 = IrqHandler cap (Control), x2 = Notification cap (Read),
                                     //    x3 = badge (!= 0): the SPI ORs it into that notification,
                                     //    routed to this vCPU's core
    IrqAck = kVendorBase | 0x51,     // x1 = IrqHandler cap (Control): let a fired SPI in again
    IrqUnbind = kVendorBase | 0x52,  // x1 = IrqHandler cap (Control): disable it, forget the binding
    AuditRead = kVendorBase | 0x60,  // x1 = AuditLog cap (Read), x2 = cursor (a sequence number) ->
                                     //    x1 = sequence, x2 = event | detail << 8 | core << 16 |
                                     //    partition+1 << 32, x3 = a, x4 = b, x5 = time (counter),
                                     //    x6 = entries lost before it, x7 = overwritten since boot;
                                     //    NotFound: nothing at or after the cursor yet, x1 = the
                                     //    cursor to wait from (docs/audit.md)
    DmaStreamBind = kVendorBase | 0x70,    // x1 = DmaStream cap (Control): the stream translates
                                           //    through the caller's stage 2; bus mastering allowed
    DmaStreamUnbind = kVendorBase | 0x71,  // x1 = the DmaStream cap that bound it: the stream aborts
    MmioReply = kVendorBase | 0x78,  // x1 = Partition cap (Write) of a client whose forwarded window
                                     //    the caller serves, x2 = its vCPU, x3 = the request's
                                     //    sequence, x4 = a load's value: the parked access completes
                                     //    (bulkhead/forwarded_mmio.hpp)
    MmioRaise = kVendorBase | 0x79,  // x1 = the same cap: the client's virtual SPI for the device
};

// Every function above: the entry path answers any other vendor-range ID NotSupported before it
// decodes anything (kernel/calls/fast_call.hpp; a unit test holds this list to decode_call).
inline constexpr Function kFunctions[] = {
    Function::AbiVersion,     Function::ConsoleWrite,       Function::PartitionInfo,    Function::CapIdentify,
    Function::CapCopy,        Function::CapMint,            Function::CapMove,          Function::CapDelete,
    Function::CapRevoke,      Function::FrameMap,           Function::FrameUnmap,       Function::NotificationSignal,
    Function::NotificationWait, Function::NotificationPoll, Function::PartitionStop,    Function::PartitionRestart,
    Function::IrqBind,        Function::IrqAck,             Function::IrqUnbind,        Function::AuditRead,
    Function::DmaStreamBind,  Function::DmaStreamUnbind,  Function::MmioReply,        Function::MmioRaise,
};

// 6: MmioReply, MmioRaise (0x78-0x79), for servers of forwarded MMIO windows; version 5's calls
// are unchanged.
// 5: DmaStreamBind, DmaStreamUnbind (0x70-0x71); CapIdentify's x5 also says whether a DmaStream
// cap is bound; version 4's calls are otherwise unchanged.
// 4: AuditRead (0x60); version 3's calls are unchanged.
// 3: IrqBind, IrqAck, IrqUnbind (0x50-0x52); version 2's calls are unchanged.
inline constexpr u64 kAbiVersion = 6;
inline constexpr unsigned kConsoleChunk = 40;  // 5 registers of 8 bytes
inline constexpr unsigned kRevokeBudget = 64;  // deletions per CapRevoke call

// PSCI 1.1 function IDs that partitions may call (SMC or HVC); the kernel emulates them per
// partition: SYSTEM_OFF stops the calling partition, SYSTEM_RESET restarts it.
// CPU_SUSPEND, CPU_ON and AFFINITY_INFO exist as SMC64 (0xC4..) and SMC32 (0x84..) calls; the
// SMC32 ones take 32-bit arguments.
namespace psci {
inline constexpr u64 kVersion = 0x8400'0000;
inline constexpr u64 kCpuSuspend = 0xC400'0001;
inline constexpr u64 kCpuSuspend32 = 0x8400'0001;
inline constexpr u64 kCpuOff = 0x8400'0002;
inline constexpr u64 kCpuOn = 0xC400'0003;
inline constexpr u64 kCpuOn32 = 0x8400'0003;
inline constexpr u64 kAffinityInfo = 0xC400'0004;
inline constexpr u64 kAffinityInfo32 = 0x8400'0004;
inline constexpr u64 kMigrateInfoType = 0x8400'0006;
inline constexpr u64 kSystemOff = 0x8400'0008;
inline constexpr u64 kSystemReset = 0x8400'0009;
inline constexpr u64 kFeatures = 0x8400'000A;
inline constexpr i64 kSuccess = 0;
inline constexpr i64 kNotSupported = -1;
inline constexpr i64 kInvalidParameters = -2;
inline constexpr i64 kDenied = -3;
inline constexpr i64 kAlreadyOn = -4;
inline constexpr i64 kOnPending = -5;
inline constexpr i64 kInvalidAddress = -9;
// AFFINITY_INFO results and MIGRATE_INFO_TYPE's "no Trusted OS that needs migrating".
inline constexpr i64 kAffinityOn = 0;
inline constexpr i64 kAffinityOff = 1;
inline constexpr i64 kAffinityOnPending = 2;
inline constexpr i64 kMigrationNotRequired = 2;
}  // namespace psci

}  // namespace bh::hvc

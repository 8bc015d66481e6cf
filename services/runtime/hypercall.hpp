// Guest-side hypercall wrappers: `hvc #0` with the SMC Calling Convention, one inline function per
// function of the Bulkhead ABI (kernel/include/bulkhead/hypercall.hpp; docs/abi.md is the
// reference) plus the PSCI calls a partition may make. The kernel emulates PSCI per partition:
// SYSTEM_OFF stops the calling partition, SYSTEM_RESET restarts it, CPU_ON starts one of its vCPUs.
#pragma once

#include <bulkhead/hypercall.hpp>
#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>

namespace bh::rt {

// What a call returns: x0 (status, 0 or a negative error) and x1..x7 (results).
struct SmcResult {
    i64 status;
    u64 r1, r2, r3, r4, r5, r6, r7;
    constexpr bool ok() const { return status == 0; }
};

// The raw call. x8..x17 are caller-saved in the AAPCS64 and may be clobbered under SMCCC v1.0, so
// they are declared clobbered; x18 and x19..x30 are preserved by the kernel.
inline SmcResult smccc(u64 x0, u64 x1 = 0, u64 x2 = 0, u64 x3 = 0, u64 x4 = 0, u64 x5 = 0,
                       u64 x6 = 0, u64 x7 = 0) {
    register u64 r0 asm("x0") = x0;
    register u64 r1 asm("x1") = x1;
    register u64 r2 asm("x2") = x2;
    register u64 r3 asm("x3") = x3;
    register u64 r4 asm("x4") = x4;
    register u64 r5 asm("x5") = x5;
    register u64 r6 asm("x6") = x6;
    register u64 r7 asm("x7") = x7;
    asm volatile("hvc #0"
                 : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5), "+r"(r6), "+r"(r7)
                 :
                 : "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "memory");
    return SmcResult{static_cast<i64>(r0), r1, r2, r3, r4, r5, r6, r7};
}

// A Bulkhead hypercall: x1 is the address (cptr) of the invoked capability in the caller's CSpace,
// 0 for the calls that invoke none (AbiVersion, ConsoleWrite, PartitionInfo).
inline SmcResult hypercall(hvc::Function fn, u64 cap = 0, u64 a2 = 0, u64 a3 = 0, u64 a4 = 0,
                           u64 a5 = 0, u64 a6 = 0, u64 a7 = 0) {
    return smccc(static_cast<u64>(fn), cap, a2, a3, a4, a5, a6, a7);
}

// ---------------------------------------------------------------- Bulkhead functions

// The kernel's ABI version (hvc::kAbiVersion when the guest matches), or 0 if the call failed.
inline u64 abi_version() {
    SmcResult r = hypercall(hvc::Function::AbiVersion);
    return r.ok() ? r.r1 : 0;
}

// Writes `length` bytes to the partition's console. The bytes travel in registers: each call
// carries up to kConsoleChunk bytes, packed little-endian into x3..x7 (byte i of the chunk is
// bits [8*(i%8), 8*(i%8)+8) of x(3 + i/8)), with x1 = 0 and x2 = the chunk's length. The text is
// read one byte at a time, so it may have any alignment (the MMU is off: Device memory).
// Returns 0, or the first error status the kernel reported.
inline i64 console_write(const char* text, usize length) {
    while (length != 0) {
        const usize n = length < hvc::kConsoleChunk ? length : hvc::kConsoleChunk;
        u64 words[5] = {0, 0, 0, 0, 0};
        for (usize i = 0; i < n; ++i) {
            words[i / 8] |= static_cast<u64>(static_cast<u8>(text[i])) << (8 * (i % 8));
        }
        SmcResult r = hypercall(hvc::Function::ConsoleWrite, 0, n, words[0], words[1], words[2],
                                words[3], words[4]);
        if (!r.ok()) return r.status;
        text += n;
        length -= n;
    }
    return 0;
}

struct PartitionInfo {
    i64 status;        // 0 when the fields below are valid
    u64 partition;     // index of the calling partition
    u64 vcpu;          // index of the calling vCPU within its partition
    u64 vcpus;         // number of vCPUs the partition has
    u64 restarts;      // how many times the partition has been restarted
    u64 cspace_radix;  // radix of the partition's CSpace root: cptrs are 0 .. 2^radix - 1
};

inline PartitionInfo partition_info() {
    SmcResult r = hypercall(hvc::Function::PartitionInfo);
    return PartitionInfo{r.status, r.r1, r.r2, r.r3, r.r4, r.r5};
}

// ---------------------------------------------------------------- capabilities
// A cptr is a slot index of the partition's CSpace root CNode (one level: the kernel resolves it
// with depth = the root's radix, so any bit at or above the radix is InvalidArgument). Each call
// invokes the cap at x1; the results are x0 (status) and the registers listed per call, and the
// kernel preserves every other register. docs/abi.md lists every error status and its cause.

// Object types (kernel/caps/capability.hpp, ObjectType; ABI numbers, append only).
namespace cap_type {
inline constexpr u64 kNull = 0;  // an empty slot
inline constexpr u64 kUntyped = 1;
inline constexpr u64 kCNode = 2;
inline constexpr u64 kPartition = 3;
inline constexpr u64 kVcpu = 4;
inline constexpr u64 kFrame = 5;
inline constexpr u64 kDeviceMmio = 6;
inline constexpr u64 kIrqHandler = 7;
inline constexpr u64 kNotification = 8;
inline constexpr u64 kChannel = 9;
inline constexpr u64 kDmaStream = 10;
}  // namespace cap_type

// Rights bits (kernel/caps/rights.hpp, Rights; ABI, never renumbered): CapMint's mask and
// CapIdentify's rights.
namespace rights {
inline constexpr u64 kRead = 1;
inline constexpr u64 kWrite = 2;
inline constexpr u64 kExecute = 4;
inline constexpr u64 kGrant = 8;    // may copy/mint this cap
inline constexpr u64 kControl = 16;
inline constexpr u64 kAll = kRead | kWrite | kExecute | kGrant | kControl;
}  // namespace rights

// FrameMap attributes (x3). Each needs the matching right on the cap: R Read, W Write, X Execute.
namespace map_attr {
inline constexpr u64 kRead = 1;
inline constexpr u64 kWrite = 2;
inline constexpr u64 kExecute = 4;
}  // namespace map_attr

inline constexpr i64 status_value(Status s) { return static_cast<i64>(s); }

// CapIdentify: what the cap in slot `cptr` is. An empty slot is status 0 with type kNull and
// every other field 0.
struct CapInfo {
    i64 status;     // 0 when the fields below are valid
    u64 type;       // cap_type::*
    u64 rights;     // rights::* bits
    u64 badge;      // Notification/Channel: 0 = unbadged
    u64 size_bits;  // log2 bytes (Frame: 12 or 21); CNode: the radix
    bool mapped;    // Frame/DeviceMmio/Channel: the cap maps its object somewhere
    u64 ipa;        // where, when mapped (0 otherwise)
};

inline CapInfo cap_identify(u64 cptr) {
    SmcResult r = hypercall(hvc::Function::CapIdentify, cptr);
    if (!r.ok()) return CapInfo{r.status, 0, 0, 0, 0, false, 0};
    return CapInfo{r.status, r.r1, r.r2, r.r3, r.r4, r.r5 != 0, r.r6};
}

// dest := src with the same rights and badge, unmapped, derived from src (needs Grant on src).
inline i64 cap_copy(u64 src, u64 dest) { return hypercall(hvc::Function::CapCopy, src, dest).status; }

// dest := src with rights src & rights_mask (never more), unmapped, derived from src (needs
// Grant on src). A non-zero badge may be set only on an unbadged Notification/Channel cap; 0
// keeps src's badge.
inline i64 cap_mint(u64 src, u64 dest, u64 rights_mask, u64 badge) {
    return hypercall(hvc::Function::CapMint, src, dest, rights_mask, badge).status;
}

// dest := src, src emptied; the cap keeps its derivation and its mapping.
inline i64 cap_move(u64 src, u64 dest) { return hypercall(hvc::Function::CapMove, src, dest).status; }

// Empties the slot (unmapping the cap first if it is mapped).
inline i64 cap_delete(u64 cptr) { return hypercall(hvc::Function::CapDelete, cptr).status; }

struct RevokeResult {
    i64 status;   // 0: no descendants left; Busy: call again (or, with deleted 0, stuck)
    u64 deleted;  // caps deleted (by this call, or by all of revoke_all's calls)
};

// One CapRevoke call: deletes at most hvc::kRevokeBudget descendants of the cap (not the cap).
inline RevokeResult cap_revoke(u64 cptr) {
    SmcResult r = hypercall(hvc::Function::CapRevoke, cptr);
    return RevokeResult{r.status, r.r1};
}

// Calls CapRevoke until it stops returning Busy, summing the deletions. A Busy call that deleted
// nothing made no progress (the revoke cannot finish: see docs/capabilities.md, revoke) and ends
// the loop with status Busy instead of spinning forever.
inline RevokeResult revoke_all(u64 cptr) {
    RevokeResult total{0, 0};
    for (;;) {
        RevokeResult r = cap_revoke(cptr);
        total.status = r.status;
        if (r.status == 0 || r.status == status_value(Status::Busy)) total.deleted += r.deleted;
        if (r.status != status_value(Status::Busy) || r.deleted == 0) return total;
    }
}

// Maps the Frame/DeviceMmio/Channel cap's object at `ipa` in the caller's partition with `attrs`
// (map_attr::* bits, each needing the matching right). A cap maps at most one place. A channel
// (bhcc grants its writers Read|Write, its readers Read) is mapped like a frame of its size.
inline i64 frame_map(u64 cptr, u64 ipa, u64 attrs) {
    return hypercall(hvc::Function::FrameMap, cptr, ipa, attrs).status;
}

// Removes the cap's mapping from the caller's partition.
inline i64 frame_unmap(u64 cptr) { return hypercall(hvc::Function::FrameUnmap, cptr).status; }

// ---------------------------------------------------------------- notifications
// `cptr` names a Notification cap. bhcc grants each signaller of a `/notifications` entry a
// Write cap badged with its own bit (1 << its position in `signallers`) and the waiter a Read
// cap (docs/system-description.md). Errors: InvalidArgument when the slot holds no Notification
// cap, Denied without the right.

// ORs the cap's badge (1 if unbadged) into the notification's word and wakes its waiter, if
// any. Needs Write. Returns Ok whatever the receiver's state (the signaller learns nothing).
inline i64 notification_signal(u64 cptr) {
    return hypercall(hvc::Function::NotificationSignal, cptr).status;
}

struct NotificationWord {
    i64 status;  // 0 when `word` is valid
    u64 word;    // the OR of the badges signalled since the last wait or poll (0: none)
};

// Blocks the calling vCPU until the word is non-zero, then returns it and clears it. Needs
// Read. Busy when another vCPU already waits on it; NotFound when the object is destroyed
// while waiting.
inline NotificationWord notification_wait(u64 cptr) {
    SmcResult r = hypercall(hvc::Function::NotificationWait, cptr);
    return NotificationWord{r.status, r.ok() ? r.r1 : 0};
}

// Returns the word and clears it, without blocking (word 0: nothing was signalled). Needs Read.
inline NotificationWord notification_poll(u64 cptr) {
    SmcResult r = hypercall(hvc::Function::NotificationPoll, cptr);
    return NotificationWord{r.status, r.ok() ? r.r1 : 0};
}

// ---------------------------------------------------------------- interrupts
// `irq` names an IrqHandler cap (Control), one per entry of the partition's `interrupts`
// property (docs/system-description.md). Errors: InvalidArgument when a slot holds the wrong
// type (or badge is 0), Denied without the right.

// Binds the SPI to the notification `notification` (a Read cap: one this partition waits on)
// and routes it to the calling vCPU's core: when the device raises it, `badge` is ORed into the
// notification's word, and the SPI stays off until irq_ack.
inline i64 irq_bind(u64 irq, u64 notification, u64 badge) {
    return hypercall(hvc::Function::IrqBind, irq, notification, badge).status;
}

// Lets the SPI in again after a delivery: call once the device no longer asserts it (or does so
// for a new event). NotFound when it is not bound.
inline i64 irq_ack(u64 irq) { return hypercall(hvc::Function::IrqAck, irq).status; }

// Disables the SPI and forgets the binding. NotFound when it is not bound.
inline i64 irq_unbind(u64 irq) { return hypercall(hvc::Function::IrqUnbind, irq).status; }

// ---------------------------------------------------------------- DMA streams
// `stream` names a DmaStream cap (Control), one per `/pci` function the partition owns
// (docs/system-description.md). The function's DMA aborts until the stream is bound; bus
// mastering (its command register's bit 2) takes effect only while it is. Errors: InvalidArgument
// when the slot holds another type, Denied without Control.

// The function's DMA translates through this partition's own stage 2 from now on (device
// addresses are this partition's IPAs). Exists when already bound; NotSupported without an SMMU.
inline i64 dma_stream_bind(u64 stream) { return hypercall(hvc::Function::DmaStreamBind, stream).status; }

// The function's DMA aborts again, and its bus mastering is switched off. NotFound when this cap
// did not bind it. Deleting or revoking the cap that bound it, and a restart, unbind too.
inline i64 dma_stream_unbind(u64 stream) { return hypercall(hvc::Function::DmaStreamUnbind, stream).status; }

// ---------------------------------------------------------------- partition control
// `cptr` names a Partition cap with the Control right (bhcc grants one per entry of the
// partition's `controls` property). Errors: InvalidArgument when the slot is empty or holds no
// Partition cap, Denied without Control, Busy while another core is taking the partition down.
// Either call may name the caller's own partition: then it does not return.

// Stops the partition for good (until a restart). NotFound when it is already stopped.
// Forwarded MMIO, for the server of a client's window (docs/abi.md "Forwarded MMIO"): `client`
// is the client's Partition cap (Write). MmioReply completes the access the client's vCPU `vcpu`
// is parked on (request `sequence`) with `value` (a load's); MmioRaise raises the device's SPI.
inline i64 mmio_reply(u64 client, u64 vcpu, u64 sequence, u64 value) {
    return hypercall(hvc::Function::MmioReply, client, vcpu, sequence, value).status;
}
inline i64 mmio_raise(u64 client) { return hypercall(hvc::Function::MmioRaise, client).status; }

inline i64 partition_stop(u64 cptr) { return hypercall(hvc::Function::PartitionStop, cptr).status; }

// Restarts the partition from a clean state (memory scrubbed, images reloaded, vCPU 0 at its
// entry); a stopped partition comes back.
inline i64 partition_restart(u64 cptr) { return hypercall(hvc::Function::PartitionRestart, cptr).status; }

// ---------------------------------------------------------------- PSCI (emulated by the kernel)

// AuditRead (docs/audit.md): the oldest entry of the kernel's audit log at or after `cursor`,
// through an AuditLog cap with Read. Ok: r1 = sequence, r2 = event | detail << 8 | core << 16 |
// partition+1 << 32, r3/r4 = the event's words, r5 = counter time, r6 = entries lost before it,
// r7 = overwritten since boot. NotFound: nothing there yet; r1 = the cursor to wait from.
inline SmcResult audit_read(u64 cptr, u64 cursor) { return hypercall(hvc::Function::AuditRead, cptr, cursor); }

// PSCI version: major in bits [31:16], minor in [15:0]; negative if not supported.
inline i64 psci_version() { return smccc(hvc::psci::kVersion).status; }

inline i64 psci_features(u64 function_id) {
    return smccc(hvc::psci::kFeatures, function_id).status;
}

// Stops the calling partition (the machine powers off once every partition has stopped).
[[noreturn]] inline void system_off() {
    smccc(hvc::psci::kSystemOff);
    for (;;) asm volatile("wfi");
}

// Restarts the calling partition; returns only if the kernel refused (the error status).
inline i64 system_reset() { return smccc(hvc::psci::kSystemReset).status; }

// Starts the vCPU whose MPIDR affinity is `target` at `entry` (an IPA: the MMU is off) with
// `context_id` in x0. See start_secondary() for the runtime's own entry point.
inline i64 cpu_on(u64 target, u64 entry, u64 context_id) {
    return smccc(hvc::psci::kCpuOn, target, entry, context_id).status;
}

// Stops the calling vCPU; returns only on error.
inline i64 cpu_off() { return smccc(hvc::psci::kCpuOff).status; }

// 0 = on, 1 = off, 2 = on pending; negative on error.
inline i64 affinity_info(u64 target) {
    return smccc(hvc::psci::kAffinityInfo, target, 0).status;
}

}  // namespace bh::rt

// The runtime's secondary entry (start.S): sets up the vCPU's stack and vectors, then calls
// guest_secondary_main(context_id). Define guest_secondary_main in the guest to use it.
extern "C" char _start_secondary[];
extern "C" void guest_secondary_main(bh::u64 context_id);

namespace bh::rt {
inline i64 start_secondary(u64 target, u64 context_id) {
    return cpu_on(target, reinterpret_cast<u64>(_start_secondary), context_id);
}
}  // namespace bh::rt

// The security audit log (docs/audit.md): a bounded record of security events — faults
// contained, hostile calls refused, partitions stopped and restarted, the boot manifest's
// verdict — with a sequence number, the core and the counter time of each, printed on the
// console and readable by a partition that holds an AuditLog capability (AuditRead,
// docs/abi.md).
//
// Recording never waits and never fails: each core writes only its own ring (EL2 runs with
// interrupts masked, so a core never records concurrently with itself), so recording is a
// fetch-and-add for the sequence number and a fixed number of stores. A full ring overwrites
// its oldest entry; a reader sees exactly how many entries it missed (`lost`) and the total
// overwritten so far is kept, so overflow is counted, never silent.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <bulkhead/types.hpp>
#include <lib/atomic.hpp>

namespace bh {

class Partition;

namespace audit {

// Values are ABI (AuditRead x2 bits [7:0]): append only.
enum class Event : u8 {
    FaultContained = 1,      // detail: ExitKind; a = ESR, b = faulting IPA (aborts) or 0
    CallRefused = 2,         // detail: CallClass; a = function ID (x0 in), b = result (x0 out)
    PartitionStopped = 3,    // detail: StopReason; a = restarts so far
    PartitionRestarted = 4,  // detail: StopReason; a = restart count
    ManifestRejected = 5,    // a = op index (~0: the whole manifest), b = Status
    Sealed = 6,              // a = partitions started
    SmmuEvent = 7,           // a DMA stream's fault (the SMMU's event queue): detail: 1 write, 0 read;
                             // a = stream ID, b = the device's address (an IPA of the stream's
                             // partition; the partition is 0 when the stream was bound to none)
};

// The family of a refused call (detail of CallRefused): what a reader groups refusals by.
enum class CallClass : u8 {
    Unknown = 1,       // not a function of the ABI: unknown SMCCC ID, HVC #imm != 0
    Info = 2,          // AbiVersion, ConsoleWrite, PartitionInfo
    Capability = 3,    // CapIdentify .. CapRevoke
    Memory = 4,        // FrameMap, FrameUnmap
    Notification = 5,  // NotificationSignal/Wait/Poll
    Control = 6,       // PartitionStop, PartitionRestart
    Interrupt = 7,     // IrqBind, IrqAck, IrqUnbind
    Psci = 8,          // emulated PSCI
    Audit = 9,         // AuditRead
    Dma = 10,          // DmaStreamBind, DmaStreamUnbind
    Forward = 11,      // MmioReply, MmioRaise
};
CallClass call_class(u64 function_id);
// Whether a call's result (x0 out) refuses it: any error, but for the two that mean "call again"
// or "nothing yet" (CapRevoke's Busy with progress, AuditRead's NotFound at the head).
bool is_refusal(u64 function_id, u64 result);
const char* event_name(Event e);
const char* call_class_name(CallClass c);

struct Entry {
    u64 sequence;
    u64 time;  // arch::counter_now() when recorded
    Event event;
    u8 detail;
    u8 core;
    u8 reserved;
    u32 partition_plus1;  // 0: the kernel itself (boot)
    u64 a;
    u64 b;
};
static_assert(sizeof(Entry) == 40);

// AuditRead's x2: event | detail << 8 | core << 16 | partition_plus1 << 32.
constexpr u64 pack_header(const Entry& e) {
    return static_cast<u64>(e.event) | static_cast<u64>(e.detail) << 8 | static_cast<u64>(e.core) << 16 |
           static_cast<u64>(e.partition_plus1) << 32;
}

struct ReadResult {
    Status status;  // Ok: `entry` holds the oldest recorded entry >= the cursor; NotFound: none yet
    Entry entry;
    u64 next;        // the cursor of the next read (entry.sequence + 1, or where to wait from)
    u64 lost;        // sequence numbers in [cursor, entry or next) whose entries were overwritten
    u64 overwritten;  // entries overwritten since boot, all cores
};

// One ring per core of kPerCore entries; sequence numbers are global.
class Ring {
public:
    static constexpr u32 kPerCore = 64;

    // Records on `core`'s ring (the calling core). Never waits.
    u64 record(unsigned core, Event event, u8 detail, u32 partition_plus1, u64 a, u64 b, u64 time);
    // The oldest entry whose sequence is >= `cursor` among those that can no longer change.
    ReadResult read(u64 cursor) const;
    u64 recorded() const { return head_.load(); }
    void clear();  // host tests only: the kernel's ring starts zeroed in .bss

private:
    struct Slot {
        Atomic<u64> stamp;  // 0: empty; 2(s+1)+1: entry s being written; 2(s+1): entry s complete
        Atomic<u64> time;
        Atomic<u64> header;
        Atomic<u64> a;
        Atomic<u64> b;
    };
    struct CoreRing {
        Atomic<u64> claim;  // 0: idle; else 1 + a lower bound of the sequence this core is recording
        Atomic<u64> count;  // entries this core has recorded (written by this core only)
        Slot slots[kPerCore];
    };
    Atomic<u64> head_;  // the next sequence number
    CoreRing cores_[platform::kMaxCores];
};

// The kernel's log. The event functions record and echo the event on the console; refusals
// are echoed only while their partition's count is at most 4 or a power of two, so that a
// partition flooding refused calls cannot flood the console (the ring has every one).
Ring& log();
void reset();  // host tests: empties the log and the per-partition refusal counts
void fault_contained(const Partition& p, unsigned core, u8 exit_kind, u64 esr, u64 ipa);
void call_refused(const Partition& p, unsigned core, u64 function_id, u64 result);
void partition_down(const Partition& p, unsigned core, bool restart, u8 reason, u64 restarts);
void manifest_rejected(unsigned core, u64 op_index, Status status);
void sealed(unsigned core, u32 partitions);
// `p`: the partition the faulting stream was bound to, or nullptr.
void smmu_fault(const Partition* p, unsigned core, u32 stream, u64 address, bool write);

}  // namespace audit
}  // namespace bh

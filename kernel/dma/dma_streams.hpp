// DMA containment (design.md invariant 3; docs/capabilities.md "DMA streams"): a PCIe function's
// DMA is its stream (requester ID = SMMU stream ID), named by a DmaStream capability that the boot
// program creates together with the function's assignment (AssignPciFunction) and grants to the
// function's owner. The stream aborts until the holder binds it (DmaStreamBind): then it
// translates through the holder's own stage-2 tables with its VMID, so the device reaches exactly
// what its partition reaches. The binding is recorded on the cap that made it (Capability::mapped,
// like a frame's mapping), so deleting or revoking that cap unbinds; so do DmaStreamUnbind and a
// stop or restart of the partition, before its memory is scrubbed. Unbinding clears the function's
// bus mastering, aborts the stream and removes the VMID's translations from the SMMU's TLB,
// complete (CMD_SYNC) before it returns.
//
// A fault the SMMU records for a bound stream is its partition's fault: the stream is unbound at
// once (a device flooding faults stops after its first), the fault reported against the partition
// (console and security audit log), and the partition stopped or restarted (its restart policy)
// on its own cores: its running vCPUs are kicked (stop_if_device_faulted, calls/guest_exit.hpp).
// Work per SMMU interrupt is bounded (kFaultBudget records) and records the SMMU lost to a full
// queue are counted.
//
// Locking: the capability lock, like interrupts: capability calls and the unmap hook hold it;
// partition_stopped and service take it themselves.
#pragma once

#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <caps/cap_lock.hpp>
#include <caps/cap_slot.hpp>
#include <lib/atomic.hpp>
#include <lib/ids.hpp>

namespace bh {

class Partition;
class PartitionTable;
class PciFunctions;

class DmaStreamTable {
public:
    static constexpr u32 kStreams = platform::kStreamCount;
    static constexpr u32 kFaultBudget = 32;  // fault records taken per SMMU interrupt
    // Streams reported per call, each with a console line and an audit event (audit::smmu_fault) for
    // its first record; the rest are counted: a device faults on every word of a transfer, and the
    // audit rings must not be flooded out by one device.
    static constexpr u32 kReportBudget = 4;

    struct Stream {
        bool created = false;  // its DmaStream cap exists (made once, with the function's assignment)
        PartitionId owner;     // the partition its function is assigned to
        PartitionId bound;     // the partition whose stage 2 it translates through; none: abort
        u16 vmid = 0;          // that partition's VMID while bound
    };

    constexpr DmaStreamTable(const PartitionTable& partitions, PciFunctions& pci) : partitions_(partitions), pci_(pci) {}

    // Boot: dest := the DmaStream cap (Control, Grant) of stream `sid`, whose function is
    // assigned to partition `owner`.
    Outcome create(CapSlot& dest, u32 sid, PartitionId owner);

    // --- capability calls: each check_* is the decode half of the call after it, which then
    // cannot fail. `cap` / `slot` is the invoked cap, `caller` the calling partition.
    // InvalidArgument not a DmaStream cap; Denied without Control, or the function is not the
    // caller's; NotSupported no usable SMMU; Exists already bound.
    Outcome check_bind(const Capability& cap, const Partition& caller, const CapLockHeld&) const;
    // The stream translates through `caller`'s stage 2; the cap records the binding. Fault
    // records still queued are taken first (contained as service does), so that none made under
    // an earlier binding of the stream is blamed on this one.
    void bind(CapSlot& slot, Partition& caller, const CapLockHeld&);
    // InvalidArgument / Denied as bind; NotFound not bound by this cap.
    Outcome check_unbind(const Capability& cap, const Partition& caller, const CapLockHeld&) const;
    void unbind(CapSlot& slot, const CapLockHeld&);
    // The bound cap is being deleted (the kernel's unmap hook): the stream aborts.
    void cap_deleted(const Capability& cap, const CapLockHeld&);

    // A partition stops or restarts: its streams abort before its memory is scrubbed, and the
    // caps in its CSpace forget their bindings (its next run binds anew). Takes the lock.
    void partition_stopped(Partition& p);

    // The SMMU's event or GERROR interrupt (kernel_entry::interrupt): takes at most kFaultBudget
    // fault records, contains each as described above, and reports global errors. Takes the lock.
    void service();
    // Whether some partition's device faulted and that partition has not been stopped for it yet.
    // Every exit asks first, so that the common case (no device has faulted) costs one load.
    bool fault_pending() const { return pending_faults_.load() != 0; }
    // True once for a partition whose device faulted since the last call: the caller (one of its
    // own cores, at an exit or before it enters one of its vCPUs) stops it.
    [[nodiscard]] bool take_pending_fault(PartitionId partition);

    const Stream& stream(u32 sid) const { return streams_[sid]; }
    u64 faults() const { return faults_; }
    u64 lost() const { return lost_; }  // queue overflows seen (each may have lost many records)
    u64 global_errors() const { return global_errors_; }

private:
    void abort_stream(u32 sid, const CapLockHeld& held);
    // Takes the queued fault records and contains each.
    void drain_faults(const CapLockHeld& held);
    void contain(u32 sid, Partition& p, const CapLockHeld& held);

    const PartitionTable& partitions_;
    PciFunctions& pci_;
    Stream streams_[kStreams] = {};
    Atomic<u32> pending_faults_;  // bit per partition index (manifest::kMaxPartitions <= 32)
    u64 faults_ = 0;
    u64 lost_ = 0;
    u64 global_errors_ = 0;
};

}  // namespace bh

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
// once (a device flooding faults stops after its first), the fault reported against the partition,
// and the partition stopped or restarted (its restart policy) at its next exit, on its own core:
// its running vCPUs are kicked. Work per SMMU interrupt is bounded (kFaultBudget records) and
// records the SMMU lost to a full queue are counted.
//
// Locking: cap_lock, like interrupts: capability calls hold it; partition_stopped and service
// take it themselves.
#pragma once

#include <arch/arch.hpp>
#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <caps/cap_slot.hpp>

namespace bh {

class Partition;
class PciFunctions;
class System;

class DmaStreamTable {
public:
    static constexpr u32 kStreams = platform::kStreamCount;
    static constexpr u32 kFaultBudget = 32;   // fault records taken per SMMU interrupt
    static constexpr u32 kReportBudget = 4;   // streams reported with a line each per call; the rest counted

    struct Stream {
        bool created = false;    // its DmaStream cap exists (made once, with the function's assignment)
        u32 owner_plus1 = 0;     // the partition its function is assigned to
        u32 bound_plus1 = 0;     // the partition whose stage 2 it translates through; 0: abort
        u16 vmid = 0;            // that partition's VMID while bound
    };

    // Boot: dest := the DmaStream cap (Control, Grant) of stream `sid`, whose function is
    // assigned to partition `owner`. OutOfRange sid; Exists already created or dest occupied.
    Status create(CapSlot& dest, u32 sid, u32 owner);

    // --- capability calls (cap_lock held); `slot` holds the invoked cap.
    // The stream translates through `caller`'s stage 2; the cap records the binding. Fault
    // records still queued are taken first (contained as service does), so that none made under
    // an earlier binding of the stream is blamed on this one.
    //   InvalidArgument not a DmaStream cap; Denied without Control, or the function is not the
    //   caller's; NotSupported no usable SMMU; Exists already bound.
    Status bind(CapSlot& slot, Partition& caller, System& system);
    // Undoes the binding this cap made. InvalidArgument / Denied as bind; NotFound not bound by it.
    Status unbind(CapSlot& slot, Partition& caller, PciFunctions& pci);
    // The bound cap is being deleted (System's unmap hook): the stream aborts.
    void cap_deleted(const Capability& cap, PciFunctions& pci);

    // A partition stops or restarts: its streams abort before its memory is scrubbed, and the
    // caps in its CSpace forget their bindings (its next run binds anew). Takes cap_lock.
    void partition_stopped(Partition& p, PciFunctions& pci);

    // The SMMU's event or GERROR interrupt (the arch IRQ path): takes at most kFaultBudget fault
    // records, contains each as described above, and reports global errors. Takes cap_lock.
    void service(System& system);
    // True once for a partition whose device faulted since the last call: the caller (its own
    // core, at an exit) stops it.
    bool take_pending_fault(u32 partition);

    const Stream& stream(u32 sid) const { return streams_[sid]; }
    u64 faults() const { return faults_; }
    u64 lost() const { return lost_; }  // queue overflows seen (each may have lost many records)
    u64 global_errors() const { return global_errors_; }

private:
    void abort_stream(u32 sid, PciFunctions& pci);
    // Takes the queued fault records and contains each (cap_lock held).
    void drain_faults(System& system);

    Stream streams_[kStreams] = {};
    u32 pending_faults_ = 0;  // bit per partition index (manifest::kMaxPartitions <= 32)
    u64 faults_ = 0;
    u64 lost_ = 0;
    u64 global_errors_ = 0;
};

}  // namespace bh

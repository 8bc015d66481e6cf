#include <arch/arch.hpp>
#include <arch/smmu.hpp>
#include <audit/audit_log.hpp>
#include <caps/cnode.hpp>
#include <caps/cspace.hpp>
#include <dma/dma_streams.hpp>
#include <ipc/notification.hpp>
#include <lib/format.hpp>
#include <partition/partition_table.hpp>
#include <pci/pci_functions.hpp>

namespace bh {

namespace {

static_assert(manifest::kMaxPartitions <= 32, "pending faults are one bit per partition");

// "00:03.0": the function a stream belongs to (bus 0).
struct FunctionName {
    char text[8];
    explicit FunctionName(u32 sid) {
        constexpr char kDigits[] = "0123456789abcdef";
        const u32 device = platform::pci_device(sid);
        text[0] = '0';
        text[1] = '0';
        text[2] = ':';
        text[3] = kDigits[device >> 4];
        text[4] = kDigits[device & 0xf];
        text[5] = '.';
        text[6] = static_cast<char>('0' + platform::pci_function(sid));
        text[7] = '\0';
    }
};

// The DmaStream cap a call invokes: InvalidArgument for another type (or a corrupt stream
// number), Denied without Control.
Outcome check_cap(const Capability& c) {
    if (c.type != ObjectType::DmaStream || c.stream() >= DmaStreamTable::kStreams)
        return refuse(Status::InvalidArgument, "not a DmaStream cap");
    if (!c.rights.has(Rights::control())) return refuse(Status::Denied, "the cap has no Control right");
    return Outcome();
}

// The caps of `p`'s CSpace that record a binding of stream `sid` forget it.
void forget_cap_bindings(const Partition& p, u32 sid) {
    CapSlot* slots = caps::cnode_slots(p.cspace_root);
    const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
    for (u64 k = 0; k < count; ++k) {
        Capability& c = slots[k].cap;
        if (c.type == ObjectType::DmaStream && c.stream() == sid && c.mapped()) c.set_mapping(PartitionId::none(), 0);
    }
}

u32 bit(PartitionId p) { return 1u << p.raw(); }

}  // namespace

Outcome DmaStreamTable::create(CapSlot& dest, u32 sid, PartitionId owner) {
    if (sid >= kStreams) return refuse(Status::OutOfRange, "no such DMA stream");
    Stream& s = streams_[sid];
    if (s.created) return refuse(Status::Exists, "the stream's cap was made already");
    if (!dest.empty()) return refuse(Status::Exists, "slot occupied");
    Capability cap{};
    cap.type = ObjectType::DmaStream;
    cap.rights = caps::full_rights(ObjectType::DmaStream);
    cap.object = sid;
    if (const Status status = caps::create_root(dest, cap); !ok(status))
        return refuse(status, "cannot install the DmaStream cap");
    s.created = true;
    s.owner = owner;
    return Outcome();
}

Outcome DmaStreamTable::check_bind(const Capability& cap, const Partition& caller, const CapLockHeld&) const {
    if (const Outcome o = check_cap(cap); !o.ok()) return o;
    const Stream& s = streams_[cap.stream()];
    if (!s.created || s.owner != caller.index) return refuse(Status::Denied, "the function is not the caller's");
    if (!arch::smmu_available()) return refuse(Status::NotSupported, "no SMMU that can translate DMA");
    if (!s.bound.is_none()) return refuse(Status::Exists, "the stream is bound already");
    return Outcome();
}

void DmaStreamTable::bind(CapSlot& slot, Partition& caller, const CapLockHeld& held) {
    // The stream is unbound (check_bind): whatever is queued for it was made under an earlier
    // binding, which has ended; taking it now keeps it from being blamed on this one.
    drain_faults(held);
    const u32 sid = slot.cap.stream();
    Stream& s = streams_[sid];
    s.bound = caller.index;
    s.vmid = caller.vmid;
    slot.cap.set_mapping(caller.index, 0);
    arch::smmu_stream_bind(sid, caller.stage2.root(), caller.vmid);
    pci_.bus_master_allowed(sid, true, held);
}

Outcome DmaStreamTable::check_unbind(const Capability& cap, const Partition& caller, const CapLockHeld&) const {
    if (const Outcome o = check_cap(cap); !o.ok()) return o;
    if (streams_[cap.stream()].owner != caller.index) return refuse(Status::Denied, "the function is not the caller's");
    if (!cap.mapped() || cap.mapped_partition() != caller.index) return refuse(Status::NotFound, "the cap bound nothing");
    return Outcome();
}

void DmaStreamTable::unbind(CapSlot& slot, const CapLockHeld& held) {
    abort_stream(slot.cap.stream(), held);
    slot.cap.set_mapping(PartitionId::none(), 0);
}

void DmaStreamTable::cap_deleted(const Capability& cap, const CapLockHeld& held) {
    if (cap.type != ObjectType::DmaStream || cap.stream() >= kStreams || !cap.mapped()) return;
    if (streams_[cap.stream()].bound == cap.mapped_partition()) abort_stream(cap.stream(), held);
}

// Device first (it stops issuing), then the SMMU (nothing issued before can still translate).
void DmaStreamTable::abort_stream(u32 sid, const CapLockHeld& held) {
    Stream& s = streams_[sid];
    if (s.bound.is_none()) return;
    pci_.bus_master_allowed(sid, false, held);
    arch::smmu_stream_abort(sid, s.vmid);
    s.bound = PartitionId::none();
    s.vmid = 0;
}

void DmaStreamTable::partition_stopped(Partition& p) {
    CapLockGuard guard(cap_lock);
    pci_.partition_stopped(p.index, guard.held());
    for (u32 sid = 0; sid < kStreams; ++sid) {
        if (streams_[sid].bound != p.index) continue;
        abort_stream(sid, guard.held());
        forget_cap_bindings(p, sid);
    }
    pending_faults_.fetch_and(~bit(p.index));
}

bool DmaStreamTable::take_pending_fault(PartitionId partition) {
    if ((pending_faults_.load() & bit(partition)) == 0) return false;  // another partition's
    return (pending_faults_.fetch_and(~bit(partition)) & bit(partition)) != 0;
}

void DmaStreamTable::service() {
    CapLockGuard guard(cap_lock);
    drain_faults(guard.held());
}

// The stream's partition is to blame: the stream aborts now, the partition stops at its next
// exit on one of its own cores (its running vCPUs leave their guests now; a parked one, say a
// driver waiting for its device's interrupt, which will not come, is made runnable, and its
// core stops the partition before entering it: kernel_entry::next_guest).
void DmaStreamTable::contain(u32 sid, Partition& p, const CapLockHeld& held) {
    abort_stream(sid, held);
    forget_cap_bindings(p, sid);
    pending_faults_.fetch_or(bit(p.index));
    for (u32 v = 0; v < p.vcpu_count; ++v) {
        if (!p.vcpus.bound(v)) continue;
        if (p.vcpus[v].load_state() == VcpuState::Running) arch::kick_core(p.vcpus[v].core.raw());
        notification_end_wait_for_stop(p.vcpus[v], held);
    }
}

void DmaStreamTable::drain_faults(const CapLockHeld& held) {
    arch::DmaFault records[kFaultBudget];
    u64 lost = 0;
    const u32 n = arch::smmu_take_faults(records, kFaultBudget, lost);
    // One line for the first record of each stream (at most kReportBudget streams): a device
    // usually faults on every word of a transfer before the kernel has seen the first record.
    u32 reported[kReportBudget];
    u32 lines = 0, unprinted = 0;
    for (u32 i = 0; i < n; ++i) {
        const arch::DmaFault& f = records[i];
        ++faults_;
        const Stream* s = f.sid < kStreams ? &streams_[f.sid] : nullptr;
        Partition* p = s != nullptr ? partitions_[s->bound] : nullptr;
        bool seen = false;
        for (u32 k = 0; k < lines; ++k) seen = seen || reported[k] == f.sid;
        if (seen || lines == kReportBudget) {
            ++unprinted;
        } else {
            reported[lines++] = f.sid;
            const FunctionName function(f.sid);
            const char* access = f.read ? "read" : "write";
            if (p != nullptr) {
                log("DMA FAULT partition '", p->name, "' stream ", Hex{f.sid}, " (", function.text, "): ", f.what, ", ",
                    access, " at IPA ", Hex{f.address}, "; stream aborted");
            } else {
                log("DMA FAULT stream ", Hex{f.sid}, " (", f.sid < kStreams ? function.text : "not on bus 0",
                    "), bound to no partition: ", f.what, ", ", access, " at ", Hex{f.address});
            }
            audit::smmu_fault(p, arch::current_core(), f.sid, f.address, !f.read);
        }
        if (p != nullptr) contain(f.sid, *p, held);
    }
    if (unprinted != 0) log("smmu: ", unprinted, " more DMA fault records (", faults_, " in all)");
    if (const u32 errors = arch::smmu_global_errors(); errors != 0) {
        ++global_errors_;
        // SFM_ERR (bit 8): the SMMU has stopped translating; it aborts every access from now on.
        log("smmu: global error ", Hex{errors}, (errors & (1u << 8)) != 0 ? " (service failure: every stream aborts)" : "");
    }
    if (lost != 0) {
        lost_ += lost;
        log("smmu: the event queue overflowed, fault records were lost (", lost_, " overflows in all)");
    }
}

}  // namespace bh

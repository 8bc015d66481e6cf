#include <dma_streams.hpp>
#include <lib/format.hpp>
#include <notification.hpp>
#include <pci_functions.hpp>
#include <system.hpp>

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
Status check_cap(const Capability& c) {
    if (c.type != ObjectType::DmaStream || c.stream() >= DmaStreamTable::kStreams) return Status::InvalidArgument;
    if (!c.rights.has(Rights::control())) return Status::Denied;
    return Status::Ok;
}

// The caps of `p`'s CSpace that record a binding of one of its streams forget it.
void forget_cap_bindings(const Partition& p, u32 sid) {
    CapSlot* slots = caps::cnode_slots(p.cspace_root);
    const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
    for (u64 k = 0; k < count; ++k) {
        Capability& c = slots[k].cap;
        if (c.type == ObjectType::DmaStream && c.stream() == sid && c.mapped()) c.set_mapping(0, 0);
    }
}

}  // namespace

Status DmaStreamTable::create(CapSlot& dest, u32 sid, u32 owner) {
    if (sid >= kStreams) return Status::OutOfRange;
    Stream& s = streams_[sid];
    if (s.created || !dest.empty()) return Status::Exists;
    Capability cap{};
    cap.type = ObjectType::DmaStream;
    cap.rights = caps::full_rights(ObjectType::DmaStream);
    cap.object = sid;
    const Status status = caps::create_root(dest, cap);
    if (!ok(status)) return status;
    s.created = true;
    s.owner_plus1 = owner + 1;
    return Status::Ok;
}

Status DmaStreamTable::bind(CapSlot& slot, Partition& caller, System& system) {
    if (const Status s = check_cap(slot.cap); !ok(s)) return s;
    const u32 sid = slot.cap.stream();
    Stream& s = streams_[sid];
    if (!s.created || s.owner_plus1 != caller.index + 1) return Status::Denied;
    if (!arch::smmu_available()) return Status::NotSupported;
    drain_faults(system);  // may end a binding: decide Exists after it
    if (s.bound_plus1 != 0) return Status::Exists;
    PciFunctions& pci = system.pci();
    s.bound_plus1 = caller.index + 1;
    s.vmid = caller.vmid;
    slot.cap.set_mapping(caller.index + 1, 0);
    arch::smmu_stream_bind(sid, caller.stage2.root(), caller.vmid);
    pci.bus_master_allowed(sid, true);
    return Status::Ok;
}

Status DmaStreamTable::unbind(CapSlot& slot, Partition& caller, PciFunctions& pci) {
    if (const Status s = check_cap(slot.cap); !ok(s)) return s;
    const u32 sid = slot.cap.stream();
    if (streams_[sid].owner_plus1 != caller.index + 1) return Status::Denied;
    if (!slot.cap.mapped() || slot.cap.mapped_partition_plus1() != caller.index + 1) return Status::NotFound;
    abort_stream(sid, pci);
    slot.cap.set_mapping(0, 0);
    return Status::Ok;
}

void DmaStreamTable::cap_deleted(const Capability& cap, PciFunctions& pci) {
    if (cap.type != ObjectType::DmaStream || cap.stream() >= kStreams || !cap.mapped()) return;
    if (streams_[cap.stream()].bound_plus1 == cap.mapped_partition_plus1()) abort_stream(cap.stream(), pci);
}

// Device first (it stops issuing), then the SMMU (nothing issued before can still translate).
void DmaStreamTable::abort_stream(u32 sid, PciFunctions& pci) {
    Stream& s = streams_[sid];
    if (s.bound_plus1 == 0) return;
    pci.bus_master_allowed(sid, false);
    arch::smmu_stream_abort(sid, s.vmid);
    s.bound_plus1 = 0;
    s.vmid = 0;
}

void DmaStreamTable::partition_stopped(Partition& p, PciFunctions& pci) {
    LockGuard guard(cap_lock);
    pci.partition_stopped(p.index);
    for (u32 sid = 0; sid < kStreams; ++sid) {
        if (streams_[sid].bound_plus1 != p.index + 1) continue;
        abort_stream(sid, pci);
        forget_cap_bindings(p, sid);
    }
    __atomic_and_fetch(&pending_faults_, ~(1u << p.index), __ATOMIC_ACQ_REL);
}

bool DmaStreamTable::take_pending_fault(u32 partition) {
    const u32 bit = 1u << partition;
    if ((__atomic_load_n(&pending_faults_, __ATOMIC_ACQUIRE) & bit) == 0) return false;  // the common case
    return (__atomic_fetch_and(&pending_faults_, ~bit, __ATOMIC_ACQ_REL) & bit) != 0;
}

void DmaStreamTable::service(System& system) {
    LockGuard guard(cap_lock);
    drain_faults(system);
}

void DmaStreamTable::drain_faults(System& system) {
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
        Partition* p = s != nullptr && s->bound_plus1 != 0 ? system.partition(s->bound_plus1 - 1) : nullptr;
        bool seen = false;
        for (u32 k = 0; k < lines; ++k) seen = seen || reported[k] == f.sid;
        if (seen || lines == kReportBudget) {
            ++unprinted;
        } else {
            reported[lines++] = f.sid;
            const FunctionName function(f.sid);
            if (p != nullptr) {
                log("DMA FAULT partition '", p->name, "' stream ", Hex{f.sid}, " (", function.text, "): ", f.what, ", ",
                    f.read ? "read" : "write", " at IPA ", Hex{f.address}, "; stream aborted");
            } else {
                log("DMA FAULT stream ", Hex{f.sid}, " (", f.sid < kStreams ? function.text : "not on bus 0",
                    "), bound to no partition: ", f.what, ", ", f.read ? "read" : "write", " at ", Hex{f.address});
            }
        }
        if (p == nullptr) continue;
        abort_stream(f.sid, system.pci());
        forget_cap_bindings(*p, f.sid);
        __atomic_or_fetch(&pending_faults_, 1u << p->index, __ATOMIC_ACQ_REL);
        // Its vCPUs leave their guests now and stop it there, on its own cores.
        for (u32 v = 0; v < p->vcpu_count; ++v)
            if (p->vcpus.bound(v) && p->vcpus[v].load_state() == VcpuState::Running) arch::kick_core(p->vcpus[v].core);
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

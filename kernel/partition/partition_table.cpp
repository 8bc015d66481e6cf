#include <arch/arch.hpp>
#include <boot/boot_space.hpp>
#include <partition/image_pieces.hpp>
#include <partition/partition_table.hpp>

namespace bh {

namespace {

bool same_name(const char* a, const char* b) {
    unsigned k = 0;
    while (k < manifest::kNameLength && a[k] == b[k] && a[k] != '\0') ++k;
    return k < manifest::kNameLength && a[k] == b[k];
}

// The console prefixes the kernel's lines with "[bulkhead]": no partition may carry that name.
constexpr char kKernelName[] = "bulkhead";

bool valid_name(const char* name) {
    if (name == nullptr || name[0] == '\0' || same_name(name, kKernelName)) return false;
    for (unsigned i = 0; i < manifest::kNameLength; ++i) {
        if (name[i] == '\0') return true;
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return false;  // not terminated
}

}  // namespace

const char* PartitionTable::flags_refusal(u64 flags) const {
    using namespace manifest::partition_flag;
    if ((flags & ~kAll) != 0) return "unknown partition flags";
    if ((flags & kConsoleInput) == 0) return nullptr;
    if ((flags & kVirtualUart) == 0) return "console input without a virtual UART";
    for (u32 i = 0; i < count_; ++i)
        if (partitions_[i]->has_console_input()) return "console input given to two partitions";
    return nullptr;
}

Outcome PartitionTable::create(const BootSpace& boot, BootSlot object_slot, BootSlot cnode_slot, const char* name,
                               manifest::RestartPolicy policy, u32 vcpu_count, u64 flags, const CapLockHeld& held) {
    if (closed_) return kSealed;
    if (count_ >= manifest::kMaxPartitions) return refuse(Status::NoMemory, "too many partitions");
    if (!valid_name(name)) return refuse(Status::InvalidArgument, "invalid partition name");
    if (policy != manifest::RestartPolicy::Stop && policy != manifest::RestartPolicy::Restart)
        return refuse(Status::InvalidArgument, "unknown restart policy");
    if (vcpu_count == 0 || vcpu_count > manifest::kMaxVcpusPerPartition)
        return refuse(Status::InvalidArgument, "vCPU count out of range");
    for (u32 i = 0; i < count_; ++i)
        if (same_name(partitions_[i]->name, name)) return refuse(Status::Exists, "duplicate partition name");
    if (const char* why = flags_refusal(flags); why != nullptr) return refuse(Status::InvalidArgument, why);
    const CapSlot* object = boot.slot(object_slot);
    const CapSlot* cnode = boot.slot(cnode_slot);
    if (object == nullptr || cnode == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (object->cap.type != ObjectType::Partition) return refuse(Status::InvalidArgument, "not a Partition cap");
    if (cnode->cap.type != ObjectType::CNode) return refuse(Status::InvalidArgument, "not a CNode cap");
    auto* p = static_cast<Partition*>(arch::phys_to_virt(PhysAddr(object->cap.object)));
    if (p == nullptr || p->load_state() != PartitionState::Unconfigured)
        return refuse(Status::Exists, "partition already created");
    for (u32 i = 0; i < count_; ++i)
        if (partitions_[i]->cspace_root.object == cnode->cap.object)
            return refuse(Status::Exists, "CNode is already a partition's CSpace");

    const u16 vmid = static_cast<u16>(count_ + 1);  // VMID 0 is never a partition's
    const Status s = p->stage2.init(p->table_pool, vmid);
    if (!ok(s)) return refuse(s, "no memory for the stage-2 root");
    p->index = PartitionId(count_);
    p->vmid = vmid;
    copy_name(p->name, name);
    p->restart_policy = policy;
    p->fault_policy = (flags & manifest::partition_flag::kInjectFaults) != 0 ? manifest::FaultPolicy::Inject
                                                                            : manifest::FaultPolicy::Stop;
    p->vcpu_count = vcpu_count;
    p->flags = flags;
    Capability root = cnode->cap;
    root.rights = Rights::read() | Rights::write();
    p->set_cspace_root(root, held);
    p->store_state(PartitionState::Built);
    partitions_[count_++] = p;
    return Status::Ok;
}

Outcome PartitionTable::load_image(Partition& p, Ipa ipa, const u8* bytes, u64 size) const {
    if (closed_) return kSealed;
    if (p.image_count >= Partition::kMaxImages) return refuse(Status::NoMemory, "too many image segments");
    if (bytes == nullptr || !range_valid(ipa.raw(), size)) return refuse(Status::OutOfRange, "empty image segment");
    switch (for_each_image_piece(p, ipa, size, [](PhysAddr, u64, u64) {})) {
        case ImagePlacement::Ok: break;
        case ImagePlacement::NotRam: return refuse(Status::OutOfRange, "image segment outside the partition's memory");
        case ImagePlacement::Channel:
            return refuse(Status::OutOfRange, "image segment in channel memory (shared, never loaded)");
    }
    p.images[p.image_count++] = ImageSegment{ipa, bytes, size};
    return Status::Ok;
}

Outcome PartitionTable::set_entry(Partition& p, VcpuIndex vcpu, u64 entry, u64 arg) const {
    if (closed_) return kSealed;
    if (vcpu != VcpuIndex(0)) return refuse(Status::InvalidArgument, "only vCPU 0 starts at boot");
    if (p.has_entry) return refuse(Status::Exists, "entry already set");
    if (!is_aligned(entry, 4)) return refuse(Status::Misaligned, "entry point not 4-byte aligned");
    auto t = p.stage2.translate(Ipa(entry));
    if (!t.ok() || !t.value().attrs.executable()) return refuse(Status::OutOfRange, "entry point not in executable memory");
    p.entry = entry;
    p.boot_arg = arg;
    p.has_entry = true;
    return Status::Ok;
}

Partition* PartitionTable::in_slot(const BootSpace& boot, BootSlot slot) const {
    const CapSlot* s = boot.slot(slot);
    if (s == nullptr || s->cap.type != ObjectType::Partition) return nullptr;
    auto* p = static_cast<Partition*>(arch::phys_to_virt(PhysAddr(s->cap.object)));
    return p != nullptr && p->load_state() != PartitionState::Unconfigured ? p : nullptr;
}

Partition* PartitionTable::at(PhysAddr object) const {
    for (u32 i = 0; i < count_; ++i)
        if (arch::phys_to_virt(object) == partitions_[i]) return partitions_[i];
    return nullptr;
}

}  // namespace bh

#include <arch/arch.hpp>
#include <caps/untyped.hpp>
#include <lib/format.hpp>
#include <new>
#include <notification.hpp>
#include <system.hpp>

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

void copy_name(char* dst, const char* src) {
    unsigned i = 0;
    for (; i + 1 < manifest::kNameLength && src[i] != '\0'; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

// Not inlined, so that fuzz builds can leave these loops uninstrumented by name
// (fuzz/oracle-ignorelist.txt): a coverage callback per word would dominate every restart.
[[gnu::noinline]] void zero(void* p, u64 size) {
    // Word stores: partitions' memory is page aligned, and this runs over megabytes.
    u64* w = static_cast<u64*>(p);
    for (u64 i = 0; i < size / 8; ++i) w[i] = 0;
}

[[gnu::noinline]] void copy(void* dst, const void* src, u64 size) {
    u8* d = static_cast<u8*>(dst);
    const u8* s = static_cast<const u8*>(src);
    for (u64 i = 0; i < size; ++i) d[i] = s[i];
}

// Brings `v` to Off: cancels it if it is only runnable, waits while a CPU_ON is filling it in
// (Starting) or while its core runs it (that core was kicked and sees the partition stopping).
// A vCPU blocked in NotificationWait is cancelled too, and its wait forgotten before it can be
// relaunched (a signal must not reach the next run).
void settle_off(Vcpu& v) {
    for (;;) {
        VcpuState s = v.load_state();
        if (s == VcpuState::Off) return;
        if (s == VcpuState::Runnable) v.transition(VcpuState::Runnable, VcpuState::Off);
        if (s == VcpuState::Blocked && v.transition(VcpuState::Blocked, VcpuState::Off)) notification_cancel_wait(v);
    }
}

u64 frame_size(const Capability& c) { return 1ull << c.size_bits; }

// The attribute bits a cap's rights allow a mapping to have.
bool rights_cover(const Capability& c, u64 attrs) {
    using namespace manifest::attr;
    if ((attrs & kRead) != 0 && !c.rights.has(Rights::read())) return false;
    if ((attrs & kWrite) != 0 && !c.rights.has(Rights::write())) return false;
    if ((attrs & kExecute) != 0 && !c.rights.has(Rights::execute())) return false;
    return true;
}

// The first cap of an object's group in the derivation tree: caps to one object (its original
// and every copy or mint of it) form a connected subtree whose root's parent is another object.
const CapSlot& object_group_root(const CapSlot& slot) {
    const CapSlot* s = &slot;
    while (s->parent != nullptr && caps::same_object(s->parent->cap, slot.cap)) s = s->parent;
    return *s;
}

// What a partition can do to one piece of memory or one notification, through a cap in its
// CSpace or (memory) through one of its recorded mappings.
struct Access {
    manifest::FlowKind kind;
    u64 base;  // Memory: physical range; Signal: the Notification object
    u64 size;
    bool read;
    bool write;
};

// Every cap in `p`'s CSpace root, empty slots included (none without a CNode root).
template <class F>
void for_each_cspace_cap(const Partition& p, F&& f) {
    const CapSlot* slots = caps::cnode_slots(p.cspace_root);
    const u64 count = slots != nullptr ? caps::cnode_slot_count(p.cspace_root) : 0;
    for (u64 k = 0; k < count; ++k) f(slots[k].cap);
}

template <class F>
void for_each_access(const Partition& p, F&& f) {
    for_each_cspace_cap(p, [&f](const Capability& c) {
        const bool r = c.rights.has(Rights::read()), w = c.rights.has(Rights::write());
        switch (c.type) {
            case ObjectType::Frame:
            case ObjectType::DeviceMmio:
            case ObjectType::Channel: f(Access{manifest::FlowKind::Memory, c.object, c.object_size(), r, w}); break;
            case ObjectType::Notification: f(Access{manifest::FlowKind::Signal, c.object, c.object_size(), r, w}); break;
            default: break;
        }
    });
    // Mappings made through caps the partition does not hold (the boot program's).
    const u32 regions = p.region_count <= Partition::kMaxRegions ? p.region_count : Partition::kMaxRegions;
    for (u32 i = 0; i < regions; ++i) {
        const MemoryRegion& m = p.regions[i];
        f(Access{manifest::FlowKind::Memory, m.pa.raw(), m.size, (m.attrs & manifest::attr::kRead) != 0,
                 (m.attrs & manifest::attr::kWrite) != 0});
    }
}

bool reaches(const Access& writer, const Access& reader) {
    if (!writer.write || !reader.read || writer.kind != reader.kind) return false;
    if (writer.kind == manifest::FlowKind::Signal) return writer.base == reader.base;
    return writer.size != 0 && reader.size != 0 && ranges_overlap(writer.base, writer.size, reader.base, reader.size);
}

}  // namespace

const char* flow_kind_name(manifest::FlowKind kind) {
    switch (kind) {
        case manifest::FlowKind::Memory: return "memory";
        case manifest::FlowKind::Signal: return "signal";
    }
    return "unknown";
}

Status System::init(u64 ram_base, u64 ram_size, unsigned cores) {
    if (cores == 0 || cores > platform::kMaxCores) return refuse(Status::InvalidArgument, "core count");
    if (!range_valid(ram_base, ram_size)) return refuse(Status::OutOfRange, "RAM range");
    void* slots = arch::phys_to_virt(PhysAddr(platform::kBootCNodeBase));
    if (slots == nullptr) return refuse(Status::OutOfRange, "boot CNode not reachable");
    zero(slots, u64{manifest::kBootSlots} << caps::kCapSlotBits);
    boot_cnode_ = CapSlot{};
    boot_cnode_.cap.type = ObjectType::CNode;
    boot_cnode_.cap.rights = caps::full_rights(ObjectType::CNode);
    boot_cnode_.cap.size_bits = manifest::kBootCNodeRadix;
    boot_cnode_.cap.object = platform::kBootCNodeBase;

    Capability objects{};
    objects.type = ObjectType::Untyped;
    objects.rights = caps::full_rights(ObjectType::Untyped);
    objects.size_bits = platform::kObjectMemoryBits;
    objects.object = platform::kObjectMemoryBase;
    Status s = caps::create_root(*boot_slot(manifest::kKernelUntypedSlot), objects);
    if (!ok(s)) return refuse(s, "object memory");
    ram_base_ = ram_base;
    ram_size_ = ram_size;
    cores_ = cores;
    return Status::Ok;
}

System::ObjectMemoryView System::object_memory() const {
    const CapSlot* slots = caps::cnode_slots(boot_cnode_.cap);
    const u64 used = slots != nullptr && slots[manifest::kKernelUntypedSlot].cap.type == ObjectType::Untyped
                         ? slots[manifest::kKernelUntypedSlot].cap.watermark()
                         : 0;
    return ObjectMemoryView{PhysAddr(platform::kObjectMemoryBase), platform::kObjectMemorySize, used};
}

Partition* System::partition_at(PhysAddr object) const {
    for (u32 i = 0; i < partition_count_; ++i)
        if (arch::phys_to_virt(object) == partitions_[i]) return partitions_[i];
    return nullptr;
}

CapSlot* System::boot_slot(u32 slot) {
    if (slot == 0 || slot >= manifest::kBootSlots) return nullptr;
    return caps::cnode_slots(boot_cnode_.cap) + slot;
}

Partition* System::partition_in_slot(u32 slot) {
    CapSlot* s = boot_slot(slot);
    if (s == nullptr || s->cap.type != ObjectType::Partition) return nullptr;
    auto* p = static_cast<Partition*>(arch::phys_to_virt(PhysAddr(s->cap.object)));
    return p != nullptr && p->load_state() != PartitionState::Unconfigured ? p : nullptr;
}

// --- object hooks ---------------------------------------------------------------------------

Status System::create(ObjectType type, PhysAddr base, unsigned size_bits) {
    switch (type) {
        case ObjectType::Partition: {
            u64 header = align_up(sizeof(Partition), kPageSize);
            if (header + stage2::kRootSize + kPageSize > (1ull << size_bits)) return Status::InvalidArgument;
            auto* p = new (arch::phys_to_virt(base)) Partition();
            return p->table_pool.init(base + header, (1ull << size_bits) - header);
        }
        case ObjectType::Notification: return notification_create(base);
        // A Channel has no header: the object is the shared region itself, zeroed by retype.
        case ObjectType::Channel: return Status::Ok;
        case ObjectType::Vcpu: {
            void* memory = arch::phys_to_virt(base);
            if (memory == nullptr) return Status::OutOfRange;
            new (memory) Vcpu();
            return Status::Ok;
        }
        default: return Status::Ok;  // memory, CNodes (zeroed = empty slots), untyped
    }
}

void System::destroy(const Capability& cap) {
    if (cap.type == ObjectType::Notification) {
        notification_destroyed(cap);  // its waiter resumes
        interrupts_.notification_destroyed(cap.object);
    }
    if (cap.type == ObjectType::IrqHandler) interrupts_.handler_destroyed(cap.irq());
    if (cap.type == ObjectType::Vcpu) {
        auto* v = static_cast<Vcpu*>(arch::phys_to_virt(PhysAddr(cap.object)));
        if (v != nullptr) vcpu_destroyed(*v);
    }
    if (cap.type == ObjectType::CNode) {
        // A partition whose CSpace root is gone keeps running, but finds no capability.
        for (u32 i = 0; i < partition_count_; ++i)
            if (partitions_[i]->cspace_root.object == cap.object) partitions_[i]->cspace_root = Capability{};
    }
    // A Partition object's last cap lives in the boot CNode, which only the kernel holds, and the
    // kernel never deletes it: destroying a partition comes with managing partitions.
}

void System::unmap(const Capability& cap) {
    if (cap.type == ObjectType::DmaStream) {
        dma_.cap_deleted(cap, pci_);  // its binding goes with the cap that made it
        return;
    }
    if (!cap.mapped() || cap.mapped_partition_plus1() > partition_count_) return;
    Partition& p = *partitions_[cap.mapped_partition_plus1() - 1];
    const u64 size = frame_size(cap);
    // The cap recorded exactly this mapping when it was made, so unmap cannot be refused.
    if (!ok(p.stage2.unmap(Ipa(cap.mapped_ipa()), size))) {
        log("PANIC: mapping record of partition '", p.name, "' does not match its stage-2 tables");
        return;
    }
    MemoryRegion* r = p.region_at(Ipa(cap.mapped_ipa()), size);
    if (r != nullptr) *r = p.regions[--p.region_count];
}

// --- construction ---------------------------------------------------------------------------

Status System::check_root_untyped(PhysAddr pa, u64 size, bool device) const {
    if (device) {
        bool inside = false;
        for (const platform::MmioWindow& w : platform::kAssignableMmio)
            inside = inside || range_inside(pa.raw(), size, w.base, w.size);
        if (!inside) return Status::Denied;
    } else {
        if (!range_inside(pa.raw(), size, ram_base_, ram_size_)) return Status::OutOfRange;
        if (ranges_overlap(pa.raw(), size, platform::kKernelRegionBase, platform::kKernelRegionSize))
            return Status::Denied;
    }
    for (u32 i = 0; i < root_count_; ++i)
        if (ranges_overlap(pa.raw(), size, roots_[i].base, roots_[i].size)) return Status::Overlap;
    return Status::Ok;
}

Status System::create_untyped(u32 slot, PhysAddr pa, unsigned size_bits, bool device) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    CapSlot* dest = boot_slot(slot);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (root_count_ >= kMaxRootUntypeds) return refuse(Status::NoMemory, "too many untyped regions");
    if (size_bits < caps::kMinObjectBits || size_bits >= caps::kMaxUntypedBits)
        return refuse(Status::InvalidArgument, "untyped size out of range");
    const u64 size = 1ull << size_bits;
    if (!pa.aligned(size)) return refuse(Status::Misaligned, "untyped not aligned to its size");
    // Memory exclusivity starts here: every frame a partition can ever get comes from one of
    // these regions, and no two of them overlap.
    switch (check_root_untyped(pa, size, device)) {
        case Status::Ok: break;
        case Status::OutOfRange: return refuse(Status::OutOfRange, "memory outside RAM");
        case Status::Overlap: return refuse(Status::Overlap, "memory already given to a partition");
        default:
            return refuse(Status::Denied, device ? "MMIO not assignable to partitions"
                                                 : "memory overlaps the kernel region");
    }
    Capability cap{};
    cap.type = ObjectType::Untyped;
    cap.rights = caps::full_rights(ObjectType::Untyped);
    cap.size_bits = static_cast<u8>(size_bits);
    cap.flags = device ? Capability::kFlagDevice : 0;
    cap.object = pa.raw();
    Status s = caps::create_root(*dest, cap);
    if (!ok(s)) return refuse(s, "cannot install the untyped cap");
    roots_[root_count_++] = RootUntyped{pa.raw(), size};
    return Status::Ok;
}

Status System::retype(u32 untyped_slot, ObjectType type, unsigned size_bits, u32 first, u32 count) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    CapSlot* source = boot_slot(untyped_slot);
    if (source == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    // Kernel memory (the object-memory Untyped) makes kernel objects only: a Frame or Channel
    // carved from it could be mapped into a partition, handing it partition objects and stage-2
    // tables (found by the Z3 model, proofs/: KF-1).
    const Capability& u = source->cap;
    if ((type == ObjectType::Frame || type == ObjectType::Channel || type == ObjectType::DeviceMmio) &&
        u.type == ObjectType::Untyped &&
        ranges_overlap(u.object, 1ull << u.size_bits, platform::kKernelRegionBase, platform::kKernelRegionSize))
        return refuse(Status::Denied, "kernel memory cannot become mappable memory");
    Status s = caps::retype(*source, type, size_bits, boot_cnode_, first, count, *this);
    return ok(s) ? s : refuse(s, "retype refused");
}

Status System::create_partition(u32 slot, u32 cnode_slot, const char* name, manifest::RestartPolicy policy,
                                u32 vcpu_count) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (partition_count_ >= manifest::kMaxPartitions) return refuse(Status::NoMemory, "too many partitions");
    if (!valid_name(name)) return refuse(Status::InvalidArgument, "invalid partition name");
    if (policy != manifest::RestartPolicy::Stop && policy != manifest::RestartPolicy::Restart)
        return refuse(Status::InvalidArgument, "unknown restart policy");
    if (vcpu_count == 0 || vcpu_count > manifest::kMaxVcpusPerPartition)
        return refuse(Status::InvalidArgument, "vCPU count out of range");
    for (u32 i = 0; i < partition_count_; ++i)
        if (same_name(partitions_[i]->name, name)) return refuse(Status::Exists, "duplicate partition name");
    CapSlot* object = boot_slot(slot);
    CapSlot* cnode = boot_slot(cnode_slot);
    if (object == nullptr || cnode == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (object->cap.type != ObjectType::Partition) return refuse(Status::InvalidArgument, "not a Partition cap");
    if (cnode->cap.type != ObjectType::CNode) return refuse(Status::InvalidArgument, "not a CNode cap");
    auto* p = static_cast<Partition*>(arch::phys_to_virt(PhysAddr(object->cap.object)));
    if (p == nullptr || p->load_state() != PartitionState::Unconfigured)
        return refuse(Status::Exists, "partition already created");
    for (u32 i = 0; i < partition_count_; ++i)
        if (partitions_[i]->cspace_root.object == cnode->cap.object)
            return refuse(Status::Exists, "CNode is already a partition's CSpace");

    const u16 vmid = static_cast<u16>(partition_count_ + 1);  // VMID 0 is never a partition's
    Status s = p->stage2.init(p->table_pool, vmid);
    if (!ok(s)) return refuse(s, "no memory for the stage-2 root");
    p->index = partition_count_;
    p->vmid = vmid;
    copy_name(p->name, name);
    p->restart_policy = policy;
    p->vcpu_count = vcpu_count;
    p->cspace_root = cnode->cap;
    p->cspace_root.rights = Rights::read() | Rights::write();
    p->store_state(PartitionState::Built);
    partitions_[partition_count_++] = p;
    return Status::Ok;
}

Status System::check_other_mappings(const CapSlot& frame, const Partition& p) const {
    // Memory exclusivity: one frame, one partition. Copies of a frame cap may map it again, but
    // only into the partition that already has it.
    struct Walker {
        const Capability& object;
        u32 owner;
        bool conflict = false;
        void visit(const CapSlot& s) {
            if (caps::same_object(s.cap, object) && s.cap.mapped() && s.cap.mapped_partition_plus1() != owner)
                conflict = true;
            for (const CapSlot* c = s.first_child; c != nullptr && !conflict; c = c->next_sibling) visit(*c);
        }
    } walker{frame.cap, p.index + 1};
    const CapSlot& root = object_group_root(frame);
    // The group's siblings under the same parent may be caps to the same object too.
    if (root.parent != nullptr) {
        for (const CapSlot* c = root.parent->first_child; c != nullptr && !walker.conflict; c = c->next_sibling)
            if (caps::same_object(c->cap, frame.cap)) walker.visit(*c);
    } else {
        walker.visit(root);
    }
    return walker.conflict ? Status::Overlap : Status::Ok;
}

Status System::map_frame(Partition& p, CapSlot& frame, Ipa ipa, u64 attrs) {
    using namespace manifest::attr;
    const Capability& c = frame.cap;
    const bool channel = c.type == ObjectType::Channel;
    if (c.type != ObjectType::Frame && c.type != ObjectType::DeviceMmio && !channel)
        return refuse(Status::InvalidArgument, "not a Frame, DeviceMmio or Channel cap");
    if (attrs == 0 || (attrs & ~(kRead | kWrite | kExecute)) != 0)
        return refuse(Status::InvalidArgument, "invalid access attributes");
    if ((attrs & (kRead | kWrite)) == 0) return refuse(Status::InvalidArgument, "execute-only mapping");
    if (c.type == ObjectType::DeviceMmio && (attrs & kExecute) != 0)
        return refuse(Status::InvalidArgument, "device memory cannot be executable");
    // Code another partition can write is code injection: a channel is data only.
    if (channel && (attrs & kExecute) != 0) return refuse(Status::InvalidArgument, "channel memory cannot be executable");
    if (!rights_cover(c, attrs)) return refuse(Status::Denied, "access exceeds the capability's rights");
    if (c.mapped()) return refuse(Status::Exists, "capability already mapped");
    if (p.region_count >= Partition::kMaxRegions) return refuse(Status::NoMemory, "too many mappings");
    const u64 size = frame_size(c);
    if (!ipa.aligned(size)) return refuse(Status::Misaligned, "IPA not aligned to the frame");
    // A Channel is the one object several partitions may map (INV-1's shared-region exception):
    // each of them holds its own cap to it, and each cap maps once.
#ifndef BH_PLANTED_BUG_FRAME_DOUBLE_MAP  // test-only planted bug (docs/fuzzing.md): without this check a frame maps twice
    if (!channel && !ok(check_other_mappings(frame, p)))
        return refuse(Status::Overlap, "frame mapped by another partition");
#endif
    const u64 mapping = attrs | (c.type == ObjectType::DeviceMmio ? kDevice : 0);
    Status s = p.stage2.map(ipa, PhysAddr(c.object), size, mapping);
    if (!ok(s)) return refuse(s == Status::Overlap ? Status::Exists : s, "IPA range refused by stage 2");
    frame.cap.set_mapping(p.index + 1, ipa.raw());
    p.regions[p.region_count++] = MemoryRegion{ipa, PhysAddr(c.object), size, mapping, channel};
    return Status::Ok;
}

Status System::unmap_frame(Partition& p, CapSlot& frame) {
    const Capability& c = frame.cap;
    if (c.type != ObjectType::Frame && c.type != ObjectType::DeviceMmio && c.type != ObjectType::Channel)
        return refuse(Status::InvalidArgument, "not a Frame, DeviceMmio or Channel cap");
    if (!c.mapped() || c.mapped_partition_plus1() != p.index + 1)
        return refuse(Status::NotFound, "not mapped in this partition");
    unmap(c);
    frame.cap.set_mapping(0, 0);
    return Status::Ok;
}

Status System::grant_cap(u32 source_slot, Partition& p, u64 index, Rights mask, u64 badge) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    CapSlot* source = boot_slot(source_slot);
    if (source == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (p.cspace_root.type != ObjectType::CNode || index == 0 || index >= caps::cnode_slot_count(p.cspace_root))
        return refuse(Status::OutOfRange, "no such slot in the partition's CSpace");
    CapSlot& dest = caps::cnode_slots(p.cspace_root)[index];
    // Grant of the boot program's full caps: a mint, so the partition never gets more than the
    // mask and the kernel keeps the original (which may hold the boot mapping). The badge, if
    // any, is the mint's: only on an unbadged Notification or Channel cap.
    if (badge != 0 && !caps::badgeable(source->cap.type))
        return refuse(Status::InvalidArgument, "badge on a cap that is not a Notification or Channel");
    Status s = caps::mint(*source, dest, mask, badge);
    return ok(s) ? s : refuse(s, "grant refused");
}

Status System::create_irq_handler(u32 slot, u64 intid) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    CapSlot* dest = boot_slot(slot);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    switch (const Status s = interrupts_.create_handler(*dest, intid)) {
        case Status::Ok: return s;
        case Status::Denied: return refuse(s, "interrupt not assignable to partitions");
        default: return refuse(s, "interrupt handler already created or slot occupied");
    }
}

Status System::assign_pci_function(u32 slot, Partition& p, u32 bdf, u32 id) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    CapSlot* dest = boot_slot(slot);
    if (dest == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (!dest->empty()) return refuse(Status::Exists, "slot occupied");
    switch (const Status s = pci_.assign(bdf, p.index, id)) {
        case Status::Ok: break;
        case Status::OutOfRange: return refuse(s, "not a function of bus 0, or the host bridge");
        case Status::NotFound: return refuse(s, "no PCIe function at that address");
        case Status::InvalidArgument: return refuse(s, "the function is another device, or not an endpoint");
        case Status::Exists: return refuse(s, "function already assigned");
        default: return refuse(s, "too many PCIe functions");
    }
    // A function is assigned once, so its stream's cap cannot exist yet.
    const Status s = dma_.create(*dest, bdf, p.index);
    return ok(s) ? s : refuse(s, "cannot install the DmaStream cap");
}

Status System::place_pci_bar(Partition& p, u32 bdf, u32 index, u64 address) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    switch (const Status s = pci_.place_bar(bdf, p.index, index, address)) {
        case Status::Ok: return s;
        case Status::NotFound: return refuse(s, "not a PCIe function of this partition");
        case Status::OutOfRange: return refuse(s, "no such BAR, or outside the 32-bit PCIe MMIO window");
        case Status::InvalidArgument: return refuse(s, "not a memory BAR of the function");
        case Status::Misaligned: return refuse(s, "BAR address not aligned to its size");
        case Status::Exists: return refuse(s, "BAR already placed");
        default: return refuse(s, "BAR overlaps another placed BAR");
    }
}

Status System::declare_flow(Partition& source, Partition& destination, manifest::FlowKind kind) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (!FlowGraph::kind_valid(kind)) return refuse(Status::InvalidArgument, "unknown flow kind");
    if (&source == &destination) return refuse(Status::InvalidArgument, "a flow from a partition to itself");
    if (source.index >= partition_count_ ||
        partitions_[source.index] != &source || destination.index >= partition_count_ ||
        partitions_[destination.index] != &destination)
        return refuse(Status::NotFound, "not a configured partition");
    declared_.edge[source.index][destination.index][FlowGraph::index(kind)] = true;
    return Status::Ok;
}

void System::live_flows(FlowGraph& out) const {
    out = FlowGraph{};
    for (u32 s = 0; s < partition_count_; ++s) {
        for_each_access(*partitions_[s], [&](const Access& w) {
            if (!w.write) return;
            const unsigned k = FlowGraph::index(w.kind);
            for (u32 d = 0; d < partition_count_; ++d) {
                if (d == s || out.edge[s][d][k]) continue;
                for_each_access(*partitions_[d], [&](const Access& r) {
                    if (reaches(w, r)) out.edge[s][d][k] = true;
                });
            }
        });
    }
}

Status System::load_image(Partition& p, Ipa ipa, const u8* bytes, u64 size) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (p.image_count >= Partition::kMaxImages) return refuse(Status::NoMemory, "too many image segments");
    if (bytes == nullptr || !range_valid(ipa.raw(), size)) return refuse(Status::OutOfRange, "empty image segment");
    for (u64 page = align_down(ipa.raw(), kPageSize); page < ipa.raw() + size; page += kPageSize) {
        auto t = p.stage2.translate(Ipa(page));
        if (!t.ok() || (t.value().attrs & manifest::attr::kDevice) != 0)
            return refuse(Status::OutOfRange, "image segment outside the partition's memory");
        const MemoryRegion* r = p.ram_region_containing(Ipa(page), kPageSize);
        if (r == nullptr || r->channel)
            return refuse(Status::OutOfRange, "image segment in channel memory (shared, never loaded)");
    }
    p.images[p.image_count++] = ImageSegment{ipa, bytes, size};
    return Status::Ok;
}

Status System::bind_vcpu(Partition& p, u32 vcpu_slot, u32 index, u32 core) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    CapSlot* slot = boot_slot(vcpu_slot);
    if (slot == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (slot->cap.type != ObjectType::Vcpu) return refuse(Status::InvalidArgument, "not a Vcpu cap");
    auto* v = static_cast<Vcpu*>(arch::phys_to_virt(PhysAddr(slot->cap.object)));
    if (v == nullptr) return refuse(Status::OutOfRange, "Vcpu object outside RAM");
    if (index >= p.vcpu_count) return refuse(Status::InvalidArgument, "no such vCPU");
    if (core >= cores_) return refuse(Status::OutOfRange, "no such core, or it is not online");
    if (core_vcpu_[core] != nullptr) return refuse(Status::Exists, "core already bound");
    if (p.vcpus.bound(index)) return refuse(Status::Exists, "vCPU already bound");
    if (v->partition != nullptr) return refuse(Status::Exists, "Vcpu object already bound");
    v->partition = &p;
    v->index = index;
    v->core = core;
    p.vcpus.attach(index, v);
    __atomic_store_n(&core_vcpu_[core], v, __ATOMIC_RELEASE);
    return Status::Ok;
}

Status System::set_entry(Partition& p, u32 vcpu, u64 entry, u64 arg) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (vcpu != 0) return refuse(Status::InvalidArgument, "only vCPU 0 starts at boot");
    if (p.has_entry) return refuse(Status::Exists, "entry already set");
    if (!is_aligned(entry, 4)) return refuse(Status::Misaligned, "entry point not 4-byte aligned");
    auto t = p.stage2.translate(Ipa(entry));
    if (!t.ok() || (t.value().attrs & manifest::attr::kExecute) == 0)
        return refuse(Status::OutOfRange, "entry point not in executable memory");
    p.entry = entry;
    p.boot_arg = arg;
    p.has_entry = true;
    return Status::Ok;
}

bool System::control_graph_has_cycle() const {
    // Edge p -> q: p holds a Partition cap with Control for q. Taking q down waits for q's
    // vCPUs, so a cycle of such waits (p controls q controls p) could hold both partitions'
    // cores forever. Capabilities move only within a CSpace after boot, so the graph the boot
    // program leaves is the graph for good.
    bool edge[manifest::kMaxPartitions][manifest::kMaxPartitions] = {};
    for (u32 i = 0; i < partition_count_; ++i) {
        const Partition& p = *partitions_[i];
        for_each_cspace_cap(p, [&](const Capability& c) {
            if (c.type != ObjectType::Partition || !c.rights.has(Rights::control())) return;
            const Partition* q = partition_at(PhysAddr(c.object));
            if (q != nullptr && q != &p) edge[i][q->index] = true;
        });
    }
    // Kahn's algorithm: the graph is acyclic exactly when every node can be removed.
    u32 indegree[manifest::kMaxPartitions] = {};
    for (u32 i = 0; i < partition_count_; ++i)
        for (u32 j = 0; j < partition_count_; ++j) indegree[j] += edge[i][j] ? 1 : 0;
    bool removed[manifest::kMaxPartitions] = {};
    for (u32 round = 0; round < partition_count_; ++round) {
        u32 next = partition_count_;
        for (u32 j = 0; j < partition_count_ && next == partition_count_; ++j)
            if (!removed[j] && indegree[j] == 0) next = j;
        if (next == partition_count_) return true;
        removed[next] = true;
        for (u32 j = 0; j < partition_count_; ++j) indegree[j] -= edge[next][j] ? 1 : 0;
    }
    return false;
}

Status System::seal() {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (partition_count_ == 0) return refuse(Status::NotFound, "no partitions");
    for (u32 i = 0; i < partition_count_; ++i) {
        const Partition& p = *partitions_[i];
        if (p.region_count == 0) return refuse(Status::NotFound, "a partition has no memory");
        if (!p.has_entry) return refuse(Status::NotFound, "a partition has no entry point");
        for (u32 v = 0; v < p.vcpu_count; ++v)
            if (!p.vcpus.bound(v)) return refuse(Status::NotFound, "a vCPU is not bound to a core");
    }
    if (control_graph_has_cycle()) return refuse(Status::Denied, "partitions control each other in a cycle");
    if (interrupt_shared()) return refuse(Status::Denied, "an interrupt is given to two partitions");
    if (notification_shared()) return refuse(Status::Denied, "a notification can be waited on by two partitions");
    if (const char* why = pci_seal_refusal(*this)) return refuse(Status::Denied, why);
    // Invariant 6: the flows the capabilities allow are exactly the declared ones. An undeclared
    // flow is an isolation hole; a declared flow with no capability behind it means the
    // description and the capabilities disagree (the audit evidence would list a flow that the
    // system does not have), so both refuse the manifest.
    FlowGraph live;
    live_flows(live);
    for (int pass = 0; pass < 2; ++pass) {
        for (u32 a = 0; a < partition_count_; ++a) {
            for (u32 b = 0; b < partition_count_; ++b) {
                for (unsigned k = 0; k < FlowGraph::kKinds; ++k) {
                    const bool in_live = live.edge[a][b][k], in_declared = declared_.edge[a][b][k];
                    if (pass == 0 && in_live && !in_declared) {
                        log("seal: undeclared ", flow_kind_name(FlowGraph::kind(k)), " flow from '", partitions_[a]->name,
                            "' to '", partitions_[b]->name, "'");
                        return refuse(Status::Denied, "capabilities allow an undeclared information flow");
                    }
                    if (pass == 1 && in_declared && !in_live) {
                        log("seal: declared ", flow_kind_name(FlowGraph::kind(k)), " flow from '", partitions_[a]->name,
                            "' to '", partitions_[b]->name, "' has no capability behind it");
                        return refuse(Status::Denied, "a declared flow has no capability behind it");
                    }
                }
            }
        }
    }
    sealed_ = true;
    running_ = partition_count_;
    for (u32 i = 0; i < partition_count_; ++i) launch(*partitions_[i]);
    return Status::Ok;
}

// Invariant 5 at seal: the IrqHandler caps of one SPI are all in one partition's CSpace.
bool System::interrupt_shared() const {
    u8 holder_plus1[InterruptTable::kLines] = {};
    bool shared = false;
    for (u32 i = 0; i < partition_count_; ++i) {
        for_each_cspace_cap(*partitions_[i], [&](const Capability& c) {
            const u32 n = platform::assignable_spi_number(c.irq());
            if (c.type != ObjectType::IrqHandler || n >= InterruptTable::kLines) return;
            shared = shared || (holder_plus1[n] != 0 && holder_plus1[n] != i + 1);
            holder_plus1[n] = static_cast<u8>(i + 1);
        });
    }
    return shared;
}

// A Vcpu's last cap is gone (its memory may be retyped next): nothing may point to it. A bound
// Vcpu's original cap stays in the boot CNode, which only the kernel holds and never empties,
// so this happens only to an unbound one, or in host tests; a partition that loses a vCPU is
// taken down for good first (it can no longer run as described).
void System::vcpu_destroyed(Vcpu& v) {
    Partition* p = v.partition;
    if (p == nullptr) return;
    if (p->transition(PartitionState::Running, PartitionState::Stopping))
        take_down(*p, nullptr, false, StopReason::Controller, "kernel");
    if (v.core < cores_ && core_vcpu_[v.core] == &v) __atomic_store_n(&core_vcpu_[v.core], nullptr, __ATOMIC_RELEASE);
    p->vcpus.attach(v.index, nullptr);
    v.partition = nullptr;
}

// One waiting partition per notification: two Read holders would observe each other (one takes
// the word the other would have seen, a flow no DeclareFlow expresses), and the holder of one
// could receive the interrupts the other bound to it (invariant 5; the model's KF-2).
bool System::notification_shared() const {
    const auto waits_on = [](const Capability& c, u64 object) {
        return c.type == ObjectType::Notification && c.object == object && c.rights.has(Rights::read());
    };
    bool shared = false;
    for (u32 i = 0; i < partition_count_; ++i) {
        for_each_cspace_cap(*partitions_[i], [&](const Capability& mine) {
            if (shared || !waits_on(mine, mine.object)) return;
            for (u32 j = i + 1; j < partition_count_ && !shared; ++j)
                for_each_cspace_cap(*partitions_[j], [&](const Capability& c) { shared = shared || waits_on(c, mine.object); });
        });
    }
    return shared;
}

// --- life cycle -----------------------------------------------------------------------------

bool System::reload_memory(Partition& p) {
    // Only private RAM: a channel's memory belongs to all its mappers, and a restart of one of
    // them must not erase (or write) what the others see.
    for (u32 r = 0; r < p.region_count; ++r) {
        const MemoryRegion& m = p.regions[r];
        if (m.is_private_ram()) zero(arch::phys_to_virt(m.pa), m.size);
    }
    for (u32 i = 0; i < p.image_count; ++i) {
        const ImageSegment& img = p.images[i];
        // Page by page through the partition's own tables: what it maps now is what it gets.
        for (u64 done = 0; done < img.size;) {
            const u64 ipa = img.ipa.raw() + done;
            const u64 chunk = kPageSize - (ipa & (kPageSize - 1)) < img.size - done ? kPageSize - (ipa & (kPageSize - 1))
                                                                                    : img.size - done;
            auto t = p.stage2.translate(Ipa(ipa));
            if (!t.ok() || (t.value().attrs & manifest::attr::kDevice) != 0) return false;
            // It may have mapped a channel where its image was: the kernel would write into
            // memory other partitions read, on behalf of a partition that may only read it.
            const MemoryRegion* m = p.ram_region_containing(Ipa(ipa), chunk);
            if (m == nullptr || !m->is_private_ram()) return false;
            copy(arch::phys_to_virt(t.value().pa), img.bytes + done, chunk);
            done += chunk;
        }
    }
    for (u32 r = 0; r < p.region_count; ++r)
        if (p.regions[r].is_private_ram()) arch::clean_to_poc(p.regions[r].pa, p.regions[r].size);
    return true;
}

void System::launch(Partition& p) {
    if (!reload_memory(p)) {
        // Its image no longer lies in memory it maps (it unmapped it before a restart).
        log("partition '", p.name, "' cannot be loaded: image outside its private mapped memory");
        p.store_state(PartitionState::Stopped);
        stopped_for_good();
        return;
    }
    // A restarted guest must not find TLB entries of its previous run (its own stage 1).
    arch::stage2_tlb_invalidate_vmid(p.vmid);
    p.counter_offset = arch::counter_now();
    for (u32 v = 0; v < p.vcpu_count; ++v) p.vcpus[v].store_state(VcpuState::Off);
    p.console_length = 0;
    p.vcpus[0].prepare_start(p.entry, p.boot_arg);
    p.store_state(PartitionState::Running);
    p.vcpus[0].store_state(VcpuState::Runnable);
    log("partition '", p.name, "' started on core ", p.vcpus[0].core);
    arch::wake_cores();
}

void System::stopped_for_good() {
    if (__atomic_sub_fetch(&running_, 1, __ATOMIC_ACQ_REL) == 0) {
        log("all partitions stopped; powering off");
        arch::system_off();
    }
}

void System::take_down(Partition& p, Vcpu* current, bool restart, StopReason reason, const char* by) {
    if (current != nullptr) current->store_state(VcpuState::Off);
    // First, so that no interrupt of its devices is signalled into the old run or the new one,
    // and no DMA of its devices reaches its memory while it is scrubbed and reloaded.
    interrupts_.partition_stopped(p.index);
    dma_.partition_stopped(p, pci_);
    for (u32 v = 0; v < p.vcpu_count; ++v) {
        Vcpu& other = p.vcpus[v];
        if (&other == current) continue;
        other.transition(VcpuState::Runnable, VcpuState::Off);
        if (other.load_state() == VcpuState::Running) arch::kick_core(other.core);
    }
    // Their cores leave the guest on the kick and see the partition is no longer running. A
    // vCPU still running may issue a CPU_ON for one this pass already found off, so passes
    // repeat until one finds every vCPU off at first look: by then no vCPU of the old run
    // executes guest code (a runnable one only reaches its core's check of the partition's
    // state, which is no longer Running), so nothing of it can reach a restarted partition.
    for (bool settled = false; !settled;) {
        settled = true;
        for (u32 v = 0; v < p.vcpu_count; ++v) {
            if (p.vcpus[v].load_state() == VcpuState::Off) continue;
            settled = false;
            settle_off(p.vcpus[v]);
        }
    }
    if (restart) {
        ++p.restarts;
        if (by != nullptr) {
            log("partition '", p.name, "' restarting (restart ", p.restarts, ", by '", by, "')");
        } else {
            log("partition '", p.name, "' restarting (restart ", p.restarts, ")");
        }
        launch(p);
        return;
    }
    p.store_state(PartitionState::Stopped);
    switch (reason) {
        case StopReason::SystemOff: log("partition '", p.name, "' stopped (system off)"); break;
        case StopReason::AllVcpusOff: log("partition '", p.name, "' stopped (all vCPUs off)"); break;
        case StopReason::Controller: log("partition '", p.name, "' stopped (by '", by, "')"); break;
        default: log("partition '", p.name, "' stopped"); break;
    }
    stopped_for_good();
}

void System::stop(Vcpu& current, StopReason reason) {
    Partition& p = *current.partition;
    if (!p.transition(PartitionState::Running, PartitionState::Stopping)) {
        current.store_state(VcpuState::Off);  // another core is already taking it down
        return;
    }
    bool restart = reason == StopReason::SystemReset ||
                   (reason == StopReason::Fault && p.restart_policy == manifest::RestartPolicy::Restart);
    take_down(p, &current, restart, reason, nullptr);
}

bool System::stop_for_dma_fault(Vcpu& current) {
    if (!dma_.take_pending_fault(current.partition->index)) return false;
    stop(current, StopReason::Fault);
    return true;
}

Status System::control(Partition& target, bool restart, Vcpu& caller) {
    Vcpu* current = caller.partition == &target ? &caller : nullptr;
    if (target.transition(PartitionState::Running, PartitionState::Stopping)) {
        take_down(target, current, restart, StopReason::Controller, caller.partition->name);
        return Status::Ok;
    }
    if (!restart) return target.load_state() == PartitionState::Stopped ? Status::NotFound : Status::Busy;
    // Restarting a partition that stopped for good brings it back, unless it lost a vCPU object
    // (vcpu_destroyed stopped it: it can no longer run as described).
    for (u32 v = 0; v < target.vcpu_count; ++v)
        if (!target.vcpus.bound(v)) return Status::NotFound;
    if (!target.transition(PartitionState::Stopped, PartitionState::Stopping)) return Status::Busy;
    __atomic_add_fetch(&running_, 1, __ATOMIC_ACQ_REL);
    take_down(target, nullptr, true, StopReason::Controller, caller.partition->name);
    return Status::Ok;
}

}  // namespace bh

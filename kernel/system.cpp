#include <arch/arch.hpp>
#include <lib/format.hpp>
#include <new>
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

void zero(void* p, u64 size) {
    // Word stores: partitions' memory is page aligned, and this runs over megabytes at boot.
    u64* w = static_cast<u64*>(p);
    for (u64 i = 0; i < size / 8; ++i) w[i] = 0;
}

void copy(void* dst, const void* src, u64 size) {
    u8* d = static_cast<u8*>(dst);
    const u8* s = static_cast<const u8*>(src);
    for (u64 i = 0; i < size; ++i) d[i] = s[i];
}

// Brings `v` to Off: cancels it if it is only runnable, waits while a CPU_ON is filling it in
// (Starting) or while its core runs it (that core was kicked and sees the partition stopping).
void settle_off(Vcpu& v) {
    for (;;) {
        VcpuState s = v.load_state();
        if (s == VcpuState::Off) return;
        if (s == VcpuState::Runnable) v.transition(VcpuState::Runnable, VcpuState::Off);
    }
}

}  // namespace

Status System::init(PhysAddr object_base, u64 object_size, u64 ram_base, u64 ram_size, unsigned cores) {
    if (cores == 0 || cores > platform::kMaxCores) return refuse(Status::InvalidArgument, "core count");
    if (!range_valid(ram_base, ram_size)) return refuse(Status::OutOfRange, "RAM range");
    Status s = objects_.init(object_base, object_size);
    if (!ok(s)) return refuse(s, "object memory");
    ram_base_ = ram_base;
    ram_size_ = ram_size;
    cores_ = cores;
    return Status::Ok;
}

Result<Partition*> System::create_partition(const char* name, manifest::RestartPolicy policy, u32 vcpu_count) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (partition_count_ >= manifest::kMaxPartitions) return refuse(Status::NoMemory, "too many partitions");
    if (!valid_name(name)) return refuse(Status::InvalidArgument, "invalid partition name");
    if (policy != manifest::RestartPolicy::Stop && policy != manifest::RestartPolicy::Restart)
        return refuse(Status::InvalidArgument, "unknown restart policy");
    if (vcpu_count == 0 || vcpu_count > manifest::kMaxVcpusPerPartition)
        return refuse(Status::InvalidArgument, "vCPU count out of range");
    for (u32 i = 0; i < partition_count_; ++i)
        if (same_name(partitions_[i]->name, name)) return refuse(Status::Exists, "duplicate partition name");
    // The partition object and its stage-2 root come from object memory: reserve both or none.
    constexpr u64 kRootBytes = 2 * kPageSize;
    u64 object_bytes = align_up(sizeof(Partition), kPageSize);
    if (objects_.available() < object_bytes + kRootBytes + kRootBytes)  // alignment slack for the root
        return refuse(Status::NoMemory, "object memory exhausted");

    Result<PhysAddr> where = objects_.allocate(object_bytes, kPageSize);
    if (!where.ok()) return refuse(where.status(), "object memory exhausted");
    auto* p = new (arch::phys_to_virt(where.value())) Partition();
    p->index = partition_count_;
    p->vmid = static_cast<u16>(partition_count_ + 1);  // VMID 0 is never given to a partition
    Status s = p->stage2.init(objects_, p->vmid);
    if (!ok(s)) return refuse(s, "object memory exhausted");
    copy_name(p->name, name);
    p->restart_policy = policy;
    p->vcpu_count = vcpu_count;
    for (u32 i = 0; i < vcpu_count; ++i) {
        p->vcpus[i].partition = p;
        p->vcpus[i].index = i;
    }
    partitions_[partition_count_++] = p;
    return p;
}

bool System::overlaps_given(PhysAddr pa, u64 size, bool device) const {
    for (u32 i = 0; i < partition_count_; ++i) {
        const Partition& q = *partitions_[i];
        for (u32 r = 0; r < q.region_count; ++r) {
            const MemoryRegion& m = q.regions[r];
            if (m.is_device() == device && ranges_overlap(pa.raw(), size, m.pa.raw(), m.size)) return true;
        }
    }
    return false;
}

Status System::check_device_window(PhysAddr pa, u64 size) const {
    for (const platform::MmioWindow& w : platform::kAssignableMmio)
        if (range_inside(pa.raw(), size, w.base, w.size)) return Status::Ok;
    return Status::Denied;
}

Status System::map_memory(Partition& p, Ipa ipa, PhysAddr pa, u64 size, u64 attrs) {
    using namespace manifest::attr;
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (p.region_count >= Partition::kMaxRegions) return refuse(Status::NoMemory, "too many memory regions");
    if ((attrs & ~kAll) != 0 || (attrs & (kRead | kWrite)) == 0)
        return refuse(Status::InvalidArgument, "invalid access attributes");
    if (!range_valid(pa.raw(), size) || !range_valid(ipa.raw(), size))
        return refuse(Status::OutOfRange, "empty or wrapping range");
    if (!pa.aligned(kPageSize) || !ipa.aligned(kPageSize) || !is_aligned(size, kPageSize))
        return refuse(Status::Misaligned, "region not page aligned");
    bool device = (attrs & kDevice) != 0;
    if (device) {
        if ((attrs & kExecute) != 0) return refuse(Status::InvalidArgument, "device memory cannot be executable");
        if (!ok(check_device_window(pa, size))) return refuse(Status::Denied, "MMIO not assignable to partitions");
        if (overlaps_given(pa, size, true)) return refuse(Status::Overlap, "MMIO already given to a partition");
    } else {
        if (!range_inside(pa.raw(), size, ram_base_, ram_size_)) return refuse(Status::OutOfRange, "memory outside RAM");
        if (ranges_overlap(pa.raw(), size, platform::kKernelRegionBase, platform::kKernelRegionSize))
            return refuse(Status::Denied, "memory overlaps the kernel region");
        if (overlaps_given(pa, size, false)) return refuse(Status::Overlap, "memory already given to a partition");
    }
    for (u32 r = 0; r < p.region_count; ++r)
        if (ranges_overlap(ipa.raw(), size, p.regions[r].ipa.raw(), p.regions[r].size))
            return refuse(Status::Overlap, "IPA range overlaps another region of the partition");

    Status s = p.stage2.map(ipa, pa, size, attrs);
    if (!ok(s)) return refuse(s, "stage-2 mapping refused");
    p.regions[p.region_count++] = MemoryRegion{ipa, pa, size, attrs};
    return Status::Ok;
}

Status System::load_image(Partition& p, Ipa ipa, const u8* bytes, u64 size) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (p.image_count >= Partition::kMaxImages) return refuse(Status::NoMemory, "too many image segments");
    if (bytes == nullptr || !range_valid(ipa.raw(), size)) return refuse(Status::OutOfRange, "empty image segment");
    if (p.ram_region_containing(ipa, size) == nullptr)
        return refuse(Status::OutOfRange, "image segment outside the partition's memory");
    p.images[p.image_count++] = ImageSegment{ipa, bytes, size};
    return Status::Ok;
}

Status System::bind_core(Partition& p, u32 vcpu, u32 core) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (vcpu >= p.vcpu_count) return refuse(Status::InvalidArgument, "no such vCPU");
    if (core >= cores_) return refuse(Status::OutOfRange, "no such core, or it is not online");
    if (core_vcpu_[core] != nullptr) return refuse(Status::Exists, "core already bound");
    if (p.vcpus[vcpu].core != ~0u) return refuse(Status::Exists, "vCPU already bound");
    p.vcpus[vcpu].core = core;
    __atomic_store_n(&core_vcpu_[core], &p.vcpus[vcpu], __ATOMIC_RELEASE);
    return Status::Ok;
}

Status System::set_entry(Partition& p, u32 vcpu, u64 entry, u64 arg) {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (vcpu != 0) return refuse(Status::InvalidArgument, "only vCPU 0 starts at boot");
    if (p.has_entry) return refuse(Status::Exists, "entry already set");
    if (!is_aligned(entry, 4)) return refuse(Status::Misaligned, "entry point not 4-byte aligned");
    const MemoryRegion* r = p.ram_region_containing(Ipa(entry), 4);
    if (r == nullptr || (r->attrs & manifest::attr::kExecute) == 0)
        return refuse(Status::OutOfRange, "entry point not in executable memory");
    p.entry = entry;
    p.boot_arg = arg;
    p.has_entry = true;
    return Status::Ok;
}

Status System::seal() {
    if (sealed_) return refuse(Status::Denied, "system is sealed");
    if (partition_count_ == 0) return refuse(Status::NotFound, "no partitions");
    for (u32 i = 0; i < partition_count_; ++i) {
        const Partition& p = *partitions_[i];
        if (p.region_count == 0) return refuse(Status::NotFound, "a partition has no memory");
        if (!p.has_entry) return refuse(Status::NotFound, "a partition has no entry point");
        for (u32 v = 0; v < p.vcpu_count; ++v)
            if (p.vcpus[v].core == ~0u) return refuse(Status::NotFound, "a vCPU is not bound to a core");
    }
    sealed_ = true;
    running_ = partition_count_;
    for (u32 i = 0; i < partition_count_; ++i) launch(*partitions_[i]);
    return Status::Ok;
}

void System::reload_memory(Partition& p) {
    for (u32 r = 0; r < p.region_count; ++r) {
        const MemoryRegion& m = p.regions[r];
        if (!m.is_device()) zero(arch::phys_to_virt(m.pa), m.size);
    }
    for (u32 i = 0; i < p.image_count; ++i) {
        const ImageSegment& img = p.images[i];
        const MemoryRegion* m = p.ram_region_containing(img.ipa, img.size);  // checked by load_image
        copy(arch::phys_to_virt(m->pa + (img.ipa - m->ipa)), img.bytes, img.size);
    }
    for (u32 r = 0; r < p.region_count; ++r)
        if (!p.regions[r].is_device()) arch::clean_to_poc(p.regions[r].pa, p.regions[r].size);
}

void System::launch(Partition& p) {
    reload_memory(p);
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

void System::stop(Vcpu& current, StopReason reason) {
    Partition& p = *current.partition;
    if (!p.transition(PartitionState::Running, PartitionState::Stopping)) {
        current.store_state(VcpuState::Off);  // another core is already taking it down
        return;
    }
    current.store_state(VcpuState::Off);
    for (u32 v = 0; v < p.vcpu_count; ++v) {
        Vcpu& other = p.vcpus[v];
        if (&other == &current) continue;
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

    bool restart = reason == StopReason::SystemReset ||
                   (reason == StopReason::Fault && p.restart_policy == manifest::RestartPolicy::Restart);
    if (restart) {
        ++p.restarts;
        log("partition '", p.name, "' restarting (restart ", p.restarts, ")");
        launch(p);
        return;
    }
    p.store_state(PartitionState::Stopped);
    switch (reason) {
        case StopReason::SystemOff: log("partition '", p.name, "' stopped (system off)"); break;
        case StopReason::AllVcpusOff: log("partition '", p.name, "' stopped (all vCPUs off)"); break;
        default: log("partition '", p.name, "' stopped"); break;
    }
    if (__atomic_sub_fetch(&running_, 1, __ATOMIC_ACQ_REL) == 0) {
        log("all partitions stopped; powering off");
        arch::system_off();
    }
}

}  // namespace bh

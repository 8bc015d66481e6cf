// STATE-2 partition identity and INV-7 (core part): vCPU <-> core bindings.
#include <invariants/checker.hpp>

namespace bh::checker {

// ---- STATE-2: the partition objects, their indices, VMIDs and roots
void Checker::identity() {
    count_ = s_.partitions.count();
    if (count_ > manifest::kMaxPartitions) {
        value(add(InvariantId::PartitionIdentity, "partition count beyond the system's capacity"), count_);
        count_ = manifest::kMaxPartitions;
    }
    const BootSpace::ObjectMemoryView m = s_.boot.object_memory();
    const u8* lo = static_cast<const u8*>(arch::phys_to_virt(m.base));
    for (u32 i = 0; i < count_; ++i) {
        const Partition* p = s_.partitions[PartitionId(i)];
        live_[i] = false;
        const u8* at = reinterpret_cast<const u8*>(p);
        // Compared as addresses in the kernel's view of object memory; nothing outside it
        // is dereferenced.
        if (p == nullptr || lo == nullptr || at < lo || m.used < sizeof(Partition) ||
            static_cast<u64>(at - lo) > m.used - sizeof(Partition)) {
            value(add(InvariantId::KernelIntegrity, "partition object missing or outside object memory"), i);
            continue;
        }
        live_[i] = true;
        if (p->index != PartitionId(i)) value(about(add(InvariantId::PartitionIdentity, "partition index differs from its slot"), *p), i);
        if (p->vmid == 0) about(add(InvariantId::PartitionIdentity, "VMID 0 (reserved, never a partition's)"), *p);
        if (p->vmid >= (1u << stage2::kVmidBits))
            value(about(add(InvariantId::PartitionIdentity, "VMID beyond the implemented VMID bits"), *p), p->vmid);
        if (!p->stage2.initialized()) {
            about(add(InvariantId::PartitionIdentity, "partition has no stage-2 table"), *p);
        } else if (p->stage2.vmid() != p->vmid) {
            value(about(add(InvariantId::PartitionIdentity, "stage-2 table tagged with another VMID"), *p),
                  p->stage2.vmid());
        }
        if (p->vcpu_count == 0 || p->vcpu_count > manifest::kMaxVcpusPerPartition)
            value(about(add(InvariantId::PartitionIdentity, "vCPU count out of range"), *p), p->vcpu_count);
        for (u32 v = 0; v < vcpu_count(*p); ++v)
            if (p->vcpus.bound(v) && (p->vcpus[v].partition != p || p->vcpus[v].index != VcpuIndex(v)))
                value(about(add(InvariantId::PartitionIdentity, "vCPU does not name its partition and index"), *p), v);
        if (p->region_count > Partition::kMaxRegions)
            value(about(add(InvariantId::TablesMatchRegions, "region count beyond capacity"), *p), p->region_count);
    }
    for (u32 j = 0; j < count_; ++j) {
        if (!live_[j]) continue;
        for (u32 i = 0; i < j; ++i) {
            if (!live_[i]) continue;
            const Partition& a = part(i);
            const Partition& b = part(j);
            if (a.vmid == b.vmid)
                value(other(about(add(InvariantId::PartitionIdentity, "VMID shared with another partition"), b), a),
                      b.vmid);
            if (a.stage2.initialized() && b.stage2.initialized() && a.stage2.root() == b.stage2.root())
                other(about(add(InvariantId::PartitionIdentity, "stage-2 root shared with another partition"), b), a);
        }
    }
}

// ---- INV-7 (core part): core -> vCPU -> same core, and every binding is to a real core
void Checker::cores() {
    const unsigned ncores = s_.cores.online();
    for (u32 i = 0; i < count_; ++i) {
        if (!live_[i]) continue;
        const Partition& p = part(i);
        for (u32 k = 0; k < vcpu_count(p); ++k) {
            if (!p.vcpus.bound(k)) continue;
            const Vcpu& v = p.vcpus[k];
            // A Vcpu is a kernel object of its own: one no cap names is freed memory (INV-4).
            if (!names_object(ObjectType::Vcpu, &v))
                value(about(add(InvariantId::CapabilitySoundness, "a bound vCPU is no Vcpu object any cap names"), p), k);
            if (v.core.is_none()) continue;
            if (v.core.raw() >= ncores) {
                value(about(add(InvariantId::TemporalIsolation, "vCPU bound to a core the system does not have"), p),
                      v.core.raw());
            } else if (s_.cores.on(v.core) != &v) {
                value(about(add(InvariantId::TemporalIsolation, "vCPU bound to a core that does not run it"), p), v.core.raw());
            }
        }
    }
    for (unsigned c = 0; c < ncores; ++c) {
        const Vcpu* v = s_.cores.on(CoreId(c));
        if (v == nullptr) continue;
        const Partition* owner = nullptr;
        for (u32 i = 0; i < count_ && owner == nullptr; ++i) {
            if (!live_[i]) continue;
            const Partition& p = part(i);
            for (u32 k = 0; k < vcpu_count(p); ++k)
                if (p.vcpus.bound(k) && &p.vcpus[k] == v) owner = &p;
        }
        if (owner == nullptr) {
            value(add(InvariantId::TemporalIsolation, "core runs a vCPU of no partition"), c);
        } else if (v->core != CoreId(c)) {
            value(about(add(InvariantId::TemporalIsolation, "core runs a vCPU bound to another core"), *owner), c);
        }
    }
}

}  // namespace bh::checker

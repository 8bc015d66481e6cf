#include <arch/arch.hpp>
#include <boot/boot_space.hpp>
#include <partition/core_map.hpp>
#include <partition/partition.hpp>

namespace bh {

Outcome CoreMap::init(unsigned online) {
    if (online == 0 || online > platform::kMaxCores) return refuse(Status::InvalidArgument, "core count");
    for (Atomic<Vcpu*>& v : vcpu_) v.store(nullptr);
    online_ = online;
    closed_ = false;
    return Status::Ok;
}

Outcome CoreMap::bind(const BootSpace& boot, Partition& p, BootSlot vcpu_slot, VcpuIndex index, CoreId core) {
    if (closed_) return kSealed;
    const CapSlot* slot = boot.slot(vcpu_slot);
    if (slot == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    if (slot->cap.type != ObjectType::Vcpu) return refuse(Status::InvalidArgument, "not a Vcpu cap");
    auto* v = static_cast<Vcpu*>(arch::phys_to_virt(PhysAddr(slot->cap.object)));
    if (v == nullptr) return refuse(Status::OutOfRange, "Vcpu object outside RAM");
    if (index.raw() >= p.vcpu_count) return refuse(Status::InvalidArgument, "no such vCPU");
    if (core.raw() >= online_) return refuse(Status::OutOfRange, "no such core, or it is not online");
    if (vcpu_[core.raw()].load() != nullptr) return refuse(Status::Exists, "core already bound");
    if (p.vcpus.bound(index.raw())) return refuse(Status::Exists, "vCPU already bound");
    if (v->partition != nullptr) return refuse(Status::Exists, "Vcpu object already bound");
    v->partition = &p;
    v->index = index;
    v->core = core;
    p.vcpus.attach(index.raw(), v);
    vcpu_[core.raw()].store(v);
    return Status::Ok;
}

Vcpu* CoreMap::claim(CoreId core) const {
    Vcpu* v = on(core);
    if (v == nullptr || !v->transition(VcpuState::Runnable, VcpuState::Running)) return nullptr;
    // Restart back-off: runnable, but not yet (a stop meanwhile finds it Runnable again).
    if (!v->start_due(arch::counter_now())) {
        v->store_state(VcpuState::Runnable);
        return nullptr;
    }
    if (v->partition->load_state() == PartitionState::Running) return v;
    v->store_state(VcpuState::Off);  // its partition is being taken down: never enter it
    return nullptr;
}

}  // namespace bh

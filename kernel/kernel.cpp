#include <arch/arch.hpp>
#include <ipc/notification.hpp>
#include <kernel.hpp>
#include <memory/frame_mapping.hpp>
#include <new>

namespace bh {

Outcome Kernel::init(u64 ram_base, u64 ram_size, unsigned cores_online) {
    if (const Outcome o = cores.init(cores_online); !o.ok()) return o;
    return boot.init(ram_base, ram_size);
}

void Kernel::mark_sealed() {
    sealed_ = true;
    boot.close();
    partitions.close();
    cores.close();
    flows.close();
    pci.close();
}

Status Kernel::create(ObjectType type, PhysAddr base, unsigned size_bits, const CapLockHeld&) {
    // Only kernel objects have a header to construct, always in RAM (device memory never is one).
    void* memory = arch::phys_to_virt(base);
    switch (type) {
        case ObjectType::Partition: {
            if (memory == nullptr) return Status::OutOfRange;
            const u64 header = align_up(sizeof(Partition), kPageSize);
            if (header + stage2::kRootSize + kPageSize > (1ull << size_bits)) return Status::InvalidArgument;
            auto* p = new (memory) Partition();
            return p->table_pool.init(base + header, (1ull << size_bits) - header);
        }
        case ObjectType::Notification: return notification_create(base);
        case ObjectType::Vcpu:
            if (memory == nullptr) return Status::OutOfRange;
            new (memory) Vcpu();
            return Status::Ok;
        // A Channel has no header: the object is the shared region itself, zeroed by retype.
        default: return Status::Ok;  // memory, CNodes (zeroed = empty slots), untyped, channels
    }
}

void Kernel::destroy(const Capability& cap, const CapLockHeld& held) {
    switch (cap.type) {
        case ObjectType::Notification:
            notification_destroyed(cap, held);  // its waiter resumes
            interrupts.notification_destroyed(cap.object, held);
            break;
        case ObjectType::IrqHandler: interrupts.handler_destroyed(cap.irq(), held); break;
        case ObjectType::CNode:
            // A partition whose CSpace root is gone keeps running, but finds no capability.
            partitions.for_each([&cap, &held](Partition& p) {
                if (p.cspace_root.object == cap.object) p.set_cspace_root(Capability{}, held);
            });
            break;
        // A Partition object's last cap lives in the boot CNode, which only the kernel holds, and
        // the kernel never deletes it: destroying a partition comes with managing partitions.
        default: break;
    }
}

void Kernel::unmap(const Capability& cap, const CapLockHeld& held) {
    if (cap.type == ObjectType::DmaStream) {
        dma.cap_deleted(cap, held);  // its binding goes with the cap that made it
        return;
    }
    unmap_frame(partitions, cap);
}

// A Vcpu is bound for good (CoreMap::bind): its partition, its core and whoever takes the
// partition down point to it. Its last cap is therefore never deleted; the partition stays as
// described for every run, and no hook has to take a running partition down under the
// capability lock that taking down needs itself (notification waits, interrupt bindings).
bool Kernel::in_use(const Capability& cap) const {
    if (cap.type != ObjectType::Vcpu) return false;
    const auto* v = static_cast<const Vcpu*>(arch::phys_to_virt(PhysAddr(cap.object)));
    return v != nullptr && v->partition != nullptr;
}

}  // namespace bh

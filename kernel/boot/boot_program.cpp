#include <audit/audit_cap.hpp>
#include <boot/boot_program.hpp>
#include <devices/mmio_forward.hpp>
#include <memory/frame_mapping.hpp>
#include <pci/pci_boot.hpp>
#include <policy/seal.hpp>
#ifdef BH_DEBUG_INVARIANTS
#include <invariants/debug_kernel.hpp>
#endif

namespace bh {

const char* op_name(manifest::OpKind kind) {
    switch (kind) {
        case manifest::OpKind::CreateUntyped: return "create-untyped";
        case manifest::OpKind::Retype: return "retype";
        case manifest::OpKind::CreatePartition: return "create-partition";
        case manifest::OpKind::MapFrame: return "map-frame";
        case manifest::OpKind::GrantCap: return "grant-cap";
        case manifest::OpKind::LoadImage: return "load-image";
        case manifest::OpKind::BindVcpu: return "bind-vcpu";
        case manifest::OpKind::StartVcpu: return "start-vcpu";
        case manifest::OpKind::Seal: return "seal";
        case manifest::OpKind::DeclareFlow: return "declare-flow";
        case manifest::OpKind::CreateIrqHandler: return "create-irq-handler";
        case manifest::OpKind::CreateAuditLog: return "create-audit-log";
        case manifest::OpKind::AssignPciFunction: return "assign-pci-function";
        case manifest::OpKind::PlacePciBar: return "place-pci-bar";
        case manifest::OpKind::ForwardMmio: return "forward-mmio";
    }
    return "unknown";
}

namespace {

// The reader checked every slot, index and count against the manifest's limits: the narrowing
// conversions below lose nothing.
BootSlot slot_arg(u64 value) { return BootSlot(static_cast<u32>(value)); }

// ForwardMmio's packed arguments (bulkhead/manifest.hpp), each range checked by the reader.
Outcome forward_mmio(Kernel& k, const manifest::ManifestOp& op, Partition& client) {
    if (k.boot.closed()) return kSealed;
    Partition* server = k.partitions.in_slot(k.boot, slot_arg(op.arg[3] & 0xffff'ffff));
    if (server == nullptr) return refuse(Status::NotFound, "no server partition in that boot slot");
    const CapSlot* requests = k.boot.slot(BootSlot(op.slot));
    const CapSlot* doorbell = k.boot.slot(slot_arg(op.arg[2] >> 48));
    if (requests == nullptr || doorbell == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
    return forward_configure(client, *server, op.arg[1], op.arg[2] & 0xffff'ffff,
                             static_cast<u32>(op.arg[2] >> 32 & 0xffff), requests->cap, doorbell->cap, op.arg[3] >> 32);
}

}  // namespace

Outcome execute_op(Kernel& k, const ManifestReader& reader, const manifest::ManifestOp& op) {
    using manifest::OpKind;
    const BootSlot slot(op.slot);
    switch (op.kind) {
        case OpKind::CreateUntyped:
            return k.boot.create_untyped(slot, PhysAddr(op.arg[0]), static_cast<unsigned>(op.arg[1]),
                                         op.arg[2] == manifest::kUntypedDevice);
        case OpKind::Retype: {
            // Nothing runs concurrently with the boot program; the lock is taken for its witness,
            // which capability operations ask for as they do at run time.
            CapLockGuard lock(cap_lock);
            return k.boot.retype(slot, static_cast<ObjectType>(op.arg[0]), static_cast<unsigned>(op.arg[1]),
                                 slot_arg(op.arg[2]), static_cast<u32>(op.arg[3]), k, lock.held());
        }
        case OpKind::CreatePartition: {
            CapLockGuard lock(cap_lock);
            return k.partitions.create(k.boot, slot, slot_arg(op.arg[0]), op.name,
                                       static_cast<manifest::RestartPolicy>(op.arg[1]), static_cast<u32>(op.arg[2]),
                                       op.arg[3], lock.held());
        }
        case OpKind::CreateIrqHandler: return k.boot.create_irq_handler(slot, op.arg[0], k.interrupts);
        case OpKind::CreateAuditLog: return create_audit_log(k.boot, slot);
        case OpKind::Seal: return seal(k);
        default: break;
    }
    // The remaining ops act on a partition named by the boot slot of its cap.
    Partition* p = op.arg[0] < manifest::kBootSlots ? k.partitions.in_slot(k.boot, slot_arg(op.arg[0])) : nullptr;
    if (p == nullptr) return refuse(Status::NotFound, "no partition in that boot slot");
    switch (op.kind) {
        case OpKind::MapFrame: {
            CapSlot* frame = k.boot.slot(slot);
            if (frame == nullptr) return refuse(Status::OutOfRange, "no such boot slot");
            if (k.boot.closed()) return kSealed;
            const Result<MapAttributes> attrs = MapAttributes::decode(op.arg[2]);
            if (!attrs.ok()) return attrs;
            return map_frame(*p, *frame, Ipa(op.arg[1]), attrs.value());
        }
        case OpKind::GrantCap: {
            CapLockGuard lock(cap_lock);
            return k.boot.grant_cap(slot, *p, op.arg[1], Rights::from_bits(op.arg[2]), op.arg[3], lock.held());
        }
        case OpKind::DeclareFlow: {
            Partition* to = op.arg[1] < manifest::kBootSlots ? k.partitions.in_slot(k.boot, slot_arg(op.arg[1])) : nullptr;
            if (to == nullptr) return refuse(Status::NotFound, "no partition in that boot slot");
            return k.flows.declare(k.partitions, *p, *to, static_cast<manifest::FlowKind>(op.arg[2]));
        }
        case OpKind::LoadImage: return k.partitions.load_image(*p, Ipa(op.arg[1]), reader.image(op), op.arg[3]);
        case OpKind::BindVcpu:
            return k.cores.bind(k.boot, *p, slot, VcpuIndex(static_cast<u32>(op.arg[1])), CoreId(static_cast<u32>(op.arg[2])));
        case OpKind::StartVcpu:
            return k.partitions.set_entry(*p, VcpuIndex(static_cast<u32>(op.arg[1])), op.arg[2], op.arg[3]);
        case OpKind::AssignPciFunction:
            return assign_pci_function(k.boot, k.pci, k.dma, slot, *p, static_cast<u32>(op.arg[1]),
                                       static_cast<u32>(op.arg[2]));
        case OpKind::PlacePciBar:
            return k.pci.place_bar(static_cast<u32>(op.arg[1]), p->index, static_cast<u32>(op.arg[2]), op.arg[3]);
        case OpKind::ForwardMmio: return forward_mmio(k, op, *p);
        default: return refuse(Status::InvalidArgument, "unknown op");
    }
}

BootResult run_boot_program(Kernel& k, const ManifestReader& reader) {
    if (!reader.valid()) return BootResult{refuse(Status::Corrupt, "manifest not validated"), -1};
    for (u32 i = 0; i < reader.op_count(); ++i) {
        const Outcome o = execute_op(k, reader, reader.op(i));
        if (!o.ok()) return BootResult{o, static_cast<int>(i)};
#ifdef BH_DEBUG_INVARIANTS
        // Debug kernels (cmake -DBH_DEBUG_INVARIANTS=ON): every op must leave a state that
        // satisfies every checkable invariant; the first that does not stops the boot.
        if (!debug_invariants::after_boot_op(k, i))
            return BootResult{refuse(Status::Corrupt, "invariant violated after this op"), static_cast<int>(i)};
#endif
    }
    return BootResult{Outcome(), -1};
}

}  // namespace bh

#include <boot_program.hpp>
#ifdef BH_DEBUG_INVARIANTS
#include <invariants.hpp>
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
        case manifest::OpKind::AssignPciFunction: return "assign-pci-function";
        case manifest::OpKind::PlacePciBar: return "place-pci-bar";
    }
    return "unknown";
}

namespace {

Status execute(System& system, const ManifestReader& reader, const manifest::ManifestOp& op) {
    using manifest::OpKind;
    switch (op.kind) {
        case OpKind::CreateUntyped:
            return system.create_untyped(op.slot, PhysAddr(op.arg[0]), static_cast<unsigned>(op.arg[1]),
                                         op.arg[2] == manifest::kUntypedDevice);
        case OpKind::Retype:
            return system.retype(op.slot, static_cast<ObjectType>(op.arg[0]), static_cast<unsigned>(op.arg[1]),
                                 static_cast<u32>(op.arg[2]), static_cast<u32>(op.arg[3]));
        case OpKind::CreatePartition:
            return system.create_partition(op.slot, static_cast<u32>(op.arg[0]), op.name,
                                           static_cast<manifest::RestartPolicy>(op.arg[1]),
                                           static_cast<u32>(op.arg[2]));
        case OpKind::CreateIrqHandler: return system.create_irq_handler(op.slot, op.arg[0]);
        case OpKind::Seal: return system.seal();
        default: break;
    }
    // The remaining ops act on a partition named by the boot slot of its cap.
    const u64 partition_slot = op.arg[0];
    Partition* p = partition_slot < manifest::kBootSlots ? system.partition_in_slot(static_cast<u32>(partition_slot))
                                                         : nullptr;
    if (p == nullptr) return Status::NotFound;
    switch (op.kind) {
        case OpKind::MapFrame: {
            CapSlot* frame = system.boot_slot(op.slot);
            if (frame == nullptr) return Status::OutOfRange;
            return system.map_frame(*p, *frame, Ipa(op.arg[1]), op.arg[2]);
        }
        case OpKind::GrantCap:
            return system.grant_cap(op.slot, *p, op.arg[1], Rights::from_bits(op.arg[2]), op.arg[3]);
        case OpKind::DeclareFlow: {
            Partition* destination =
                op.arg[1] < manifest::kBootSlots ? system.partition_in_slot(static_cast<u32>(op.arg[1])) : nullptr;
            if (destination == nullptr) return Status::NotFound;
            return system.declare_flow(*p, *destination, static_cast<manifest::FlowKind>(op.arg[2]));
        }
        case OpKind::LoadImage: return system.load_image(*p, Ipa(op.arg[1]), reader.image(op), op.arg[3]);
        case OpKind::BindVcpu:
            return system.bind_vcpu(*p, op.slot, static_cast<u32>(op.arg[1]), static_cast<u32>(op.arg[2]));
        case OpKind::StartVcpu: return system.set_entry(*p, static_cast<u32>(op.arg[1]), op.arg[2], op.arg[3]);
        case OpKind::AssignPciFunction:
            return system.assign_pci_function(op.slot, *p, static_cast<u32>(op.arg[1]), static_cast<u32>(op.arg[2]));
        case OpKind::PlacePciBar:
            return system.place_pci_bar(*p, static_cast<u32>(op.arg[1]), static_cast<u32>(op.arg[2]), op.arg[3]);
        default: return Status::InvalidArgument;
    }
}

}  // namespace

BootResult run_boot_program(System& system, const ManifestReader& reader) {
    if (!reader.valid()) return BootResult{Status::Corrupt, "manifest not validated", -1};
    for (u32 i = 0; i < reader.op_count(); ++i) {
        manifest::ManifestOp op = reader.op(i);
        Status s = execute(system, reader, op);
#ifdef BH_DEBUG_INVARIANTS
        // Debug kernels (cmake -DBH_DEBUG_INVARIANTS=ON): every op must leave a state that
        // satisfies every checkable invariant; the first that does not stops the boot.
        if (ok(s)) {
            const InvariantReport report = check_invariants(system);
            if (!report.ok()) {
                log_invariant_report(report);
                return BootResult{Status::Corrupt, "invariant violated after this op", static_cast<int>(i)};
            }
        }
#endif
        if (!ok(s)) {
            const char* why = system.last_refusal();
            if (s == Status::NotFound && why[0] == '\0') why = "no partition in that boot slot";
            return BootResult{s, why[0] != '\0' ? why : status_name(s), static_cast<int>(i)};
        }
    }
    return BootResult{Status::Ok, "ok", -1};
}

}  // namespace bh

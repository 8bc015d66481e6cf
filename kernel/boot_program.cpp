#include <boot_program.hpp>
#ifdef BH_DEBUG_INVARIANTS
#include <invariants.hpp>
#endif

namespace bh {

const char* op_name(manifest::OpKind kind) {
    switch (kind) {
        case manifest::OpKind::CreatePartition: return "create-partition";
        case manifest::OpKind::MapMemory: return "map-memory";
        case manifest::OpKind::LoadImage: return "load-image";
        case manifest::OpKind::BindCore: return "bind-core";
        case manifest::OpKind::StartVcpu: return "start-vcpu";
        case manifest::OpKind::Seal: return "seal";
    }
    return "unknown";
}

namespace {

Status execute(System& system, const ManifestReader& reader, const manifest::ManifestOp& op) {
    using manifest::OpKind;
    if (op.kind == OpKind::CreatePartition) {
        auto created = system.create_partition(op.name, static_cast<manifest::RestartPolicy>(op.arg[0]),
                                               static_cast<u32>(op.arg[1]));
        if (!created.ok()) return created.status();
        // The reader checked that creation order gives this index; the kernel checks it again
        // because later ops name partitions by it.
        return created.value()->index == op.partition ? Status::Ok : Status::Corrupt;
    }
    if (op.kind == OpKind::Seal) return system.seal();

    Partition* p = system.partition(op.partition);
    if (p == nullptr) return Status::NotFound;
    switch (op.kind) {
        case OpKind::MapMemory: return system.map_memory(*p, Ipa(op.arg[0]), PhysAddr(op.arg[1]), op.arg[2], op.arg[3]);
        case OpKind::LoadImage: return system.load_image(*p, Ipa(op.arg[0]), reader.image(op), op.arg[2]);
        case OpKind::BindCore: return system.bind_core(*p, static_cast<u32>(op.arg[0]), static_cast<u32>(op.arg[1]));
        case OpKind::StartVcpu: return system.set_entry(*p, static_cast<u32>(op.arg[0]), op.arg[1], op.arg[2]);
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
            return BootResult{s, why[0] != '\0' ? why : status_name(s), static_cast<int>(i)};
        }
    }
    return BootResult{Status::Ok, "ok", -1};
}

}  // namespace bh

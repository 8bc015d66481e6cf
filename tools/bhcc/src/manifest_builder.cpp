#include <bhcc/manifest_builder.hpp>

#include <bhcc/platform_devices.hpp>

#include <manifest_writer.hpp>

#include <cstring>

namespace bhcc {
namespace {

namespace manifest = bh::manifest;
using manifest::ManifestHeader;
using manifest::ManifestOp;
using manifest::OpKind;

constexpr u64 kImageAlignment = 8;

[[nodiscard]] ManifestOp make_op(OpKind kind, u32 partition, u64 a0 = 0, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0) {
    ManifestOp op{};  // zeroes the name and padding: the checksum covers every byte
    op.kind = kind;
    op.partition = partition;
    op.arg[0] = a0;
    op.arg[1] = a1;
    op.arg[2] = a2;
    op.arg[3] = a3;
    return op;
}

// Segment bytes waiting for their payload offset, which is known only once the op count is.
struct PendingImage {
    std::size_t op_index;
    std::vector<u8> data;
};

void emit_partition(u32 index, const Partition& partition, const ElfImage& image, std::vector<ManifestOp>& ops,
                    std::vector<PendingImage>& pending) {
    ManifestOp create = make_op(OpKind::CreatePartition, index, static_cast<u64>(partition.restart),
                                partition.cpus.size());
    std::memcpy(create.name, partition.name.data(), partition.name.size());  // validated < kNameLength
    ops.push_back(create);
    for (const MemoryRegion& region : partition.regions) {
        ops.push_back(make_op(OpKind::MapMemory, index, region.ipa, region.phys, region.size, region.attrs));
    }
    for (const std::string& name : partition.devices) {
        const PlatformDevice* device = find_platform_device(name);
        ops.push_back(make_op(OpKind::MapMemory, index, device->base, device->base, device->size,
                              manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kDevice));
    }
    // Only the file-backed part is carried; the tail up to p_memsz (bss) is already zero because
    // the kernel scrubs partition memory before mapping it.
    for (const ElfSegment& segment : image.loads) {
        if (segment.filesz == 0) continue;
        pending.push_back({ops.size(), image.segment_data(segment)});
        ops.push_back(make_op(OpKind::LoadImage, index, segment.paddr, 0, segment.filesz));
    }
    for (std::size_t vcpu = 0; vcpu < partition.cpus.size(); ++vcpu) {
        ops.push_back(make_op(OpKind::BindCore, index, vcpu, partition.cpus[vcpu]));
    }
    // Secondary vcpus are started by the guest itself through (emulated) PSCI CPU_ON.
    ops.push_back(make_op(OpKind::StartVcpu, index, 0, image.entry, partition.boot_arg));
}

template <typename T>
void put(std::vector<u8>& bytes, std::size_t offset, const T& value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

}  // namespace

PackedManifest build_manifest(const SystemDescription& system, const std::vector<ElfImage>& images) {
    PackedManifest packed;
    std::vector<PendingImage> pending;
    for (std::size_t i = 0; i < system.partitions.size(); ++i) {
        emit_partition(static_cast<u32>(i), system.partitions[i], images[i], packed.ops, pending);
    }
    packed.ops.push_back(make_op(OpKind::Seal, 0));

    u64 offset = sizeof(ManifestHeader) + packed.ops.size() * sizeof(ManifestOp);
    for (PendingImage& image : pending) {
        offset = bh::align_up(offset, kImageAlignment);
        packed.ops[image.op_index].arg[1] = offset;
        offset += image.data.size();
    }
    const u64 total = bh::align_up(offset, kImageAlignment);

    // Sizes beyond u32 cannot be represented: manifest_finalize then leaves total_size and the
    // checksum zero, and the self-check refuses the result (after check_manifest_limits has
    // reported the payload limit to the integrator).
    packed.bytes.assign(total, 0);
    ManifestHeader header{};
    header.magic = manifest::kMagic;
    header.version = manifest::kVersion;
    header.op_size = sizeof(ManifestOp);
    header.op_count = static_cast<u32>(packed.ops.size());
    header.ops_offset = sizeof(ManifestHeader);
    header.ram_base = system.ram_base;
    header.ram_size = system.ram_size;
    put(packed.bytes, 0, header);
    for (std::size_t i = 0; i < packed.ops.size(); ++i) {
        put(packed.bytes, sizeof(ManifestHeader) + i * sizeof(ManifestOp), packed.ops[i]);
    }
    for (const PendingImage& image : pending) {
        std::memcpy(packed.bytes.data() + packed.ops[image.op_index].arg[1], image.data.data(), image.data.size());
    }
    (void)bh::manifest_finalize(packed.bytes.data(), packed.bytes.size());
    return packed;
}

}  // namespace bhcc

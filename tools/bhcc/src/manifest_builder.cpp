#include <bhcc/manifest_builder.hpp>

#include <bhcc/cap_layout.hpp>
#include <bhcc/forward_rules.hpp>
#include <bhcc/pci_layout.hpp>
#include <bhcc/platform_devices.hpp>

#include <bulkhead/manifest_writer.hpp>

#include <bulkhead/objects.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <string>

namespace bhcc {
namespace {

namespace manifest = bh::manifest;
using manifest::ManifestHeader;
using manifest::ManifestOp;
using manifest::OpKind;
using bh::ObjectType;
namespace rights = bh::rights;

constexpr u64 kImageAlignment = 8;

[[nodiscard]] ManifestOp make_op(OpKind kind, u32 slot, u64 a0 = 0, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0) {
    ManifestOp op{};  // zeroes the name and padding: the checksum covers every byte
    op.kind = kind;
    op.slot = slot;
    op.arg[0] = a0;
    op.arg[1] = a1;
    op.arg[2] = a2;
    op.arg[3] = a3;
    return op;
}

[[nodiscard]] u64 type_arg(ObjectType type) { return static_cast<u64>(type); }

// The rights a frame cap carries in the partition's CSpace: what `access` allows, plus Grant so
// the partition may derive copies (e.g. to share through a channel later).
[[nodiscard]] u64 frame_rights(u64 attrs) {
    u64 rights = rights::kGrant;
    if (attrs & manifest::attr::kRead) rights |= rights::kRead;
    if (attrs & manifest::attr::kWrite) rights |= rights::kWrite;
    if (attrs & manifest::attr::kExecute) rights |= rights::kExecute;
    return rights;
}

// Segment bytes waiting for their payload offset, which is known only once the op count is.
struct PendingImage {
    std::size_t op_index;
    std::vector<u8> data;
};

// One frame (or device page) made by the program, in address order.
struct MadeFrame {
    u32 slot;
    u64 ipa;
};

// The position of the /channels or /notifications child named `name` (its node name).
template <class Nodes>
std::optional<std::size_t> index_of(const Nodes& nodes, const std::string& name) {
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (!name.empty() && nodes[i].node.substr(nodes[i].node.rfind('/') + 1) == name) return i;
    return std::nullopt;
}

class Emitter {
public:
    Emitter(std::vector<ManifestOp>& ops, std::vector<PendingImage>& pending) : ops_(ops), pending_(pending) {}

    void partition(const Partition& partition, const ElfImage& image) {
        const u32 p = allocate(1);
        const u32 cnode = allocate(1);
        emit(make_op(OpKind::Retype, manifest::kKernelUntypedSlot, type_arg(ObjectType::Partition),
                     kPartitionObjectBits, p, 1));
        emit(make_op(OpKind::Retype, manifest::kKernelUntypedSlot, type_arg(ObjectType::CNode), kCSpaceRadix,
                     cnode, 1));
        // The virtual devices the description gives it; a Linux partition runs an unmodified OS
        // (the debug and PMU registers it programs at boot read as zero: kernel/arch/aarch64/
        // os_registers.hpp); `faults = "inject"`.
        const u64 flags = partition.flags | (partition.is_linux() ? manifest::partition_flag::kOsGuest : 0) |
                          (partition.faults == manifest::FaultPolicy::Inject ? manifest::partition_flag::kInjectFaults : 0);
        ManifestOp create = make_op(OpKind::CreatePartition, p, cnode, static_cast<u64>(partition.restart),
                                    partition.cpus.size(), flags);
        std::memcpy(create.name, partition.name.data(), partition.name.size());  // validated < kNameLength
        emit(create);
        next_index_ = kCSpaceFirstFrameIndex;
        emit(make_op(OpKind::GrantCap, cnode, p, kCSpaceOwnCNodeIndex,
                     rights::kRead | rights::kWrite | rights::kGrant));

        for (const MemoryRegion& region : partition.regions) {
            const std::vector<MadeFrame> frames = make_frames(region_blocks(region), ObjectType::Frame, 0);
            for (const MadeFrame& frame : frames) {
                if (region.mapped) emit(make_op(OpKind::MapFrame, frame.slot, p, frame.ipa, region.attrs));
                emit(make_op(OpKind::GrantCap, frame.slot, p, next_index_++, frame_rights(region.attrs)));
            }
        }
        // Devices: IPA == PA, read/write; the kernel adds the device memory type itself.
        for (const std::string& name : partition.devices) {
            const PlatformDevice* device = find_platform_device(name);
            const std::vector<MadeFrame> pages =
                make_frames(device_blocks(device->base, device->size), ObjectType::DeviceMmio, manifest::kUntypedDevice);
            for (const MadeFrame& page : pages) {
                emit(make_op(OpKind::MapFrame, page.slot, p, page.ipa, manifest::attr::kRead | manifest::attr::kWrite));
                emit(make_op(OpKind::GrantCap, page.slot, p, next_index_++, rights::kRead | rights::kWrite));
            }
        }

        // Only the file-backed part is carried; the tail up to p_memsz (bss) is already zero
        // because retype zeroes every RAM frame it makes.
        for (const ElfSegment& segment : image.loads) {
            if (segment.filesz == 0) continue;
            pending_.push_back({ops_.size(), image.segment_data(segment)});
            emit(make_op(OpKind::LoadImage, 0, p, segment.paddr, 0, segment.filesz));
        }
        // Its vCPUs: Vcpu objects from the kernel's untyped (size_bits 0: the fixed size), each
        // bound to the partition as vCPU i on cpus[i].
        const u32 first_vcpu = allocate(partition.cpus.size());
        emit(make_op(OpKind::Retype, manifest::kKernelUntypedSlot, type_arg(ObjectType::Vcpu), 0, first_vcpu,
                     partition.cpus.size()));
        for (std::size_t vcpu = 0; vcpu < partition.cpus.size(); ++vcpu) {
            emit(make_op(OpKind::BindVcpu, static_cast<u32>(first_vcpu + vcpu), p, vcpu, partition.cpus[vcpu]));
        }
        // Secondary vcpus are started by the guest itself through (emulated) PSCI CPU_ON.
        emit(make_op(OpKind::StartVcpu, 0, p, 0, image.entry, partition.boot_arg));
        made_.push_back({partition.name, p, next_index_});
    }

    // Once every partition exists, before the control caps: each channel (an untyped over its
    // region, retyped into one Channel object) and each notification (retyped from the kernel's
    // untyped), each followed by its grants at the members' next free CSpace indices; then one
    // DeclareFlow per flow those grants make possible (cap_layout.hpp: ipc_grants, flows_of), so
    // the declared graph is exactly the capability graph the kernel checks at Seal.
    void ipc(const SystemDescription& system) {
        const std::vector<IpcGrant> grants = ipc_grants(system);
        auto grant = [&](IpcKind kind, std::size_t object, u32 slot) {
            for (const IpcGrant& g : grants) {
                if (g.kind != kind || g.object != object) continue;
                Made& member = made_[g.partition];
                emit(make_op(OpKind::GrantCap, slot, member.slot, member.next_index++, g.rights, g.badge));
            }
        };
        for (std::size_t c = 0; c < system.channels.size(); ++c) {
            const Channel& channel = system.channels[c];
            const u64 bits = static_cast<u64>(std::countr_zero(channel.size));  // validated power of two
            const u32 untyped = allocate(1);
            emit(make_op(OpKind::CreateUntyped, untyped, channel.phys, bits, 0));
            const u32 slot = allocate(1);
            emit(make_op(OpKind::Retype, untyped, type_arg(ObjectType::Channel), bits, slot, 1));
            channel_slots_.push_back(slot);
            grant(IpcKind::Channel, c, slot);
        }
        for (std::size_t n = 0; n < system.notifications.size(); ++n) {
            const u32 slot = allocate(1);
            // size_bits 0: the fixed size (one page), from the kernel's object memory.
            emit(make_op(OpKind::Retype, manifest::kKernelUntypedSlot, type_arg(ObjectType::Notification), 0, slot, 1));
            notification_slots_.push_back(slot);
            grant(IpcKind::Notification, n, slot);
        }
        for (const Flow& flow : flows_of(grants)) {
            emit(make_op(OpKind::DeclareFlow, 0, made_[flow.source].slot, made_[flow.destination].slot,
                         static_cast<u64>(flow.kind)));
        }
    }

    // After the IPC objects (a forward names its doorbell and DMA window among them), per `/forwards`
    // child in document order: its request page (one 4 KiB Frame over `requests`) mapped read-only
    // into the server and granted to it (Read), the client's Partition cap (Write only: MmioReply,
    // MmioRaise) granted to the server, the DMA window channel mapped into the client at its IPA
    // (its grant is the channel's), then ForwardMmio and the flows it makes, both ways.
    void forwards(const SystemDescription& system) {
        for (std::size_t i = 0; i < system.forwards.size(); ++i) {
            const MmioForward& f = system.forwards[i];
            Made* client = find_mutable(f.client);
            Made* server = find_mutable(f.server);
            const std::optional<std::size_t> doorbell = index_of(system.notifications, f.doorbell);
            if (client == nullptr || server == nullptr || !doorbell) continue;  // refused by the validator
            const u32 untyped = allocate(1);
            emit(make_op(OpKind::CreateUntyped, untyped, f.requests, kSmallFrameBits, 0));
            const u32 page = allocate(1);
            emit(make_op(OpKind::Retype, untyped, type_arg(ObjectType::Frame), kSmallFrameBits, page, 1));
            emit(make_op(OpKind::MapFrame, page, server->slot, f.requests_ipa, manifest::attr::kRead));
            emit(make_op(OpKind::GrantCap, page, server->slot, server->next_index++, rights::kRead));
            emit(make_op(OpKind::GrantCap, client->slot, server->slot, server->next_index++, rights::kWrite));
            if (const std::optional<std::size_t> dma = index_of(system.channels, f.dma_window))
                emit(make_op(OpKind::MapFrame, channel_slots_[*dma], client->slot, f.dma_window_ipa,
                             manifest::attr::kRead | manifest::attr::kWrite));
            emit(make_op(OpKind::ForwardMmio, page, client->slot, f.ipa,
                         f.size | (f.interrupt << 32) | (static_cast<u64>(notification_slots_[*doorbell]) << 48),
                         server->slot | (forward_badge(i) << 32)));
            for (const manifest::FlowKind kind : {manifest::FlowKind::Memory, manifest::FlowKind::Signal}) {
                emit(make_op(OpKind::DeclareFlow, 0, client->slot, server->slot, static_cast<u64>(kind)));
                emit(make_op(OpKind::DeclareFlow, 0, server->slot, client->slot, static_cast<u64>(kind)));
            }
        }
    }

    // Once every partition exists (a partition may control one later in the document): per
    // partition in document order, per `controls` entry in order, the controlled partition's
    // Partition cap with the Control right only, at the controller's next free CSpace index.
    void controls(const SystemDescription& system) {
        for (std::size_t i = 0; i < system.partitions.size(); ++i) {
            Made& controller = made_[i];
            for (const std::string& name : system.partitions[i].controls) {
                const Made* target = find(name);
                if (target == nullptr) continue;  // refused by the validator
                emit(make_op(OpKind::GrantCap, target->slot, controller.slot, controller.next_index++,
                             rights::kControl));
            }
        }
    }

    // After the control caps: per partition in document order, per `interrupts` entry in order,
    // the SPI's IrqHandler cap (made once: the validator gives each SPI to one partition), then
    // granted with Control only (no Grant: it stays with this partition, invariant 5).
    void interrupts(const SystemDescription& system) {
        for (std::size_t i = 0; i < system.partitions.size(); ++i) {
            Made& owner = made_[i];
            for (const u64 intid : system.partitions[i].interrupts) {
                const u32 slot = allocate(1);
                emit(make_op(OpKind::CreateIrqHandler, slot, intid));
                emit(make_op(OpKind::GrantCap, slot, owner.slot, owner.next_index++, rights::kControl));
            }
        }
    }

    // Then: per `/pci` function in document order, its assignment to its owner with the DmaStream
    // cap of its stream (granted with Control and Grant: the owner may derive copies in its own
    // CSpace, which caps never leave), then per BAR (index order) its placement and the 2 MiB
    // DeviceMmio pages of its slot, mapped R W at IPA == PA and granted R W.
    void pci(const SystemDescription& system) {
        const std::optional<std::vector<PlacedBar>> placed = place_bars(system);
        if (!placed) return;  // refused by the validator
        for (std::size_t f = 0; f < system.pci_functions.size(); ++f) {
            const PciFunction& function = system.pci_functions[f];
            Made* owner = find_mutable(function.partition);
            if (owner == nullptr || !function.well_formed) continue;
            const u32 stream = allocate(1);
            emit(make_op(OpKind::AssignPciFunction, stream, owner->slot, function.bdf(),
                         function.vendor | (static_cast<u64>(function.device_id) << 16)));
            emit(make_op(OpKind::GrantCap, stream, owner->slot, owner->next_index++, rights::kControl | rights::kGrant));
            std::vector<PlacedBar> bars;
            for (const PlacedBar& bar : *placed)
                if (bar.function == f) bars.push_back(bar);
            std::sort(bars.begin(), bars.end(), [](const PlacedBar& a, const PlacedBar& b) { return a.index < b.index; });
            for (const PlacedBar& bar : bars) {
                emit(make_op(OpKind::PlacePciBar, 0, owner->slot, function.bdf(), bar.index, bar.address));
                for (const MadeFrame& page :
                     make_frames(device_blocks(bar.address, bar.slot), ObjectType::DeviceMmio, manifest::kUntypedDevice)) {
                    emit(make_op(OpKind::MapFrame, page.slot, owner->slot, page.ipa,
                                 manifest::attr::kRead | manifest::attr::kWrite));
                    emit(make_op(OpKind::GrantCap, page.slot, owner->slot, owner->next_index++, rights::kRead | rights::kWrite));
                }
            }
        }
    }

    // Last: the AuditLog cap, made once if any partition has `audit`, granted Read only (no
    // Grant: it stays with the auditor) at its next free index; and the flows it makes, from
    // every other partition to the auditor, declared (the kernel's seal requires them).
    void audit(const SystemDescription& system) {
        u32 slot = 0;
        for (std::size_t i = 0; i < system.partitions.size(); ++i) {
            if (!system.partitions[i].audit) continue;
            if (slot == 0) {
                slot = allocate(1);
                emit(make_op(OpKind::CreateAuditLog, slot));
            }
            Made& auditor = made_[i];
            emit(make_op(OpKind::GrantCap, slot, auditor.slot, auditor.next_index++, rights::kRead));
            for (const Made& other : made_)
                if (other.slot != auditor.slot)
                    emit(make_op(OpKind::DeclareFlow, 0, other.slot, auditor.slot,
                                 static_cast<u64>(manifest::FlowKind::Audit)));
        }
    }

    [[nodiscard]] u64 slots_needed() const { return next_slot_; }

private:
    // A partition made so far: its Partition boot slot and its next free CSpace index.
    struct Made {
        std::string name;
        u32 slot;
        u64 next_index;
    };

    [[nodiscard]] Made* find_mutable(const std::string& name) { return const_cast<Made*>(find(name)); }

    [[nodiscard]] const Made* find(const std::string& name) const {
        for (const Made& made : made_) {
            if (made.name == name) return &made;
        }
        return nullptr;
    }

    void emit(const ManifestOp& op) { ops_.push_back(op); }

    // Slots are handed out in emission order and never reused. Past the boot CNode the numbers
    // keep counting (the reader would refuse them); check_manifest_limits reports the total.
    u32 allocate(u64 count) {
        const u64 first = next_slot_;
        next_slot_ += count;
        return static_cast<u32>(first);
    }

    // CreateUntyped + Retype per block; the frames, in address order.
    std::vector<MadeFrame> make_frames(const std::vector<UntypedBlock>& blocks, ObjectType type, u64 flags) {
        std::vector<MadeFrame> frames;
        for (const UntypedBlock& block : blocks) {
            const u32 untyped = allocate(1);
            emit(make_op(OpKind::CreateUntyped, untyped, block.pa, block.bits, flags));
            const u64 frame_size = 1ull << block.frame_bits;
            u64 done = 0;
            const u64 total = block.frame_count();
            while (done < total) {
                // A retype makes at most 256 objects; the untyped's watermark carries on.
                const u64 count = std::min<u64>(total - done, bh::caps::kMaxRetypeCount);
                const u32 first = allocate(count);
                emit(make_op(OpKind::Retype, untyped, type_arg(type), block.frame_bits, first, count));
                for (u64 i = 0; i < count; ++i) {
                    frames.push_back({static_cast<u32>(first + i), block.ipa + (done + i) * frame_size});
                }
                done += count;
            }
        }
        return frames;
    }

    std::vector<ManifestOp>& ops_;
    std::vector<PendingImage>& pending_;
    u64 next_slot_ = manifest::kFirstFreeBootSlot;
    u64 next_index_ = kCSpaceFirstFrameIndex;
    std::vector<Made> made_;
    std::vector<u32> channel_slots_;       // per /channels child, its Channel's boot slot
    std::vector<u32> notification_slots_;  // per /notifications child, its Notification's boot slot
};


template <typename T>
void put(std::vector<u8>& bytes, std::size_t offset, const T& value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

}  // namespace

PackedManifest build_manifest(const SystemDescription& system, const std::vector<ElfImage>& images) {
    PackedManifest packed;
    std::vector<PendingImage> pending;
    Emitter emitter(packed.ops, pending);
    for (std::size_t i = 0; i < system.partitions.size(); ++i) emitter.partition(system.partitions[i], images[i]);
    emitter.ipc(system);
    emitter.forwards(system);
    emitter.controls(system);
    emitter.interrupts(system);
    emitter.pci(system);
    emitter.audit(system);
    packed.ops.push_back(make_op(OpKind::Seal, 0));
    packed.boot_slots_needed = emitter.slots_needed();

    u64 offset = sizeof(ManifestHeader) + packed.ops.size() * sizeof(ManifestOp);
    for (PendingImage& image : pending) {
        offset = bh::align_up(offset, kImageAlignment);
        packed.ops[image.op_index].arg[2] = offset;
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
        std::memcpy(packed.bytes.data() + packed.ops[image.op_index].arg[2], image.data.data(), image.data.size());
    }
    (void)bh::manifest_finalize(packed.bytes.data(), packed.bytes.size());
    return packed;
}

}  // namespace bhcc

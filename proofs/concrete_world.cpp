#include "concrete_world.hpp"

#include <invariants/invariants.hpp>
#include <lib/format.hpp>

#include <arch/host/host_memory.hpp>
#include <audit/audit_cap.hpp>
#include <devices/mmio_forward.hpp>
#include <boot/boot_program.hpp>
#include <bulkhead/platform.hpp>
#include <kernel.hpp>

#include <cstring>
#include <map>
#include <new>

namespace bh::proofs {

bool mappable_now(const HeldCap& c) {
    return caps::mappable(c.type) && (c.rights.has(Rights::read()) || c.rights.has(Rights::write()));
}

World extract_world(const Kernel& kernel) {
    World w;
    const u32 n = kernel.partitions.count();
    for (u32 i = 0; i < n; ++i) {
        const Partition& p = *kernel.partitions[PartitionId(i)];
        PartitionView v;
        v.name.assign(p.name, strnlen(p.name, sizeof p.name));
        // The tables as a walker sees them: every valid leaf, read from (host) memory.
        p.stage2.for_each_mapping([&v](Ipa ipa, PhysAddr pa, u64 size, MapAttributes attrs) {
            v.leaves.push_back(Leaf{ipa.raw(), pa.raw(), size, attrs});
        });
        u64 index = 0;
        for_each_cspace_cap(p, [&](const Capability& c) {
            if (c.type != ObjectType::Null) v.caps.push_back(HeldCap{c.type, c.object, c.object_size(), c.rights, index});
            ++index;
        });
        w.partitions.push_back(std::move(v));
    }
    const InvariantReport checked = check_invariants(kernel);
    for (u32 k = 0; k < checked.stored; ++k)
        if (checked.violations[k].id == InvariantId::DmaContainment) {
            LineBuffer line;
            format_violation(line, checked.violations[k]);
            w.dma_violations.emplace_back(line.data(), line.size());
        }
    auto note_channel = [&w](const Capability& c) {
        if (c.type == ObjectType::Channel) w.channels.emplace_back(c.object, c.object_size());
    };
    for (u32 s = 0; s < manifest::kBootSlots; ++s)
        if (const CapSlot* slot = kernel.boot.slot(BootSlot(s)); slot != nullptr) note_channel(slot->cap);
    kernel.partitions.for_each([&](const Partition& p) { for_each_cspace_cap(p, note_channel); });

    // The kernel's flow rule, with the mappings taken from the tables instead of the kernel's
    // records of them (MemoryRegion): a leaf is an access as a recorded mapping is.
    flows_between(
        n,
        [&](u32 i, auto&& f) {
            const Partition& p = *kernel.partitions[PartitionId(i)];
            for_each_cspace_cap(p, [&f](const Capability& c) {
                Access a;
                if (access_of(c, a)) f(a);
            });
            for (const Leaf& l : w.partitions[i].leaves)
                f(access_of(MemoryRegion{Ipa(l.ipa), PhysAddr(l.pa), l.size, l.attrs, false}));
        },
        w.possible);
    audit_flows(kernel.partitions, w.possible);
    forward_flows(kernel.partitions, w.possible);
    w.declared = kernel.flows.declared();
    return w;
}

std::optional<World> boot_world(std::span<const std::uint8_t> manifest, std::string& error) {
    ManifestReader reader;
    if (!ok(reader.open(manifest.data(), manifest.size()))) {
        error = std::string("manifest refused by the kernel's reader: ") + reader.error().reason;
        return std::nullopt;
    }
    if (!platform::manifest_ram_supported(reader.header().ram_base, reader.header().ram_size)) {
        error = "manifest compiled for RAM the reference machine does not have";
        return std::nullopt;
    }
    // One Kernel at a time, in static storage (it is large), on a fresh host machine.
    alignas(Kernel) static unsigned char storage[sizeof(Kernel)];
    host::reset_all();
    // The PCIe functions the manifest assigns, on the host's fake bus, so that the boot program
    // finds them. The manifest names each function and its identity but not its BARs' sizes
    // (the kernel sizes BARs on the device): each placed BAR is given one page here, so INV-3's
    // BAR clause covers the first page of each BAR (docs/proofs.md).
    std::map<u64, std::pair<u64, std::vector<host::FakeBar>>> functions;  // bdf -> identity, BARs
    for (u32 i = 0; i < reader.op_count(); ++i) {
        const auto& op = reader.op(i);
        if (op.kind == manifest::OpKind::AssignPciFunction)
            functions[op.arg[1]] = {op.arg[2], std::vector<host::FakeBar>(6)};
    }
    for (u32 i = 0; i < reader.op_count(); ++i) {
        const auto& op = reader.op(i);
        if (op.kind == manifest::OpKind::PlacePciBar && functions.count(op.arg[1]) != 0 && op.arg[2] < 6)
            functions[op.arg[1]].second[op.arg[2]].size = kPageSize;
    }
    for (const auto& [bdf, f] : functions)
        host::pci_add_function(static_cast<u32>(bdf), static_cast<u16>(f.first), static_cast<u16>(f.first >> 16), f.second);
    Kernel* kernel = new (storage) Kernel();
    struct Destroy {
        Kernel* k;
        ~Destroy() { k->~Kernel(); }
    } destroy{kernel};
    if (const Outcome o = kernel->init(platform::kRamBase, platform::kDefaultRamSize, platform::kMaxCores); !o.ok()) {
        error = std::string("host kernel init failed: ") + o.reason();
        return std::nullopt;
    }
    const BootResult r = run_boot_program(*kernel, reader);
    if (!r.ok()) {
        error = "the kernel's boot program refuses op " + std::to_string(r.op_index);
        if (r.op_index >= 0) error += std::string(" (") + op_name(reader.op(static_cast<u32>(r.op_index)).kind) + ")";
        error += std::string(": ") + r.outcome.reason();
        return std::nullopt;
    }
    return extract_world(*kernel);
}

}  // namespace bh::proofs

#include <arch/arch.hpp>
#include <bulkhead/platform.hpp>
#include <devices/mmio_forward.hpp>
#include <devices/virtual_devices.hpp>
#include <ipc/notification.hpp>
#include <lib/atomic.hpp>
#include <lib/format.hpp>
#include <lib/nospec.hpp>
#include <partition/partition.hpp>
#include <partition/partition_table.hpp>
#include <policy/flow_graph.hpp>
#include <vgic/vgic_state.hpp>

namespace bh {

namespace {

constexpr u64 kRequestPageSize = kPageSize;

// A non-ISV access in the window is the client's fault, reported under the budget of the lines
// that say why an emulated access was refused (T-34: a partition that takes its faults repeats
// them at will).
void log_refused(Partition& p, u64 ipa) {
    if (!p.emulation_reports.admit(arch::counter_now(), arch::counter_frequency() / ReportBudget::kRefillsPerSecond))
        return;
    const u64 skipped = p.emulation_reports.take_suppressed();
    if (skipped != 0) log("partition '", p.name, "': ", skipped, " more device accesses not emulated, not reported");
    log("partition '", p.name, "': forwarded access at IPA ", Hex{ipa},
        " not forwarded: no instruction syndrome (a single load or store of a general register)");
}

// The page slot of `v`, written field by field and `sequence` last; cleaned to the point of
// coherency, because a server may read it with its MMU off (non-cacheable).
void publish(const MmioForward& f, const Vcpu& v, const arch::MmioAccess& a, u64 offset, u64 value) {
    forwarded::Request& r = f.page->slot[v.index.raw()];
    r.offset = offset;
    r.size = a.size;
    r.write = a.write ? 1 : 0;
    r.value = value;
    fence(Order::Release);
    r.sequence = v.forward_sequence;
    arch::clean_invalidate_to_poc(PhysAddr(f.page_pa + v.index.raw() * sizeof r), sizeof r);
}

// The parked (or faulting) vCPU's instruction completes with `value`: a load's destination is
// written as the instruction would; the guest continues after it.
void complete(Vcpu& v, const arch::MmioAccess& a, u64 value) {
    if (!a.write) arch::complete_load(a, v.regs, value);
    v.regs.elr += 4;  // ESR.IL: every AArch64 instruction is 4 bytes
}

// Out of Blocked with its answer; false when a stop of its partition took it first.
bool resume_parked(Vcpu& v, u64 value) {
    v.forward_waiting = 0;
    if (!v.transition(VcpuState::Blocked, VcpuState::Starting)) return false;
    complete(v, v.forward_access, value);
    v.store_state(VcpuState::Runnable);  // release: its core sees the registers
    arch::wake_core(v.core.raw());
    return true;
}

}  // namespace

Outcome forward_configure(Partition& client, Partition& server, u64 base, u64 size, u32 spi,
                          const Capability& requests, const Capability& doorbell, u64 badge) {
    if (&client == &server) return refuse(Status::InvalidArgument, "a partition forwarding to itself");
    if (client.forward.configured()) return refuse(Status::Exists, "the partition forwards a window already");
    if (size == 0 || !is_aligned(base, kPageSize) || !is_aligned(size, kPageSize))
        return refuse(Status::Misaligned, "forwarded window not page-aligned or empty");
    if (!range_inside(base, size, 0, 1ull << platform::kIpaBits))
        return refuse(Status::OutOfRange, "forwarded window outside the IPA space");
    for (u32 r = 0; r < client.region_count; ++r)
        if (ranges_overlap(base, size, client.regions[r].ipa.raw(), client.regions[r].size))
            return refuse(Status::Overlap, "forwarded window over a mapping of the client");
    if (overlaps_emulated_window(client, Ipa(base), size))
        return refuse(Status::Overlap, "forwarded window over an emulated device");
    if (requests.type != ObjectType::Frame || requests.object_size() < kRequestPageSize)
        return refuse(Status::InvalidArgument, "request page is not a Frame of at least 4 KiB");
    void* page = arch::phys_to_virt(PhysAddr(requests.object));
    if (page == nullptr) return refuse(Status::OutOfRange, "request page outside RAM");
    const Result<Notification*> n = notification_invoked(doorbell, Rights::write());
    if (!n.ok()) return refuse(n.status(), "doorbell is not a Notification cap with Write");
    if (badge == 0) return refuse(Status::InvalidArgument, "doorbell badge 0");
    if (spi != 0) {
        if (!client.has_vgic()) return refuse(Status::InvalidArgument, "device interrupt without a virtual GIC");
        if (spi < vgic::kSpiBase || spi >= vgic::kInterrupts || spi == vgic::kUartSpi ||
            platform::assignable_spi(spi) != nullptr)
            return refuse(Status::InvalidArgument, "device interrupt not a free virtual SPI");
    }
    MmioForward& f = client.forward;
    f.base = base;
    f.size = size;
    f.server = &server;
    f.page = static_cast<forwarded::RequestPage*>(page);
    f.page_pa = requests.object;
    f.doorbell = n.value();
    f.badge = badge;
    f.spi = spi;
    f.next_of_server = server.forward_clients;
    server.forward_clients = &client;
    return Status::Ok;
}

Forwarded forward_access(Vcpu& v, const arch::GuestExit& e) {
    Partition& p = *v.partition;
    const MmioForward& f = p.forward;
    const u64 ipa = e.ipa.raw();
    if (!f.configured() || !range_inside(ipa, 1, f.base, f.size)) return Forwarded::NotForwarded;
    if (!e.mmio.ok()) {
        log_refused(p, ipa);
        return Forwarded::Fault;
    }
    const arch::MmioAccess& a = e.mmio.access;
    const u64 value = a.write ? arch::store_value(a, v.regs) : 0;
    CapLockGuard guard(cap_lock);
    // Checked under the lock that forward_partition_down takes after the server's state left
    // Running: a request made before it is released by it, one made after finds it not running.
    if (f.server->load_state() != PartitionState::Running) {
        complete(v, a, forwarded::kNoDevice);
        return Forwarded::Completed;
    }
    ++v.forward_sequence;
    v.forward_waiting = v.forward_sequence;
    v.forward_access = a;
    publish(f, v, a, ipa - f.base, value);
    // Only its own core moves it out of Running; a stop that begins meanwhile settles it to Off.
    v.store_state(VcpuState::Blocked);
    notification_signal(*f.doorbell, f.badge, guard.held());
    return Forwarded::Parked;
}

Result<Partition*> forward_client_of(const PartitionTable& partitions, const Capability& cap, const Partition& caller) {
    if (cap.type != ObjectType::Partition) return Status::InvalidArgument;
    if (!cap.rights.has(Rights::write())) return Status::Denied;
    Partition* client = partitions.at(PhysAddr(cap.object));
    if (client == nullptr) return Status::NotFound;
    if (!client->forward.configured() || client->forward.server != &caller) return Status::Denied;
    return client;
}

Result<Vcpu*> forward_check_reply(Partition& client, u64 vcpu, u64 sequence, const CapLockHeld&) {
    if (vcpu >= client.vcpu_count) return Status::OutOfRange;
    Vcpu& v = client.vcpus[static_cast<u32>(index_nospec(vcpu, client.vcpu_count))];
    if (sequence == 0 || v.forward_waiting != sequence) return Status::NotFound;
    return &v;
}

void forward_reply(Vcpu& v, u64 value, const CapLockHeld&) { resume_parked(v, value); }

Status forward_check_raise(const Partition& client) {
    return client.forward.spi != 0 ? Status::Ok : Status::NotSupported;
}

void forward_raise(Partition& client) {
    // False when the guest routes the SPI to no vCPU (or has not enabled it): then nothing is
    // raised, as for a physical SPI, and the device model raises it again with its next event.
    (void)vgic::raise_spi(client, client.forward.spi);
}

void forward_flows(const PartitionTable& partitions, FlowGraph& out) {
    partitions.for_each([&out](const Partition& c) {
        if (!c.forward.configured()) return;
        const u32 client = c.index.raw(), server = c.forward.server->index.raw();
        constexpr manifest::FlowKind kKinds[] = {manifest::FlowKind::Memory, manifest::FlowKind::Signal};
        for (const manifest::FlowKind k : kKinds) {
            out.edge[client][server][FlowGraph::index(k)] = true;
            out.edge[server][client][FlowGraph::index(k)] = true;
        }
    });
}

void forward_partition_down(Partition& p) {
    CapLockGuard guard(cap_lock);
    for (u32 i = 0; i < p.vcpu_count; ++i) p.vcpus[i].forward_waiting = 0;
    for (Partition* c = p.forward_clients; c != nullptr; c = c->forward.next_of_server)
        for (u32 i = 0; i < c->vcpu_count; ++i)
            if (c->vcpus[i].forward_waiting != 0) resume_parked(c->vcpus[i], forwarded::kNoDevice);
}

}  // namespace bh

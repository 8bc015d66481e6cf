// The system: every partition, the binding of vCPUs to physical cores, and the boot CNode in
// which the boot program builds everything through capability operations. Each operation
// validates all of its arguments before changing anything, so that the boot manifest and
// capability invocations from partitions drive the same code; a refusal leaves the state as it
// was and says why in last_refusal(). The System is also the owner of kernel objects that the
// capability core reports to (caps::ObjectHooks): it constructs partitions, removes mappings
// and forgets destroyed objects.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/platform.hpp>
#include <bulkhead/status.hpp>
#include <caps/cspace.hpp>
#include <dma_streams.hpp>
#include <interrupts.hpp>
#include <partition.hpp>
#include <pci_functions.hpp>

namespace bh {

enum class StopReason { Fault, SystemOff, SystemReset, AllVcpusOff, Controller };

// A graph of information flows between partitions (design.md invariant 6), indexed by partition
// index: edge[s][d][kind - 1] when partition s can pass information to partition d by `kind`.
// The System keeps the graph the boot program declared and computes the graph the partitions'
// capabilities make possible (System::live_flows); seal requires the two to be equal.
struct FlowGraph {
    static constexpr unsigned kKinds = 2;  // manifest::FlowKind::Memory, ::Signal
    bool edge[manifest::kMaxPartitions][manifest::kMaxPartitions][kKinds] = {};

    static constexpr bool kind_valid(manifest::FlowKind k) {
        return k == manifest::FlowKind::Memory || k == manifest::FlowKind::Signal;
    }
    static constexpr unsigned index(manifest::FlowKind k) { return static_cast<unsigned>(k) - 1; }
    static constexpr manifest::FlowKind kind(unsigned index) { return static_cast<manifest::FlowKind>(index + 1); }
    bool has(u32 source, u32 destination, manifest::FlowKind k) const {
        return source < manifest::kMaxPartitions && destination < manifest::kMaxPartitions && kind_valid(k) &&
               edge[source][destination][index(k)];
    }
};
const char* flow_kind_name(manifest::FlowKind kind);  // "memory", "signal"

class System final : public ObjectHooks {
public:
    static constexpr unsigned kMaxRootUntypeds = 256;
    static constexpr unsigned kCSpaceRadix = 8;  // what partitions' CSpace roots are retyped with

    // Sets up the boot CNode (platform::kBootCNodeBase) and installs the Untyped cap of the
    // kernel's object memory in boot slot manifest::kKernelUntypedSlot.
    Status init(u64 ram_base, u64 ram_size, unsigned cores);

    // --- boot program operations (manifest v2); slots are boot CNode indices
    Status create_untyped(u32 slot, PhysAddr pa, unsigned size_bits, bool device);
    Status retype(u32 untyped_slot, ObjectType type, unsigned size_bits, u32 first, u32 count);
    Status create_partition(u32 slot, u32 cnode_slot, const char* name, manifest::RestartPolicy policy,
                            u32 vcpu_count);
    // A mint of the boot cap into `p`'s CSpace root at `index`, with `mask` and `badge` (0 keeps
    // the source's; a badge only on an unbadged Notification or Channel cap, caps::mint's rules).
    Status grant_cap(u32 source_slot, Partition& p, u64 index, Rights mask, u64 badge = 0);
    // Declares that `source` may pass information to `destination` by `kind` (manifest op
    // DeclareFlow). Declaring an edge twice is accepted (the graph is a set).
    Status declare_flow(Partition& source, Partition& destination, manifest::FlowKind kind);
    // slot := the IrqHandler cap of SPI `intid` (manifest op CreateIrqHandler), once per SPI.
    Status create_irq_handler(u32 slot, u64 intid);
    // PCIe function `bdf` (bus 0) becomes `p`'s (its identity must be `id`, vendor | device << 16),
    // and slot := the DmaStream cap of its stream (manifest op AssignPciFunction).
    Status assign_pci_function(u32 slot, Partition& p, u32 bdf, u32 id);
    // Memory BAR `index` of `p`'s function `bdf` at `address` (manifest op PlacePciBar).
    Status place_pci_bar(Partition& p, u32 bdf, u32 index, u64 address);
    Status load_image(Partition& p, Ipa ipa, const u8* bytes, u64 size);
    // Binds the Vcpu object in boot slot `vcpu_slot` to `p` as vCPU `index`, on physical core
    // `core` (manifest op BindVcpu). One Vcpu per index, one partition per Vcpu, one vCPU per core.
    Status bind_vcpu(Partition& p, u32 vcpu_slot, u32 index, u32 core);
    Status set_entry(Partition& p, u32 vcpu, u64 entry, u64 arg);
    // Checks that every partition is complete, that no partitions control each other in a cycle,
    // that no interrupt is given to two partitions, that no notification can be waited on by two
    // partitions and that the live flow graph equals the declared one, then starts them all. Nothing can be
    // built after.
    Status seal();

    // --- shared by the boot program and capability invocations
    // Maps the Frame, DeviceMmio or Channel cap in `frame` into `p` at `ipa` with `attrs` (kRead,
    // kWrite, kExecute), which the cap's rights must cover. A Frame or DeviceMmio page is mapped
    // into one partition only; a Channel may be mapped by every partition that holds a cap to it
    // (each cap maps once), never executable.
    Status map_frame(Partition& p, CapSlot& frame, Ipa ipa, u64 attrs);
    Status unmap_frame(Partition& p, CapSlot& frame);
    // The Partition a boot slot's cap names, or nullptr.
    Partition* partition_in_slot(u32 slot);
    // The configured partition whose object is at `object`, or nullptr.
    Partition* partition_at(PhysAddr object) const;
    CapSlot* boot_slot(u32 slot);

    // --- life cycle
    // Takes `current`'s partition down for `reason`; restarts it when the reason or its policy
    // says so. Waits until none of its other vCPUs is running. Called on the faulting core.
    void stop(Vcpu& current, StopReason reason);
    // A partition holding a Partition cap with the Control right stops or restarts another
    // partition (or itself). Busy while another core is already taking `target` down;
    // NotFound when stopping a partition that is already stopped.
    Status control(Partition& target, bool restart, Vcpu& caller);

    u32 partition_count() const { return partition_count_; }
    Partition* partition(u32 index) const { return index < partition_count_ ? partitions_[index] : nullptr; }
    // Read by waiting cores while core 0 runs the boot program.
    Vcpu* vcpu_on_core(unsigned core) const {
        return core < cores_ ? __atomic_load_n(&core_vcpu_[core], __ATOMIC_ACQUIRE) : nullptr;
    }
    bool sealed() const { return sealed_; }
    // The SPIs' bindings (kernel/interrupts.hpp); the arch IRQ path calls interrupts().fired().
    InterruptTable& interrupts() { return interrupts_; }
    const InterruptTable& interrupts() const { return interrupts_; }
    // DMA streams and the PCIe functions they belong to (kernel/dma_streams.hpp, pci_functions.hpp).
    DmaStreamTable& dma_streams() { return dma_; }
    const DmaStreamTable& dma_streams() const { return dma_; }
    PciFunctions& pci() { return pci_; }
    const PciFunctions& pci() const { return pci_; }
    // A partition whose device faulted (DmaStreamTable::service) is taken down, by its restart
    // policy, from one of its own cores: `current` is the exiting vCPU. False when it had no fault.
    [[nodiscard]] bool stop_for_dma_fault(Vcpu& current);
    const char* last_refusal() const { return refusal_; }
    // Read-only views for the invariant checker (kernel/invariants.hpp).
    u64 ram_base() const { return ram_base_; }
    u64 ram_size() const { return ram_size_; }
    unsigned core_count() const { return cores_; }
    const CapSlot& boot_cnode() const { return boot_cnode_; }
    // The flows the boot program declared (complete once sealed).
    const FlowGraph& declared_flows() const { return declared_; }
    // The flows the partitions' capabilities and mappings make possible now. Memory: s can write
    // memory (a Write cap in its CSpace to a Frame, DeviceMmio or Channel, or a writable mapping)
    // that d can read (a Read cap or a readable mapping) — overlapping physical ranges. Signal: s
    // holds a Write cap to a Notification that d holds a Read cap to. Never s == d.
    void live_flows(FlowGraph& out) const;
    // The kernel's object memory and how much of it has been retyped (its Untyped's watermark).
    struct ObjectMemoryView {
        PhysAddr base_;
        u64 size_;
        u64 used_;
        PhysAddr base() const { return base_; }
        u64 size() const { return size_; }
        u64 used() const { return used_; }
    };
    ObjectMemoryView object_memory() const;

    // --- caps::ObjectHooks
    Status create(ObjectType type, PhysAddr base, unsigned size_bits) override;
    void destroy(const Capability& final_cap) override;
    void unmap(const Capability& cap) override;

private:
    Status refuse(Status status, const char* why) {
        refusal_ = why;
        return status;
    }
    Status check_root_untyped(PhysAddr pa, u64 size, bool device) const;
    Status check_other_mappings(const CapSlot& frame, const Partition& p) const;
    void launch(Partition& p);
    // Stops every vCPU of `p` (which the caller moved to Stopping), then relaunches it or stops
    // it for good. `current` is the calling vCPU when it belongs to `p`.
    void take_down(Partition& p, Vcpu* current, bool restart, StopReason reason, const char* by);
    void stopped_for_good();
    bool control_graph_has_cycle() const;
    bool interrupt_shared() const;
    bool notification_shared() const;
    void vcpu_destroyed(Vcpu& v);
    [[nodiscard]] bool reload_memory(Partition& p);

    CapSlot boot_cnode_{};  // the boot CNode's cap: a root held by the kernel itself
    struct RootUntyped {
        u64 base;
        u64 size;
    };
    RootUntyped roots_[kMaxRootUntypeds] = {};
    u32 root_count_ = 0;
    Partition* partitions_[manifest::kMaxPartitions] = {};
    u32 partition_count_ = 0;
    Vcpu* core_vcpu_[platform::kMaxCores] = {};
    unsigned cores_ = 0;
    u64 ram_base_ = 0;
    u64 ram_size_ = 0;
    bool sealed_ = false;
    FlowGraph declared_{};
    InterruptTable interrupts_{};
    DmaStreamTable dma_{};
    PciFunctions pci_{};
    u32 running_ = 0;  // partitions not yet stopped for good; the machine powers off at zero
    const char* refusal_ = "";
};

}  // namespace bh

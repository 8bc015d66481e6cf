// The kernel: a thin aggregate of its parts, each with its own state and operations.
//
//   boot        the boot CNode and the root Untypeds (boot/boot_space.hpp)
//   partitions  every configured partition (partition/partition_table.hpp)
//   cores       which vCPU each physical core runs (partition/core_map.hpp)
//   flows       the information flows the description declares (policy/flow_graph.hpp)
//   interrupts  the SPIs partitions own and their bindings (irq/interrupts.hpp)
//   pci         the PCIe functions partitions own and their views (pci/pci_functions.hpp)
//   dma         the functions' DMA streams and their bindings (dma/dma_streams.hpp)
//   lifecycle   launch, take-down, stop and restart (partition/lifecycle.hpp)
//
// Operations take only the parts they need; the aggregate exists so that one object can be
// handed to the boot program, the guest-exit handler and the invariant checker, and so that the
// capability core has one owner of objects to report to (caps::ObjectHooks: it constructs
// partitions, vCPUs and notifications in retyped memory, removes mappings and forgets
// destroyed objects).
#pragma once

#include <boot/boot_space.hpp>
#include <dma/dma_streams.hpp>
#include <irq/interrupts.hpp>
#include <partition/core_map.hpp>
#include <partition/lifecycle.hpp>
#include <partition/partition_table.hpp>
#include <pci/pci_functions.hpp>
#include <policy/flow_graph.hpp>

namespace bh {

class Kernel final : public ObjectHooks {
public:
    constexpr Kernel() : dma(partitions, pci), lifecycle(interrupts, dma) {}
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    // The boot CNode with the object-memory Untyped in its slot, RAM as given, cores online.
    Outcome init(u64 ram_base, u64 ram_size, unsigned cores);

    BootSpace boot;
    PartitionTable partitions;
    CoreMap cores;
    FlowPolicy flows;
    InterruptTable interrupts;
    PciFunctions pci;
    DmaStreamTable dma;
    Lifecycle lifecycle;

    bool sealed() const { return sealed_; }
    void mark_sealed();  // seal's last step: closes every construction op

    // --- caps::ObjectHooks
    Status create(ObjectType type, PhysAddr base, unsigned size_bits, const CapLockHeld& held) override;
    void destroy(const Capability& final_cap, const CapLockHeld& held) override;
    void unmap(const Capability& cap, const CapLockHeld& held) override;
    bool in_use(const Capability& final_cap) const override;

private:
    bool sealed_ = false;
};

}  // namespace bh

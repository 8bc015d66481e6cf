// Helpers shared by the files of kernel/vgic: the routing and classification of a partition's
// interrupts and the list register that offers one.
#pragma once

#include <arch/vgic_hw.hpp>
#include <partition/partition.hpp>
#include <vgic/vgic_state.hpp>

namespace bh::vgic::detail {

inline unsigned lowest(u32 bits) { return static_cast<unsigned>(__builtin_ctz(bits)); }

inline constexpr u32 kCtlrEnableGrp1 = 1u << 1;
inline constexpr u32 spi_bit(u32 intid) { return 1u << (intid - kSpiBase); }

// GICD_IROUTER fields that exist (Aff3, Aff2, Aff1, Aff0); Interrupt_Routing_Mode is RES0
// because the distributor reports no 1-of-N routing (GICD_TYPER.No1N).
inline constexpr u64 kRouteAffinityMask = 0xff'00ff'ffffull;

// The vCPU an SPI's route names: affinity 0.0.0.i is vCPU i. nullptr for any other affinity.
inline Vcpu* route_target(Partition& p, u64 route) {
    route &= kRouteAffinityMask;
    if (route >= p.vcpu_count || !p.vcpus.bound(static_cast<u32>(route))) return nullptr;
    return &p.vcpus[static_cast<u32>(route)];
}

// An interrupt the physical GIC delivers and the guest deactivates (HW = 1): the virtual timer,
// and the partition's own device SPIs.
inline bool is_hardware(const Partition& p, u32 intid) {
    if (intid < kPrivateInterrupts) return intid == kTimerPpi;
    return intid < kInterrupts && (p.vgic.hardware & spi_bit(intid)) != 0;
}

// Own core: bit n set when INTID n (0-63) is in one of `v`'s list registers in any of `state`'s
// bits (arch::lr::kPending, kActive). Only the list registers of the core the kernel runs on
// can be read, so a register access sees the calling vCPU's.
u64 list_register_intids(const Vcpu& v, u64 state);

inline bool in_range(u64 offset, u64 base, u64 size) { return offset >= base && offset - base < size; }

inline u8 priority_of(const Partition& p, const Vcpu& v, u32 intid) {
    return intid < kPrivateInterrupts ? v.vgic.priority[intid].load() : p.vgic.priority[intid - kSpiBase].load();
}

// The list register that offers `intid` to `v`'s guest: pending, Group 1, at its priority; a
// physical interrupt's with HW = 1 (the guest's deactivation ends it at the physical GIC), the
// UART's level with EOI (its end is when to look at the level again).
inline u64 list_register(const Partition& p, const Vcpu& v, u32 intid) {
    u64 lr = arch::lr::kPending | arch::lr::kGroup1 |
             (static_cast<u64>(priority_of(p, v, intid)) << arch::lr::kPriorityShift) | intid;
    if (is_hardware(p, intid)) {
        lr |= arch::lr::kHw | (static_cast<u64>(intid) << arch::lr::kPhysicalShift);
    } else if (intid == kUartSpi) {
        lr |= arch::lr::kEoi;
    }
    return lr;
}

}  // namespace bh::vgic::detail

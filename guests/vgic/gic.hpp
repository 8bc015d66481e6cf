// A bare-metal guest's view of a GICv3 (the kernel's emulated distributor and redistributors and
// the virtual CPU interface): the registers the vgic test guest touches.
#pragma once

#include <bulkhead/types.hpp>

namespace vgic_guest {

using bh::u32;
using bh::u64;

inline constexpr u64 kGicd = 0x0800'0000;
inline constexpr u64 kGicr = 0x080A'0000;
inline constexpr u64 kGicrStride = 0x2'0000;
inline constexpr u64 kSgiBase = 0x1'0000;

inline volatile u32& reg32(u64 address) { return *reinterpret_cast<volatile u32*>(address); }
inline volatile u64& reg64(u64 address) { return *reinterpret_cast<volatile u64*>(address); }
inline volatile u32& gicd(u64 offset) { return reg32(kGicd + offset); }
inline volatile u32& gicr(u32 vcpu, u64 offset) { return reg32(kGicr + vcpu * kGicrStride + offset); }
inline volatile u32& gicr_sgi(u32 vcpu, u64 offset) { return gicr(vcpu, kSgiBase + offset); }

// GICD / GICR_SGI_base offsets.
inline constexpr u64 kCtlr = 0x0000, kTyper = 0x0004, kIgroupr = 0x0080, kIsenabler = 0x0100, kIcenabler = 0x0180,
                     kIpriorityr = 0x0400, kPidr2 = 0xFFE8, kWaker = 0x0014, kGicrTyper = 0x0008;
inline constexpr u64 irouter(u32 intid) { return 0x6000 + 8ull * intid; }

inline u32 vcpu_index() {
    u64 mpidr;
    asm volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    return static_cast<u32>(mpidr & 0xff);
}

// ICC_SGI1R_EL1: `intid` to the vCPUs in `list` (Aff0 = bit), Aff1..3 = 0.
inline void send_sgi(u32 intid, u64 list, u64 extra = 0) {
    const u64 value = list | (u64{intid} << 24) | extra;
    asm volatile("msr S3_0_C12_C11_5, %0\n\tisb" : : "r"(value) : "memory");
}
inline constexpr u64 kIrm = 1ull << 40;
inline constexpr u64 rs(u64 range) { return range << 44; }
inline constexpr u64 aff1(u64 aff) { return aff << 16; }

// The virtual CPU interface of this vCPU: system registers, Group 1 on, every priority.
inline void cpu_interface_on() {
    asm volatile("msr S3_0_C4_C6_0, %0" : : "r"(u64{0xff}));  // ICC_PMR_EL1
    asm volatile("msr S3_0_C12_C12_3, xzr");                   // ICC_BPR1_EL1
    asm volatile("msr S3_0_C12_C12_4, xzr");                   // ICC_CTLR_EL1: EOImode 0
    asm volatile("msr S3_0_C12_C12_7, %0\n\tisb" : : "r"(u64{1}));  // ICC_IGRPEN1_EL1
}
inline u64 icc_sre() {
    u64 v;
    asm volatile("mrs %0, S3_0_C12_C12_5" : "=r"(v));  // ICC_SRE_EL1
    return v;
}
inline u32 acknowledge() {
    u64 v;
    asm volatile("mrs %0, S3_0_C12_C12_0" : "=r"(v) : : "memory");  // ICC_IAR1_EL1
    return static_cast<u32>(v & 0xff'ffff);
}
inline void end_of_interrupt(u32 intid) {
    asm volatile("msr S3_0_C12_C12_1, %0\n\tisb" : : "r"(u64{intid}) : "memory");  // ICC_EOIR1_EL1
}
inline void irqs_on() { asm volatile("msr daifclr, #2\n\tisb" ::: "memory"); }
inline void irqs_off() { asm volatile("msr daifset, #2\n\tisb" ::: "memory"); }
extern "C" char vgic_vectors[];  // vectors.S
inline void install_vectors() {
    asm volatile("msr vbar_el1, %0\n\tisb" : : "r"(vgic_vectors) : "memory");
}

// The EL1 virtual timer (CNTV): fires `ticks` from now, or off.
inline void timer_arm(u64 ticks) {
    asm volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb" : : "r"(ticks), "r"(u64{1}) : "memory");
}
inline void timer_off() { asm volatile("msr cntv_ctl_el0, xzr\n\tisb" ::: "memory"); }

}  // namespace vgic_guest

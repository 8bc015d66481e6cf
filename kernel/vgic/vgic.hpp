// A partition's virtual GICv3 (docs/vgic.md): the emulated distributor and redistributors its
// vCPUs reach through trapped MMIO, SGIs among its own vCPUs, and delivery of virtual interrupts
// through the list registers of the virtual CPU interface (kernel/arch/vgic_hw.hpp), with the
// kernel-side pending state (VgicCpu) as the place where interrupts for a vCPU wait for its core.
//
// Where each operation runs: "own core" operations touch the virtual CPU interface and run on
// the core the vCPU is bound to, with the vCPU in an exit or about to enter; the others may run
// on any core and reach another vCPU's core only through its pending words and a kick.
#pragma once

#include <bulkhead/types.hpp>
#include <vgic/vgic_state.hpp>

namespace bh {
class Partition;
struct Vcpu;
class InterruptTable;
}

namespace bh::vgic {

inline constexpr u32 kUnderflowArmed = 1u << 1;  // ICH_HCR_EL2.UIE in VgicCpu::hcr

// --- life cycle
// The partition (re)starts: its distributor back to its reset state; `hardware` (bit n: SPI
// 32 + n) are its physical SPIs, `uart` whether its emulated PL011's SPI 33 exists,
// `forwarded_spi` its forwarded device's virtual SPI (0: none; devices/mmio_forward.hpp).
void reset_distributor(Partition& p, u32 hardware, bool uart, u32 forwarded_spi);
// Own core: the vCPU enters. With `reset` (its first entry after a (re)start) every physical
// interrupt it still holds — in a list register with HW = 1 or pending for it — is deactivated
// first, then its redistributor and interface state are reset; otherwise its saved interface is
// restored. Then what is pending for it is put into list registers.
void enter(Vcpu& v, bool reset);
// Own core: the vCPU leaves its core (stopped, off or blocked): the interface is saved and
// switched off, and the maintenance and timer PPIs with it, so nothing of it fires while the
// core waits.
void leave(Vcpu& v);

// --- delivery
// Makes `intid` pending for `target` (a vCPU of the caller's partition): the target's own core
// puts it in a list register before it next resumes the guest; a core running the target now is
// kicked (SGI 0) so that it does at once.
void raise(Vcpu& target, u32 intid);
// Own core, before the guest resumes: deliverable pending interrupts into free list registers;
// those that do not fit stay pending and the underflow maintenance interrupt is armed. Inline
// up to its first test: on most exits nothing is pending.
void flush_pending(Vcpu& v);
inline void flush(VgicCpu& c, Vcpu& v) {
    if ((c.pending.load() | c.pending_spi.load() | (c.hcr & kUnderflowArmed)) != 0)
        flush_pending(v);
}
// Own core: the maintenance interrupt (PPI 25) fired for `v`.
void maintenance(Vcpu& v);

// --- physical interrupts forwarded to a vCPU (the caller leaves them active: HW = 1)
// The virtual timer's PPI 27 fired on `v`'s core: forwarded as its virtual PPI 27.
void timer_fired(Vcpu& v);
// SPI `intid` of `p` is raised — a physical SPI of its that fired on this core (forwarded, left
// active), or its virtual UART's line: pending for the vCPU its route names. False when the
// route names no vCPU (nothing is raised; a physical SPI is then the caller's to deactivate).
[[nodiscard]] bool raise_spi(Partition& p, u32 intid);

// --- guest accesses
// The vCPUs (bit i: vCPU i) that an ICC_SGI1R_EL1 / ICC_ASGI1R_EL1 / ICC_SGI0R_EL1 value written by
// vCPU `sender` of a partition with `vcpus` vCPUs addresses (GICv3 architecture specification,
// 12.2.21): with IRM = 1 every vCPU but the sender; otherwise those whose affinity is
// Aff3.Aff2.Aff1.(RS * 16 + n) for each bit n of TargetList. vCPU i's affinity is 0.0.0.i.
// Inline: the full path (send_sgi) and the vectors' fast path (self_sgi_at_once) both decode
// with it, and the fast path is counted in instructions.
inline u32 sgi_targets(u64 sgir, u32 sender, u32 vcpus) {
    constexpr unsigned kAff1Shift = 16, kAff2Shift = 32, kIrmShift = 40, kRsShift = 44, kAff3Shift = 48;
    if (vcpus - 1 >= 32) return 0;                  // none, or more than a u32 names
    const u32 all = (2u << (vcpus - 1)) - 1;        // `vcpus` ones (2 << 31 wraps to 0 for 32)
    // IRM = 1: every PE that participates but the sender; the affinity fields are ignored.
    if ((sgir >> kIrmShift & 1) != 0) return all & ~(sender < 32 ? 1u << sender : 0u);
    // Otherwise TargetList bit n names the PE with affinity Aff3.Aff2.Aff1.(RS * 16 + n). vCPU i
    // has affinity 0.0.0.i: any other Aff3..1 names none of them, and no bit is folded onto a
    // vCPU whose Aff0 it does not spell (truncating the target list was Bao's #389).
    const u64 upper = (sgir >> kAff1Shift & 0xff) | (sgir >> kAff2Shift & 0xff) | (sgir >> kAff3Shift & 0xff);
    if (upper != 0) return 0;
    const u32 first = static_cast<u32>(sgir >> kRsShift & 0xf) * 16;  // the Aff0 of TargetList bit 0
    const u32 list = static_cast<u32>(sgir & 0xffff);
    if (first >= vcpus) return 0;
    return (list << first) & all;
}
// The guest wrote ICC_SGI1R_EL1 (`group1`) or ICC_SGI0R_EL1 / ICC_ASGI1R_EL1: the SGI is raised
// for each target whose interrupt is in that group (all are Group 1: only SGI1R delivers).
void send_sgi(Vcpu& sender, u64 sgir, bool group1);
// The vectors' fast path for such a write of any partition (kernel_entry::
// sgi_register_write_fast), own core: a Group 1 SGI of a partition with a virtual GIC whose only
// target is the sender, enabled, with nothing else pending for it and every list register empty
// (`empty_lrs`: ICH_ELRSR_EL2) is recorded as list register 0's, as send_sgi would put it; the
// value for ICH_LR0_EL2 is returned, which the caller writes at once. 0, and nothing done, for
// anything else: the full path (send_sgi) then decides.
[[nodiscard]] u64 self_sgi_at_once(Vcpu& sender, u64 sgir, bool group1, u32 empty_lrs);

// An emulated register access at `offset` of the distributor's 64 KiB frame or of the
// redistributor frames (vCPU offset / 0x20000's RD_base + SGI_base). Reads fill `value`.
// Returns nullptr, or why the access is the partition's fault (a size the register does not
// have). `irqs` carries the partition's physical SPIs' enables and routes.
const char* distributor_access(Vcpu& v, InterruptTable& irqs, u64 offset, unsigned size, bool write, u64& value);
const char* redistributor_access(Vcpu& v, u64 offset, unsigned size, bool write, u64& value);

inline constexpr u64 kDistributorSize = 0x1'0000;
inline constexpr u64 kRedistributorStride = 0x2'0000;

}  // namespace bh::vgic

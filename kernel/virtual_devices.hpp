// The devices the kernel emulates for a partition whose description asks for them
// (manifest::partition_flag; docs/vgic.md): the GICv3 distributor and redistributors with the
// virtual CPU interface (kernel/vgic) and a PL011 UART (kernel/vuart). This is where the rest of
// the kernel meets them: which IPA windows they occupy, what a partition's (re)start and a
// vCPU's entry and exit do to them, which trapped exits they emulate, and which physical
// interrupts they receive. A partition without the flags meets none of it.
#pragma once

#include <bulkhead/types.hpp>
#include <partition.hpp>
#include <vgic/vgic.hpp>

namespace bh {

class System;
struct ExitSyndrome;

// Why a partition may not have `flags` among `system`'s partitions (unknown bits, console input
// without a virtual UART, a second console-input partition); nullptr when it may.
const char* partition_flags_refusal(u64 flags, const System& system);
// Whether [ipa, ipa + size) overlaps a window `p`'s emulated devices occupy: nothing may be
// mapped there, or the guest would reach memory instead of the device.
bool overlaps_emulated_window(const Partition& p, Ipa ipa, u64 size);

// The partition (re)starts, its vCPUs all off (System::launch): its devices back to reset; with
// a virtual GIC its IrqHandler SPIs become its virtual SPIs; the console's input is routed to it.
void virtual_devices_launch(System& system, Partition& p);
// Own core: the vCPU enters its core (`reset`: its first entry since it (re)started) or leaves
// it to wait.
void virtual_devices_enter(Vcpu& v, bool reset);
void virtual_devices_leave(Vcpu& v);
// Own core, before the guest resumes after an exit: what was raised for it meanwhile goes into
// its list registers.
inline void virtual_devices_resume(Vcpu& v) {
    if (v.partition->has_vgic()) vgic::flush(v.vgic, v);
}

// The SGI register writes of a partition with a virtual GIC (ICC_SGI1R_EL1, ICC_ASGI1R_EL1,
// ICC_SGI0R_EL1 trapped by HCR_EL2.IMO/FMO; `esr` of a synchronous exit), emulated before
// anything else looks at the exit: true when it was one (the guest continues after it; the
// caller resumes it after virtual_devices_resume). The arch layer calls this first on a
// synchronous exit because inter-processor interrupts are what a multi-core guest traps most.
[[nodiscard]] bool emulate_sgi_write(Vcpu& v, u64 esr);

enum class Emulation { NotEmulated, Resume, Fault };
// A synchronous exit the partition's devices may account for: a data abort in one of their
// windows, or (virtual GIC) a write of ICC_SGI1R_EL1, ICC_ASGI1R_EL1 or ICC_SGI0R_EL1, or an
// access to a debug or PMU register, which for a partition with a virtual GIC reads as zero and
// ignores writes (an unmodified OS touches them while it starts; docs/vgic.md). Resume:
// emulated, the guest continues after the instruction. Fault: the access cannot be emulated
// (logged with its reason); the caller contains it as the partition's fault. NotEmulated: not
// theirs.
Emulation emulate_sync_exit(System& system, Vcpu& v, const ExitSyndrome& s);

// A physical interrupt the kernel acknowledged on `core`, from an exit of the core's vCPU
// (`in_exit`: its virtual CPU interface is live) or from the idle loop. True when it was
// forwarded to a vCPU (HW = 1): the caller must leave it active, the guest deactivates it.
[[nodiscard]] bool physical_interrupt(System& system, unsigned core, u32 intid, bool in_exit);

}  // namespace bh

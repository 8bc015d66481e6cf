// The devices the kernel emulates for a partition whose description asks for them
// (manifest::partition_flag; docs/vgic.md): the GICv3 distributor and redistributors with the
// virtual CPU interface (kernel/vgic) and a PL011 UART (kernel/vuart). This is where the rest of
// the kernel meets them: which IPA windows they occupy, what a partition's (re)start and a
// vCPU's entry and exit do to them, which trapped exits they emulate, and which physical
// interrupts they receive. A partition without the flags meets none of it.
#pragma once

#include <arch/guest.hpp>
#include <bulkhead/types.hpp>
#include <lib/ids.hpp>
#include <partition/partition.hpp>
#include <vgic/vgic.hpp>

namespace bh {

class InterruptTable;
class Kernel;

// Whether [ipa, ipa + size) overlaps a window `p`'s emulated devices occupy: nothing may be
// mapped there, or the guest would reach memory instead of the device.
bool overlaps_emulated_window(const Partition& p, Ipa ipa, u64 size);

// The partition (re)starts, its vCPUs all off (Lifecycle::launch): its devices back to reset;
// with a virtual GIC its IrqHandler SPIs become its virtual SPIs; the console's input is routed
// to it.
void virtual_devices_launch(InterruptTable& interrupts, Partition& p);
// Own core: the vCPU enters its core (`reset`: its first entry since it (re)started) or leaves
// it to wait.
void virtual_devices_enter(Vcpu& v, bool reset);
void virtual_devices_leave(Vcpu& v);
// Own core, before the guest resumes after an exit: what was raised for it meanwhile goes into
// its list registers.
inline void virtual_devices_resume(Vcpu& v) {
    if (v.partition->has_vgic()) vgic::flush(v.vgic, v);
}

// A write of an SGI generation register (arch::is_sgi_register: ICC_SGI1R_EL1 with `group1`,
// ICC_ASGI1R_EL1 or ICC_SGI0R_EL1) of `value` by a vCPU of a partition with a virtual GIC: the
// SGI is sent and the guest continues after the instruction. False, and nothing done, for a
// partition without one. The exit path tries this first (kernel_entry::sgi_register_write),
// because inter-processor interrupts are what a multi-core guest traps most.
[[nodiscard]] inline bool emulate_sgi_write(Vcpu& v, u64 value, bool group1) {
    if (!v.partition->has_vgic()) return false;
    vgic::send_sgi(v, value, group1);
    v.regs.elr += 4;
    return true;
}

enum class Emulation { NotEmulated, Resume, Fault, Parked };
// A synchronous exit the partition's devices may account for: a data abort in one of their
// windows, or (virtual GIC) a write of ICC_SGI1R_EL1, ICC_ASGI1R_EL1 or ICC_SGI0R_EL1, or an
// access to a debug or PMU register, which for a partition with a virtual GIC reads as zero and
// ignores writes (an unmodified OS touches them while it starts; docs/vgic.md). Resume:
// emulated, the guest continues after the instruction. Fault: the access cannot be emulated
// (logged with its reason); the caller contains it as the partition's fault. NotEmulated: not
// theirs. Parked: an access to the partition's forwarded window (devices/mmio_forward.hpp) went
// to its server; the vCPU is Blocked until the answer and must not resume.
Emulation emulate_sync_exit(InterruptTable& interrupts, Vcpu& v, const arch::GuestExit& exit);

// A physical interrupt the kernel acknowledged on `core`, from an exit of the core's vCPU
// (`in_exit`: its virtual CPU interface is live) or from the idle loop. True when it was
// forwarded to a vCPU (HW = 1): the caller must leave it active, the guest deactivates it.
[[nodiscard]] bool physical_interrupt(Kernel& kernel, CoreId core, u32 intid, bool in_exit);

}  // namespace bh

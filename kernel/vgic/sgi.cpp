// Software-generated interrupts between the vCPUs of one partition: the ICC_SGI1R_EL1,
// ICC_ASGI1R_EL1 and ICC_SGI0R_EL1 writes that trap to EL2 (HCR_EL2.IMO/FMO), decoded with
// affinity routing exactly as the GICv3 architecture specification defines it (12.2.21), over
// the partition's own vCPUs only: a value naming any other affinity reaches nobody.
#include <bulkhead/manifest.hpp>
#include <vgic/vgic.hpp>
#include <vgic/vgic_internal.hpp>

namespace bh::vgic {

using namespace detail;

static_assert(manifest::kMaxVcpusPerPartition <= 32, "a u32 holds one bit per vCPU");

namespace {

constexpr unsigned kIntidShift = 24;

// The usual self-IPI, in an exit on the vCPU's own core: enabled, and every list register empty
// (`empty`: ICH_ELRSR_EL2 of the core). Recorded as list register 0's, whose value is returned
// for the caller to write at once. 0, and nothing done, for anything else.
[[gnu::always_inline]] inline u64 own_at_once(Vcpu& v, u32 intid, u32 empty) {
    VgicCpu& c = v.vgic;
    if ((c.enabled.load() >> intid & 1) == 0 || (empty & c.lr_mask) != c.lr_mask) return 0;
    c.lr_intid[0] = intid;
    return list_register(*v.partition, v, intid);
}

// A private interrupt the vCPU raises for itself: at once where it can, otherwise it waits for
// the fill before the guest resumes.
void raise_own(Vcpu& v, u32 intid) {
    if (const u64 lr = own_at_once(v, intid, arch::vgic_empty_lrs()); lr != 0) {
        arch::vgic_write_first_lr(lr);
    } else {
        v.vgic.pending.fetch_or(1u << intid);
    }
}

}  // namespace

void send_sgi(Vcpu& sender, u64 sgir, bool group1) {
    // Every SGI of the virtual GIC is Group 1 (GICR_IGROUPR0 reads as all ones): a request for
    // Group 0 SGIs (SGI0R) or for the other security state's Group 1 (ASGI1R: the guest's GIC has
    // one security state) reaches no interrupt, as for a KVM guest. The targets are decoded alike.
    if (!group1) return;
    Partition& p = *sender.partition;
    const u32 intid = static_cast<u32>(sgir >> kIntidShift & 0xf);
    const u32 self = 1u << sender.index.raw();
    const u32 targets = sgi_targets(sgir, sender.index.raw(), p.vcpu_count);
    if ((targets & self) != 0) raise_own(sender, intid);  // its own core: no kick, filled on resume
    for (u32 others = targets & ~self; others != 0; others &= others - 1) raise(p.vcpus[lowest(others)], intid);
}

u64 self_sgi_at_once(Vcpu& sender, u64 sgir, bool group1, u32 empty_lrs) {
    // Taken only where send_sgi and the resume after it would do exactly this and no more: the
    // sender is the one target by the same decode (no other vCPU to raise, no core to kick), its
    // SGI goes straight into a list register (raise_own's first way), and nothing else waits for
    // the list registers (flush would do nothing). The vectors offer every partition's writes:
    // one without a virtual GIC faults on the full path.
    const Partition& p = *sender.partition;
    if (!group1 || !p.has_vgic()) return 0;
    VgicCpu& c = sender.vgic;
    if ((c.pending.load() | c.pending_spi.load() | (c.hcr & kUnderflowArmed)) != 0) return 0;
    const u32 self = 1u << sender.index.raw();
    if (sgi_targets(sgir, sender.index.raw(), p.vcpu_count) != self) return 0;
    return own_at_once(sender, static_cast<u32>(sgir >> kIntidShift & 0xf), empty_lrs);
}

}  // namespace bh::vgic

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
constexpr unsigned kAff1Shift = 16;
constexpr unsigned kAff2Shift = 32;
constexpr unsigned kIrmShift = 40;
constexpr unsigned kRsShift = 44;
constexpr unsigned kAff3Shift = 48;

// A private interrupt the vCPU raises for itself, in an exit on its own core. The usual self-IPI
// (enabled, the list registers empty) goes into the first one at once; anything else waits for
// the fill before the guest resumes.
void raise_own(Vcpu& v, u32 intid) {
    VgicCpu& c = v.vgic;
    if ((c.enabled.load() >> intid & 1) != 0 && (arch::vgic_empty_lrs() & c.lr_mask) == c.lr_mask) {
        c.lr_intid[0] = intid;
        arch::vgic_write_lr(0, list_register(*v.partition, v, intid));
        return;
    }
    c.pending.fetch_or(1u << intid);
}

}  // namespace

u32 sgi_targets(u64 sgir, u32 sender, u32 vcpus) {
    if (vcpus == 0 || vcpus > 32) return 0;
    const u32 all = vcpus == 32 ? ~0u : (1u << vcpus) - 1;
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

}  // namespace bh::vgic

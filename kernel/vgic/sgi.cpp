// Software-generated interrupts between the vCPUs of one partition: the ICC_SGI1R_EL1,
// ICC_ASGI1R_EL1 and ICC_SGI0R_EL1 writes that trap to EL2 (HCR_EL2.IMO/FMO), decoded with
// affinity routing exactly as the GICv3 architecture specification defines it (12.2.21), over
// the partition's own vCPUs only: a value naming any other affinity reaches nobody.
#include <bulkhead/manifest.hpp>
#include <esr.hpp>
#include <vgic/vgic.hpp>
#include <vgic/vgic_internal.hpp>
#include <virtual_devices.hpp>

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
    if ((load(c.enabled) >> intid & 1) != 0 && (arch::vgic_empty_lrs() & c.lr_mask) == c.lr_mask) {
        c.lr_intid[0] = intid;
        arch::vgic_write_lr(0, list_register(*v.partition, v, intid));
        return;
    }
    fetch_or(c.pending, 1u << intid);
}

// ICC_SGI1R_EL1 (op2 5), ICC_ASGI1R_EL1 (6), ICC_SGI0R_EL1 (7) writes: op0 3, op1 0, CRn 12,
// CRm 11, direction 0 (EC 0x18's ISS, esr::sysreg_access), compared at once but for Rt and op2.
constexpr u32 kSysRegRt = 0x1fu << 5;
constexpr u32 kSysRegOp2 = 7u << 17;
constexpr u32 kSgiWrite = 3u << 20 | 12u << 10 | 11u << 1;
static_assert(esr::sysreg_access(0x6000'0000ull | kSgiWrite | 5u << 17 | 3u << 5).crm == 11 &&
              esr::sysreg_access(0x6000'0000ull | kSgiWrite | 5u << 17 | 3u << 5).op2 == 5 &&
              esr::sysreg_access(0x6000'0000ull | kSgiWrite | 5u << 17 | 3u << 5).rt == 3 &&
              !esr::sysreg_access(0x6000'0000ull | kSgiWrite | 5u << 17 | 3u << 5).read);

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
    const u32 self = 1u << sender.index;
    const u32 targets = sgi_targets(sgir, sender.index, p.vcpu_count);
    if ((targets & self) != 0) raise_own(sender, intid);  // its own core: no kick, filled on resume
    for (u32 others = targets & ~self; others != 0; others &= others - 1) raise(p.vcpus[lowest(others)], intid);
}

}  // namespace bh::vgic

namespace bh {

bool emulate_sgi_write(Vcpu& v, u64 esr) {
    using namespace vgic;
    const u32 iss = esr::iss(esr);
    const u32 op2 = (iss & kSysRegOp2) >> 17;
    if (esr::exception_class(esr) != esr::Class::SysReg || (iss & ~(kSysRegRt | kSysRegOp2)) != kSgiWrite || op2 < 5 ||
        !v.partition->has_vgic())
        return false;
    const u32 rt = (iss & kSysRegRt) >> 5;
    send_sgi(v, rt == 31 ? 0 : v.regs.x[rt], op2 == 5);
    v.regs.elr += 4;
    return true;
}

}  // namespace bh

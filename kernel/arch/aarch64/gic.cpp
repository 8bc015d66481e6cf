// GICv3 for the kernel's own use: the distributor with every SPI disabled until a partition is
// given one, each core's redistributor awake, and SGI 0 as the "kick" that makes a core leave
// its guest. Physical interrupts are routed to EL2 (HCR_EL2.IMO) while guests run. Priority drop
// and deactivation are split (EOImode 1) so that an interrupt forwarded to a vCPU through a
// list register with HW = 1 stays active until that vCPU deactivates it (kernel/vgic).
#include <bulkhead/platform.hpp>

#include "aarch64.hpp"
#include "sysreg.hpp"

namespace bh::aarch64 {

namespace {

constexpr u64 kGicdCtlr = platform::kGicdBase + 0x0000;
constexpr u64 kGicdTyper = platform::kGicdBase + 0x0004;
constexpr u64 kGicdIgroupr = platform::kGicdBase + 0x0080;
constexpr u64 kGicdIsenabler = platform::kGicdBase + 0x0100;
constexpr u64 kGicdIcenabler = platform::kGicdBase + 0x0180;
constexpr u64 kGicdIspendr = platform::kGicdBase + 0x0200;
constexpr u64 kGicdIcpendr = platform::kGicdBase + 0x0280;
constexpr u64 kGicdIcactiver = platform::kGicdBase + 0x0380;
constexpr u64 kGicdIcfgr = platform::kGicdBase + 0x0C00;   // 2 bits per INTID
constexpr u64 kGicdIrouter = platform::kGicdBase + 0x6000;  // 64-bit per INTID
constexpr u32 kCtlrEnableGrp1 = 1u << 1;
constexpr u32 kCtlrAre = 1u << 4;
constexpr u32 kCtlrRwp = 1u << 31;

constexpr u64 kWaker = 0x0014;
constexpr u32 kWakerProcessorSleep = 1u << 1;
constexpr u32 kWakerChildrenAsleep = 1u << 2;
constexpr u64 kSgiBase = 0x1'0000;
constexpr u64 kIgroupr0 = kSgiBase + 0x0080;
constexpr u64 kIsenabler0 = kSgiBase + 0x0100;
constexpr u64 kIcenabler0 = kSgiBase + 0x0180;
constexpr u64 kIcactiver0 = kSgiBase + 0x0380;
constexpr u64 kIpriorityr = kSgiBase + 0x0400;

constexpr u32 kKickSgi = 0;
constexpr u32 kSpurious = 1023;

u64 redistributor(unsigned core) { return platform::kGicrBase + core * platform::kGicrStride; }

void wait_for_distributor() {
    while ((mmio_read<u32>(kGicdCtlr) & kCtlrRwp) != 0) {
    }
}

}  // namespace

void gic_init_distributor() {
    mmio_write<u32>(kGicdCtlr, 0);
    wait_for_distributor();
    u32 lines = ((mmio_read<u32>(kGicdTyper) & 0x1f) + 1) * 32;
    for (u32 i = 1; i < lines / 32; ++i) {  // register 0 covers SGIs/PPIs, banked per core
        mmio_write<u32>(kGicdIcenabler + 4 * i, 0xffff'ffff);
        mmio_write<u32>(kGicdIgroupr + 4 * i, 0xffff'ffff);
    }
    wait_for_distributor();
    mmio_write<u32>(kGicdCtlr, kCtlrAre | kCtlrEnableGrp1);
    wait_for_distributor();
}

void gic_init_cpu(unsigned core) {
    u64 rd = redistributor(core);
    mmio_write<u32>(rd + kWaker, mmio_read<u32>(rd + kWaker) & ~kWakerProcessorSleep);
    while ((mmio_read<u32>(rd + kWaker) & kWakerChildrenAsleep) != 0) {
    }
    mmio_write<u32>(rd + kIcenabler0, 0xffff'ffff);
    mmio_write<u32>(rd + kIgroupr0, 0xffff'ffff);
    mmio_write<u8>(rd + kIpriorityr + kKickSgi, 0x80);
    mmio_write<u32>(rd + kIsenabler0, 1u << kKickSgi);

    // System-register CPU interface at EL2; lower ELs get the virtual interface only.
    BH_WRITE_SYSREG(S3_4_C12_C9_5, 0xf);  // ICC_SRE_EL2: SRE, DFB, DIB, Enable
    isb();
    BH_WRITE_SYSREG(S3_0_C4_C6_0, 0xff);  // ICC_PMR_EL1: every priority passes
    BH_WRITE_SYSREG(S3_0_C12_C12_3, 0);   // ICC_BPR1_EL1
    BH_WRITE_SYSREG(S3_0_C12_C12_4, 2);   // ICC_CTLR_EL1.EOImode: EOIR drops priority, DIR deactivates
    BH_WRITE_SYSREG(S3_0_C12_C12_7, 1);   // ICC_IGRPEN1_EL1
    isb();
}

void gic_send_kick(unsigned core) {
    u64 sgi1r = (static_cast<u64>(kKickSgi) << 24) | (1ull << core);  // Aff1..3 = 0 on this machine
    dsb_ish();
    BH_WRITE_SYSREG(S3_0_C12_C11_5, sgi1r);  // ICC_SGI1R_EL1
    isb();
}

// Called under the capability lock, which also serialises the read-modify-write of ICFGR.
void gic_spi_enable(u32 intid, unsigned core) {
    // Level-sensitive, whatever the reset value: the assignable devices' lines are levels, and
    // disable-until-acknowledged (kernel/irq/interrupts.hpp) relies on a level staying pending.
    const u64 icfgr = kGicdIcfgr + 4 * (intid / 16);
    mmio_write<u32>(icfgr, mmio_read<u32>(icfgr) & ~(2u << (2 * (intid % 16))));
    // Aff0 = core on this machine (Aff1..3 = 0); Interrupt_Routing_Mode 0: exactly that core.
    mmio_write<u64>(kGicdIrouter + 8ull * intid, core);
    dsb_ish();
    mmio_write<u32>(kGicdIsenabler + 4 * (intid / 32), 1u << (intid % 32));
}

void gic_kernel_spi_enable(u32 intid, unsigned core) {
    // Edge-triggered: the SMMU pulses its lines (virt's DT: IRQ_TYPE_EDGE_RISING).
    const u64 icfgr = kGicdIcfgr + 4 * (intid / 16);
    mmio_write<u32>(icfgr, mmio_read<u32>(icfgr) | (2u << (2 * (intid % 16))));
    mmio_write<u64>(kGicdIrouter + 8ull * intid, core);
    dsb_ish();
    mmio_write<u32>(kGicdIsenabler + 4 * (intid / 32), 1u << (intid % 32));
}

void gic_spi_disable(u32 intid) {
    mmio_write<u32>(kGicdIcenabler + 4 * (intid / 32), 1u << (intid % 32));
    wait_for_distributor();  // RWP: once clear, the distributor forwards it no more
}

void gic_acknowledge_all(bool (*handler)(u32 intid)) {
    for (;;) {
        u64 intid = BH_READ_SYSREG(S3_0_C12_C12_0) & 0xff'ffff;  // ICC_IAR1_EL1
        if (intid >= 1020 && intid <= kSpurious) return;
        // A partition's SPI bound to a notification: the handler disables it at the distributor
        // before the deactivation below, so a level-triggered line the driver has not yet
        // cleared cannot fire again until the driver acknowledges (IrqAck).
        const bool forwarded = handler(static_cast<u32>(intid));
        BH_WRITE_SYSREG(S3_0_C12_C12_1, intid);  // ICC_EOIR1_EL1: priority drop
        if (!forwarded) BH_WRITE_SYSREG(S3_0_C12_C11_1, intid);  // ICC_DIR_EL1: deactivation
    }
}

void gic_spi_pending(u32 intid, bool pending) {
    mmio_write<u32>((pending ? kGicdIspendr : kGicdIcpendr) + 4 * (intid / 32), 1u << (intid % 32));
}

void gic_deactivate(u32 intid, unsigned core) {
    if (intid < platform::kFirstSpi) {
        mmio_write<u32>(redistributor(core) + kIcactiver0, 1u << intid);
    } else {
        mmio_write<u32>(kGicdIcactiver + 4 * (intid / 32), 1u << (intid % 32));
    }
    dsb_ish();
}

void gic_local_ppi_enable(u32 intid, bool enable) {
    const u64 rd = redistributor(this_cpu().core);
    if (enable) {
        mmio_write<u8>(rd + kIpriorityr + intid, 0x80);
        mmio_write<u32>(rd + kIsenabler0, 1u << intid);
    } else {
        mmio_write<u32>(rd + kIcenabler0, 1u << intid);
    }
}

}  // namespace bh::aarch64

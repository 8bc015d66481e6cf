// Attack class "virtual GIC" (threat T-43 and its parts T-75 T-76 T-77 T-79 T-80, with T-34;
// invariants INV-5, INV-6, INV-7): a
// two-vCPU partition with a virtual GIC (docs/vgic.md) attacks it from inside, next to the victim
// and a bystander partition with a virtual GIC of its own (bystander.cpp), which counts every
// interrupt it takes. By run (PartitionInfo's restart count tells them apart):
//   run 0  the emulated distributor: every offset of its 64 KiB read by bytes, halfwords, words,
//          doublewords and unaligned, and written back; every SPI bank of the enable, pending and
//          active registers, every IROUTER and GICD_CTLR written with ones; its own SPI 34
//          routed to vCPUs it does not have and to other cores' affinities, then made pending;
//          the redistributor frames of all four cores of the machine (only its two may exist),
//          GICR_WAKER and the LPI registers; a write to vCPU 1's frame from vCPU 0 (Bao #394);
//          the ICH_* registers (EL2's) by name; SGIs by ICC_SGI1R_EL1, ICC_ASGI1R_EL1 and
//          ICC_SGI0R_EL1 with every target list, the affinities and RS values the machine could
//          have, IRM = 1 and random values (Bao #389): what each of its vCPUs takes is compared
//          with what the GICv3 routing names among its own vCPUs; then SYSTEM_RESET from inside
//          an interrupt handler, with its SPI and vCPU 1's timer interrupt active and SGIs
//          pending (Bao #371);
//   run 1  nothing of run 0 is pending or active, its timer and SPI arrive again, a self-IPI
//          storm on both vCPUs, then it signals the bystander and stops.
// The partition runs with `faults = "inject"` and `restart = "restart"`. boot_arg bit 63: long
// run (random SGI values and the storm ten times as many).
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

#include "gic.hpp"
#include "xtf.hpp"

using namespace xtf;
using bh::rt::hex;
using bh::rt::print;
using vgic_guest::gicd;
using vgic_guest::gicr;
using vgic_guest::gicr_sgi;

namespace {

constexpr u32 kVcpus = 2;
constexpr u32 kAllVcpus = (1u << kVcpus) - 1;
constexpr u32 kMachineCores = 4;
constexpr u32 kTimer = 27, kOwnSpi = 34;
constexpr u64 kGicdSize = 0x1'0000;
constexpr u64 kGicrFrame = 0x2'0000;  // RD_base and SGI_base of one redistributor

// Distributor and redistributor offsets beyond gic.hpp's.
constexpr u64 kIcpendr = 0x280, kIspendr = 0x200, kIsactiver = 0x300, kIcactiver = 0x380, kIgroupr = 0x080,
              kIcfgr = 0xc00;
constexpr u64 kGicrCtlr = 0x00, kGicrSetlpir = 0x40, kGicrClrlpir = 0x48, kGicrPropbaser = 0x70,
              kGicrPendbaser = 0x78, kGicrInvlpir = 0xa0, kGicrInvallr = 0xb0, kGicrSyncr = 0xc0;

bool long_run;

XTF_SYSREG(icc_iar1, "s3_0_c12_c12_0")
XTF_SYSREG(icc_hppir1, "s3_0_c12_c12_2")
XTF_SYSREG(icc_rpr, "s3_0_c12_c11_3")
XTF_SYSREG(icc_ap1r0, "s3_0_c12_c9_0")

// ---------------------------------------------------------------- interrupts taken
volatile u32 taken[kVcpus][64];  // by INTID, per vCPU
volatile u32 taken_other[kVcpus];  // INTIDs 64..1019: none exists in this partition
volatile u32 reset_in_handler;     // run 0's last act: SYSTEM_RESET inside the handler of SPI 34
volatile u32 hold_timer;           // vCPU 1: take its timer interrupt and never end it

void irq() {
    const u32 me = vcpu() % kVcpus;
    const u32 intid = vgic_guest::acknowledge();
    if (intid >= 1020) return;  // spurious
    if (intid < 64) {
        taken[me][intid] = taken[me][intid] + 1;
    } else {
        taken_other[me] = taken_other[me] + 1;
    }
    if (intid == kTimer && hold_timer != 0 && me == 1) {
        // PPI 27 stays active (HW = 1: the physical one too) until the partition resets.
        for (;;) asm volatile("wfi");
    }
    if (intid == kOwnSpi && reset_in_handler != 0) {
        // SPI 34 active here, SGI 5 pending behind it, SGI 6 pending for vCPU 1 whose timer
        // interrupt is active: none of it may survive into the next run.
        vgic_guest::send_sgi(5, 0b01);
        vgic_guest::send_sgi(6, 0b10);
        const bh::i64 status = bh::rt::system_reset();
        print("BREACH vgic: SYSTEM_RESET returned ", status, "\n");
    }
    if (intid == kTimer) vgic_guest::timer_off();
    vgic_guest::end_of_interrupt(intid);
}

// This vCPU's interface and redistributor on, every SGI and the timer enabled, IRQs unmasked.
void gic_on(u32 me) {
    vgic_guest::cpu_interface_on();
    gicr(me, vgic_guest::kWaker) = 0;
    gicr_sgi(me, vgic_guest::kIsenabler) = 0xffff | 1u << kTimer;
    vgic_guest::irqs_on();
}

template <typename Done>
bool wait_for(Done done, u64 ms) {
    const u64 deadline = bh::rt::counter() + bh::rt::ms_to_ticks(ms);
    while (!done()) {
        if (static_cast<bh::i64>(bh::rt::counter() - deadline) >= 0) return false;
    }
    return true;
}

u32 popcount(u32 v) {
    u32 n = 0;
    for (; v != 0; v &= v - 1) ++n;
    return n;
}

// ---------------------------------------------------------------- MMIO sweeps
// Each offset of a window by one access form; counts by outcome. A write writes back what the
// aligned word read (so the sweep itself sets nothing the read did not show).
enum class Form { Read8, Read16, Read32, Read64, Unaligned32, WriteBack32 };
const char* const kFormNames[] = {"read8", "read16", "read32", "read64", "unaligned32", "writeback32"};

Outcome access(Form f, u64 address) {
    switch (f) {
        case Form::Read8: return read8(address);
        case Form::Read16: return read16(address);
        case Form::Read32: return read32(address);
        case Form::Read64: return read64(address);
        case Form::Unaligned32: return read32(address + 1);
        case Form::WriteBack32: {
            const Outcome r = read32(address);
            return write32(address, r.value);
        }
    }
    return Outcome{};
}

constexpr u32 kForms = static_cast<u32>(Form::WriteBack32) + 1;

void sweep(u64 base, u64 size, Tally (&by_form)[kForms]) {
    for (u32 f = 0; f < kForms; ++f) {
        const Form form = static_cast<Form>(f);
        const u64 step = form == Form::Read64 ? 8 : 4;
        for (u64 offset = 0; offset < size; offset += step) by_form[f].add(access(form, base + offset));
    }
}

// "<a>-<b>" in `out`, for group names.
template <unsigned N>
const char* join(char (&out)[N], const char* a, const char* b) {
    unsigned n = 0;
    for (; *a != '\0' && n + 1 < N; ++a) out[n++] = *a;
    if (n + 1 < N) out[n++] = '-';
    for (; *b != '\0' && n + 1 < N; ++b) out[n++] = *b;
    out[n] = '\0';
    return out;
}

// A register bank that must read as zero but for `own` bits; a BREACH names what showed.
u64 foreign_bits;
void expect_only(const char* what, u64 address, u32 own) {
    const Outcome r = read32(address);
    if (r.faulted) {
        print("UNEXPECTED vgic: ", what, " at ", hex(address), " faulted ESR=", hex(r.esr), "\n");
        return;
    }
    if ((r.value & ~u64{own}) != 0) {
        ++foreign_bits;
        breach("vgic: ", what, " at ", hex(address), " reads ", hex(r.value), " (own bits ", hex(own), ")");
    }
}

void distributor() {
    Tally by_form[kForms];
    sweep(vgic_guest::kGicd, kGicdSize, by_form);
    char name[32];
    for (u32 f = 0; f < kForms; ++f) by_form[f].print("vgic", join(name, "gicd", kFormNames[f]));
    // Every IROUTER to core 3's affinity, then ones into every bank of the enable, pending and
    // active registers (SGI/PPI bank 0 and the 31 SPI banks), the groups, priorities and
    // configurations. (Routed first, its own SPI is not raised for vCPU 0 on the way.)
    Tally t;
    for (u32 spi = 32; spi < 1020; ++spi) t.add(write64(vgic_guest::kGicd + vgic_guest::irouter(spi), 3));
    for (u64 bank = 0; bank < 32; ++bank)
        for (u64 reg : {vgic_guest::kIsenabler, kIspendr, kIsactiver, kIcactiver, kIgroupr})
            t.add(write32(vgic_guest::kGicd + reg + 4 * bank, ~0u));
    for (u64 word = 8; word < 255; ++word) t.add(write32(vgic_guest::kGicd + vgic_guest::kIpriorityr + 4 * word, ~0u));
    for (u64 word = 2; word < 64; ++word) t.add(write32(vgic_guest::kGicd + kIcfgr + 4 * word, ~0u));
    t.add(write32(vgic_guest::kGicd + vgic_guest::kCtlr, ~0u));
    t.print("vgic", "gicd-ones");
    // What shows now: only its own SPI 34, enabled and pending, in bank 1.
    const u32 own = 1u << (kOwnSpi - 32);
    for (u64 bank = 0; bank < 32; ++bank) {
        expect_only("GICD_ISENABLER", vgic_guest::kGicd + vgic_guest::kIsenabler + 4 * bank, bank == 1 ? own : 0);
        expect_only("GICD_ISPENDR", vgic_guest::kGicd + kIspendr + 4 * bank, bank == 1 ? own : 0);
        expect_only("GICD_ISACTIVER", vgic_guest::kGicd + kIsactiver + 4 * bank, 0);
    }
    for (u32 spi = 32; spi < 1020; ++spi) {
        if (spi == kOwnSpi) continue;
        const Outcome r = read64(vgic_guest::kGicd + vgic_guest::irouter(spi));
        if (r.faulted || r.value != 0) {
            ++foreign_bits;
            breach("vgic: GICD_IROUTER", spi, " reads ", hex(r.value), r.faulted ? " (faulted)" : "");
        }
    }
    print("ATTEMPT vgic gicd-readback: foreign bits ", foreign_bits, ", GICD_CTLR ",
          hex(gicd(vgic_guest::kCtlr)), "\n");
    // Its own SPI 34 (its priority above the mask again), enabled and pending, routed to no vCPU of its own: vCPU indices it does not
    // have, the other cores' physical affinities, other clusters. Nothing may take it.
    gicd(vgic_guest::kIpriorityr + 4 * (kOwnSpi / 4)) = 0xa0a0'a0a0;
    const u64 routes[] = {2, 3, 0xff, 0x100, 0x101, 0x1'0000, 0x1'0000'0000ull, 0xff'00ff'ffffull};
    gic_on(0);
    for (u64 route : routes) {
        vgic_guest::reg64(vgic_guest::kGicd + vgic_guest::irouter(kOwnSpi)) = route;
        gicd(kIspendr + 4) = own;
        bh::rt::delay_ms(2);
    }
    const u32 taken_elsewhere = taken[0][kOwnSpi] + taken[1][kOwnSpi];
    print("ATTEMPT vgic own-spi-routes: ", sizeof routes / sizeof routes[0], " routes to no vCPU of its own, SPI 34 taken ",
          taken_elsewhere, " times, IROUTER reads ",
          hex(vgic_guest::reg64(vgic_guest::kGicd + vgic_guest::irouter(kOwnSpi))), "\n");
    // Routed back to vCPU 0: the pending SPI arrives there, once.
    vgic_guest::reg64(vgic_guest::kGicd + vgic_guest::irouter(kOwnSpi)) = 0;
    wait_for([] { return taken[0][kOwnSpi] != 0; }, 1000);
    bh::rt::delay_ms(2);
    print("ATTEMPT vgic own-spi-to-vcpu0: taken ", taken[0][kOwnSpi], " times\n");
    vgic_guest::irqs_off();
    gicd(vgic_guest::kIcenabler + 4) = own;
    gicd(kIcpendr + 4) = own;
    taken[0][kOwnSpi] = 0;
}

void redistributors() {
    // The frames of all four cores: only this partition's two vCPUs' may exist. Every form over
    // the 4 KiB of RD_base and of SGI_base that hold registers (long run: the whole frame), and
    // the rest of the frame read by words.
    for (u32 frame = 0; frame < kMachineCores; ++frame) {
        const u64 rd = vgic_guest::kGicr + frame * kGicrFrame;
        Tally by_form[kForms];
        if (long_run) {
            sweep(rd, kGicrFrame, by_form);
        } else {
            sweep(rd, 0x1000, by_form);
            sweep(rd + vgic_guest::kSgiBase, 0x1000, by_form);
            for (u64 offset = 0x1000; offset < kGicrFrame; offset += 4)
                if (offset - vgic_guest::kSgiBase >= 0x1000) by_form[static_cast<u32>(Form::Read32)].add(read32(rd + offset));
        }
        Tally all;
        for (const Tally& t : by_form) {
            all.attempts += t.attempts, all.contained += t.contained, all.undefined += t.undefined;
            all.stage1 += t.stage1, all.reached += t.reached, all.other += t.other;
        }
        char group[] = "gicr0";
        group[4] = static_cast<char>('0' + frame);
        all.print("vgic", group);
    }
    for (u32 frame = 0; frame < kVcpus; ++frame) {
        const Outcome typer = read64(vgic_guest::kGicr + frame * kGicrFrame + vgic_guest::kGicrTyper);
        print("ATTEMPT vgic gicr", frame, "-typer: affinity ", typer.value >> 32, " last ", (typer.value >> 4) & 1, "\n");
        // The LPI registers, the waker and the control register with ones: there are no LPIs.
        const u64 rd = vgic_guest::kGicr + frame * kGicrFrame;
        Tally t;
        for (u64 reg : {kGicrSetlpir, kGicrClrlpir, kGicrPropbaser, kGicrPendbaser, kGicrInvlpir, kGicrInvallr})
            t.add(write64(rd + reg, ~0ull));
        t.add(write32(rd + kGicrCtlr, ~0u));
        t.add(write32(rd + vgic_guest::kWaker, ~0u));
        u64 lpi = 0;
        for (u64 reg : {kGicrPropbaser, kGicrPendbaser}) lpi |= read64(rd + reg).value;
        lpi |= read32(rd + kGicrCtlr).value | read32(rd + kGicrSyncr).value;
        const u64 waker = read32(rd + vgic_guest::kWaker).value;
        char group[] = "gicr0-lpi";
        group[4] = static_cast<char>('0' + frame);
        t.print("vgic", group);
        print("ATTEMPT vgic gicr", frame, "-lpi: LPI registers read ", hex(lpi), ", WAKER ", hex(waker), "\n");
        if (lpi != 0) breach("vgic: LPI state in redistributor ", frame);
    }
    // Bao #394: vCPU 0 configures vCPU 1's private interrupts through vCPU 1's frame; its own
    // frame must not change.
    gicr_sgi(0, vgic_guest::kIsenabler) = 0xffff;
    gicr_sgi(1, vgic_guest::kIcenabler) = ~0u;
    gicr_sgi(1, kIspendr) = 0xff00;
    const u32 own_enable = gicr_sgi(0, vgic_guest::kIsenabler);
    const u32 own_pending = gicr_sgi(0, kIspendr);
    print("ATTEMPT vgic gicr1-from-vcpu0: vCPU 0's enables ", hex(own_enable), " pending ", hex(own_pending),
          "; vCPU 1's enables ", hex(gicr_sgi(1, vgic_guest::kIsenabler)), " pending ", hex(gicr_sgi(1, kIspendr)), "\n");
    gicr_sgi(1, kIcpendr) = ~0u;
    gicr_sgi(0, vgic_guest::kIcenabler) = ~0u;
}

// ---------------------------------------------------------------- EL2's interface registers
XTF_SYSREG(ich_hcr, "s3_4_c12_c11_0")
XTF_SYSREG(ich_vtr, "s3_4_c12_c11_1")
XTF_SYSREG(ich_misr, "s3_4_c12_c11_2")
XTF_SYSREG(ich_eisr, "s3_4_c12_c11_3")
XTF_SYSREG(ich_elrsr, "s3_4_c12_c11_5")
XTF_SYSREG(ich_vmcr, "s3_4_c12_c11_7")
XTF_SYSREG(ich_ap0r0, "s3_4_c12_c8_0")
XTF_SYSREG(ich_ap1r0, "s3_4_c12_c9_0")
XTF_SYSREG(ich_lr0, "s3_4_c12_c12_0")
XTF_SYSREG(ich_lr1, "s3_4_c12_c12_1")
XTF_SYSREG(ich_lr2, "s3_4_c12_c12_2")
XTF_SYSREG(ich_lr3, "s3_4_c12_c12_3")
XTF_SYSREG(icc_sre_el2, "s3_4_c12_c9_5")

struct Register {
    const char* name;
    Stub read;
    Stub write;
};
#define REGISTER(name) {#name, read_##name, write_##name}

u64 el1_undefined;  // what the CPU itself made UNDEFINED at EL1: the kernel never saw it

void interface_registers() {
    const Register el2[] = {REGISTER(ich_hcr),   REGISTER(ich_vtr),   REGISTER(ich_misr),  REGISTER(ich_eisr),
                            REGISTER(ich_elrsr), REGISTER(ich_vmcr),  REGISTER(ich_ap0r0), REGISTER(ich_ap1r0),
                            REGISTER(ich_lr0),   REGISTER(ich_lr1),   REGISTER(ich_lr2),   REGISTER(ich_lr3),
                            REGISTER(icc_sre_el2)};
    Tally t;
    for (const Register& r : el2) {
        // Writes with ones: an LR that took it would inject a pending, HW = 1 interrupt.
        const Outcome rd = call(r.read, 0);
        const Outcome wr = call(r.write, ~0ull);
        t.add(rd);
        t.add(wr);
        if (!rd.faulted || !wr.faulted) breach("vgic: ", r.name, " reached from EL1");
    }
    t.print("vgic", "ich-registers");
    el1_undefined = t.undefined;
    // The virtual interface as the guest sees it: nothing pending, nothing active yet.
    print("ATTEMPT vgic icv: IAR1 ", call(read_icc_iar1, 0).value, " HPPIR1 ", call(read_icc_hppir1, 0).value,
          " RPR ", hex(call(read_icc_rpr, 0).value), " AP1R0 ", hex(call(read_icc_ap1r0, 0).value), "\n");
}

// ---------------------------------------------------------------- SGIs
// The three generation registers (docs/vgic.md, "SGIs"); a write returns the value written.
XTF_SYSREG(sgi1r, "s3_0_c12_c11_5")
XTF_SYSREG(asgi1r, "s3_0_c12_c11_6")
XTF_SYSREG(sgi0r, "s3_0_c12_c11_7")

// The oracle: the vCPUs of this partition that the GICv3 affinity routing (12.2.21) names for a
// Group 1 SGI written by `sender`; vCPU i has affinity 0.0.0.i. SGI0R and ASGI1R name Group 0
// and the other security state's Group 1, which this virtual GIC does not have: nobody.
u32 named(u64 sgir, u32 sender, bool group1) {
    if (!group1) return 0;
    if ((sgir >> 40 & 1) != 0) return kAllVcpus & ~(1u << sender);
    if ((sgir >> 16 & 0xff) != 0 || (sgir >> 32 & 0xff) != 0 || (sgir >> 48 & 0xff) != 0) return 0;
    const u32 first = static_cast<u32>(sgir >> 44 & 0xf) * 16;
    if (first >= kVcpus) return 0;
    return static_cast<u32>(sgir & 0xffff) << first & kAllVcpus;
}

// vCPU 1 holds PSTATE.I while vCPU 0 sends a group, so what is sent to it collects as one pending
// interrupt per INTID; between groups it unmasks and takes them (drain). What vCPU 0 sends to
// itself is taken at once, one by one.
volatile u32 drain_request, drain_done;
volatile u32 arm_timer_on_drain;  // the last drain: its timer fires inside it (reset_while_active)

void vcpu1_drain_loop() {
    for (;;) {
        // WFE: QEMU hands the next vCPU its turn rather than let this one spin through its own.
        while (drain_request == drain_done) asm volatile("wfe");
        if (arm_timer_on_drain != 0) vgic_guest::timer_arm(bh::rt::ms_to_ticks(1));
        vgic_guest::irqs_on();
        bh::rt::delay_ms(2);
        vgic_guest::irqs_off();
        drain_done = drain_done + 1;
    }
}

u32 taken_total(u32 v) {
    u32 n = 0;
    for (u32 i = 0; i < 16; ++i) n += taken[v][i];
    return n;
}

struct SgiGroup {
    Tally tally;
    u32 to_self = 0;      // sends that name vCPU 0
    u32 to_other = 0;     // INTIDs sent to vCPU 1 (a bit each)
    u32 self_before = 0, other_before = 0;
};

void begin(SgiGroup& g) {
    g.self_before = taken_total(0);
    g.other_before = taken_total(1);
}

void send(SgiGroup& g, Stub reg, u64 value, bool group1) {
    const Outcome o = call(reg, value);
    g.tally.add(o);
    const u32 targets = named(value, 0, group1);
    if ((targets & 1) != 0) ++g.to_self;
    if ((targets & 2) != 0) g.to_other |= 1u << (value >> 24 & 0xf);
}

u32 mismatches;
void end(SgiGroup& g, const char* reg_name, const char* group) {
    drain_request = drain_request + 1;
    if (!wait_for([] { return drain_done == drain_request; }, 5000)) print("UNEXPECTED vgic: vCPU 1 did not drain\n");
    const u32 self = taken_total(0) - g.self_before;
    const u32 other = taken_total(1) - g.other_before;
    char name[32];
    join(name, reg_name, group);
    g.tally.print("vgic", name);
    const bool ok = self == g.to_self && other == popcount(g.to_other);
    if (!ok) ++mismatches;
    print("ATTEMPT vgic ", name, ": vCPU 0 named ", g.to_self, " took ", self, ", vCPU 1 named ", popcount(g.to_other),
          " INTIDs took ", other, ok ? "" : " MISMATCH", "\n");
}

void sgis() {
    struct Reg {
        const char* name;
        Stub write;
        bool group1;
    };
    // Only SGI1R names an interrupt this virtual GIC has (named()).
    const Reg regs[] = {{"sgi1r", write_sgi1r, true}, {"asgi1r", write_asgi1r, false}, {"sgi0r", write_sgi0r, false}};
    const u64 affinities[] = {0, 1, 2, 3, 0x80, 0xff};
    Random random(0x5617'7e57);
    for (const Reg& r : regs) {
        const bool group1 = r.group1;
        // Every target list at affinity 0.0.0.x, RS 0.
        SgiGroup list;
        begin(list);
        for (u64 l = 0; l <= 0xffff; ++l) send(list, r.write, l | (l & 15) << 24, group1);
        end(list, r.name, "list");
        // Every Aff3.Aff2.Aff1 from the set, every RS, a few target lists.
        SgiGroup aff;
        begin(aff);
        u32 i = 0;
        for (u64 a3 : affinities)
            for (u64 a2 : affinities)
                for (u64 a1 : affinities)
                    for (u64 rs = 0; rs < 16; ++rs)
                        for (u64 l : {0x1ull, 0x2ull, 0x3ull, 0xfull, 0xffffull})
                            send(aff, r.write, a3 << 48 | rs << 44 | a2 << 32 | a1 << 16 | u64{++i & 15} << 24 | l, group1);
        end(aff, r.name, "affinity");
        // IRM = 1 (every PE but the sender) with whatever else in the other fields.
        SgiGroup irm;
        begin(irm);
        for (u32 k = 0; k < 256; ++k) send(irm, r.write, (random.next() & ~(0xfull << 24)) | 1ull << 40 | u64{k & 15} << 24, group1);
        end(irm, r.name, "broadcast");
        // Random values (long run: many).
        SgiGroup rnd;
        begin(rnd);
        const u32 count = long_run ? 200'000 : 4'096;
        for (u32 k = 0; k < count; ++k) send(rnd, r.write, random.next(), group1);
        end(rnd, r.name, "random");
    }
    print("RESULT vgic sgi: groups=12 mismatches=", mismatches, " other-intids=", taken_other[0] + taken_other[1], "\n");
}

// Tells the bystander the attacks are over (or failed): its Notification cap is the only one.
void signal_bystander() {
    const u64 slots = 1ull << bh::rt::partition_info().cspace_radix;
    for (u64 slot = 1; slot < slots; ++slot) {
        if (bh::rt::cap_identify(slot).type == bh::rt::cap_type::kNotification) {
            print("signal the bystander: status ", bh::rt::notification_signal(slot), "\n");
            return;
        }
    }
}

// ---------------------------------------------------------------- run 0's end: reset while active
volatile u32 vcpu1_started;

void reset_while_active() {
    // vCPU 1 takes its timer interrupt and keeps it active; then SPI 34 to vCPU 0, in whose
    // handler the partition resets (irq()).
    hold_timer = 1;
    arm_timer_on_drain = 1;
    drain_request = drain_request + 1;  // vCPU 1 unmasks once more: its timer fires meanwhile
    if (!wait_for([] { return taken[1][kTimer] != 0; }, 5000)) print("UNEXPECTED vgic: vCPU 1's timer not taken\n");
    print("ATTEMPT vgic reset-while-active: vCPU 1 holds PPI 27 active; SPI 34 to vCPU 0, SYSTEM_RESET in its handler\n");
    reset_in_handler = 1;
    vgic_guest::reg64(vgic_guest::kGicd + vgic_guest::irouter(kOwnSpi)) = 0;
    gicd(vgic_guest::kIsenabler + 4) = 1u << (kOwnSpi - 32);
    vgic_guest::irqs_on();
    gicd(kIspendr + 4) = 1u << (kOwnSpi - 32);
    bh::rt::delay_ms(1000);
    print("UNEXPECTED vgic: SPI 34 not taken\n");
    signal_bystander();
}

// ---------------------------------------------------------------- run 1
volatile u32 vcpu1_clean_checked, vcpu1_storm_done, vcpu1_storm_took;
volatile u32 vcpu1_stale;

// What a start must leave: nothing pending or active in the interface, the redistributor or the
// distributor; then, with everything enabled and IRQs unmasked, nothing taken.
u32 stale_state(u32 me) {
    u32 stale = 0;
    const u64 hppir = call(read_icc_hppir1, 0).value;
    const u64 rpr = call(read_icc_rpr, 0).value;
    const u64 ap1r0 = call(read_icc_ap1r0, 0).value;
    const u32 pending = gicr_sgi(me, kIspendr), active = gicr_sgi(me, kIsactiver);
    const u32 spi_pending = gicd(kIspendr + 4), spi_active = gicd(kIsactiver + 4);
    if (hppir != 1023 || rpr != 0xff || ap1r0 != 0 || pending != 0 || active != 0 || spi_pending != 0 || spi_active != 0)
        ++stale;
    gic_on(me);
    bh::rt::delay_ms(5);
    const u32 late = taken_total(me) + taken[me][kTimer] + taken[me][kOwnSpi];
    if (late != 0) ++stale;
    print("ATTEMPT vgic vcpu", me, "-after-reset: HPPIR1 ", hppir, " RPR ", hex(rpr), " AP1R0 ", hex(ap1r0),
          " GICR pending ", hex(pending), " active ", hex(active), " GICD pending ", hex(spi_pending), " active ",
          hex(spi_active), ", taken when unmasked ", late, "\n");
    return stale;
}

bool timer_arrives(u32 me) {
    vgic_guest::timer_arm(bh::rt::ms_to_ticks(1));
    return wait_for([me] { return taken[me][kTimer] == 1; }, 2000);
}

u32 self_storm(u32 me) {
    const u32 count = long_run ? 100'000 : 10'000;
    const u32 before = taken[me][7 + me];
    for (u32 k = 0; k < count; ++k) vgic_guest::send_sgi(7 + me, 1u << me);
    return taken[me][7 + me] - before;
}

void second_run(u64 restarts) {
    gicd(vgic_guest::kCtlr) = 2;
    const u32 stale = stale_state(0);
    print("start: run ", restarts, "; vCPU 1: status ", bh::rt::start_secondary(1, 2), "\n");
    if (!wait_for([] { return vcpu1_clean_checked != 0; }, 5000)) print("UNEXPECTED vgic: vCPU 1 did not start\n");
    const bool timer = timer_arrives(0);
    vgic_guest::reg64(vgic_guest::kGicd + vgic_guest::irouter(kOwnSpi)) = 0;
    gicd(vgic_guest::kIsenabler + 4) = 1u << (kOwnSpi - 32);
    gicd(kIspendr + 4) = 1u << (kOwnSpi - 32);
    const bool spi = wait_for([] { return taken[0][kOwnSpi] == 1; }, 2000);
    print("RESULT vgic after-reset: stale=", stale + vcpu1_stale, " vcpu0-timer=", timer ? "taken" : "LOST",
          " vcpu1-timer=", taken[1][kTimer] == 1 ? "taken" : "LOST", " spi34=", spi ? "taken" : "LOST", "\n");
    const u32 storm = self_storm(0);
    wait_for([] { return vcpu1_storm_done != 0; }, 60000);
    const u32 count = long_run ? 100'000 : 10'000;
    print("RESULT vgic self-ipi-storm: sent=", count, " vcpu0-took=", storm, " vcpu1-took=", vcpu1_storm_took,
          " other-intids=", taken_other[0] + taken_other[1], "\n");
    signal_bystander();
}

}  // namespace

extern "C" void guest_secondary_main(u64 context) {
    init();
    vgic_guest::irqs_off();
    if (context == 1) {
        // Run 0: masked but while vCPU 0 asks it to drain what its SGIs left pending.
        gic_on(1);
        vgic_guest::irqs_off();
        vcpu1_started = 1;
        vcpu1_drain_loop();
    }
    vcpu1_stale = stale_state(1);
    vcpu1_clean_checked = 1;
    if (!timer_arrives(1)) print("UNEXPECTED vgic: vCPU 1's timer lost after the reset\n");
    vcpu1_storm_took = self_storm(1);
    vcpu1_storm_done = 1;
    for (;;) asm volatile("wfi");
}

extern "C" void guest_main(u64 boot_arg) {
    init();
    set_irq_handler(irq);
    long_run = (boot_arg >> 63) != 0;
    const bh::rt::PartitionInfo info = bh::rt::partition_info();
    if (info.restarts != 0) {
        second_run(info.restarts);
        return;
    }
    print("start: run 0, ", info.vcpus, " vCPUs", long_run ? ", long" : "", "\n");
    distributor();
    redistributors();
    interface_registers();
    gicd(vgic_guest::kCtlr) = 2;
    gic_on(0);
    print("vCPU 1: status ", bh::rt::start_secondary(1, 1), "\n");
    if (!wait_for([] { return vcpu1_started != 0; }, 5000)) print("UNEXPECTED vgic: vCPU 1 did not start\n");
    sgis();
    const u64 faults = exceptions_taken();
    print("RESULT vgic faults: taken=", faults, " el1-undefined=", el1_undefined, " injected=", faults - el1_undefined, "\n");
    reset_while_active();
}

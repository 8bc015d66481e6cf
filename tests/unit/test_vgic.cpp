// The virtual GIC (kernel/vgic, docs/vgic.md) driven as a guest drives it: every register of the
// emulated distributor and redistributors, SGIs and their affinity routing, delivery through
// list registers to a vCPU on its own core or another, the virtual timer and physical SPIs
// forwarded with HW = 1, and the three bugs peers shipped (Bao #389, #394, #371).
#include <catch2/catch_test_macros.hpp>

#include <invariants/invariants.hpp>
#include <string>

#include "vgic_fixture.hpp"

using namespace bh;
using namespace bh::test;

namespace {

constexpr u32 kRtc = 34;
constexpr u32 kTimer = 27;
constexpr u32 kUartSpi = 33;
constexpr u64 kGicdTyperFixed = 1u | (9u << 19) | (1u << 25);
constexpr u64 kIrouter(u32 intid) { return kGicd + 0x6000 + 8ull * intid; }
constexpr u64 kGicrFrame(u32 vcpu) { return kGicr + vcpu * 0x2'0000ull; }

using K = ExitVector;

// guest: virtual GIC, UART and console input, vCPUs 0 and 1 on cores 1 and 2, the RTC's SPI 34
//        through its IrqHandler cap (CSpace index 2), a notification it may wait on (index 3).
//        vCPU 0 runs; vCPU 1 is off until started.
// other: a virtual GIC, one vCPU on core 3, running.
// plain: no virtual device, core 0, running.
struct World : VgicFixture {
    Partition* guest = nullptr;
    Partition* other = nullptr;
    Partition* plain = nullptr;
    explicit World(manifest::RestartPolicy policy = manifest::RestartPolicy::Stop) {
        guest = &make("guest", kPartitionPa, 1, 2, policy, flag::kVirtualGic | flag::kVirtualUart | flag::kConsoleInput);
        other = &make("other", kPartitionPa + 4 * kMiB, 3, 1, manifest::RestartPolicy::Stop, flag::kVirtualGic);
        plain = &make("plain", kPartitionPa + 8 * kMiB, 0);
        const u32 rtc = slot();
        REQUIRE(create_irq_handler(rtc, kRtc).ok());
        REQUIRE(grant(rtc, *guest, 2, Rights::control()).ok());
        const u32 ntfn = slot();
        REQUIRE(retype(manifest::kKernelUntypedSlot, ObjectType::Notification, 0, ntfn, 1).ok());
        REQUIRE(grant(ntfn, *guest, 3, Rights::read()).ok());
        REQUIRE(seal().ok());
        enter(g0());
        enter(o0());
        enter(plain->vcpus[0]);
    }
    Vcpu& g0() { return guest->vcpus[0]; }
    Vcpu& g1() { return guest->vcpus[1]; }
    Vcpu& o0() { return other->vcpus[0]; }
    // Distributor on, SPI `intid` enabled and routed to vCPU `vcpu`.
    void enable_spi(u32 intid, u32 vcpu = 0) {
        write(g0(), kGicd + 0x0, 0x2);
        write(g0(), kIrouter(intid), vcpu, 8);
        write(g0(), kGicd + 0x100 + 4 * (intid / 32), 1u << (intid % 32));
    }
};

bool console_has(const std::string& text) { return host::console_output().find(text) != std::string::npos; }

}  // namespace

TEST_CASE("vgic: a partition without the flags meets no emulation (as before)", "[vgic][T-21][T-26]") {
    SECTION("its GIC distributor access is a stage-2 fault") {
        World w;
        Vcpu& v = w.plain->vcpus[0];
        CHECK_FALSE(w.exit(v, K::Sync, data_abort(4, false, 1), kGicd));
        CHECK(w.plain->load_state() == PartitionState::Stopped);
        CHECK(console_has("FAULT partition 'plain' core 0: stage-2 data abort (read) at IPA 0x8000000"));
    }
    SECTION("its UART access too") {
        World w;
        CHECK_FALSE(w.exit(w.plain->vcpus[0], K::Sync, data_abort(1, true, 2), kUart));
        CHECK(w.plain->load_state() == PartitionState::Stopped);
    }
    SECTION("its ICC_SGI1R_EL1 write is a trapped system register fault") {
        World w;
        CHECK_FALSE(w.exit(w.plain->vcpus[0], K::Sync, msr_sgi1r(3)));
        CHECK(w.plain->load_state() == PartitionState::Stopped);
        CHECK(console_has("FAULT partition 'plain' core 0: trapped system register access"));
        CHECK(console_has("system register access, MSR S3_0_C12_C11_5"));
        CHECK(w.o0().vgic.pending.load() == 0);
    }
    SECTION("a partition with a UART but no virtual GIC has no GIC windows") {
        KernelFixture f;
        Partition& p = f.make("uartonly", kPartitionPa, 1, 1, manifest::RestartPolicy::Stop, flag::kVirtualUart);
        REQUIRE(f.seal().ok());
        host::set_current_core(1);
        CHECK_FALSE(exit_with(f.kernel, p.vcpus[0], K::Sync, data_abort(4, false, 1), kGicd, (kGicd >> 12) << 4));
    }
}

TEST_CASE("vgic: GICD identification and control registers", "[vgic][T-43]") {
    World w;
    Vcpu& v = w.g0();
    CHECK(w.read(v, kGicd + 0x0) == 0x50);  // ARE and DS read as one, groups off
    w.write(v, kGicd + 0x0, 0xffff'ffff);
    CHECK(w.read(v, kGicd + 0x0) == 0x52);  // only EnableGrp1 is writable
    CHECK(w.read(v, kGicd + 0x4) == (kGicdTyperFixed | 1u << 5));  // 2 vCPUs: CPUNumber 1
    CHECK(w.read(w.o0(), kGicd + 0x4) == kGicdTyperFixed);
    CHECK(w.read(v, kGicd + 0x8) == 0);          // IIDR
    CHECK(w.read(v, kGicd + 0xc) == 0);          // TYPER2
    CHECK(w.read(v, kGicd + 0xffe8) == 0x3b);    // PIDR2: GICv3
    for (u64 reserved : {0x10ull, 0x40ull, 0x800ull, 0xd04ull, 0xe04ull, 0xf00ull, 0x2000ull, 0xffd0ull}) {
        w.write(v, kGicd + reserved, 0xffff'ffff);
        CHECK(w.read(v, kGicd + reserved) == 0);
    }
}

TEST_CASE("vgic: the distributor shows a partition its own SPIs only, others read as zero", "[vgic][T-43][T-76][INV-5]") {
    World w;
    Vcpu& v = w.g0();
    const u32 own = 1u << (kUartSpi - 32) | 1u << (kRtc - 32);
    CHECK(w.read(v, kGicd + 0x84) == own);  // IGROUPR1: its SPIs, all Group 1
    CHECK(w.read(v, kGicd + 0x80) == 0);    // IGROUPR0: SGIs and PPIs are the redistributors'
    CHECK(w.read(w.o0(), kGicd + 0x84) == 0);  // no SPI at all
    w.write(v, kGicd + 0x104, 0xffff'ffff);
    CHECK(w.read(v, kGicd + 0x104) == own);
    CHECK(w.read(v, kGicd + 0x184) == own);
    CHECK(host::irq_enabled(kRtc));
    CHECK(host::irq_route(kRtc) == 1);        // the core of vCPU 0, its route
    CHECK_FALSE(host::irq_enabled(35));       // not the partition's: untouched
    w.write(v, kGicd + 0x100, 0xffff'ffff);   // ISENABLER0: RAZ/WI with affinity routing
    CHECK(w.read(v, kGicd + 0x100) == 0);
    CHECK(v.vgic.enabled.load() == 0);
    w.write(v, kGicd + 0x184, 1u << (kRtc - 32));
    CHECK(w.read(v, kGicd + 0x104) == 1u << (kUartSpi - 32));
    CHECK_FALSE(host::irq_enabled(kRtc));
    // Priorities: bytes of its SPIs only.
    w.write(v, kGicd + 0x420, 0x4433'2211);  // INTIDs 32..35
    CHECK(w.read(v, kGicd + 0x420) == 0x0033'2200);
    CHECK(w.read(v, kGicd + 0x422, 1) == 0x33);
    w.write(v, kGicd + 0x421, 0x99, 1);
    CHECK(w.read(v, kGicd + 0x420) == 0x0033'9900);
    CHECK(w.read(v, kGicd + 0x400) == 0);    // SGI/PPI priorities live in the redistributors
    // Configuration: two bits per INTID, its own only.
    w.write(v, kGicd + 0xc08, 0xffff'ffff);  // INTIDs 32..47
    CHECK(w.read(v, kGicd + 0xc08) == (2u << 2 | 2u << 4));
    w.write(v, kGicd + 0xc08, 0);
    CHECK(w.read(v, kGicd + 0xc08) == 0);
    CHECK(check_invariants(w.kernel).ok());
}

TEST_CASE("vgic: GICD_IROUTER routes a physical SPI to the core of the vCPU it names", "[vgic][T-76][INV-5]") {
    World w;
    Vcpu& v = w.g0();
    w.enable_spi(kRtc, 0);
    CHECK(host::irq_route(kRtc) == 1);
    w.write(v, kIrouter(kRtc), 1, 8);
    CHECK(w.read(v, kIrouter(kRtc), 8) == 1);
    CHECK(host::irq_enabled(kRtc));
    CHECK(host::irq_route(kRtc) == 2);      // vCPU 1's core
    w.write(v, kIrouter(kRtc) + 4, 0x1);    // Aff3 = 1 (upper word): names no vCPU of the partition
    CHECK(w.read(v, kIrouter(kRtc), 8) == 0x1'0000'0001);
    CHECK(w.read(v, kIrouter(kRtc) + 4) == 1);
    CHECK_FALSE(host::irq_enabled(kRtc));   // nowhere to go: off at the physical distributor
    w.write(v, kIrouter(kRtc), 0x8000'0300);  // IRM (RES0: no 1-of-N) and Aff1 = 3
    CHECK(w.read(v, kIrouter(kRtc)) == 0x300);
    w.write(v, kIrouter(kRtc), 0, 8);
    CHECK(host::irq_enabled(kRtc));
    CHECK(host::irq_route(kRtc) == 1);
    w.write(v, kIrouter(35), 1, 8);          // not its SPI: RAZ/WI
    CHECK(w.read(v, kIrouter(35), 8) == 0);
    CHECK(w.read(v, kIrouter(0), 8) == 0);
}

TEST_CASE("vgic: pending state through the distributor", "[vgic][T-43]") {
    World w;
    Vcpu& v = w.g0();
    w.enable_spi(kRtc);
    // A physical SPI's pending state is the physical distributor's.
    w.write(v, kGicd + 0x204, 1u << (kRtc - 32));
    CHECK(host::spi_pending(kRtc));
    w.write(v, kGicd + 0x284, 1u << (kRtc - 32));
    CHECK_FALSE(host::spi_pending(kRtc));
    // The virtual UART's SPI is the kernel's own: raised for the vCPU its route names.
    w.write(v, kGicd + 0x204, 1u << (kUartSpi - 32) | 1u << 3);  // SPI 35 is not its own
    CHECK(v.vgic.pending_spi.load() == 1u << (kUartSpi - 32));  // disabled: pending, in no list register
    CHECK(w.in_lrs(v).empty());
    CHECK(w.read(v, kGicd + 0x204) == 1u << (kUartSpi - 32));
    w.write(v, kGicd + 0x284, 0xffff'ffff);
    CHECK(w.read(v, kGicd + 0x204) == 0);
}

TEST_CASE("vgic: a forwarded physical SPI held for the vCPU and cleared is deactivated", "[vgic][T-77][INV-5]") {
    World w;
    Vcpu& v = w.g0();
    w.enable_spi(kRtc);
    w.write(v, kGicd + 0x184, 1u << (kRtc - 32));  // disabled after it fired: held pending
    CHECK(w.interrupt(v, kRtc));
    CHECK(v.vgic.pending_spi.load() == 1u << (kRtc - 32));
    w.write(v, kGicd + 0x284, 1u << (kRtc - 32));  // ICPENDR: no longer pending, so not active
    CHECK(v.vgic.pending_spi.load() == 0);
    CHECK(host::deactivations() == std::vector<host::Deactivation>{{kRtc, 1}});
}

TEST_CASE("vgic: GICR frames, one per vCPU, each with its own affinity", "[vgic][T-43]") {
    World w;
    Vcpu& v = w.g0();
    CHECK(w.read(v, kGicrFrame(0) + 0x8, 8) == 0);                                // Aff 0.0.0.0, not Last
    CHECK(w.read(v, kGicrFrame(1) + 0x8, 8) == (1ull << 32 | 1u << 8 | 1u << 4));  // vCPU 1, Last
    CHECK(w.read(v, kGicrFrame(1) + 0x8) == (1u << 8 | 1u << 4));
    CHECK(w.read(v, kGicrFrame(1) + 0xc) == 1);
    CHECK(w.read(w.o0(), kGicrFrame(0) + 0x8, 8) == 1u << 4);  // one vCPU: Last
    CHECK(w.read(v, kGicrFrame(0) + 0x14) == 0x6);  // WAKER: asleep after reset
    w.write(v, kGicrFrame(0) + 0x14, 0);
    CHECK(w.read(v, kGicrFrame(0) + 0x14) == 0);
    CHECK(w.read(v, kGicrFrame(1) + 0x14) == 0);  // vCPU 1 has not started: its reset is at its entry
    CHECK(w.read(v, kGicrFrame(0) + 0xffe8) == 0x3b);
    CHECK(w.read(v, kGicrFrame(0) + kSgiFrame + 0x80) == 0xffff'ffff);  // IGROUPR0: Group 1
    CHECK(w.read(v, kGicrFrame(0) + kSgiFrame + 0xc00) == 0xaaaa'aaaa);  // SGIs: edge, read-only
    w.write(v, kGicrFrame(0) + kSgiFrame + 0xc00, 0);
    CHECK(w.read(v, kGicrFrame(0) + kSgiFrame + 0xc00) == 0xaaaa'aaaa);
    w.write(v, kGicrFrame(0) + kSgiFrame + 0xc04, 0x0080'0000);
    CHECK(w.read(v, kGicrFrame(0) + kSgiFrame + 0xc04) == 0x0080'0000);
    for (u64 zero : {0x0ull, 0x4ull, 0x10ull, 0x70ull, 0x78ull, 0x1'0d00ull, 0x1'0e00ull, 0x1'0500ull}) {
        w.write(v, kGicrFrame(0) + zero, 0xffff'ffff);
        CHECK(w.read(v, kGicrFrame(0) + zero) == 0);
    }
    CHECK(w.read(v, kGicrFrame(0) + 0x70, 8) == 0);  // PROPBASER: no LPIs
    // Past the last vCPU's frames there is no redistributor: an unmapped IPA, its fault.
    CHECK_FALSE(w.exit(v, K::Sync, data_abort(4, false, 1), kGicrFrame(2) + 0x8));
    CHECK(w.guest->load_state() == PartitionState::Stopped);
}

TEST_CASE("vgic: an access to another vCPU's redistributor acts on that vCPU (Bao #394)", "[vgic][T-43][T-76]") {
    World w;
    w.start(w.g0(), *w.guest, 1);
    Vcpu& v0 = w.g0();
    Vcpu& v1 = w.g1();
    w.enable_private(v0, 1, 3);  // vCPU 0 enables SGI 3 at vCPU 1's redistributor
    CHECK(v1.vgic.enabled.load() == 1u << 3);
    CHECK(v0.vgic.enabled.load() == 0);
    CHECK(w.read(v1, kGicrFrame(1) + kSgiFrame + 0x100) == 1u << 3);
    CHECK(w.read(v0, kGicrFrame(0) + kSgiFrame + 0x100) == 0);
    w.write(v0, kGicrFrame(1) + kSgiFrame + 0x403, 0x40, 1);  // priority of vCPU 1's SGI 3
    CHECK(v1.vgic.priority[3].load() == 0x40);
    CHECK(v0.vgic.priority[3].load() == 0);
    CHECK(w.read(v1, kGicrFrame(1) + kSgiFrame + 0x400) == 0x4000'0000);
    w.write(v1, kGicrFrame(1) + kSgiFrame + 0x408, 0x1122'3344);
    CHECK(w.read(v0, kGicrFrame(1) + kSgiFrame + 0x409, 1) == 0x33);
    CHECK(w.read(v0, kGicrFrame(0) + kSgiFrame + 0x408) == 0);
    // SGI 3 to both: only vCPU 1 has it enabled, so only it is offered it.
    w.sgi(v0, sgir(3, 0b11));
    CHECK(w.in_lrs(v0).empty());
    CHECK(v0.vgic.pending.load() == 1u << 3);  // pending at vCPU 0, disabled there
    REQUIRE(w.interrupt(v1, 0) == false);  // the kick: vCPU 1 fills its list registers
    CHECK(w.in_lrs(v1) == std::vector<u32>{3});
    w.write(v1, kGicrFrame(1) + kSgiFrame + 0x180, 1u << 3);  // vCPU 1 disables its own SGI 3
    CHECK(v1.vgic.enabled.load() == 0);
}

TEST_CASE("vgic: the SGI affinity decode, over the partition's own vCPUs only (Bao #389)", "[vgic][T-43][T-75]") {
    struct Case {
        u64 value;
        u32 sender, vcpus, targets;
    };
    const Case cases[] = {
        {sgir(0, 0b1), 0, 1, 0b1},                 // self
        {sgir(0, 0b1010), 0, 4, 0b1010},           // vCPUs 1 and 3
        {sgir(0, 0xffff), 2, 4, 0b1111},           // the sender too
        {sgir(0, 0xfff0), 0, 4, 0},                // Aff0 4..15: none exists
        {sgir(0, 0x0100), 0, 4, 0},                // bit 8 is Aff0 8, not truncated onto vCPU 0
        {sgir(0, 0b1111), 0, 2, 0b11},             // vCPUs 2 and 3 do not exist
        {sgir(0, 0b1, 1), 0, 4, 0},                // RS = 1: Aff0 16, not vCPU 0
        {sgir(0, 0xffff, 15), 0, 4, 0},
        {sgir(0, 0b1, 0, 1), 0, 4, 0},             // Aff1 = 1: another cluster
        {sgir(0, 0b1, 0, 0, 1), 0, 4, 0},          // Aff2
        {sgir(0, 0b1, 0, 0, 0, 1), 0, 4, 0},       // Aff3
        {sgir_all_but_self(0), 1, 4, 0b1101},      // IRM: everyone but the sender
        {sgir_all_but_self(0) | 0xffff | 1ull << 16, 0, 2, 0b10},  // IRM ignores the affinity fields
        {sgir_all_but_self(0), 0, 1, 0},           // alone: nobody
        {sgir(15, 0b1), 0, 1, 0b1},                // the INTID does not change the targets
        {sgir(0, 0xffff, 1), 31, 32, 0xffff0000},  // 32 vCPUs: RS = 1 is Aff0 16-31
        {sgir_all_but_self(0), 31, 32, 0x7fffffff},
        {sgir(0, 0b1), 0, 0, 0},                   // no vCPUs, or more than the decode can name
        {sgir(0, 0b1), 0, 33, 0},
    };
    for (const Case& c : cases) {
        INFO("value " << std::hex << c.value << " sender " << c.sender << " vcpus " << c.vcpus);
        CHECK(vgic::sgi_targets(c.value, c.sender, c.vcpus) == c.targets);
    }
}

TEST_CASE("vgic: a self-IPI reaches the guest through a list register", "[vgic][T-43]") {
    World w;
    Vcpu& v = w.g0();
    w.enable_private(v, 0, 5);
    w.write(v, kGicrFrame(0) + kSgiFrame + 0x405, 0xa0, 1);
    w.sgi(v, sgir(5, 0b1));
    const u64 l = w.lr(v, 0);
    CHECK(lr_intid(l) == 5);
    CHECK(lr_state(l) == 1);
    CHECK((l >> 60 & 1) == 1);         // Group 1
    CHECK((l >> 48 & 0xff) == 0xa0);   // its priority
    CHECK_FALSE(lr_hw(l));
    CHECK(w.acknowledge(v) == 5);
    // Raised again while the guest handles it: pending and active in the same register.
    w.sgi(v, sgir(5, 0b1));
    CHECK(lr_state(w.lr(v, 0)) == 3);
    CHECK(w.in_lrs(v) == std::vector<u32>{5});
    CHECK(w.end(v, 5));
    CHECK(lr_state(w.lr(v, 0)) == 1);
    CHECK(w.acknowledge(v) == 5);
    CHECK(w.end(v, 5));
    CHECK(w.in_lrs(v).empty());
    CHECK(host::deactivations().empty());  // nothing physical behind an SGI
    CHECK(host::kick_count(1) == 0);       // its own core: no kick needed
}

TEST_CASE("vgic: an SGI to the partition's vCPU on another core waits in its state and kicks that core", "[vgic][T-43]") {
    World w;
    w.start(w.g0(), *w.guest, 1);
    Vcpu& v0 = w.g0();
    Vcpu& v1 = w.g1();
    w.enable_private(v1, 1, 2);
    const u64 kicks = host::kick_count(2);
    w.sgi(v0, sgir(2, 0b10));
    CHECK(v1.vgic.pending.load() == 1u << 2);
    CHECK(host::kick_count(2) == kicks + 1);
    CHECK(w.in_lrs(v0).empty());
    CHECK(w.in_lrs(v1).empty());  // core 2 has not left its guest yet
    CHECK_FALSE(w.interrupt(v1, 0));  // the kick (SGI 0) is the kernel's, never forwarded
    CHECK(w.in_lrs(v1) == std::vector<u32>{2});
    CHECK(v1.vgic.pending.load() == 0);
    CHECK(w.acknowledge(v1) == 2);
    // To a vCPU that is not running: pending only, nobody to kick.
    REQUIRE_FALSE(hypercall(w.kernel, v1, hvc::psci::kCpuOff));
    w.leave(v1);
    w.sgi(v0, sgir(2, 0b10));
    CHECK(host::kick_count(2) == kicks + 1);
}

TEST_CASE("vgic: an SGI aimed at another partition's cores arrives nowhere", "[vgic][T-75][INV-7]") {
    World w;
    w.start(w.g0(), *w.guest, 1);
    w.enable_private(w.o0(), 0, 7);
    w.enable_private(w.g0(), 0, 7);
    w.enable_private(w.g1(), 1, 7);
    // "other" runs on physical core 3 (and plain on core 0): the guest names every Aff0 there is.
    for (u32 rs = 0; rs < 16; ++rs) w.sgi(w.g0(), sgir(7, 0xfffc, rs));  // all but its own 0 and 1
    w.sgi(w.g0(), sgir(7, 0xffff, 0, 1));
    w.exit(w.g0(), K::Sync, msr_sgi0r(3));
    w.exit(w.g0(), K::Sync, msr_asgi1r(3));
    CHECK(w.o0().vgic.pending.load() == 0);
    CHECK(w.in_lrs(w.o0()).empty());
    CHECK(host::kick_count(3) == 0);
    CHECK(host::kick_count(0) == 0);
    CHECK(w.in_lrs(w.g0()).empty());
    CHECK(w.g1().vgic.pending.load() == 0);
    // All but self from the other partition reaches nobody either: it is alone.
    w.sgi(w.o0(), sgir_all_but_self(7));
    CHECK(w.g0().vgic.pending.load() == 0);
    CHECK(w.g1().vgic.pending.load() == 0);
}

TEST_CASE("vgic: Group 0 and other-security-state SGI requests deliver nothing", "[vgic][T-75]") {
    World w;
    Vcpu& v = w.g0();
    w.enable_private(v, 0, 1);
    v.regs.x[3] = sgir(1, 0b1);
    const u64 elr = v.regs.elr;
    CHECK(w.exit(v, K::Sync, msr_sgi0r(3)));
    CHECK(w.exit(v, K::Sync, msr_asgi1r(3)));
    CHECK(v.regs.elr == elr + 8);  // both emulated: the guest continues
    CHECK(w.in_lrs(v).empty());
    CHECK(v.vgic.pending.load() == 0);
    w.sgi(v, sgir(1, 0b1));
    CHECK(w.in_lrs(v) == std::vector<u32>{1});
}

TEST_CASE("vgic: the virtual timer's PPI 27 is forwarded with HW = 1 and ended by the guest", "[vgic][T-78][T-79][INV-7]") {
    World w;
    Vcpu& v = w.g0();
    CHECK(host::local_ppi_enabled(1, kTimer));
    CHECK(host::local_ppi_enabled(1, 25));
    w.enable_private(v, 0, kTimer);
    CHECK(w.interrupt(v, kTimer));  // left active: the guest deactivates it
    const u64 l = w.lr(v, 0);
    CHECK(lr_intid(l) == kTimer);
    CHECK(lr_hw(l));
    CHECK(lr_physical(l) == kTimer);
    CHECK(w.acknowledge(v) == kTimer);
    CHECK(host::deactivations().empty());
    CHECK(w.end(v, kTimer));
    CHECK(host::deactivations() == std::vector<host::Deactivation>{{kTimer, 1}});
    // Disabled at the vCPU's redistributor when it fires: held pending (the physical PPI stays
    // active, so a level timer cannot storm EL2) until the guest enables it.
    w.write(v, kGicrFrame(0) + kSgiFrame + 0x180, 1u << kTimer);
    CHECK(w.interrupt(v, kTimer));
    CHECK(w.in_lrs(v).empty());
    w.enable_private(v, 0, kTimer);
    CHECK(w.in_lrs(v) == std::vector<u32>{kTimer});
    SECTION("a core without a virtual GIC turns the PPI off rather than keep taking it") {
        Vcpu& p = w.plain->vcpus[0];
        host::set_current_core(0);
        CHECK_FALSE(physical_interrupt(w.kernel, CoreId(0), kTimer, true));
        CHECK_FALSE(host::local_ppi_enabled(0, kTimer));
        (void)p;
    }
    SECTION("leaving the core turns the interface and its PPIs off") {
        w.leave(v);
        CHECK_FALSE(host::local_ppi_enabled(1, kTimer));
        CHECK_FALSE(host::local_ppi_enabled(1, 25));
        CHECK(host::ich_control(1) == 0);
        CHECK(lr_intid(v.vgic.saved.lr[0]) == kTimer);  // saved with the vCPU
    }
}

TEST_CASE("vgic: a physical SPI is forwarded to the vCPU its route names", "[vgic][T-43][INV-5]") {
    World w;
    w.start(w.g0(), *w.guest, 1);
    w.enable_spi(kRtc, 1);
    CHECK(host::irq_route(kRtc) == 2);
    CHECK(w.interrupt(w.g1(), kRtc));
    CHECK(w.in_lrs(w.g1()) == std::vector<u32>{kRtc});
    CHECK(lr_hw(w.lr(w.g1(), 0)));
    CHECK(w.acknowledge(w.g1()) == kRtc);
    CHECK(w.end(w.g1(), kRtc));
    CHECK(host::deactivations() == std::vector<host::Deactivation>{{kRtc, 2}});
    // Routed to vCPU 0 while it was on its way to core 2: pending for vCPU 0, whose core is kicked.
    w.write(w.g0(), kIrouter(kRtc), 0, 8);
    const u64 kicks = host::kick_count(1);
    w.on_core(w.g1());
    CHECK(physical_interrupt(w.kernel, CoreId(2), kRtc, true));
    CHECK(host::kick_count(1) == kicks + 1);
    CHECK(w.g0().vgic.pending_spi.load() == 1u << (kRtc - 32));
    // IrqBind on it is refused: it belongs to the virtual GIC; the checker agrees with the table.
    CHECK(call_status(w.kernel, w.g0(), hvc::Function::IrqBind, {2, 3, 1}) == st(Status::Denied));
    CHECK(call_status(w.kernel, w.g0(), hvc::Function::IrqAck, {2}) == st(Status::Denied));
    CHECK(call_status(w.kernel, w.g0(), hvc::Function::IrqUnbind, {2}) == st(Status::Denied));
    const InterruptTable::Binding& b = *w.kernel.interrupts.binding(kRtc);
    CHECK(b.virtual_delivery);
    CHECK(b.owner == w.guest->index);
    CHECK(check_invariants(w.kernel).ok());
}

TEST_CASE("vgic: a vCPU's reset deactivates the physical interrupts it held (Bao #371)", "[vgic][T-43][T-77][T-79][INV-5]") {
    SECTION("the timer, active in a list register, when the vCPU goes off and on again") {
        World w;
        w.start(w.g0(), *w.guest, 1);
        Vcpu& v1 = w.g1();
        w.enable_private(v1, 1, kTimer);
        REQUIRE(w.interrupt(v1, kTimer));
        REQUIRE(w.acknowledge(v1) == kTimer);  // active: the guest is handling it
        REQUIRE_FALSE(hypercall(w.kernel, v1, hvc::psci::kCpuOff));
        w.leave(v1);
        CHECK(host::deactivations().empty());
        w.start(w.g0(), *w.guest, 1);
        // Else the physical PPI 27 of core 2 stayed active for good: no timer interrupt ever again.
        CHECK(host::deactivations() == std::vector<host::Deactivation>{{kTimer, 2}});
        CHECK(w.in_lrs(v1).empty());
        CHECK(v1.vgic.enabled.load() == 0);
    }
    SECTION("an SPI held pending for a vCPU that goes off and on again") {
        World w;
        w.start(w.g0(), *w.guest, 1);
        w.enable_spi(kRtc, 1);
        w.write(w.g0(), kGicd + 0x184, 1u << (kRtc - 32));  // disabled: fired, held, not offered
        w.on_core(w.g1());
        REQUIRE(physical_interrupt(w.kernel, CoreId(2), kRtc, true));
        REQUIRE_FALSE(hypercall(w.kernel, w.g1(), hvc::psci::kCpuOff));
        w.leave(w.g1());
        w.start(w.g0(), *w.guest, 1);
        CHECK(host::deactivations() == std::vector<host::Deactivation>{{kRtc, 2}});
        CHECK(w.g1().vgic.pending_spi.load() == 0);
    }
    SECTION("disabling an active forwarded SPI does not orphan it: the guest's end deactivates it") {
        World w;
        w.enable_spi(kRtc, 0);
        REQUIRE(w.interrupt(w.g0(), kRtc));
        REQUIRE(w.acknowledge(w.g0()) == kRtc);
        w.write(w.g0(), kGicd + 0x184, 1u << (kRtc - 32));
        CHECK_FALSE(host::irq_enabled(kRtc));
        CHECK(w.in_lrs(w.g0()) == std::vector<u32>{kRtc});  // still the guest's to end
        CHECK(w.end(w.g0(), kRtc));
        CHECK(host::deactivations() == std::vector<host::Deactivation>{{kRtc, 1}});
    }
    SECTION("a restart of the partition ends its SPIs once, and its timer at the vCPU's entry") {
        World w(manifest::RestartPolicy::Restart);
        Vcpu& v = w.g0();
        w.enable_spi(kRtc, 0);
        w.enable_private(v, 0, kTimer);
        REQUIRE(w.interrupt(v, kRtc));
        REQUIRE(w.interrupt(v, kTimer));
        REQUIRE(w.acknowledge(v) != 1023);
        REQUIRE(w.acknowledge(v) != 1023);  // both active
        REQUIRE_FALSE(hypercall(w.kernel, v, hvc::psci::kSystemReset));
        w.leave(v);
        CHECK(host::deactivations() == std::vector<host::Deactivation>{{kRtc, 1}});  // the stop ends its SPI
        CHECK_FALSE(host::irq_enabled(kRtc));
        host::set_counter(v.start_not_before.load());  // past the restart back-off
        w.enter(v);
        // The timer at the entry; the SPI not again: by now it may be the new run's.
        CHECK(host::deactivations() == std::vector<host::Deactivation>{{kRtc, 1}, {kTimer, 1}});
        CHECK(w.in_lrs(v).empty());
        CHECK(w.kernel.interrupts.binding(kRtc)->virtual_delivery);  // its SPI again, off
        CHECK(w.read(v, kGicd + 0x104) == 0);
    }
}

TEST_CASE("vgic: interrupts beyond the list registers wait; the underflow maintenance refills", "[vgic][T-78]") {
    World w;
    Vcpu& v = w.g0();
    for (u32 sgi = 1; sgi <= 6; ++sgi) w.enable_private(v, 0, sgi);
    for (u32 sgi = 1; sgi <= 6; ++sgi) w.sgi(v, sgir(sgi, 0b1));
    CHECK(w.in_lrs(v) == std::vector<u32>{1, 2, 3, 4});
    CHECK(v.vgic.pending.load() == (1u << 5 | 1u << 6));
    CHECK((host::ich_control(1) & 0x3) == 0x3);  // En, UIE
    for (u32 sgi = 1; sgi <= 3; ++sgi) {
        REQUIRE(w.acknowledge(v) == sgi);
        REQUIRE(w.end(v, sgi));
    }
    host::set_current_core(1);
    CHECK(arch::vgic_maintenance_status() == arch::ich::kUnderflow);
    CHECK_FALSE(w.interrupt(v, 25));  // the maintenance interrupt is the kernel's
    CHECK(w.in_lrs(v) == std::vector<u32>{5, 6, 4});
    CHECK(v.vgic.pending.load() == 0);
    CHECK((host::ich_control(1) & 0x3) == 0x1);
    CHECK(arch::vgic_maintenance_status() == 0);
}

TEST_CASE("vgic: refusals are the partition's fault, with the reason logged", "[vgic][T-80][INV-2]") {
    SECTION("no instruction syndrome (a load pair, say)") {
        World w;
        CHECK_FALSE(w.exit(w.g0(), K::Sync, data_abort(4, true, 2) & ~kIsv, kGicd));
        CHECK(console_has("partition 'guest': GIC distributor access at IPA 0x8000000 not emulated: no instruction "
                          "syndrome (ISV = 0: pair, writeback, SIMD or exclusive access)"));
        CHECK(console_has("FAULT partition 'guest' core 1: stage-2 data abort (write) at IPA 0x8000000"));
        CHECK(w.guest->load_state() == PartitionState::Stopped);
    }
    SECTION("a size the register does not have") {
        World w;
        CHECK_FALSE(w.exit(w.g0(), K::Sync, data_abort(1, true, 2), kGicd));
        CHECK(console_has("not emulated: the register is accessed by words only"));
    }
    SECTION("a byte of a redistributor's WAKER") {
        World w;
        CHECK_FALSE(w.exit(w.g0(), K::Sync, data_abort(2, false, 2), kGicr + 0x14));
        CHECK(console_has("GIC redistributor access at IPA 0x80a0014 not emulated: the register is accessed by words only"));
    }
    SECTION("a doubleword of the UART") {
        World w;
        CHECK_FALSE(w.exit(w.g0(), K::Sync, data_abort(8, false, 2, true), kUart));
        CHECK(console_has("UART access at IPA 0x9000000 not emulated"));
    }
    SECTION("misaligned") {
        World w;
        CHECK_FALSE(w.exit(w.g0(), K::Sync, data_abort(4, false, 2), kGicd + 2));
        CHECK(console_has("not emulated: misaligned access"));
    }
    CHECK_FALSE(console_has("PANIC"));
}

TEST_CASE("vgic: refusals a partition takes as its faults are logged within a budget", "[vgic][T-80][T-34]") {
    // With fault policy "inject" every refused access comes back to the guest, which repeats it
    // at will: redteam.vgic made 200,000 of these lines in a run before they had a budget.
    World w;
    w.guest->fault_policy = manifest::FaultPolicy::Inject;
    host::set_guest_vbar(0x4000'0800);
    const u64 start = 1'000'000;
    host::set_counter(start);
    Vcpu& v = w.g0();
    const auto refuse = [&] {
        v.regs.elr = 0x4000'0100;
        v.regs.spsr = 0x3c5;  // EL1h, masked
        return w.exit(v, K::Sync, data_abort(4, false, 2), kGicd + 2);  // misaligned
    };
    for (int i = 0; i < 40; ++i) REQUIRE(refuse());
    const std::string& out = host::console_output();
    const auto lines = [&out] {
        u64 n = 0;
        for (auto at = out.find("not emulated: misaligned access"); at != std::string::npos;
             at = out.find("not emulated: misaligned access", at + 1))
            ++n;
        return n;
    };
    CHECK(lines() == ReportBudget::kBurst);
    host::set_counter(start + 1000 + host::kCounterFrequency / ReportBudget::kRefillsPerSecond);
    REQUIRE(refuse());
    CHECK(lines() == ReportBudget::kBurst + 1);
    CHECK(console_has("partition 'guest': 24 more device accesses not emulated, not reported\n"));
    CHECK(w.guest->injected_faults.load() == 41);
}

TEST_CASE("vgic: no memory is mapped over an emulated window; flags are checked", "[vgic][T-26][T-81]") {
    KernelFixture f;
    Partition& p = f.make("guest", kPartitionPa, 1, 2, manifest::RestartPolicy::Stop, flag::kAll);
    const u32 page = f.slot(), untyped = f.slot();
    REQUIRE(f.create_untyped(untyped, 0x4a00'0000, 12, false).ok());
    REQUIRE(f.retype(untyped, ObjectType::Frame, 12, page, 1).ok());
    const u64 rw = manifest::attr::kRead | manifest::attr::kWrite;
    for (u64 ipa : {kGicd, kGicd + 0xf000, kGicr, kGicr + 0x3'f000, kUart}) {
        INFO(std::hex << ipa);
        CHECK_REFUSED(f.map(p, f.at(page), ipa, rw), Status::Exists, "IPA range holds an emulated device");
    }
    CHECK(f.map(p, f.at(page), kGicr + 0x4'0000, rw).ok());  // past its 2 vCPUs' frames
    const u32 ps = f.slot(), cs = f.slot();
    REQUIRE(f.retype(kKernelUntyped, ObjectType::Partition, 16, ps, 1).ok());
    REQUIRE(f.retype(kKernelUntyped, ObjectType::CNode, PartitionTable::kCSpaceRadix, cs, 1).ok());
    const auto create = [&](u64 flags) {
        return f.create_partition(ps, cs, "second", manifest::RestartPolicy::Stop, 1, flags);
    };
    CHECK_REFUSED(create(1u << 3), Status::InvalidArgument, "unknown partition flags");
    CHECK_REFUSED(create(flag::kConsoleInput | flag::kVirtualGic), Status::InvalidArgument,
                  "console input without a virtual UART");
    CHECK_REFUSED(create(flag::kConsoleInput | flag::kVirtualUart), Status::InvalidArgument,  // guest has it
                  "console input given to two partitions");
    CHECK(create(flag::kVirtualGic | flag::kVirtualUart).ok());
}

// A virtual GIC answers its own registers only. The debug and PMU registers an OS programs at
// boot read as zero only for an OS guest (partition_flag::kOsGuest, test_os_sysregs.cpp); for a
// partition with a virtual GIC alone they stay its fault, like every other trapped register.
TEST_CASE("vgic: a virtual GIC answers no debug, PMU, timer or maintenance register: they stay faults", "[vgic][T-18][T-19][T-20]") {
    struct Access {
        const char* name;
        u64 esr;
    };
    const Access faults[] = {
        {"msr mdscr_el1", msr(2, 0, 0, 2, 2, 4)},           // debug, quiet only for an OS guest
        {"msr pmuserenr_el0", msr(3, 3, 9, 14, 0, 4)},      // PMU, likewise
        {"mrs pmcr_el0", mrs(3, 3, 9, 12, 0, 5)},           // PMU, a fault for everyone
        {"mrs cntpct_el0", mrs(3, 3, 14, 0, 1, 5)},         // the physical counter stays trapped
        {"msr cntp_ctl_el0", msr(3, 3, 14, 2, 1, 5)},       // and the physical timer
        {"dc isw", msr(1, 0, 7, 6, 2, 5)},                  // set/way maintenance
        {"msr actlr_el1", msr(3, 0, 1, 0, 1, 5)},           // TACR
        {"mrs s3_1_c15_c2_0", mrs(3, 1, 15, 2, 0, 5)},      // CPUACTLR_EL1: implementation defined
    };
    for (const Access& a : faults) {
        INFO(a.name);
        World fresh;
        fresh.g0().regs.x[5] = 0xdead;
        CHECK_FALSE(fresh.exit(fresh.g0(), K::Sync, a.esr));
        CHECK(fresh.guest->load_state() == PartitionState::Stopped);
        CHECK(fresh.g0().regs.x[5] == 0xdead);  // nothing was read for it
    }
    // Without a virtual GIC, as before: the partition's fault.
    World w;
    CHECK_FALSE(w.exit(w.plain->vcpus[0], K::Sync, msr(2, 0, 0, 2, 2, 4)));
    CHECK(w.plain->load_state() == PartitionState::Stopped);
}

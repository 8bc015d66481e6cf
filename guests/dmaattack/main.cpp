// Red-team guest for DMA containment (config/tests/dma-attack.dts, redteam-tests/expect/dma.expect).
// Two roles (boot argument):
//
// 1, `victim`: owns the edu device at 00:04.0. It keeps a secret page (IPA 0x40300000) of a known
//    pattern and checks it every 500 ms while the attacker works, until the attacker's last run
//    rings `attacks-over` (at least 3 s, at most 120 s), then runs a DMA round trip through its
//    own device (the attacker must not have disturbed it) and prints the page's checksum before
//    and after.
// 2, `attacker`: owns the edu device at 00:03.0, restarts after every fault. Run 0 tries the
//    configuration window: the victim's function is absent and cannot be switched off, its own
//    BAR0 cannot be moved over the victim's BAR (0x10200000, where bhcc puts it), bus mastering
//    needs a bound stream. Then, with its stream bound, one DMA attack per run, each of which the
//    SMMU must refuse and the kernel report against it (the attacker is then restarted):
//      run 0  write into the victim's secret page by its physical address, 0x48b00000;
//      run 1  write into the kernel's boot CNode, 0x40f00000;
//      run 2  read the kernel's object memory, 0x41000000, into its buffer;
//      run 3  forge an MSI: write the GIC ITS doorbell, GITS_TRANSLATER 0x08090040;
//      run 4  ring `attacks-over` and stop.
//    A device's address is an IPA of its partition's stage 2, which maps none of these.
// Its CSpace (bhcc --dump): 4 = attacks-over (W), 5 = DmaStream 0x18, 6 = BAR0's page. The
// victim's: 4 = attacks-over (R), 5 = DmaStream 0x20, 6 = its BAR0's page.
#include <console.hpp>
#include <edu/edu.hpp>
#include <hypercall.hpp>
#include <pci.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::u16;
using bh::u32;
using bh::u64;

namespace {

constexpr u64 kRoleVictim = 1;
constexpr u64 kRoleAttacker = 2;
constexpr u64 kAttacksOver = 4;
constexpr u64 kStream = 5;

constexpr u32 kAttackerEdu = bh::platform::pci_bdf(3, 0);
constexpr u32 kVictimEdu = bh::platform::pci_bdf(4, 0);
constexpr u64 kVictimBar0 = 0x1020'0000;  // bhcc's placement: the second 2 MiB slot of the window

constexpr u64 kSecret = 0x4030'0000;        // the victim's IPA ...
constexpr u64 kSecretPhys = 0x48b0'0000;    // ... and its physical address
constexpr u64 kSource = 0x4031'0000;
constexpr u64 kTarget = 0x4032'0000;
constexpr u64 kSize = edu::kBufferSize;
constexpr u32 kSecretSeed = 0x5ec7;

void enable(u32 bdf) { pci::write16(bdf, pci::kCommand, pci::kCommandMemory | pci::kCommandBusMaster); }

void victim() {
    edu::fill(kSecret, kSize, kSecretSeed);
    const u32 before = edu::checksum(kSecret, kSize);
    print("victim: secret checksum ", hex(before), "\n");
    print("victim: bind: status ", dma_stream_bind(kStream), "\n");
    enable(kVictimEdu);
    u64 bad = 0;
    const u64 period = ms_to_ticks(500);
    u64 next = counter();
    bool over = false;
    for (u32 i = 1; i <= 240 && !(over && i > 6); ++i) {
        next += period;
        delay_until(next);
        if (edu::checksum(kSecret, kSize) != before) ++bad;
        over = over || notification_poll(kAttacksOver).word != 0;
        if (i % 2 == 0) print("victim: check ", i / 2, ": secret ", bad == 0 ? "intact" : "CHANGED", "\n");
    }
    print("victim: attacks over: ", over ? "yes" : "NO (gave up waiting)", "\n");
    const edu::Device d(pci::bar(kVictimEdu, 0) & ~0xfull);
    print("victim: command ", hex(pci::read16(kVictimEdu, pci::kCommand)), ", BAR0 ", hex(pci::bar(kVictimEdu, 0)), "\n");
    edu::fill(kSource, kSize, 42);
    const bool ok = d.copy(kSource, kSize, false) && d.copy(kTarget, kSize, true) && edu::mismatches(kTarget, kSize, 42) == 0;
    print("victim: own dma round trip after the attacks: ", ok ? "ok" : "FAILED", "\n");
    const u32 after = edu::checksum(kSecret, kSize);
    print("victim: secret checksum ", hex(after), after == before ? ", unchanged" : ", CHANGED", "\n");
}

void probe_configuration() {
    print("attacker: victim's function reads ", hex(pci::read32(kVictimEdu, pci::kId)), "\n");
    pci::write16(kVictimEdu, pci::kCommand, 0);  // would switch the victim's device off
    pci::write32(kAttackerEdu, pci::kBar0, static_cast<u32>(kVictimBar0));
    print("attacker: BAR0 after moving it over the victim's: ", hex(pci::bar(kAttackerEdu, 0)), "\n");
    enable(kAttackerEdu);
    print("attacker: bus master before binding: ",
          (pci::read16(kAttackerEdu, pci::kCommand) & pci::kCommandBusMaster) != 0 ? "ON" : "off", "\n");
}

void attack(u64 run) {
    print("attacker: bind: status ", dma_stream_bind(kStream), "\n");
    enable(kAttackerEdu);
    const edu::Device d(pci::bar(kAttackerEdu, 0) & ~0xfull);
    edu::fill(kSource, kSize, 0xbad);
    d.copy(kSource, kSize, false);  // its own RAM into the device: allowed
    switch (run) {
        case 0:
            print("attacker: DMA into the victim's secret at ", hex(kSecretPhys), "\n");
            d.copy(kSecretPhys, kSize, true);
            break;
        case 1:
            print("attacker: DMA into the kernel's boot CNode at ", hex(bh::platform::kBootCNodeBase), "\n");
            d.copy(bh::platform::kBootCNodeBase, kSize, true);
            break;
        case 2:
            print("attacker: DMA read of the kernel's object memory at ", hex(bh::platform::kObjectMemoryBase), "\n");
            d.copy(bh::platform::kObjectMemoryBase, kSize, false);
            break;
        case 3:
            print("attacker: MSI forged at the ITS doorbell 0x8090040\n");
            d.copy(0x0809'0040, 4, true);
            break;
        default:
            print("attacker: attacks over: signal: status ", notification_signal(kAttacksOver), "\n");
            return;
    }
    // The kernel takes this partition down once it has seen the SMMU's fault record: long before
    // this delay ends, however loaded the machine running QEMU is.
    delay_ms(30000);
    print("attacker: run ", run, " STILL RUNNING 30 s after its attack\n");
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    if (boot_arg == kRoleVictim) {
        victim();
    } else if (boot_arg == kRoleAttacker) {
        const u64 run = partition_info().restarts;
        print("attacker: run ", run, "\n");
        if (run == 0) probe_configuration();
        attack(run);
    } else {
        print("unknown role ", boot_arg, "\n");
    }
    print("done\n");
    system_off();
}

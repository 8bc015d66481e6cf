// Test guest for DMA isolation (config/tests/dma.dts, tests/qemu/dma.expect): the driver partition
// of QEMU's edu device at 00:03.0. Its CSpace (bhcc --dump): 4 = a spare 4 KiB frame (unmapped),
// 5 = notification edu-events (R), 6 = IrqHandler INTID 38 (INTA of device 3), 7 = DmaStream
// 0x18, 8 = the 2 MiB page of BAR0's slot.
//
// Run 0 (restarts 0): the configuration view (only its function; BAR0 placed and immovable; bus
// mastering refused while the stream is unbound, and a DMA then goes nowhere), then bind and a DMA
// round trip through the device with its INTx delivered; then the stale-TLB check: a DMA into the
// spare frame mapped at 0x50000000, the frame unmapped, the same DMA again. The SMMU refuses the
// second (no translation: the kernel invalidated its TLB on unmap), the kernel reports the fault
// against the driver and restarts it.
// Run 1: the spare frame still holds the first DMA's data, not the second's. Then a DMA is started
// and the partition restarts itself before the device runs it.
// Run 2: that DMA never landed (its memory is as the restart left it); then revoke and delete: a
// stream bound through a cap derived from the DmaStream cap is unbound when the parent is revoked,
// and bus mastering with it; one bound through the cap itself, when the cap is deleted.
#include <console.hpp>
#include <edu/edu.hpp>
#include <hypercall.hpp>
#include <pci.hpp>
#include <timer.hpp>

using namespace bh::rt;
using bh::i64;
using bh::u16;
using bh::u32;
using bh::u64;

namespace {

constexpr u64 kSpare = 4;
constexpr u64 kEvents = 5;
constexpr u64 kIrq = 6;
constexpr u64 kStream = 7;
constexpr u64 kDerived = 9;  // an empty slot

constexpr u32 kEdu = bh::platform::pci_bdf(3, 0);
constexpr u64 kIrqBadge = 1;
constexpr u64 kSpareIpa = 0x5000'0000;
// Buffers in its RAM, above its image.
constexpr u64 kSource = 0x4030'0000;
constexpr u64 kTarget = 0x4031'0000;
constexpr u64 kLate = 0x4032'0000;  // where the DMA started before the restart points
constexpr u64 kSize = edu::kBufferSize;

u16 command() { return pci::read16(kEdu, pci::kCommand); }
void set_command(u16 bits) { pci::write16(kEdu, pci::kCommand, bits); }
bool bus_master() { return (command() & pci::kCommandBusMaster) != 0; }

edu::Device device() { return edu::Device(pci::bar(kEdu, 0) & ~0xfull); }

// Source pattern -> device buffer -> `target`; true when the target then holds the pattern.
bool round_trip(const edu::Device& d, u64 target, u32 seed) {
    edu::fill(kSource, kSize, seed);
    if (!d.copy(kSource, kSize, false)) return false;
    if (!d.copy(target, kSize, true)) return false;
    return edu::mismatches(target, kSize, seed) == 0;
}

void configuration_view() {
    u32 visible = 0, first = 0;
    pci::for_each_function([&](u32 bdf) {
        if (visible++ == 0) first = bdf;
    });
    print("config: ", visible, " function visible: ", hex(first), " (device ", bh::platform::pci_device(first),
          " function ", bh::platform::pci_function(first), ") id ", hex(pci::read32(first, pci::kId)), "\n");
    print("config: another function reads ", hex(pci::read32(bh::platform::pci_bdf(4, 0), pci::kId)),
          ", the host bridge ", hex(pci::read32(0, pci::kId)), "\n");
    const u32 bar0 = pci::bar(kEdu, 0);
    print("config: BAR0 ", hex(bar0), " size ", hex(pci::bar_size(kEdu, 0)), ", ROM BAR ", hex(pci::read32(kEdu, pci::kRomBar)),
          ", interrupt pin ", pci::read8(kEdu, pci::kInterruptPin), "\n");
    pci::write32(kEdu, pci::kBar0, 0x2000'0000);
    print("config: BAR0 after writing 0x20000000: ", hex(pci::bar(kEdu, 0)), "\n");
}

void run0() {
    configuration_view();
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    print("command before bind: memory ", (command() & pci::kCommandMemory) != 0 ? 1 : 0, ", bus master ",
          bus_master() ? 1 : 0, "\n");
    const edu::Device d = device();
    d.write32(edu::kRegLiveness, 0x1234'5678);
    print("edu: id ", hex(d.read32(edu::kRegId)), ", liveness ", hex(d.read32(edu::kRegLiveness)), "\n");
    for (u64 a = kTarget; a < kTarget + kSize; a += 4) *reinterpret_cast<volatile u32*>(a) = 0;
    const bool unbound = round_trip(d, kTarget, 1);
    print("dma before bind: ", unbound ? "LANDED" : "refused", " (", edu::nonzero_words(kTarget, kSize),
          " words written)\n");

    print("bind: status ", dma_stream_bind(kStream), "\n");
    print("bind again: status ", dma_stream_bind(kStream), "\n");
    print("bind through the irq cap: status ", dma_stream_bind(kIrq), "\n");
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    print("command after bind: bus master ", bus_master() ? 1 : 0, "\n");

    // A round trip with the device's INTx: the second copy raises INTA, which the kernel signals.
    print("irq bind: status ", irq_bind(kIrq, kEvents, kIrqBadge), "\n");
    edu::fill(kSource, kSize, 2);
    const bool in = d.copy(kSource, kSize, false);
    d.start(kTarget, kSize, true, true);
    const NotificationWord w = notification_wait(kEvents);
    d.wait();
    d.write32(edu::kRegIrqAck, edu::kIrqDma);
    print("irq ack: status ", irq_ack(kIrq), "\n");
    print("dma round trip: ", in && edu::mismatches(kTarget, kSize, 2) == 0 ? "ok" : "WRONG", ", ", kSize,
          " bytes; INTx delivered with badge ", hex(w.word), "\n");

    // The stale-TLB check: the same DMA before and after the frame's unmap.
    print("map spare frame: status ", frame_map(kSpare, kSpareIpa, map_attr::kRead | map_attr::kWrite), "\n");
    print("dma into the spare frame: ", round_trip(d, kSpareIpa, 3) ? "ok" : "WRONG", "\n");
    print("unmap spare frame: status ", frame_unmap(kSpare), "\n");
    edu::fill(kSource, kSize, 4);
    d.copy(kSource, kSize, false);
    print("dma after unmap: started\n");
    d.copy(kSpareIpa, kSize, true);
    // The SMMU refused it. The kernel services the fault record on core 0 and takes this partition
    // down at its next exit (it kicks this core): long before this delay ends, however loaded the
    // machine running QEMU is.
    delay_ms(30000);
    print("dma after unmap: STILL RUNNING 30 s after the fault\n");
}

void run1() {
    print("map spare frame: status ", frame_map(kSpare, kSpareIpa, map_attr::kRead | map_attr::kWrite), "\n");
    print("after unmap: spare frame holds the first DMA's data: ", edu::mismatches(kSpareIpa, kSize, 3) == 0 ? "yes" : "NO",
          ", the refused DMA's: ", edu::mismatches(kSpareIpa, kSize, 4) == 0 ? "YES" : "no", "\n");
    print("command after restart: bus master ", bus_master() ? 1 : 0, "\n");
    print("bind: status ", dma_stream_bind(kStream), "\n");
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    const edu::Device d = device();
    edu::fill(kSource, kSize, 5);
    d.copy(kSource, kSize, false);
    d.start(kLate, kSize, true, false);  // runs 100 ms from now: after the restart below
    print("dma started; restarting\n");
    print("restart: status ", system_reset(), "\n");
}

void run2() {
    delay_ms(1500);  // long after the device ran the DMA the previous run started (100 ms after)
    print("after restart: the previous run's DMA wrote ", edu::nonzero_words(kLate, kSize), " words\n");
    const edu::Device d = device();
    print("command after restart: bus master ", bus_master() ? 1 : 0, "\n");

    print("mint: status ", cap_mint(kStream, kDerived, rights::kControl, 0), "\n");
    print("bind through the derived cap: status ", dma_stream_bind(kDerived), "\n");
    const CapInfo bound = cap_identify(kDerived);
    print("derived cap: type ", bound.type, " bound ", bound.mapped ? 1 : 0, "\n");
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    print("dma while bound: ", round_trip(d, kTarget, 6) ? "ok" : "WRONG", "\n");
    const RevokeResult r = revoke_all(kStream);
    print("revoke: status ", r.status, ", deleted ", r.deleted, "; derived slot now type ", cap_identify(kDerived).type,
          "; bus master ", bus_master() ? 1 : 0, "\n");
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    print("after revoke: bus master ", bus_master() ? 1 : 0, ", dma ", round_trip(d, kTarget, 7) ? "LANDED" : "refused",
          "\n");

    print("bind: status ", dma_stream_bind(kStream), "\n");
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    print("dma while bound: ", round_trip(d, kTarget, 8) ? "ok" : "WRONG", "\n");
    print("delete: status ", cap_delete(kStream), "; bus master ", bus_master() ? 1 : 0, "\n");
    set_command(pci::kCommandMemory | pci::kCommandBusMaster);
    print("after delete: dma ", round_trip(d, kTarget, 9) ? "LANDED" : "refused", ", bind: status ",
          dma_stream_bind(kStream), "\n");
}

}  // namespace

extern "C" void guest_main(u64) {
    const u64 run = partition_info().restarts;
    print("run ", run, "\n");
    if (run == 0) run0();
    if (run == 1) run1();
    if (run == 2) run2();
    print("done\n");
    system_off();
}

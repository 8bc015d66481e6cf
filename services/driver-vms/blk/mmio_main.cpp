// The block driver serving an unmodified Linux (docs/blk-protocol.md, "Linux as an unmodified
// client"): the kernel forwards Linux's accesses to a virtio-mmio window to this partition
// (docs/isolation.md, "Forwarded MMIO"), which answers them with its device model
// (virtio_mmio_blk.hpp) and runs Linux's requests on the virtio-blk PCI function it owns. It sees
// of Linux only the DMA window (a channel) and the requests the kernel writes into its page.
//
// CSpace (config/tests/linux-blk.dts; bhcc --dump): 2, 3 its RAM; 4 the DMA window channel (R W);
// 5 the doorbell (R); 6 the request page (R, mapped by bhcc); 7 Linux's Partition cap (W:
// MmioReply, MmioRaise); 8 the IrqHandler of 00:04.0's INTA (INTID 35); 9 its DmaStream; 10, 11
// its BARs' pages.
// boot-arg bit 1 (qemu.linux-blk-probe): first read Linux's RAM by its physical address (a fault).
// boot-arg bit 0 (tests): stop when the client writes 0x600d to the window's last word (Linux's
// /init does, with devmem, once it has unbound its driver), so that the machine powers off with it.
#include <bulkhead/forwarded_mmio.hpp>
#include <bulkhead/platform.hpp>
#include <console.hpp>
#include <hypercall.hpp>

#include "virtio_blk.hpp"
#include "virtio_mmio_blk.hpp"

using namespace bh::rt;
using bh::u32;
using bh::u64;
using bh::u8;

namespace {

constexpr u64 kWindowCap = 4;
constexpr u64 kDoorbell = 5;
constexpr u64 kClient = 7;
constexpr u64 kIrq = 8;
constexpr u64 kStream = 9;
// The device's interrupt rings the doorbell with a badge of its own; the forward's is 1 << 31.
constexpr u64 kIrqBadge = 1ull << 16;
constexpr u64 kRequestPage = 0x4080'0000;   // where bhcc maps it (requests-ipa)
constexpr u64 kWindowGuest = 0x3fe0'0000;   // the DMA window in Linux (dma-window-ipa)
constexpr u64 kWindowSize = 0x20'0000;
constexpr u64 kWindowLocal = 0x6000'0000;   // where this partition maps it
constexpr u32 kDisk = bh::platform::pci_bdf(4, 0);
constexpr u64 kModeProbe = 2;              // boot-arg bit 1 (qemu.linux-blk-probe)
constexpr u64 kLinuxRamPhys = 0x5000'0000;  // where config/tests/linux-blk.dts puts Linux's RAM
// What Linux's /init keeps in its ordinary RAM (guests/linux/init, mode blk) and this driver must
// never find in the window: "bulkhead-canary!".
constexpr char kCanary[] = "bulkhead-canary!";

bh::blkdrv::VirtioBlk device;
bh::blkdrv::VirtioMmioBlk model;
u64 answered[bh::forwarded::kSlots] = {};
bool stop_mode = false;  // boot-arg bit 0
// In stop mode, a store of kTestEndValue to this offset of the window (the last word of the
// device's configuration space, which virtio-blk does not use) stops the driver: the test's end.
constexpr u64 kTestEndRegister = 0xffc;
constexpr u32 kTestEndValue = 0x600d;

void barrier() { asm volatile("dsb sy" ::: "memory"); }

bool canary_at(u64 at) {
    for (u32 i = 0; i + 1 < sizeof kCanary; ++i)
        if (*reinterpret_cast<const volatile u8*>(at + i) != static_cast<u8>(kCanary[i])) return false;
    return true;
}

// The whole window, for Linux's canary: it must never be there (its ordinary RAM never is).
void scan_window() {
    u64 found = 0;
    for (u64 at = kWindowLocal; at < kWindowLocal + kWindowSize; at += 8)
        if (*reinterpret_cast<const volatile u8*>(at) == static_cast<u8>(kCanary[0]) && canary_at(at)) ++found;
    print("vblk: device reset: scanned the DMA window (", kWindowSize / 1024, " KiB): Linux's canary ",
          found == 0 ? "not found" : "FOUND", " (", found, " copies)\n");
}

// Takes the requests the kernel wrote for each of Linux's vCPUs and answers them; true when it
// answered one (the caller looks again: another may have come meanwhile).
bool serve_requests(volatile bh::forwarded::RequestPage& page) {
    bool any = false;
    for (u32 v = 0; v < bh::forwarded::kSlots; ++v) {
        volatile bh::forwarded::Request& slot = page.slot[v];
        const u64 sequence = slot.sequence;
        if (sequence == 0 || sequence == answered[v]) continue;
        barrier();
        const u64 offset = slot.offset;
        const u32 size = slot.size;
        const bool write = slot.write != 0;
        const u64 value = slot.value;
        barrier();
        if (slot.sequence != sequence) continue;  // rewritten meanwhile: the next look takes it
        const u64 answer = model.access(offset, size, write, value);
        if (const bh::i64 s = mmio_reply(kClient, v, sequence, answer); s != 0)
            print("vblk: MmioReply refused: status ", s, "\n");
        answered[v] = sequence;
        any = true;
        if (model.take_driver_ok())
            print("vblk: Linux set DRIVER_OK, features ", bh::rt::hex(model.features_high()), ":",
                  bh::rt::hex(model.features_low()), "\n");
        if (model.take_notify() && model.serve()) (void)mmio_raise(kClient);
        if (model.take_reset()) scan_window();
        if (stop_mode && write && offset == kTestEndRegister && static_cast<u32>(value) == kTestEndValue) {
            print("vblk: the test's end: served ", model.served(), " requests, refused ", model.refused(), "; done\n");
            system_off();
        }
    }
    return any;
}

}  // namespace

extern "C" void guest_main(u64 mode) {
    stop_mode = (mode & 1) != 0;
    if ((mode & kModeProbe) != 0) {
        // Turned hostile before serving: read Linux's RAM at its physical address, as an IPA. Of
        // Linux this partition's stage 2 holds only the DMA window: the read is a stage-2 fault.
        print("vblk: probing Linux's RAM at IPA ", bh::rt::hex(kLinuxRamPhys), "\n");
        const u64 value = *reinterpret_cast<const volatile u64*>(kLinuxRamPhys);
        print("vblk: read ", bh::rt::hex(value), " from Linux's RAM: NOT CONTAINED\n");
    }
    const CapInfo window = cap_identify(kWindowCap);
    if (!window.mapped && frame_map(kWindowCap, kWindowLocal, map_attr::kRead | map_attr::kWrite) != 0) {
        print("vblk: cannot map the DMA window\n");
        system_off();
    }
    if (!device.start(kDisk, kStream, bh::blkdrv::Interrupt{kIrq, kDoorbell, kIrqBadge})) system_off();
    model.attach(device, bh::blkdrv::DmaWindow{kWindowGuest, kWindowSize, kWindowLocal});
    print("vblk: serving virtio-mmio: disk ", device.capacity(), " sectors, flush ", device.has_flush() ? "yes" : "no",
          ", DMA window ", bh::rt::hex(kWindowGuest), " +", kWindowSize / 1024, " KiB\n");
    auto& page = *reinterpret_cast<volatile bh::forwarded::RequestPage*>(kRequestPage);
    for (;;) {
        while (serve_requests(page)) {
        }
        (void)notification_wait(kDoorbell);
    }
}

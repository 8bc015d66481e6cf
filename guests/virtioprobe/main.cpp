// Test guest for a virtio PCI device owned by a partition (config/tests/virtio-blk.dts,
// tests/qemu/virtio-blk.expect): the ground a block driver partition stands on. It finds its
// virtio-blk function (modern only, 1af4:1042) in its configuration window, walks the virtio
// capabilities there (passed through by the kernel), and reads through the BARs bhcc placed (a
// 32-bit one for MSI-X, a 64-bit prefetchable one for the virtio structures) the device's feature
// bits and the capacity of the raw disk image the build made.
#include <console.hpp>
#include <hypercall.hpp>
#include <pci.hpp>

using namespace bh::rt;
using bh::u16;
using bh::u32;
using bh::u64;
using bh::u8;

namespace {

constexpr u32 kBlk = bh::platform::pci_bdf(4, 0);
constexpr u32 kStatus = 0x06;
constexpr u32 kCapabilityPointer = 0x34;
constexpr u16 kStatusCapabilities = 1u << 4;
constexpr u8 kVendorCapability = 0x09;
constexpr u8 kCommonConfig = 1;  // virtio 1.x, 4.1.4
constexpr u8 kDeviceConfig = 4;

struct Structure {
    u32 bar = 0;
    u32 offset = 0;
    bool found = false;
};

u64 bar_address(u32 index) {
    const u32 low = pci::bar(kBlk, index);
    u64 address = low & ~0xfull;
    if ((low & 0x6) == 0x4) address |= static_cast<u64>(pci::bar(kBlk, index + 1)) << 32;  // 64-bit
    return address;
}

}  // namespace

extern "C" void guest_main(u64) {
    print("virtio: function id ", hex(pci::read32(kBlk, pci::kId)), "\n");
    print("virtio: BAR1 ", hex(pci::bar(kBlk, 1)), ", BAR4 ", hex(pci::bar(kBlk, 4)), " ", hex(pci::bar(kBlk, 5)),
          " (", pci::bar_size(kBlk, 4) >> 10, " KiB)\n");
    Structure common, device;
    if ((pci::read16(kBlk, kStatus) & kStatusCapabilities) != 0) {
        for (u32 at = pci::read8(kBlk, kCapabilityPointer) & ~3u; at != 0; at = pci::read8(kBlk, at + 1) & ~3u) {
            if (pci::read8(kBlk, at) != kVendorCapability) continue;
            const u8 type = pci::read8(kBlk, at + 3);
            Structure& s = type == kCommonConfig ? common : type == kDeviceConfig ? device : common;
            if (type != kCommonConfig && type != kDeviceConfig) continue;
            s.bar = pci::read8(kBlk, at + 4);
            s.offset = pci::read32(kBlk, at + 8);
            s.found = true;
        }
    }
    print("virtio: common config in BAR", common.bar, " at ", hex(common.offset), ", device config in BAR", device.bar,
          " at ", hex(device.offset), "\n");
    if (!common.found || !device.found) {
        print("virtio: capabilities MISSING\n");
        system_off();
    }
    pci::write16(kBlk, pci::kCommand, pci::kCommandMemory);
    volatile u32* cfg = reinterpret_cast<volatile u32*>(bar_address(common.bar) + common.offset);
    cfg[0] = 1;  // device_feature_select: bits 32..63
    const u32 high = cfg[1];
    print("virtio: VERSION_1 offered: ", (high & 1) != 0 ? "yes" : "no", "\n");
    volatile u32* blk = reinterpret_cast<volatile u32*>(bar_address(device.bar) + device.offset);
    const u64 capacity = blk[0] | (static_cast<u64>(blk[1]) << 32);
    print("virtio: disk capacity ", capacity, " sectors\n");
    print("virtio: bind: status ", dma_stream_bind(4), "\n");
    print("done\n");
    system_off();
}

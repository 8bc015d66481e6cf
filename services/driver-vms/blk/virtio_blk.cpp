#include "virtio_blk.hpp"

#include <console.hpp>
#include <hypercall.hpp>
#include <pci.hpp>

namespace bh::blkdrv {

namespace {

using rt::print;
namespace pci = rt::pci;

// The vendor capabilities of a virtio PCI function (4.1.4) and the common configuration's fields
// (4.1.4.3), by offset.
constexpr u8 kVendorCapability = 0x09;
constexpr u8 kCommonCfg = 1;
constexpr u8 kNotifyCfg = 2;
constexpr u8 kIsrCfg = 3;
constexpr u8 kDeviceCfg = 4;
constexpr u32 kDeviceFeatureSelect = 0x00, kDeviceFeature = 0x04, kDriverFeatureSelect = 0x08, kDriverFeature = 0x0c;
constexpr u32 kDeviceStatus = 0x14, kQueueSelect = 0x16, kQueueSizeReg = 0x18, kQueueMsix = 0x1a;
constexpr u32 kQueueEnable = 0x1c, kQueueNotifyOff = 0x1e, kQueueDesc = 0x20, kQueueDriver = 0x28, kQueueDevice = 0x30;
constexpr u8 kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kFailed = 128;
constexpr u16 kNoVector = 0xffff;
constexpr u16 kDescNext = 1, kDescWrite = 2;

void barrier() { asm volatile("dsb sy" ::: "memory"); }

u64 bar_address(u32 bdf, u32 index) {
    const u32 low = pci::bar(bdf, index);
    u64 address = low & ~0xfull;
    if ((low & 0x6) == 0x4) address |= static_cast<u64>(pci::bar(bdf, index + 1)) << 32;
    return address;
}

template <class T>
volatile T& reg(volatile u8* base, u32 offset) {
    return *reinterpret_cast<volatile T*>(base + offset);
}

u64 ipa_of(const void* p) { return reinterpret_cast<u64>(p); }

}  // namespace

bool VirtioBlk::start(u32 bdf, u64 stream, const Interrupt& irq) {
    volatile u8* device = nullptr;
    volatile u8* notify_base = nullptr;
    u32 notify_multiplier = 0;
    for (u32 at = pci::read8(bdf, 0x34) & ~3u; at != 0; at = pci::read8(bdf, at + 1) & ~3u) {
        if (pci::read8(bdf, at) != kVendorCapability) continue;
        const u8 type = pci::read8(bdf, at + 3);
        volatile u8* where = reinterpret_cast<volatile u8*>(bar_address(bdf, pci::read8(bdf, at + 4)) +
                                                           pci::read32(bdf, at + 8));
        if (type == kCommonCfg) common_ = where;
        if (type == kDeviceCfg) device = where;
        if (type == kIsrCfg) isr_ = where;
        if (type == kNotifyCfg) {
            notify_base = where;
            notify_multiplier = pci::read32(bdf, at + 16);
        }
    }
    if (common_ == nullptr || device == nullptr || notify_base == nullptr || isr_ == nullptr) {
        print("virtio: capabilities MISSING\n");
        return false;
    }
    pci::write16(bdf, pci::kCommand, pci::kCommandMemory);
    // Reset first: the device forgets the queue of an earlier run and finishes (QEMU: drains)
    // whatever that run left in flight, before bus mastering comes back with the new binding.
    reg<u8>(common_, kDeviceStatus) = 0;
    while (reg<u8>(common_, kDeviceStatus) != 0) {
    }
    const i64 bound = rt::dma_stream_bind(stream);
    if (bound != 0 && bound != rt::status_value(Status::Exists)) {
        print("virtio: DMA stream bind FAILED: status ", bound, "\n");
        return false;
    }
    // The reset lowered INTx; an interrupt of the earlier run that is still in the notification's
    // word only wakes this run once more (wait_event takes it like any other). A restart unbound
    // the SPI (the kernel forgets a stopped partition's bindings), so this run binds it anew.
    irq_ = irq;
    if (const i64 s = rt::irq_bind(irq.handler, irq.notification, irq.badge); s != 0) {
        print("virtio: interrupt bind FAILED: status ", s, "\n");
        return false;
    }
    pci::write16(bdf, pci::kCommand, pci::kCommandMemory | pci::kCommandBusMaster);
    reg<u8>(common_, kDeviceStatus) = kAcknowledge;
    reg<u8>(common_, kDeviceStatus) = kAcknowledge | kDriver;

    reg<u32>(common_, kDeviceFeatureSelect) = 0;
    const u64 low = reg<u32>(common_, kDeviceFeature);
    reg<u32>(common_, kDeviceFeatureSelect) = 1;
    const u64 offered = low | (static_cast<u64>(reg<u32>(common_, kDeviceFeature)) << 32);
    // ACCESS_PLATFORM: the device's DMA goes through the platform's IOMMU (the SMMU), which is
    // the only way its addresses can be this partition's IPAs.
    const u64 required = kFeatureVersion1 | kFeatureAccessPlatform;
    if ((offered & required) != required) {
        print("virtio: device lacks VERSION_1 or ACCESS_PLATFORM (offered ", rt::hex(offered), "): REFUSED\n");
        reg<u8>(common_, kDeviceStatus) = kFailed;
        return false;
    }
    const u64 accepted = required | (offered & (kFeatureFlush | kFeatureEventIdx));
    flush_ = (accepted & kFeatureFlush) != 0;
    reg<u32>(common_, kDriverFeatureSelect) = 0;
    reg<u32>(common_, kDriverFeature) = static_cast<u32>(accepted);
    reg<u32>(common_, kDriverFeatureSelect) = 1;
    reg<u32>(common_, kDriverFeature) = static_cast<u32>(accepted >> 32);
    reg<u8>(common_, kDeviceStatus) = kAcknowledge | kDriver | kFeaturesOk;
    if ((reg<u8>(common_, kDeviceStatus) & kFeaturesOk) == 0) {
        print("virtio: FEATURES_OK refused\n");
        return false;
    }

    reg<u16>(common_, kQueueSelect) = 0;
    if (reg<u16>(common_, kQueueSizeReg) < kQueueSize) {
        print("virtio: queue 0 too small\n");
        return false;
    }
    reg<u16>(common_, kQueueSizeReg) = kQueueSize;
    reg<u16>(common_, kQueueMsix) = kNoVector;
    // The ring memory is written fresh here, whatever a late DMA of the earlier run left in it.
    for (u32 i = 0; i < kQueueSize; ++i) desc_[i] = VirtqDesc{};
    avail_.flags = 0;  // interrupts on (with EVENT_IDX, used_event says when)
    avail_.idx = 0;
    avail_.used_event = 0;
    used_.idx = 0;
    avail_idx_ = 0;
    used_seen_ = 0;
    reg<u64>(common_, kQueueDesc) = ipa_of(desc_);
    reg<u64>(common_, kQueueDriver) = ipa_of(&avail_);
    reg<u64>(common_, kQueueDevice) = ipa_of(&used_);
    notify_ = reinterpret_cast<volatile u16*>(notify_base + reg<u16>(common_, kQueueNotifyOff) * notify_multiplier);
    reg<u16>(common_, kQueueEnable) = 1;
    barrier();
    reg<u8>(common_, kDeviceStatus) = kAcknowledge | kDriver | kFeaturesOk | kDriverOk;
    capacity_ = reg<u32>(device, 0) | (static_cast<u64>(reg<u32>(device, 4)) << 32);
    return true;
}

void VirtioBlk::prepare(Slot* slots, u32 count) {
    for (u32 i = 0; i < count; ++i) {
        Slot& s = slots[i];
        s.status = 0xff;
        headers_[i] = BlkHeader{s.type, 0, s.sector};
        statuses_[i] = 0xff;
        const u16 head = static_cast<u16>(3 * i);
        u16 next = head;
        desc_[next] = VirtqDesc{ipa_of(&headers_[i]), sizeof(BlkHeader), kDescNext, static_cast<u16>(next + 1)};
        ++next;
        if (s.type != 4) {  // IN writes the buffer (device to memory), OUT reads it
            desc_[next] = VirtqDesc{ipa_of(bounce_[i]), s.length, static_cast<u16>(kDescNext | (s.type == 0 ? kDescWrite : 0)),
                                    static_cast<u16>(next + 1)};
            ++next;
        }
        desc_[next] = VirtqDesc{ipa_of(&statuses_[i]), 1, kDescWrite, 0};
        avail_.ring[(avail_idx_ + i) % kQueueSize] = head;
    }
    // EVENT_IDX: one interrupt, when the used index passes the batch's last request; so the
    // wake-ups do not depend on how the device's completions happen to be grouped in time.
    avail_.used_event = static_cast<u16>(used_seen_ + count - 1);
    barrier();  // descriptors, ring entries and used_event before the index that publishes them
    avail_idx_ = static_cast<u16>(avail_idx_ + count);
    avail_.idx = avail_idx_;
}

void VirtioBlk::notify() {
    barrier();  // the index before the notification
    *notify_ = 0;
}

u8 VirtioBlk::read_into(u64 ipa, u64 spins) {
    headers_[0] = BlkHeader{0, 0, 0};
    statuses_[0] = 0xff;
    desc_[0] = VirtqDesc{ipa_of(&headers_[0]), sizeof(BlkHeader), kDescNext, 1};
    desc_[1] = VirtqDesc{ipa, 4096, kDescNext | kDescWrite, 2};
    desc_[2] = VirtqDesc{ipa_of(&statuses_[0]), 1, kDescWrite, 0};
    avail_.ring[avail_idx_ % kQueueSize] = 0;
    barrier();
    avail_idx_ = static_cast<u16>(avail_idx_ + 1);
    avail_.idx = avail_idx_;
    notify();
    const u16 target = static_cast<u16>(used_seen_ + 1);
    for (u64 i = 0; i < spins; ++i) {
        if (*reinterpret_cast<volatile u16*>(&used_.idx) == target) {
            used_seen_ = target;
            return *reinterpret_cast<volatile u8*>(&statuses_[0]);
        }
    }
    return 0xff;
}

bool VirtioBlk::wait_event() {
    const rt::NotificationWord w = rt::notification_wait(irq_.notification);
    return w.status == 0 && (w.word & irq_.badge) != 0;
}

void VirtioBlk::acknowledge() {
    (void)*isr_;  // reading the ISR clears it and lowers INTx
    barrier();
    (void)rt::irq_ack(irq_.handler);
}

void VirtioBlk::finish(Slot* slots, u32 count, u16 target) {
    barrier();  // the index before the entries and statuses it covers
    used_seen_ = target;
    for (u32 i = 0; i < count; ++i) slots[i].status = *reinterpret_cast<volatile u8*>(&statuses_[i]);
}

}  // namespace bh::blkdrv

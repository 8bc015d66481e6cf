#include "virtio_mmio_blk.hpp"

#include <console.hpp>

namespace bh::blkdrv {

namespace {

using rt::print;

// virtio-mmio registers (virtio 1.2, 4.2.2) by offset.
enum : u64 {
    kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kVendorId = 0x00c, kDeviceFeatures = 0x010,
    kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020, kDriverFeaturesSel = 0x024, kQueueSel = 0x030,
    kQueueNumMax = 0x034, kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
    kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070, kQueueDescLow = 0x080,
    kQueueDescHigh = 0x084, kQueueDriverLow = 0x090, kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0,
    kQueueDeviceHigh = 0x0a4, kConfigGeneration = 0x0fc, kConfig = 0x100,
};
constexpr u32 kMagicValue = 0x7472'6976;  // "virt"
constexpr u32 kBlockDevice = 2;
constexpr u32 kVendor = 0x4b48'4c42;  // "BLHK"
constexpr u32 kQueueMax = 32;
// Features (virtio 1.2, 5.2.3, 6): SIZE_MAX and SEG_MAX bound a request to the driver's bounce
// buffers; FLUSH when the backend has a volatile cache; VERSION_1; ACCESS_PLATFORM, so the guest
// uses its DMA API (and with it the DMA window: swiotlb bounces every buffer outside it).
constexpr u64 kSizeMax = 1ull << 1, kSegMax = 1ull << 2;
constexpr u64 kOffered = kSizeMax | kSegMax | kFeatureVersion1 | kFeatureAccessPlatform;
constexpr u32 kInterruptUsedBuffer = 1;

void barrier() { asm volatile("dsb sy" ::: "memory"); }

void set_low(u64& r, u32 word) { r = (r & ~0xffff'ffffull) | word; }
void set_high(u64& r, u32 word) { r = (r & 0xffff'ffffull) | (u64{word} << 32); }

template <class T>
T load(u64 address) {
    return *reinterpret_cast<const volatile T*>(address);
}
template <class T>
void store(u64 address, T value) {
    *reinterpret_cast<volatile T*>(address) = value;
}

// Byte-granular where either side is not 8-byte aligned: the driver runs with its MMU off, where
// an unaligned access faults.
void copy(u64 to, u64 from, u32 bytes) {
    if (((to | from | bytes) & 7) == 0) {
        for (u32 i = 0; i < bytes; i += 8) store<u64>(to + i, load<u64>(from + i));
    } else {
        for (u32 i = 0; i < bytes; ++i) store<u8>(to + i, load<u8>(from + i));
    }
}

}  // namespace

void VirtioMmioBlk::reset() {
    status_ = 0;
    driver_features_ = 0;
    device_features_sel_ = driver_features_sel_ = 0;
    queue_sel_ = queue_num_ = queue_ready_ = 0;
    desc_ = avail_ = used_ = 0;
    interrupt_status_ = 0;
    last_avail_ = used_idx_ = 0;
}

u64 VirtioMmioBlk::config(u64 offset) const {
    // struct virtio_blk_config: capacity (u64) at 0, size_max (u32) at 8, seg_max (u32) at 12.
    const u64 capacity = backend_->capacity();
    switch (offset) {
        case 0: return static_cast<u32>(capacity);
        case 4: return static_cast<u32>(capacity >> 32);
        case 8: return vblk::kSegmentMax;
        case 12: return vblk::kSegmentsMax;
        default: return 0;
    }
}

u64 VirtioMmioBlk::access(u64 offset, u32 size, bool write, u64 value) {
    const u64 offered = kOffered | (backend_->has_flush() ? kFeatureFlush : 0);
    if (offset >= kConfig) {  // read-only; Linux reads it 1, 2 or 4 bytes at a time
        if (write || size > 4) return 0;
        const u64 word = config((offset - kConfig) & ~3ull) >> (8 * (offset & 3));
        return size == 4 ? word & 0xffff'ffff : word & ((1ull << (8 * size)) - 1);
    }
    if (size != 4) return 0;  // the registers are 32-bit (virtio 1.2, 4.2.2.2)
    const u32 word = static_cast<u32>(value);
    if (!write) {
        switch (offset) {
            case kMagic: return kMagicValue;
            case kVersion: return 2;
            case kDeviceId: return kBlockDevice;
            case kVendorId: return kVendor;
            case kDeviceFeatures: return device_features_sel_ < 2 ? static_cast<u32>(offered >> (32 * device_features_sel_)) : 0;
            case kQueueNumMax: return queue_sel_ == 0 ? kQueueMax : 0;  // one queue
            case kQueueReady: return queue_sel_ == 0 ? queue_ready_ : 0;
            case kInterruptStatus: return interrupt_status_;
            case kStatus: return status_;
            case kConfigGeneration: return 0;
            default: return 0;
        }
    }
    switch (offset) {
        case kDeviceFeaturesSel: device_features_sel_ = word; break;
        case kDriverFeaturesSel: driver_features_sel_ = word; break;
        case kDriverFeatures:
            // Only what was offered can be accepted.
            if (driver_features_sel_ < 2) {
                const u32 shift = 32 * driver_features_sel_;
                driver_features_ = (driver_features_ & ~(0xffff'ffffull << shift)) | ((u64{word} << shift) & offered);
            }
            break;
        case kQueueSel: queue_sel_ = word; break;
        case kQueueNum:
            if (queue_sel_ == 0) queue_num_ = word <= kQueueMax && (word & (word - 1)) == 0 ? word : 0;
            break;
        case kQueueReady:
            if (queue_sel_ == 0) queue_ready_ = word & 1;
            break;
        case kQueueNotify: notified_ = true; break;
        case kInterruptAck: interrupt_status_ &= ~word; break;
        case kStatus:
            if (word == 0) {
                reset();
                reset_ = true;
            } else {
                if ((word & 4) != 0 && (status_ & 4) == 0) driver_ok_ = true;
                status_ = word;
            }
            break;
        case kQueueDescLow: set_low(desc_, word); break;
        case kQueueDescHigh: set_high(desc_, word); break;
        case kQueueDriverLow: set_low(avail_, word); break;
        case kQueueDriverHigh: set_high(avail_, word); break;
        case kQueueDeviceLow: set_low(used_, word); break;
        case kQueueDeviceHigh: set_high(used_, word); break;
        default: break;
    }
    return 0;
}

// Copies the chain at `head` into `out`, each descriptor read once; checks every index and buffer.
bool VirtioMmioBlk::copy_chain(u16 head, vblk::Desc* out, u32& count) {
    count = 0;
    for (u16 i = head;; ++count) {
        if (i >= queue_num_ || count == vblk::kChainMax) return false;
        const u64 at = local(desc_ + 16ull * i);
        vblk::Desc d{load<u64>(at), load<u32>(at + 8), load<u16>(at + 12), load<u16>(at + 14)};
        if (!in_window(d.addr, d.len)) return false;
        out[count] = d;
        if ((d.flags & vblk::kDescNext) == 0) {
            ++count;
            return true;
        }
        i = d.next;
    }
}

// Runs a checked chain on the backend; the status byte to report, `written` the bytes it put
// into the guest's buffers.
u8 VirtioMmioBlk::run(const vblk::Desc* d, u32 count, u32 type, u64 sector, u32& written) {
    Slot slots[kMaxBatch + 1];
    u32 n = 0;
    written = 0;
    if (type != vblk::kTypeFlush) {
        u64 at = sector;
        for (u32 i = 1; i + 1 < count; ++i, ++n) {
            slots[n] = Slot{type, at, d[i].len, 0xff};
            if (type == vblk::kTypeOut) copy(reinterpret_cast<u64>(backend_->bounce(n)), local(d[i].addr), d[i].len);
            at += d[i].len / vblk::kSectorSize;
        }
    }
    const u32 data = n;
    if (data != 0) backend_->run(slots, data, [](u32) {});
    // Acknowledged = on stable storage: a write (and a guest's FLUSH) completes after a flush,
    // sent once the writes completed (a flush covers only writes completed before it).
    if (type != vblk::kTypeIn && backend_->has_flush()) {
        slots[n++] = Slot{vblk::kTypeFlush, 0, 0, 0xff};
        backend_->run(&slots[data], 1, [](u32) {});
    }
    for (u32 i = 0; i < n; ++i)
        if (slots[i].status != 0) return vblk::kStatusIoErr;
    if (type == vblk::kTypeIn)
        for (u32 i = 0; i < data; ++i) {
            copy(local(d[i + 1].addr), reinterpret_cast<u64>(backend_->bounce(i)), d[i + 1].len);
            written += d[i + 1].len;
        }
    return vblk::kStatusOk;
}

bool VirtioMmioBlk::serve() {
    if ((status_ & 4) == 0 || queue_ready_ == 0 || queue_num_ == 0) return false;  // DRIVER_OK, a live queue
    const u64 avail_bytes = 4 + 2ull * queue_num_, used_bytes = 4 + 8ull * queue_num_;
    if (!in_window(desc_, 16ull * queue_num_) || !in_window(avail_, avail_bytes) || !in_window(used_, used_bytes) ||
        (desc_ & 15) != 0 || (avail_ & 1) != 0 || (used_ & 3) != 0) {
        ++refused_;
        print("vblk: refused: queue outside the DMA window or misaligned\n");
        status_ |= 0x40;  // DEVICE_NEEDS_RESET
        return false;
    }
    bool completed = false;
    const u16 avail_idx = load<u16>(local(avail_ + 2));  // read once per pass
    barrier();
    if (static_cast<u16>(avail_idx - last_avail_) > queue_num_) {
        ++refused_;
        print("vblk: refused: available index ", avail_idx, " more than a queue ahead of ", last_avail_, "\n");
        status_ |= 0x40;
        return false;
    }
    for (; last_avail_ != avail_idx; ++last_avail_) {
        const u16 head = load<u16>(local(avail_ + 4 + 2ull * (last_avail_ % queue_num_)));
        vblk::Desc d[vblk::kChainMax];
        u32 count = 0;
        u8 status = vblk::kStatusIoErr;
        u32 written = 0;
        vblk::ChainCheck check = vblk::ChainCheck::BadIndex;
        if (copy_chain(head, d, count)) {
            const u64 header = local(d[0].addr);
            const u32 type = d[0].len >= vblk::kHeaderSize && (d[0].addr & 7) == 0 ? load<u32>(header) : ~0u;
            const u64 sector = d[0].len >= vblk::kHeaderSize && (d[0].addr & 7) == 0 ? load<u64>(header + 8) : 0;
            check = vblk::check_chain(d, count, type, sector, backend_->capacity(), backend_->has_flush());
            if (check == vblk::ChainCheck::Ok) status = run(d, count, type, sector, written);
            if (check == vblk::ChainCheck::Unsupported) status = vblk::kStatusUnsupported;
        }
        if (check != vblk::ChainCheck::Ok) {
            ++refused_;
            print("vblk: refused request at head ", head, " (check ", static_cast<u32>(check), ")\n");
        }
        // The status byte: a chain that could not be copied names no buffer it may be written to.
        if (count >= 2 && (d[count - 1].flags & vblk::kDescWrite) != 0) {
            store<u8>(local(d[count - 1].addr), status);
            written += 1;
        }
        const u64 elem = local(used_ + 4 + 8ull * (used_idx_ % queue_num_));
        store<u32>(elem, head);
        store<u32>(elem + 4, written);
        barrier();  // the entry before the index that publishes it
        ++used_idx_;
        store<u16>(local(used_ + 2), used_idx_);
        ++served_;
        completed = true;
    }
    if (completed) interrupt_status_ |= kInterruptUsedBuffer;
    return completed;
}

}  // namespace bh::blkdrv

// A virtio-mmio (version 2, modern) block device model, served to a partition whose window the
// kernel forwards to this driver (docs/blk-protocol.md, "Linux as an unmodified client"): the
// registers answer the forwarded loads and stores one at a time; the guest's virtqueue and every
// buffer it names lie in its DMA window, a channel this driver maps too. Each request is copied
// into the driver's memory descriptor by descriptor, checked (bh::vblk::check_chain), and run on
// the same backend as the channel clients' (VirtioBlk: the virtio-blk PCI function, through
// its bounce buffers); a write is acknowledged only after the device completed it and a flush.
#pragma once

#include <bulkhead/types.hpp>
#include <virtio_blk_chain.hpp>

#include "virtio_blk.hpp"

namespace bh::blkdrv {

// The guest's DMA window: guest addresses [guest_base, guest_base + size), at `local` here.
struct DmaWindow {
    u64 guest_base;
    u64 size;
    u64 local;
};

class VirtioMmioBlk {
public:
    void attach(VirtioBlk& backend, const DmaWindow& window) {
        backend_ = &backend;
        window_ = window;
    }

    // A forwarded access at `offset` of the register window; a load's value is returned.
    u64 access(u64 offset, u32 size, bool write, u64 value);
    // Serves the requests the guest made available since the last call; true when it completed
    // one (the caller raises the device's interrupt).
    bool serve();
    // True once after the guest wrote QueueNotify / reset the device (Status = 0).
    bool take_notify() { return take(notified_); }
    bool take_reset() { return take(reset_); }
    bool take_driver_ok() { return take(driver_ok_); }  // the guest set DRIVER_OK
    u64 served() const { return served_; }
    u64 refused() const { return refused_; }
    u32 features_low() const { return static_cast<u32>(driver_features_); }
    u32 features_high() const { return static_cast<u32>(driver_features_ >> 32); }

private:
    static bool take(bool& flag) {
        const bool was = flag;
        flag = false;
        return was;
    }
    void reset();
    u64 config(u64 offset) const;
    bool copy_chain(u16 head, vblk::Desc* out, u32& count);
    u8 run(const vblk::Desc* d, u32 count, u32 type, u64 sector, u32& written);
    u64 local(u64 guest) const { return window_.local + (guest - window_.guest_base); }
    bool in_window(u64 addr, u64 len) const { return vblk::in_window(addr, len, window_.guest_base, window_.size); }

    VirtioBlk* backend_ = nullptr;
    DmaWindow window_{};
    u32 status_ = 0;
    u32 device_features_sel_ = 0;
    u32 driver_features_sel_ = 0;
    u64 driver_features_ = 0;
    u32 queue_sel_ = 0;
    u32 queue_num_ = 0;
    u32 queue_ready_ = 0;
    u64 desc_ = 0, avail_ = 0, used_ = 0;
    u32 interrupt_status_ = 0;
    u16 last_avail_ = 0;
    u16 used_idx_ = 0;
    bool notified_ = false;
    bool reset_ = false;
    bool driver_ok_ = false;
    u64 served_ = 0;
    u64 refused_ = 0;
};

}  // namespace bh::blkdrv

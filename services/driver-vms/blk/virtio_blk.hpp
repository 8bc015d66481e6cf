// A modern (virtio 1.x) virtio-blk PCI function: one split virtqueue, the requests IN, OUT and
// FLUSH. Every buffer handed to the device is in the driver's own RAM (the ring and the bounce
// buffers below); the device reaches it through the driver's DMA stream, so the addresses are the
// driver's IPAs. The driver waits for the device's INTx, bound through an IrqHandler cap to a
// notification it waits on (the vCPU parks, its core sleeps), and asks with EVENT_IDX for one
// interrupt per batch: when the batch's last request is done.
#pragma once

#include <bulkhead/types.hpp>

namespace bh::blkdrv {

inline constexpr u32 kQueueSize = 32;
inline constexpr u32 kMaxBatch = 8;  // requests in flight at once (3 descriptors each) + a flush

// virtio 1.x feature bits (5.2.3, 6).
inline constexpr u64 kFeatureFlush = 1ull << 9;
inline constexpr u64 kFeatureEventIdx = 1ull << 29;
inline constexpr u64 kFeatureVersion1 = 1ull << 32;
inline constexpr u64 kFeatureAccessPlatform = 1ull << 33;

struct VirtqDesc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};
static_assert(sizeof(VirtqDesc) == 16);

struct VirtqAvail {
    u16 flags;
    u16 idx;
    u16 ring[kQueueSize];
    u16 used_event;
};
static_assert(sizeof(VirtqAvail) == 4 + 2 * kQueueSize + 2);

struct VirtqUsedElem {
    u32 id;
    u32 len;
};
struct VirtqUsed {
    u16 flags;
    u16 idx;
    VirtqUsedElem ring[kQueueSize];
    u16 avail_event;
};
static_assert(sizeof(VirtqUsedElem) == 8 && __builtin_offsetof(VirtqUsed, ring) == 4);

// virtio-blk's request header (5.2.6).
struct BlkHeader {
    u32 type;
    u32 reserved;
    u64 sector;
};
static_assert(sizeof(BlkHeader) == 16);

// One request of a batch: what the device is asked and what it answered.
struct Slot {
    u32 type;     // virtio-blk type: 0 IN, 1 OUT, 4 FLUSH
    u64 sector;
    u32 length;   // bytes of the bounce buffer moved (0 for FLUSH)
    u8 status;    // the device's status byte (0 OK); 0xff until it answers
};

// The function's interrupt as the driver's CSpace gives it: the IrqHandler cap of its INTx, the
// notification (Read) the driver waits on, and the badge that tells the interrupt apart there
// from the notification's other signallers.
struct Interrupt {
    u64 handler;
    u64 notification;
    u64 badge;
};

class VirtioBlk {
public:
    // Resets the function (which also ends whatever an earlier run left in flight and lowers its
    // INTx), binds the DMA stream `stream` and then the interrupt `irq`, negotiates VERSION_1,
    // ACCESS_PLATFORM, FLUSH and EVENT_IDX if offered, and sets up queue 0. False (with the
    // reason printed) when the device is not what the driver needs.
    [[nodiscard]] bool start(u32 bdf, u64 stream, const Interrupt& irq);

    u64 capacity() const { return capacity_; }
    bool has_flush() const { return flush_; }
    u8* bounce(u32 slot) { return bounce_[slot]; }

    // Runs `count` slots (their bounce buffers filled for OUT) and waits for every one. `at`
    // (the driver's fault-on-purpose points) runs with 0 once the ring is written but before
    // the device is told, with 1 once the device is told, and with 2 once its interrupt came
    // and before it is acknowledged.
    template <class F>
    void run(Slot* slots, u32 count, F&& at) {
        prepare(slots, count);
        at(0u);
        notify();
        at(1u);
        // Done when the batch's interrupt came and the used index shows every request: the
        // interrupt is waited for even when the index already does (it may be raised a little
        // after the index moves), so each batch takes its one interrupt here, whenever the
        // device happens to answer.
        const u16 target = static_cast<u16>(used_seen_ + count);
        if (used_index() == target) ++answered_early_;
        for (bool interrupted = false; !interrupted || used_index() != target;) {
            if (!wait_event()) continue;  // a client's doorbell: looked at after the batch
            interrupted = true;
            at(2u);
            acknowledge();
        }
        finish(slots, count, target);
    }

    // Blocks until the notification is signalled: a client's doorbell or the device's interrupt.
    // True when the device interrupted: the caller then calls acknowledge(). Whatever else was
    // signalled is left to the caller's next look at its clients (it looks after every wake).
    [[nodiscard]] bool wait_event();
    // Takes the interrupt wait_event reported: reads the device's ISR (which lowers INTx), then
    // lets the SPI in again (IrqAck).
    void acknowledge();

    // Batches the device completed before the driver began to wait for them. Each then took its
    // interrupt while the driver still ran, on a path of another length than a sleeping core's:
    // a figure of instructions per request (docs/benchmarks.md) holds only for a run without one.
    u64 answered_early() const { return answered_early_; }

    // A driver turned hostile (the red-team mode): one IN request whose data buffer is `ipa`,
    // whatever this partition maps there. Returns the device's status, or 0xff if it never
    // answered within `spins` polls.
    u8 read_into(u64 ipa, u64 spins);

private:
    void prepare(Slot* slots, u32 count);
    void notify();
    u16 used_index() const { return *reinterpret_cast<const volatile u16*>(&used_.idx); }
    void finish(Slot* slots, u32 count, u16 target);

    volatile u8* common_ = nullptr;
    volatile u16* notify_ = nullptr;
    volatile u8* isr_ = nullptr;
    Interrupt irq_{};
    u64 capacity_ = 0;
    bool flush_ = false;
    u16 avail_idx_ = 0;
    u16 used_seen_ = 0;
    u64 answered_early_ = 0;

    alignas(4096) VirtqDesc desc_[kQueueSize];
    alignas(4096) VirtqAvail avail_;
    alignas(4096) VirtqUsed used_;
    alignas(4096) BlkHeader headers_[kMaxBatch + 1];
    u8 statuses_[kMaxBatch + 1];
    alignas(4096) u8 bounce_[kMaxBatch][4096];
};

}  // namespace bh::blkdrv

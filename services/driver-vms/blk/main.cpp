// The block driver partition (docs/blk-protocol.md): owns a modern virtio-blk PCI function and its
// DMA stream, and serves each client through that client's channel (services/protocols/
// blk_protocol.hpp) with a doorbell each way. Every request is copied once into the driver's own
// memory and checked there (bh::blk::check_request) before anything acts on it; data moves
// between the client's data area and the driver's bounce buffers, the only memory the device is
// given. A write is acknowledged only once the device completed it and, when the device has a
// volatile cache (FLUSH offered), a flush after it completed too.
//
// Each run is a generation (1 + the partition's restarts, from the kernel): the driver publishes
// it in every channel and serves a client only once the client has attached to it, so whatever
// was in flight when an earlier run died is resubmitted by the client, never half-remembered here.
//
// CSpace (config/tests/blk-restart.dts, blk-hostile.dts; bhcc --dump): 4, 5 the two clients'
// channels (R W), 6 the requests doorbell (R), 7, 8 each client's completion doorbell (W),
// 9 the IrqHandler of the function's INTx (INTID 35), 10 the DmaStream of 00:04.0, 11 and 12 its
// BARs' pages (mapped by bhcc at IPA == PA). The interrupt is bound to the requests doorbell with
// its own badge, so one wait covers the clients and the device.
// boot-arg bit 0: fault on purpose in the middle of I/O in every other run (the restart test);
// bit 1: in its first run, turn hostile and aim the device outside its memory (redteam.blk-rogue).
#include <blk_protocol.hpp>
#include <console.hpp>
#include <hypercall.hpp>
#include <pci.hpp>
#include <timer.hpp>

#include "virtio_blk.hpp"

using namespace bh::rt;
using bh::u32;
using bh::u64;
using bh::u8;
namespace blk = bh::blk;
using bh::blkdrv::Slot;
using bh::blkdrv::VirtioBlk;

namespace {

constexpr u32 kClients = 2;
constexpr u64 kChannelCap[kClients] = {4, 5};
constexpr u64 kRequestsDoorbell = 6;
constexpr u64 kCompletionDoorbell[kClients] = {7, 8};
constexpr u64 kIrq = 9;
constexpr u64 kStream = 10;
constexpr u64 kIrqBadge = 1ull << 16;  // clients' badges are 1 << their position (< 16)
constexpr u64 kChannelIpa = 0x5000'0000;  // client i's channel at kChannelIpa + i * 1 MiB
constexpr u32 kDisk = bh::platform::pci_bdf(4, 0);
constexpr u64 kModeFault = 1;
constexpr u64 kModeRogue = 2;
// Where the rogue mode aims its device: client0's RAM as a physical address (config/tests/
// blk-rogue.dts), an IPA this partition does not map.
constexpr u64 kRogueTarget = 0x4880'0000;
constexpr u32 kPerClientPerPass = 4;  // fairness: no client takes a whole batch while others wait
constexpr u32 kReportsPerRun = 24;    // refusals printed per client and run (all are counted)
constexpr u64 kUnmappedIpa = 0x4800'0000;

struct Client {
    volatile blk::Header* header = nullptr;
    volatile u8* data = nullptr;
    bool attached = false;
    bool detached = false;
    bool wake = false;
    u64 consumed = 0;     // requests taken from its ring (private: the published copy is advisory)
    u64 completions = 0;  // completions written
    u64 refused = 0;
    u32 reports = 0;
};

// One request of the batch being served.
struct Pending {
    u32 client;
    u64 tag;
    u32 op;
    u32 offset;
    u32 length;
};

VirtioBlk device;
Client clients[kClients];
u64 generation = 0;
u64 served = 0;

void barrier() { asm volatile("dsb sy" ::: "memory"); }

void copy_words(volatile u64* to, const volatile u64* from, u32 bytes) {
    for (u32 i = 0; i < bytes / 8; ++i) to[i] = from[i];
}

const char* reason(blk::Reply r) {
    switch (r) {
        case blk::Reply::BadOp: return "bad op";
        case blk::Reply::BadLength: return "bad length";
        case blk::Reply::BadBuffer: return "buffer outside the data area";
        case blk::Reply::BadSector: return "sectors past the disk";
        case blk::Reply::BadRing: return "ring index out of range";
        default: return "?";
    }
}

// Counts and reports a refusal; `value` is the offending field (for BadRing: the request
// producer, and `also` the completion consumer).
void refuse(u32 c, blk::Reply r, u64 value, u64 also = 0) {
    Client& cl = clients[c];
    ++cl.refused;
    cl.header->driver.refused = cl.refused;
    cl.wake = true;
    if (cl.reports++ >= kReportsPerRun) return;
    if (r == blk::Reply::BadRing) {
        print("client ", c, ": refused: ", reason(r), " (request producer ", bh::rt::hex(value), " consumed ",
              bh::rt::hex(cl.consumed), ", completion consumer ", bh::rt::hex(also), " produced ",
              bh::rt::hex(cl.completions), ")\n");
    } else {
        print("client ", c, ": refused: ", reason(r), " (", bh::rt::hex(value), ")\n");
    }
}

void complete(u32 c, u64 tag, blk::Reply status, u32 length) {
    Client& cl = clients[c];
    volatile blk::Completion& e = cl.header->completions[cl.completions % blk::kRingEntries];
    e.tag = tag;
    e.status = static_cast<blk::s32>(status);
    e.length = length;
    e.generation = generation;
    barrier();  // the entry before the index that publishes it
    ++cl.completions;
    cl.header->driver.completion_producer = cl.completions;
    cl.wake = true;
}

// The request at the client's consumer index, read once into the driver's memory.
blk::Request fetch(const Client& cl) {
    const volatile blk::Request& src = cl.header->requests[cl.consumed % blk::kRingEntries];
    blk::Request r{};
    r.tag = src.tag;
    r.op = src.op;
    r.length = src.length;
    r.sector = src.sector;
    r.offset = src.offset;
    return r;
}

// Whether the client takes part in this pass; attaches it when it has just joined this generation.
bool ready(u32 c) {
    Client& cl = clients[c];
    const u64 joined = cl.header->client.generation;
    cl.detached = joined == blk::kDetached;
    if (joined != generation) {
        cl.attached = false;
        return false;
    }
    if (!cl.attached) {
        cl.attached = true;
        cl.consumed = cl.completions = cl.refused = 0;
    }
    return true;
}

// Where this run faults on purpose, if it does: in its first batch, before the device is told
// of it (0), once it is (1), or once the device's interrupt came and before it is acknowledged
// (2: the restart finds the SPI masked, awaiting an IrqAck). kNever: it does not.
constexpr u32 kFaultPoints = 3;
constexpr u32 kNever = kFaultPoints;
u32 fault_point = kNever;

void maybe_fault(u32 point) {
    if (point != fault_point) return;
    const char* what = point == 0 ? "ready" : point == 1 ? "in flight" : "done, its interrupt not acknowledged";
    print("faulting on purpose with a batch ", what, " (generation ", generation, ")\n");
    *reinterpret_cast<volatile u64*>(kUnmappedIpa) = 1;
}

// Takes what the attached clients asked, runs it on the device, answers. True when it did
// anything (the caller then looks again before waiting).
bool serve_pass(u32 first) {
    Slot slots[bh::blkdrv::kMaxBatch + 1];
    Pending pending[bh::blkdrv::kMaxBatch];
    u32 count = 0;
    bool progress = false;
    bool writes = false;
    for (u32 k = 0; k < kClients; ++k) {
        const u32 c = (first + k) % kClients;
        Client& cl = clients[c];
        if (!ready(c)) continue;
        const u64 producer = cl.header->client.request_producer;
        const u64 completion_consumer = cl.header->client.completion_consumer;
        if (!blk::ring_in_range(producer, cl.consumed) || !blk::ring_in_range(cl.completions, completion_consumer)) {
            refuse(c, blk::Reply::BadRing, producer, completion_consumer);
            continue;
        }
        // Every request taken gets a completion: take no more than the completion ring has room for.
        u64 room = blk::kRingEntries - (cl.completions - completion_consumer);
        for (u32 taken = 0; cl.consumed != producer && room != 0 && taken < kPerClientPerPass &&
                            count < bh::blkdrv::kMaxBatch;
             ++taken, --room) {
            const blk::Request r = fetch(cl);
            ++cl.consumed;
            progress = true;
            const blk::Reply check = blk::check_request(r, device.capacity());
            if (check != blk::Reply::Ok) {
                refuse(c, check, check == blk::Reply::BadSector ? r.sector : check == blk::Reply::BadOp ? r.op
                                                                 : check == blk::Reply::BadLength ? r.length
                                                                                                   : r.offset);
                complete(c, r.tag, check, 0);
                continue;
            }
            if (r.op == static_cast<u32>(blk::Op::Flush) && !device.has_flush()) {
                complete(c, r.tag, blk::Reply::Ok, 0);  // no volatile cache: nothing to flush
                continue;
            }
            Slot& s = slots[count];
            s.type = r.op;
            s.sector = r.sector;
            s.length = r.op == static_cast<u32>(blk::Op::Flush) ? 0 : r.length;
            if (r.op == static_cast<u32>(blk::Op::Out))
                copy_words(reinterpret_cast<volatile u64*>(device.bounce(count)),
                           reinterpret_cast<const volatile u64*>(cl.data + r.offset), r.length);
            writes = writes || r.op != static_cast<u32>(blk::Op::In);
            pending[count++] = Pending{c, r.tag, r.op, r.offset, s.length};
        }
        cl.header->driver.request_consumer = cl.consumed;
    }
    // One flush after the batch's writes completed (a flush covers only writes completed before
    // it): a client's Flush rides on it too.
    const bool flush = writes && device.has_flush();
    if (count != 0) device.run(slots, count, maybe_fault);
    if (flush) {
        slots[count] = Slot{4, 0, 0, 0xff};
        device.run(&slots[count], 1, maybe_fault);
    }
    const bool flushed = !flush || slots[count].status == 0;
    for (u32 i = 0; i < count; ++i) {
        const Pending& p = pending[i];
        bool ok = slots[i].status == 0;
        // Acknowledged = on the device's stable storage: a write (or a flush) needs the flush too.
        if (p.op != static_cast<u32>(blk::Op::In)) ok = ok && flushed;
        if (ok && p.op == static_cast<u32>(blk::Op::In))
            copy_words(reinterpret_cast<volatile u64*>(clients[p.client].data + p.offset),
                       reinterpret_cast<const volatile u64*>(device.bounce(i)), p.length);
        complete(p.client, p.tag, ok ? blk::Reply::Ok : blk::Reply::IoError, ok ? p.length : 0);
        ++served;
    }
    for (u32 c = 0; c < kClients; ++c) {
        if (!clients[c].wake) continue;
        clients[c].wake = false;
        (void)notification_signal(kCompletionDoorbell[c]);
    }
    return progress;
}

// Sleeps until a client rings or the device interrupts (taken at once: no batch is in flight).
void wait_for_work() {
    if (device.wait_event()) device.acknowledge();
}

bool map_channel(u32 c) {
    const CapInfo cap = cap_identify(kChannelCap[c]);
    u64 where = kChannelIpa + c * 0x10'0000;
    // A restart keeps the mappings made at run time (the channel is not this partition's alone).
    if (cap.mapped) {
        where = cap.ipa;
    } else if (const bh::i64 s = frame_map(kChannelCap[c], where, map_attr::kRead | map_attr::kWrite); s != 0) {
        print("client ", c, ": channel map FAILED: status ", s, "\n");
        return false;
    }
    clients[c].header = reinterpret_cast<volatile blk::Header*>(where);
    clients[c].data = reinterpret_cast<volatile u8*>(where + blk::kDataOffset);
    return true;
}

}  // namespace

extern "C" void guest_main(u64 mode) {
    generation = partition_info().restarts + 1;
    for (u32 c = 0; c < kClients; ++c)
        if (!map_channel(c)) system_off();
    if (!device.start(kDisk, kStream, bh::blkdrv::Interrupt{kIrq, kRequestsDoorbell, kIrqBadge})) system_off();
    print("generation ", generation, ": disk ", device.capacity(), " sectors, flush ", device.has_flush() ? "yes" : "no",
          "\n");
    if ((mode & kModeFault) != 0 && generation % 2 == 0) fault_point = (generation / 2) % kFaultPoints;
    // The published counts start from 0 before the generation is: a client attaching to it must
    // not read the old run's completion count as this one's (it would consume completions this
    // run never wrote, and its completion consumer would run ahead of this run's producer).
    // The generation goes last: a client that sees it finds the capacity and the counts beside it.
    for (u32 c = 0; c < kClients; ++c) {
        volatile blk::DriverSide& d = clients[c].header->driver;
        d.request_consumer = 0;
        d.completion_producer = 0;
        d.refused = 0;
        d.capacity = device.capacity();
        barrier();
        clients[c].header->driver.generation = generation;
        (void)notification_signal(kCompletionDoorbell[c]);
    }
    if ((mode & kModeRogue) != 0 && generation == 1) {
        // Turned hostile: let the clients get going, then aim the device outside this memory.
        for (u32 pass = 0; served < 40; ++pass)
            if (!serve_pass(pass % kClients)) wait_for_work();
        print("turning hostile: the device reads sector 0 into IPA ", bh::rt::hex(kRogueTarget), "\n");
        const u8 status = device.read_into(kRogueTarget, 50'000'000);
        // QEMU's device model answers even when the SMMU refused its writes: its status says
        // nothing of where the data went (the kernel's DMA FAULT report and the target do).
        print("the device answered status ", status, "\n");
    }
    for (u32 pass = 0;; ++pass) {
        if (serve_pass(pass % kClients)) continue;
        bool all_detached = true;
        for (const Client& cl : clients) all_detached = all_detached && cl.detached;
        if (all_detached) break;
        wait_for_work();
    }
    print("batches the device answered before the driver waited: ", device.answered_early(), "\n");
    print("every client detached: generation ", generation, " served ", served, " requests; done\n");
    system_off();
}

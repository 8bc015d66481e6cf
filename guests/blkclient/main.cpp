// A client of the block driver partition (docs/blk-protocol.md). boot-arg: bits 0-7 its index
// (0 or 1: which 128-block quarter of the disk it owns, from block 64 * index), bits 8-15 its mode:
//   0 steady: writes blocks carrying (client, block, sequence, checksum), reads acknowledged ones
//     back and checks them, until it has `quota` acknowledged writes (bits 16-31) and, when bit 32
//     is set, the controller has rung its doorbell (badge 2: its restarts are over); then reads
//     back every block it wrote, prints the acknowledged sequence numbers for
//     tools/blk-disk-check, and detaches.
//   1 hostile: ring indices out of range, lengths past the channel, sectors past the disk, a bad
//     op, a notification flood; then one honest write and read to show it is still served.
//   2 bench: `rounds` (bits 16-31) 4 KiB writes of one block, each submitted alone and waited
//     for, then as many reads of it, counted with the PMU (INST_RETIRED: only the benchmark
//     kernel lets it, docs/benchmarks.md); the data read back is not checked.
//   3 double fetch: `requests` (bits 16-31) writes of its first block, each published, the
//     doorbell rung, and after a spin that homes in on the moment the driver takes it, one field
//     (length, sector, offset or op, in turn) rewritten to a value the driver must refuse; the
//     driver must act on what it checked: each request served whole or refused, never a device
//     error, never a fault.
// On every wake it compares the driver's generation with the one it attached to: a new one means
// the driver restarted, and every request not yet completed is written again and resubmitted.
//
// CSpace (config/tests/blk-restart.dts, blk-hostile.dts): 4 its channel (R W), 5 the driver's
// requests doorbell (W), 6 its completion doorbell (R).
#include <blk_protocol.hpp>
#include <console.hpp>
#include <hypercall.hpp>
#include <timer.hpp>

#include "bench/pmu.hpp"
#include "block.hpp"

using namespace bh::rt;
using bh::blk::s32;
using bh::i64;
using bh::u32;
using bh::u64;
namespace blk = bh::blk;
namespace bc = bh::blkclient;

namespace {

constexpr u64 kChannel = 4;
constexpr u64 kRequestsDoorbell = 5;
constexpr u64 kDoorbell = 6;
constexpr u64 kChannelIpa = 0x5000'0000;
constexpr u64 kBlocks = 32;  // blocks this client writes, from its base
constexpr u32 kSlots = 4;    // requests in flight
constexpr u64 kSectorsPerBlock = bc::kBlockBytes / blk::kSectorSize;
constexpr u64 kControllerBadge = 2;

volatile blk::Header& header() { return *reinterpret_cast<volatile blk::Header*>(kChannelIpa); }
volatile u64* slot_data(u32 slot) {
    return reinterpret_cast<volatile u64*>(kChannelIpa + blk::kDataOffset + slot * bc::kBlockBytes);
}
void barrier() { asm volatile("dsb sy" ::: "memory"); }

struct Op {
    bool busy = false;
    bool write = false;
    u64 block = 0;  // index in this client's range
    u64 seq = 0;
    u64 tag = 0;
};

struct State {
    u64 index = 0;
    u64 base = 0;  // first disk block
    u64 generation = 0;  // the driver generation attached to
    u64 produced = 0;
    u64 consumed = 0;
    u64 acked[kBlocks] = {};  // last acknowledged sequence number per block (0: never written)
    Op ops[kSlots];
    u64 serial = 0;
    u64 writes = 0, reads = 0, resubmitted = 0, restarts_seen = 0, lost = 0, corrupt = 0, errors = 0;
    bool controller_done = false;
    u64 rng = 0;
};

State st;

u64 next_random() {
    st.rng = st.rng * 6364136223846793005ull + 1442695040888963407ull;
    return st.rng >> 33;
}

void ring_driver() { (void)notification_signal(kRequestsDoorbell); }

// Waits for the doorbell; notes the controller's ring.
void wait_doorbell() {
    const NotificationWord w = notification_wait(kDoorbell);
    if ((w.word & kControllerBadge) != 0) st.controller_done = true;
}

void push(const blk::Request& r) {
    volatile blk::Request& e = header().requests[st.produced % blk::kRingEntries];
    e.tag = r.tag;
    e.op = r.op;
    e.length = r.length;
    e.sector = r.sector;
    e.offset = r.offset;
    e.reserved = 0;
    ++st.produced;
}

void publish() {
    barrier();  // the entries before the index
    header().client.request_producer = st.produced;
    ring_driver();
}

void submit(u32 slot) {
    Op& op = st.ops[slot];
    const u64 disk_block = st.base + op.block;
    if (op.write) bc::fill(slot_data(slot), st.index, disk_block, op.seq);
    push(blk::Request{op.tag, static_cast<u32>(op.write ? blk::Op::Out : blk::Op::In), static_cast<u32>(bc::kBlockBytes),
                      disk_block * kSectorsPerBlock, static_cast<u32>(slot * bc::kBlockBytes), 0});
}

// Attaches to the driver's current generation: an empty ring, then every request not completed
// resubmitted (the new run knows nothing of the old one's).
void attach() {
    while (header().driver.generation == 0) wait_doorbell();
    const u64 g = header().driver.generation;
    if (st.generation != 0) ++st.restarts_seen;
    st.generation = g;
    st.produced = st.consumed = 0;
    header().client.request_producer = 0;
    header().client.completion_consumer = 0;
    barrier();
    header().client.generation = g;
    for (u32 s = 0; s < kSlots; ++s)
        if (st.ops[s].busy) {
            submit(s);
            ++st.resubmitted;
        }
    publish();
}

void check_read(u32 slot, const Op& op) {
    volatile u64* w = slot_data(slot);
    const u64 disk_block = st.base + op.block;
    const u64 expected = st.acked[op.block];
    if (w[0] != bc::kMagic || w[1] != st.index || w[2] != disk_block || w[bc::kChecksumWord] != bc::checksum(w)) {
        ++st.corrupt;
        print("block ", disk_block, ": CORRUPT (seq ", static_cast<u64>(w[3]), ", expected ", expected, ")\n");
    } else if (w[3] != expected) {
        ++st.lost;
        print("block ", disk_block, ": LOST write: seq ", static_cast<u64>(w[3]), ", acknowledged ", expected, "\n");
    }
}

// Reads the completions the driver published in this generation. Returns how many.
u32 reap() {
    const u64 producer = header().driver.completion_producer;
    if (producer - st.consumed > blk::kRingEntries) return 0;  // not this generation's: a restart
    barrier();  // the index before the entries
    u32 n = 0;
    for (; st.consumed != producer; ++st.consumed, ++n) {
        const volatile blk::Completion& c = header().completions[st.consumed % blk::kRingEntries];
        const u64 tag = c.tag;
        const s32 status = c.status;
        if (c.generation != st.generation) continue;
        const u32 slot = static_cast<u32>(tag & 0xff);
        if (slot >= kSlots || !st.ops[slot].busy || st.ops[slot].tag != tag) continue;
        Op& op = st.ops[slot];
        op.busy = false;
        if (status != 0) {
            ++st.errors;
            print("block ", st.base + op.block, ": status ", status, " UNEXPECTED\n");
            continue;
        }
        if (op.write) {
            st.acked[op.block] = op.seq;  // acknowledged: on the disk from now on
            ++st.writes;
        } else {
            check_read(slot, op);
            ++st.reads;
        }
    }
    header().client.completion_consumer = st.consumed;
    return n;
}

bool block_busy(u64 block) {
    for (const Op& op : st.ops)
        if (op.busy && op.block == block) return true;
    return false;
}

// Starts an operation in `slot`: a write of a random block, or a read of a written one.
bool start(u32 slot, bool verify_pass, u64& verify_next) {
    Op& op = st.ops[slot];
    if (verify_pass) {
        while (verify_next < kBlocks && (st.acked[verify_next] == 0 || block_busy(verify_next))) ++verify_next;
        if (verify_next >= kBlocks) return false;
        op.block = verify_next++;
        op.write = false;
    } else {
        u64 block = next_random() % kBlocks;
        for (u32 tries = 0; block_busy(block) && tries < kBlocks; ++tries) block = (block + 1) % kBlocks;
        if (block_busy(block)) return false;
        op.block = block;
        op.write = st.acked[block] == 0 || next_random() % 3 != 0;
        op.seq = op.write ? st.acked[block] + 1 : 0;
    }
    op.busy = true;
    op.tag = slot | (++st.serial << 8);
    submit(slot);
    return true;
}

u32 in_flight() {
    u32 n = 0;
    for (const Op& op : st.ops) n += op.busy ? 1 : 0;
    return n;
}

void steady(u64 quota, bool wait_for_controller) {
    u64 verify_next = 0;
    bool draining = false;
    bool verifying = false;
    attach();
    for (;;) {
        if (header().driver.generation != st.generation) attach();
        reap();
        // Done writing: drain what is in flight, then read every written block back.
        if (!draining && st.writes >= quota && (!wait_for_controller || st.controller_done)) draining = true;
        if (draining && !verifying && in_flight() == 0) verifying = true;
        bool started = false;
        for (u32 s = 0; s < kSlots && (!draining || verifying); ++s)
            if (!st.ops[s].busy && start(s, verifying, verify_next)) started = true;
        if (started) publish();
        if (verifying && in_flight() == 0 && verify_next >= kBlocks) break;
        if (!started) wait_doorbell();
    }
    for (u64 first = 0; first < kBlocks; first += 8) {
        print("acked ", st.base + first, "..", st.base + first + 7, ":");
        for (u64 b = first; b < first + 8; ++b) print(" ", st.acked[b]);
        print("\n");
    }
    print(st.writes, " writes acknowledged, ", st.reads, " reads checked, ", st.resubmitted, " requests resubmitted over ",
          st.restarts_seen, " driver restarts seen\n");
    print("verified every written block: ", st.lost, " lost, ", st.corrupt, " corrupt, ", st.errors, " errors\n");
}

// ------------------------------------------------------------------ hostile mode

// Submits `r` alone and returns the completion's status (the client's own channel only).
s32 one(const blk::Request& r) {
    push(r);
    publish();
    for (;;) {
        if (header().driver.generation != st.generation) {
            print("driver restarted during a hostile request: UNEXPECTED\n");
            return 1;
        }
        const u64 producer = header().driver.completion_producer;
        if (producer != st.consumed) {
            barrier();
            const s32 status = header().completions[st.consumed % blk::kRingEntries].status;
            ++st.consumed;
            header().client.completion_consumer = st.consumed;
            return status;
        }
        wait_doorbell();
    }
}

// Writes a bad ring index and waits for the driver's refusal count to move; then restores it.
void bad_index(const char* what, volatile u64& field, u64 bad, u64 good) {
    const u64 before = header().driver.refused;
    field = bad;
    barrier();
    ring_driver();
    while (header().driver.refused == before) wait_doorbell();
    print(what, " ", hex(bad), ": refused (driver's refusals ", before, " -> ", static_cast<u64>(header().driver.refused),
          ")\n");
    field = good;
    barrier();
}

void hostile() {
    attach();
    const u64 capacity = header().driver.capacity;
    // First, while the honest client is busy: the doorbell rung as fast as this core can.
    const u64 flood = 20000;
    for (u64 i = 0; i < flood; ++i) ring_driver();
    print("rang the driver's doorbell ", flood, " times\n");
    bad_index("request producer", header().client.request_producer, st.produced + 1000, st.produced);
    bad_index("request producer behind the consumer", header().client.request_producer, st.produced - 1, st.produced);
    bad_index("completion consumer", header().client.completion_consumer, st.consumed + 100, st.consumed);
    struct Case {
        const char* what;
        blk::Request r;
    };
    constexpr u32 kIn = static_cast<u32>(blk::Op::In);
    constexpr u32 kOut = static_cast<u32>(blk::Op::Out);
    const u64 mine = st.base * kSectorsPerBlock;
    const Case cases[] = {
        {"length past the channel", {1, kOut, 8192, mine, 0, 0}},
        {"buffer past the channel", {2, kIn, 4096, mine, static_cast<u32>(blk::kDataSize), 0}},
        {"buffer wrapping past 2^32", {3, kIn, 4096, mine, 0xffff'f000u, 0}},
        {"misaligned buffer", {4, kIn, 512, mine, 4, 0}},
        {"length not whole sectors", {5, kOut, 100, mine, 0, 0}},
        {"length 0", {6, kIn, 0, mine, 0, 0}},
        {"sector past the disk", {7, kIn, 512, capacity, 0, 0}},
        {"last sectors past the disk", {8, kOut, 4096, capacity - 1, 0, 0}},
        {"sector wrapping past 2^64", {9, kIn, 4096, ~0ull - 2, 0, 0}},
        {"bad op", {10, 7, 512, mine, 0, 0}},
    };
    for (const Case& c : cases) print(c.what, ": status ", one(c.r), "\n");
    // Still served: one honest write and its read-back.
    bc::fill(slot_data(0), st.index, st.base, 1);
    const s32 w = one(blk::Request{11, kOut, static_cast<u32>(bc::kBlockBytes), mine, 0, 0});
    for (u64 i = 0; i < bc::kWords; ++i) slot_data(0)[i] = 0;
    const s32 r = one(blk::Request{12, kIn, static_cast<u32>(bc::kBlockBytes), mine, 0, 0});
    st.acked[0] = 1;
    Op op;
    check_read(0, op);
    print("after the attacks: write status ", w, ", read status ", r, ", ", st.lost + st.corrupt, " bad blocks\n");
}

// ------------------------------------------------------------------ bench mode

// One round of `r`, `rounds` times: submit alone, ring, wait for the completion. Returns the OR of
// the statuses.
s32 rounds_of(const blk::Request& r, u64 rounds) {
    s32 status = 0;
    for (u64 i = 0; i < rounds; ++i) status |= one(r);
    return status;
}

// INST_RETIRED at every EL (counter 0, bench/pmu.hpp): under -icount the machine's instructions,
// every core's. Not the virtual counter: while every core sleeps, QEMU may advance virtual time
// to its next timer (its own round-robin kick), which no instruction executed.
u64 instructions() {
    u64 value;
    asm volatile("isb\n\tmrs %0, pmevcntr0_el0" : "=r"(value) : : "memory");
    return value;
}

void report(const char* what, u64 rounds, u64 count) {
    print("bench: 4 KiB ", what, " round trip: ", rounds, " rounds, ", count, " instructions, ", count / rounds, ".",
          count % rounds * 10 / rounds, " instructions each\n");
}

void bench_round_trips(u64 rounds) {
    attach();
    constexpr u32 kIn = static_cast<u32>(blk::Op::In);
    constexpr u32 kOut = static_cast<u32>(blk::Op::Out);
    const u64 mine = st.base * kSectorsPerBlock;
    bc::fill(slot_data(0), st.index, st.base, 1);
    const blk::Request write{1, kOut, static_cast<u32>(bc::kBlockBytes), mine, 0, 0};
    const blk::Request read{2, kIn, static_cast<u32>(bc::kBlockBytes), mine, 0, 0};
    bench::pmu_start();
    // A few rounds first: whatever the rest of the system does at its start is over by then.
    s32 status = rounds_of(write, 8) | rounds_of(read, 8);
    const u64 start = instructions();
    status |= rounds_of(write, rounds);
    const u64 written = instructions();
    status |= rounds_of(read, rounds);
    const u64 read_back = instructions();
    report("write (acknowledged: written and flushed)", rounds, written - start);
    report("read", rounds, read_back - written);
    // The data is not checked: the bench's disk may be QEMU's null device (bench/paths.json).
    print("bench: statuses ", status, "\n");
}

// ------------------------------------------------------------------ double-fetch mode

// Rewrites field `which` of `e` to a value check_request refuses (capacity: the disk's size).
void spoil(volatile blk::Request& e, u64 which, u64 capacity) {
    switch (which % 4) {
        case 0: e.length = 1u << 20; break;                          // past the channel
        case 1: e.sector = capacity; break;                           // past the disk
        case 2: e.offset = static_cast<u32>(blk::kDataSize); break;  // past the data area
        default: e.op = 7; break;                                     // no such op
    }
}

void double_fetch(u64 requests) {
    attach();
    const u64 capacity = header().driver.capacity;
    constexpr u32 kOut = static_cast<u32>(blk::Op::Out);
    bc::fill(slot_data(0), st.index, st.base, 1);
    u64 served = 0, refused = 0, device_errors = 0, other = 0;
    u64 delay = 1024;  // spin iterations from the doorbell to the rewrite
    for (u64 n = 0; n < requests; ++n) {
        volatile blk::Request& e = header().requests[st.produced % blk::kRingEntries];
        push(blk::Request{n, kOut, static_cast<u32>(bc::kBlockBytes), st.base * kSectorsPerBlock, 0, 0});
        barrier();
        header().client.request_producer = st.produced;
        // The driver may take the entry at any moment from here (it looks after every wake, and
        // another client's doorbell wakes it too): rewrite it after a spin that homes in on that
        // moment (longer after a refusal: the rewrite came first; shorter after a request served),
        // so that rewrites land as often as not while the driver copies and checks.
        ring_driver();
        const u64 spin = delay - delay / 8 + next_random() % (delay / 4 + 1);
        for (u64 i = 0; i < spin; ++i) asm volatile("" ::: "memory");
        spoil(e, n, capacity);
        // A restarted driver zeroes the counts before it publishes its generation: a producer
        // that is not 1 to 16 ahead, or a completion of another generation, is no answer.
        u64 producer = 0;
        while ((producer = header().driver.completion_producer) == st.consumed ||
               producer - st.consumed > blk::kRingEntries) {
            if (header().driver.generation != st.generation) break;
        }
        barrier();
        const volatile blk::Completion& answer = header().completions[st.consumed % blk::kRingEntries];
        if (header().driver.generation != st.generation || answer.generation != st.generation) {
            print("double fetch: the driver restarted during request ", n, ": UNEXPECTED\n");
            return;
        }
        const s32 status = answer.status;
        ++st.consumed;
        header().client.completion_consumer = st.consumed;
        delay = status == static_cast<s32>(blk::Reply::Ok) ? delay - delay / 8 : delay + delay / 8 + 8;
        if (status == static_cast<s32>(blk::Reply::Ok)) {
            ++served;
        } else if (status == static_cast<s32>(blk::Reply::IoError)) {
            ++device_errors;
        } else if (status >= static_cast<s32>(blk::Reply::BadSector) && status <= static_cast<s32>(blk::Reply::BadOp)) {
            ++refused;
        } else {
            ++other;
        }
    }
    print("double fetch: ", requests, " requests rewritten while the driver took them: ", served, " served, ", refused,
          " refused, ", device_errors, " device errors, ", other, " other\n");
}

}  // namespace

extern "C" void guest_main(u64 arg) {
    st.index = arg & 0xff;
    st.base = 64 * st.index;
    st.rng = 0x1234'5678 + st.index;
    const u64 mode = (arg >> 8) & 0xff;
    if (const i64 s = frame_map(kChannel, kChannelIpa, map_attr::kRead | map_attr::kWrite); s != 0) {
        print("channel map FAILED: status ", s, "\n");
        system_off();
    }
    if (mode == 1) {
        hostile();
    } else if (mode == 2) {
        bench_round_trips((arg >> 16) & 0xffff);
    } else if (mode == 3) {
        double_fetch((arg >> 16) & 0xffff);
    } else {
        steady((arg >> 16) & 0xffff, ((arg >> 32) & 1) != 0);
    }
    header().client.generation = blk::kDetached;
    barrier();
    ring_driver();
    print("detached\n");
    system_off();
}

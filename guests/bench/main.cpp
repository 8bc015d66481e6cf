// Benchmark guest: measures the kernel's hot paths in instructions retired (docs/benchmarks.md).
// One image, three roles chosen by the low byte of the boot argument (config/bench/bench.dts):
//   1 meter  (core 0) runs every measurement and prints one `bench ...` line per result, which
//            bench/run reads;
//   2 peer   (core 1) the partition the meter restarts, and then its ping-pong partner;
//   3 idle   (cores 2, 3) says it is ready and halts.
// QEMU's INST_RETIRED counts the instructions of every core, so while the meter measures, every
// other vCPU is halted in WFI (guest WFI is not trapped: QEMU stops executing that vCPU) or, for
// the cross-core round trip, is the partner itself. (The kernel's idle loop sleeps in WFI now; the
// system still gives every core a partition, four for four cores.)
// Bit 8 of the boot argument selects counter mode, for the default kernel, which traps the PMU
// (config/bench/bench-default.dts sets it in every partition): the same loops timed with
// CNTVCT_EL0, and an entry (bench_entry) that leaves the PMU alone.
#include <console.hpp>
#include <hypercall.hpp>

#include "loops.hpp"
#include "pmu.hpp"

using namespace bh::rt;
using bench::Call;
using bench::Sample;
using bh::i64;
using bh::u64;

namespace {

constexpr u64 kRoleMeter = 1;
constexpr u64 kRolePeer = 2;
constexpr u64 kRoleIdle = 3;
constexpr u64 kCounterMode = 0x100;

// CSpace slots, as bhcc lays them out for config/bench/bench.dts (its header lists them).
namespace meter_slot {
constexpr u64 kOwnCNode = 1;
constexpr u64 kSpare = 3;    // 4 KiB frame, unmapped, R W G
constexpr u64 kReady = 4;    // notification `ready`, R
constexpr u64 kPing = 5;     // notification `ping`, W
constexpr u64 kPong = 6;     // notification `pong`, R
constexpr u64 kLonely = 7;   // notification `lonely`, W (its waiter never waits)
constexpr u64 kQuiet = 8;    // notification `quiet`, R (its signaller never signals)
constexpr u64 kPeer = 9;     // Partition `peer`, Control
constexpr u64 kIdle2 = 10;   // Partition `idle2`, Control
constexpr u64 kIdle3 = 11;   // Partition `idle3`, Control
constexpr u64 kEmpty = 200;  // never filled
}  // namespace meter_slot
namespace peer_slot {
constexpr u64 kReady = 3;
constexpr u64 kPing = 4;
constexpr u64 kPong = 5;
}  // namespace peer_slot
namespace idle_slot {
constexpr u64 kReady = 3;
}  // namespace idle_slot

// `ready` badges: peer, idle2, idle3 are its signallers 0, 1, 2.
constexpr u64 kReadyPeer = 1;
constexpr u64 kReadyAll = 7;

constexpr u64 kIterations = 1000;
constexpr u64 kWarmup = 16;
// A refused call is recorded in the audit log, and echoed on the console only while the
// partition's count of refusals is at most 4 or a power of two (docs/audit.md). The meter's
// first refusals are unknown-function's: after 2,048 of them its two runs of 1,000 lie between
// two echoes (the next is the 4,096th), so both time the refusal as it costs from then on.
constexpr u64 kRefusalWarmup = 2048;
// The meter restarts the peer this many times; the peer becomes the ping-pong partner in the
// run that follows the last one (it counts its restarts with PartitionInfo).
constexpr u64 kRestarts = 4;
// Round trips the partner serves: measure()'s warm-up and two runs, and the meter's closing one
// (after it the partner prints its report, outside every measured window).
constexpr u64 kRoundTrips = kWarmup + 2 * kIterations + 1;
constexpr u64 kSpareIpa = 0x6000'0000;

constexpr u64 fn(bh::hvc::Function f) { return static_cast<u64>(f); }
constexpr u64 kUnknownFunction = bh::hvc::kVendorBase | 0xff;  // no call has this ID
constexpr i64 kOk = 0;
constexpr i64 kNotSupported = status_value(bh::Status::NotSupported);

[[noreturn]] void halt() {
    for (;;) asm volatile("wfi" ::: "memory");
}

// Waits until every bit of `bits` has been signalled on the Read cap `cptr`.
bool wait_for(u64 cptr, u64 bits) {
    u64 seen = 0;
    while ((seen & bits) != bits) {
        const NotificationWord w = notification_wait(cptr);
        if (w.status != 0) {
            print("bench FAILED wait on ", cptr, ": status ", w.status, "\n");
            return false;
        }
        seen |= w.word;
    }
    return true;
}

struct Loops {
    void (*calibrate)(u64, Sample*);
    i64 (*restart)(u64, u64*);
    void (*calls[2])(const Call*, u64, Sample*);
    void (*empty[2])(const Call*, u64, Sample*);
};

constexpr Loops kPmuLoops{bench_calibrate_pmu, bench_restart_pmu, {bench_calls1_pmu, bench_calls2_pmu},
                          {bench_empty1_pmu, bench_empty2_pmu}};
constexpr Loops kCounterLoops{bench_calibrate_cnt, bench_restart_cnt, {bench_calls1_cnt, bench_calls2_cnt},
                              {bench_empty1_cnt, bench_empty2_cnt}};

// One path: `count` calls (1 or 2) per iteration, each returning `expect`.
struct Path {
    const char* name;
    u64 count;
    Call calls[2];
    i64 expect;
    u64 warmup = kWarmup;
};

void calibrate(const Loops& loops) {
    const u64 lengths[] = {kIterations, 2 * kIterations};
    for (u64 n : lengths) {
        Sample s{};
        loops.calibrate(n, &s);
        print("bench calibration iterations ", n, " total ", s.total, " el2 ", s.el2, "\n");
    }
}

// Two runs of the loop and of its empty twin: bench/run keeps the lower count of each, since
// QEMU's periodic scheduler kick (every 10^8 instructions under -icount shift=0) can let one
// more idle-loop pass of another core into a window that spans two cores; two windows a few
// million instructions apart cannot both hold one.
// The warm-up leaves out what happens once (the first FrameMap at an IPA allocates the stage-2
// tables for it), brings the ping-pong partner into step and the audit log's echo of refusals
// out of the way (kRefusalWarmup).
void measure(const Loops& loops, const Path& path) {
    Sample calls{}, empty{};
    loops.calls[path.count - 1](path.calls, path.warmup, &calls);
    for (int run = 0; run < 2; ++run) {
        loops.calls[path.count - 1](path.calls, kIterations, &calls);
        loops.empty[path.count - 1](path.calls, kIterations, &empty);
        print("bench path ", path.name, " iterations ", kIterations, " total ", calls.total, " el2 ", calls.el2,
              " empty-total ", empty.total, " empty-el2 ", empty.el2, " status ", static_cast<i64>(calls.status),
              " expect ", path.expect, "\n");
    }
}

// Restarts the peer kRestarts times. bench/run measures each from the controller's call to the
// peer's first instruction, from the run counter read just before the call (printed here) and
// as the peer's run starts (printed by the peer). Right after the call the meter waits, so
// that its own core goes idle and what follows the call is the kernel's work.
bool restart_peer(const Loops& loops) {
    for (u64 k = 1; k <= kRestarts; ++k) {
        u64 call = 0;
        const i64 status = loops.restart(meter_slot::kPeer, &call);
        const bool up = status == 0 && wait_for(meter_slot::kReady, kReadyPeer);
        print("bench restart ", k, " status ", status, " call ", call, "\n");
        if (!up) return false;
    }
    return true;
}

void meter(bool counter_mode) {
    using enum bh::hvc::Function;
    const Loops& loops = counter_mode ? kCounterLoops : kPmuLoops;
    if (!counter_mode) bench::pmu_start();
    print("bench start mode ", counter_mode ? "counter" : "pmu", "\n");
    if (!wait_for(meter_slot::kReady, kReadyAll)) return;
    // From here on cores 1-3 are halted: the counters see the meter alone.
    calibrate(loops);
    const Path single_core[] = {
        {"unknown-function", 1, {{kUnknownFunction, 0, 0, 0}}, kNotSupported, kRefusalWarmup},
        {"abi-version", 1, {{fn(AbiVersion), 0, 0, 0}}, kOk},
        {"cap-identify", 1, {{fn(CapIdentify), meter_slot::kOwnCNode, 0, 0}}, kOk},
        {"cap-identify-empty", 1, {{fn(CapIdentify), meter_slot::kEmpty, 0, 0}}, kOk},
        {"notification-signal", 1, {{fn(NotificationSignal), meter_slot::kLonely, 0, 0}}, kOk},
        {"notification-poll", 1, {{fn(NotificationPoll), meter_slot::kQuiet, 0, 0}}, kOk},
        {"frame-map-unmap", 2,
         {{fn(FrameMap), meter_slot::kSpare, kSpareIpa, map_attr::kRead | map_attr::kWrite},
          {fn(FrameUnmap), meter_slot::kSpare, 0, 0}},
         kOk},
    };
    for (const Path& p : single_core) measure(loops, p);
    calibrate(loops);  // still nothing but the meter runs
    if (!restart_peer(loops)) return;
    // The peer now answers every ping with a pong (cores 2 and 3 stay halted).
    const Path round_trip{"notification-round-trip", 2,
                          {{fn(NotificationSignal), meter_slot::kPing, 0, 0}, {fn(NotificationWait), meter_slot::kPong, 0, 0}},
                          kOk};
    measure(loops, round_trip);
    const bool closed = notification_signal(meter_slot::kPing) == 0 && notification_wait(meter_slot::kPong).status == 0;
    if (!closed || !wait_for(meter_slot::kReady, kReadyPeer)) {  // the partner has printed its report
        print("bench FAILED closing round trip\n");
        return;
    }
    const u64 partitions[] = {meter_slot::kPeer, meter_slot::kIdle2, meter_slot::kIdle3};
    for (u64 cptr : partitions) {
        const i64 status = partition_stop(cptr);
        if (status != 0) print("bench FAILED stop ", cptr, ": status ", status, "\n");
    }
    print("bench done\n");
}

// Halts until the meter restarts it, kRestarts times; then serves exactly the round trips
// measure() makes of notification-round-trip, reports its own guest instructions (the meter
// needs them to tell guest from EL2 work: bench_log.path_figures) and halts.
void peer(bool counter_mode) {
    const u64 restarts = partition_info().restarts;
    if (restarts != 0 && !counter_mode) print("bench started restart ", restarts, " entry ", bench_entry_counter, "\n");
    if (restarts >= kRestarts) {
        if (!counter_mode) bench::pmu_start_partner();
        if (notification_signal(peer_slot::kReady) != 0) return;
        const u64 guest = (counter_mode ? bench_pong_cnt : bench_pong_pmu)(kRoundTrips, peer_slot::kPing, peer_slot::kPong);
        if (guest == ~u64{0}) {
            print("bench FAILED partner: a notification call failed\n");
            return;
        }
        print("bench partner round-trips ", kRoundTrips, " guest ", guest, "\n");
    }
    if (notification_signal(peer_slot::kReady) == 0) halt();
}

}  // namespace

extern "C" void guest_main(u64 boot_arg) {
    switch (boot_arg & 0xff) {
        case kRoleMeter: meter((boot_arg & kCounterMode) != 0); break;
        case kRolePeer: peer((boot_arg & kCounterMode) != 0); break;
        case kRoleIdle:
            if (notification_signal(idle_slot::kReady) == 0) halt();
            break;
        default: print("bench FAILED unknown role ", boot_arg, "\n"); break;
    }
}

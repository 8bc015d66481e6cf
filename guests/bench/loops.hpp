// The measured loops (loops.S) and what they report.
#pragma once

#include <bulkhead/types.hpp>

namespace bench {

using bh::i64;
using bh::u64;

// The registers of one call: function ID, cptr, two arguments.
struct Call {
    u64 x0, x1, x2, x3;
};

// Counter differences over a loop: every EL, EL2 only (0 in counter mode), and the OR of every
// status the calls returned.
struct Sample {
    u64 total;
    u64 el2;
    u64 status;
};

}  // namespace bench

extern "C" {
// Calibration: `iterations` x 4 instructions + 3 (loops.S).
void bench_calibrate_pmu(bench::u64 iterations, bench::Sample* out);
void bench_calibrate_cnt(bench::u64 iterations, bench::Sample* out);
// One or two calls per iteration (calls[0], calls[1]), and their empty twins.
void bench_calls1_pmu(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_empty1_pmu(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_calls2_pmu(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_empty2_pmu(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_calls1_cnt(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_empty1_cnt(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_calls2_cnt(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
void bench_empty2_cnt(const bench::Call* calls, bench::u64 iterations, bench::Sample* out);
// The ping-pong partner: waits on `ping`, signals `pong`, `round_trips` times (loops.S).
bench::u64 bench_pong_pmu(bench::u64 round_trips, bench::u64 ping, bench::u64 pong);
bench::u64 bench_pong_cnt(bench::u64 round_trips, bench::u64 ping, bench::u64 pong);
// PartitionRestart of `cptr`; *call = the counter read just before the `hvc` (pmu: the run
// counter, counter 5).
bench::i64 bench_restart_pmu(bench::u64 cptr, bench::u64* call);
bench::i64 bench_restart_cnt(bench::u64 cptr, bench::u64* call);
// The run counter as this run of the partition started (bench_entry).
extern bench::u64 bench_entry_counter;
}

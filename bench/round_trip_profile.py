#!/usr/bin/env python3
"""Where the cross-core notification round trip's instructions go: boots bench.img under
-icount with QEMU's exec log, one instruction per translation block, and counts every
instruction of every core between consecutive starts of the ping-pong partner's loop
(`bench_pong_pmu` on core 1, guests/bench/loops.S), per core and function (docs/benchmarks.md,
"Profiling the round trip").

usage: bench/round_trip_profile.py [--build DIR] [--skip N] [--round-trips N]

The log of one core's instruction is written before it executes, so a round trip is exactly
what every core executed between two passes of the partner through the top of its loop: the
same quantity the benchmark measures with the PMU (docs/benchmarks.md, "Instructions under
-icount"). No figure of make bench comes from this run; it only says where they go.
"""
import argparse
import bisect
import collections
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qemu_session  # noqa: E402
from call_profile import functions  # noqa: E402


def pong_loop_top(elf):
    """The address of the partner's loop (label 1: of bench_pong_pmu): two instructions before
    its first `hvc`."""
    out = subprocess.run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", "--disassemble=bench_pong_pmu", elf],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "\thvc\t" in line:
            return int(line.split(":")[0], 16) - 8
    raise SystemExit("round_trip_profile: no hvc in bench_pong_pmu")


def main(argv):
    p = argparse.ArgumentParser(prog="bench/round_trip_profile.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    p.add_argument("--image", help="default: BUILD/images/bench.img")
    p.add_argument("--kernel", help="default: BUILD/aarch64/kernel/bulkhead-bench.elf")
    p.add_argument("--guest", help="default: BUILD/aarch64/guests/bench.elf")
    p.add_argument("--skip", type=int, default=20, help="round trips left out first (default 20)")
    p.add_argument("--round-trips", type=int, default=50, help="round trips counted (default 50)")
    args = p.parse_args(argv)
    image = args.image or os.path.join(args.build, "images", "bench.img")
    kernel = args.kernel or os.path.join(args.build, "aarch64", "kernel", "bulkhead-bench.elf")
    guest = args.guest or os.path.join(args.build, "aarch64", "guests", "bench.elf")
    kernel_table, guest_table = functions(kernel), functions(guest)
    kernel_start = kernel_table[0][0]
    kernel_starts, guest_starts = [a for a, _ in kernel_table], [a for a, _ in guest_table]
    top = pong_loop_top(guest)

    def name(pc):
        if pc >= kernel_start:
            return "EL2", kernel_table[bisect.bisect_right(kernel_starts, pc) - 1][1]
        return "guest", guest_table[bisect.bisect_right(guest_starts, pc) - 1][1]

    scratch = tempfile.mkdtemp(prefix="bulkhead-round-trip.")
    fifo = os.path.join(scratch, "exec")
    os.mkfifo(fifo)
    cmd = qemu_session.qemu_command(image, True, ["-accel", "tcg,one-insn-per-tb=on", "-d", "exec,nochain", "-D", fifo])
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timer = threading.Timer(900, proc.kill)
    timer.start()
    counts = collections.Counter()
    per_core = collections.Counter()
    passes = 0
    try:
        with open(fifo) as log:
            for line in log:
                if not line.startswith("Trace "):
                    continue
                core = int(line[6:line.index(":")])
                pc = int(line[line.index("[") + 10:line.index("[") + 26], 16)
                if core == 1 and pc == top:
                    passes += 1
                    if passes > args.skip + args.round_trips:
                        break
                if args.skip < passes <= args.skip + args.round_trips:
                    level, function = name(pc)
                    counts[(core, level, function)] += 1
                    per_core[(core, level)] += 1
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        os.unlink(fifo)
        os.rmdir(scratch)
    if passes <= args.skip + args.round_trips:
        raise SystemExit(f"round_trip_profile: the partner's loop ran {passes} times, fewer than asked")
    n = args.round_trips
    total = sum(per_core.values())
    print(f"notification round trip: {total / n:.1f} instructions per round trip, over {n} (after {args.skip})")
    for (core, level), c in sorted(per_core.items()):
        print(f"  core {core} {level:5}  {c / n:8.1f}")
    print("per function (per round trip):")
    for (core, level, function), c in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1])):
        print(f"  core {core} {level:5}  {c / n:8.1f}  {function}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

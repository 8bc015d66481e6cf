#!/usr/bin/env python3
"""Where a hypercall's instructions go: boots bench.img under -icount with QEMU's gdb stub,
stops the meter at the first `hvc` of the first measured loop (after the warm-up) of each path
asked for, single-steps the call instruction by instruction until the guest resumes, and prints
how many instructions each function executed (docs/benchmarks.md, "Profiling a call").

usage: bench/call_profile.py [--build DIR] [--check RESULTS.json] [PATH...]
  PATH: unknown-function abi-version cap-identify cap-identify-empty notification-signal
        notification-poll (the single-call, single-core paths; default: all of them)

The total includes the `hvc` itself, so it is the path's `instructions` in results.json: an
independent count (an instruction trace) of the same figure. --check compares the two and exits
1 on any difference (CTest bench.trace-agrees). The breakpoints change how QEMU
interleaves cores, which does not matter here: every other core is halted, and nothing but the
figures of make bench is ever taken from an undisturbed run.
"""
import argparse
import bisect
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qemu_session  # noqa: E402

ROOT = os.path.dirname(HERE)
VENDOR = 0xC600_0000
# Each path's first call, as guests/bench/main.cpp (meter) makes it: function ID and x1.
PATHS = {
    "unknown-function": (VENDOR | 0xFF, 0),
    "abi-version": (VENDOR | 0x00, 0),
    "cap-identify": (VENDOR | 0x10, 1),
    "cap-identify-empty": (VENDOR | 0x10, 200),
    "notification-signal": (VENDOR | 0x30, 7),
    "notification-poll": (VENDOR | 0x32, 8),
}
PC = 32  # the PC in the AArch64 gdb register description
ITERATIONS = 1000  # of a measured loop (guests/bench/main.cpp, kIterations), not a warm-up


def functions(elf):
    out = subprocess.run(["aarch64-linux-gnu-nm", "-C", "-n", elf], check=True, capture_output=True, text=True).stdout
    return [(int(a, 16), n) for a, t, n in (line.split(" ", 2) for line in out.splitlines() if line.count(" ") >= 2)
            if t in "tTwW"]


def loop_addresses(elf):
    """The entry of bench_calls1_pmu and its `hvc` (guests/bench/loops.S)."""
    out = subprocess.run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", "--disassemble=bench_calls1_pmu", elf],
                         check=True, capture_output=True, text=True).stdout
    entry = hvc = None
    for line in out.splitlines():
        if line.endswith("<bench_calls1_pmu>:"):
            entry = int(line.split()[0], 16)
        elif "\thvc\t" in line and hvc is None:
            hvc = int(line.split(":")[0], 16)
    return entry, hvc


class Stepper:
    def __init__(self, image, timeout):
        scratch = tempfile.mkdtemp(prefix="bulkhead-profile.")
        self.paths = [os.path.join(scratch, "qmp"), os.path.join(scratch, "gdb")]
        cmd = qemu_session.qemu_command(image, True, ["-S", "-qmp", f"unix:{self.paths[0]},server=on,wait=off",
                                                      "-gdb", f"unix:{self.paths[1]},server=on,wait=off"])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        self.qmp = qemu_session.Qmp(qemu_session._connect(self.paths[0], deadline))
        self.gdb = qemu_session.Gdb(qemu_session._connect(self.paths[1], deadline))
        self.gdb.request("?")

    def reg(self, number):
        return int.from_bytes(bytes.fromhex(self.gdb.request(f"p{number:x}")), "little")

    def memory(self, address, length):
        return bytes.fromhex(self.gdb.request(f"m{address:x},{length:x}"))

    def breakpoint(self, address, on):
        if self.gdb.request(f"{'Z' if on else 'z'}0,{address:x},4") != "OK":
            raise SystemExit(f"call_profile: the gdb stub refused a breakpoint at {address:#x}")

    def run_to(self, address):
        if self.reg(PC) == address:  # stopped on it: a breakpoint there would stop again at once
            self.gdb.request("s")
        self.breakpoint(address, True)
        reply = self.gdb.request("c")
        self.breakpoint(address, False)
        if not reply.startswith("T"):
            raise SystemExit(f"call_profile: the machine stopped ({reply}) before reaching {address:#x}")

    def close(self):
        self.proc.kill()
        self.proc.wait()
        for p in self.paths:
            if os.path.exists(p):
                os.unlink(p)
        os.rmdir(os.path.dirname(self.paths[0]))


def main(argv):
    p = argparse.ArgumentParser(prog="bench/call_profile.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--check", metavar="RESULTS", help="results.json whose figures the traces must equal")
    p.add_argument("paths", nargs="*", default=list(PATHS))
    args = p.parse_args(argv)
    unknown = [name for name in args.paths if name not in PATHS]
    if unknown:
        p.error(f"not a single-call path: {', '.join(unknown)}")
    guest = os.path.join(args.build, "aarch64", "guests", "bench.elf")
    table = sorted(functions(os.path.join(args.build, "aarch64", "kernel", "bulkhead-bench.elf")) + functions(guest))
    starts = [a for a, _ in table]
    entry, hvc = loop_addresses(guest)
    wanted = {PATHS[name]: name for name in args.paths}
    expected = {}
    if args.check:
        with open(args.check) as f:
            expected = {r["name"]: r["instructions"] for r in json.load(f)["paths"]}
    mismatches = []
    stepper = Stepper(os.path.join(args.build, "images", "bench.img"), args.timeout)
    try:
        while wanted:
            stepper.run_to(entry)  # bench_calls1_pmu(calls, iterations, out): x0 points to the first Call
            if stepper.reg(1) != ITERATIONS:  # a warm-up: the measured loops follow it
                continue
            call = stepper.memory(stepper.reg(0), 16)
            key = (int.from_bytes(call[:8], "little"), int.from_bytes(call[8:], "little"))
            name = wanted.pop(key, None)
            if name is None:
                continue
            stepper.run_to(hvc)
            counts, total = collections.Counter(), 0
            while total == 0 or stepper.reg(PC) != hvc + 4:
                pc = stepper.reg(PC)
                counts[table[bisect.bisect_right(starts, pc) - 1][1]] += 1
                total += 1
                stepper.gdb.request("s")
            print(f"{name}: {total} instructions, the hvc included")
            for function, n in counts.most_common():
                print(f"  {n:6}  {function}")
            if args.check and expected.get(name) != total:
                mismatches.append(f"{name}: traced {total}, {args.check} says {expected.get(name)}")
    finally:
        stepper.close()
    for m in mismatches:
        print(f"call_profile: FAILED: {m}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

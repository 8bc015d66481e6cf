#!/usr/bin/env python3
"""Where a hypercall's instructions go: boots bench.img under -icount with QEMU's gdb stub,
stops the meter at the first `hvc` of the first measured loop (after the warm-up) of each path
asked for, single-steps the call instruction by instruction until the guest resumes, and prints
how many instructions each function executed (docs/benchmarks.md, "Profiling a call").

usage: bench/call_profile.py [--build DIR] [--check RESULTS.json] [PATH...]
  PATH: unknown-function abi-version cap-identify cap-identify-empty notification-signal
        notification-poll (the single-call, single-core paths; default: all of them),
        or virtual-self-ipi (only when named)

virtual-self-ipi boots vgic-bench.img (one core) instead, stops its guest at the counter read
that starts a measured round (guests/vgic/main.cpp, bench_role) and single-steps, interrupts
enabled, until the counter read that ends it in the IRQ handler: the instructions the two reads
are apart, which is what the path's CNTVCT figure averages (the msr's trap, the kernel's SGI
path, the eret, the guest's exception entry). --check does not apply to it: its bench figure is
an average of counter ticks, not an exact count.

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
    def __init__(self, image, timeout, extra=()):
        scratch = tempfile.mkdtemp(prefix="bulkhead-profile.")
        self.paths = [os.path.join(scratch, "qmp"), os.path.join(scratch, "gdb")]
        cmd = qemu_session.qemu_command(image, True, list(extra) + [
            "-S", "-qmp", f"unix:{self.paths[0]},server=on,wait=off", "-gdb", f"unix:{self.paths[1]},server=on,wait=off"])
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


SELF_IPI = "virtual-self-ipi"
SELF_IPI_ROUND = 10  # the round traced (the 2nd, 10th, 100th and 1,000th take the same instructions)


def self_ipi_addresses(elf):
    """In the vgic guest: the counter read before bench_role's ICC_SGI1R_EL1 write (a round's
    start) and the first counter read of vgic_guest_irq (its end)."""
    out = subprocess.run(["aarch64-linux-gnu-objdump", "-d", "--no-show-raw-insn", elf],
                         check=True, capture_output=True, text=True).stdout
    start = end = last_read = None
    function = ""
    for line in out.splitlines():
        if line.endswith(">:"):
            function = line.split("<", 1)[1]
            continue
        if "\tmrs\t" in line and "cntvct_el0" in line:
            address = int(line.split(":")[0], 16)
            if function.startswith("vgic_guest_irq>") and end is None:
                end = address
            last_read = address
        elif "\tmsr\t" in line and "icc_sgi1r_el1" in line:
            start = last_read  # the last write is bench_role's (the roles before it send others)
    if start is None or end is None:
        raise SystemExit("call_profile: no self-IPI round found in the vgic guest")
    return start, end


def profile_self_ipi(args):
    guest = os.path.join(args.build, "aarch64", "guests", "vgic.elf")
    table = sorted(functions(os.path.join(args.build, "aarch64", "kernel", "bulkhead.elf")) + functions(guest))
    starts = [a for a, _ in table]
    start, end = self_ipi_addresses(guest)
    stepper = Stepper(os.path.join(args.build, "images", "vgic-bench.img"), args.timeout, ["-smp", "1"])
    try:
        # QEMU's gdb stub masks interrupts while it single-steps unless told otherwise: the
        # virtual IRQ the round ends with must be taken as in an undisturbed run.
        if stepper.gdb.request("Qqemu.sstep=1") != "OK":
            raise SystemExit("call_profile: the gdb stub cannot step with interrupts enabled")
        for _ in range(SELF_IPI_ROUND):
            stepper.run_to(start)
        counts, total = collections.Counter(), 0
        while total == 0 or stepper.reg(PC) != end:
            pc = stepper.reg(PC)
            counts[table[bisect.bisect_right(starts, pc) - 1][1]] += 1
            total += 1
            stepper.gdb.request("s")
            if total > 100_000:
                raise SystemExit("call_profile: the self-IPI never reached the guest's handler")
    finally:
        stepper.close()
    print(f"{SELF_IPI}: {total} instructions, from the counter read before the write to the handler's")
    for function, n in counts.most_common():
        print(f"  {n:6}  {function}")
    return 0


def main(argv):
    p = argparse.ArgumentParser(prog="bench/call_profile.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--check", metavar="RESULTS", help="results.json whose figures the traces must equal")
    p.add_argument("paths", nargs="*", default=list(PATHS))
    args = p.parse_args(argv)
    if args.paths == [SELF_IPI]:
        return profile_self_ipi(args)
    unknown = [name for name in args.paths if name not in PATHS]
    if unknown:
        p.error(f"not a single-call path (or {SELF_IPI} alone): {', '.join(unknown)}")
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

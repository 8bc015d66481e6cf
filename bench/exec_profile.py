#!/usr/bin/env python3
"""Where a window of a QEMU run's instructions go, by core and function, from QEMU's own
execution log (-d exec,in_asm,nochain -D LOG): every translation block executed, its size taken
from its translation. The window lies between the Nth and (N+1)th execution, on core MARK_CORE,
of an instruction at one of the MARK addresses.

usage: exec_profile.py LOG --mark-core C --mark ADDR[,ADDR..] --from N --per K
                       --elf CORE=ELF[,CORE=ELF..] --kernel ELF [--kernel-base 0x40100000]
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys


def symbols(elf):
    out = subprocess.run(["aarch64-linux-gnu-nm", "-n", "-C", elf], check=True, capture_output=True, text=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] in "tTwW":
            table.append((int(parts[0], 16), parts[2]))
    return [a for a, _ in table], [n for _, n in table]


def name_of(table, pc):
    addrs, names = table
    i = bisect.bisect_right(addrs, pc) - 1
    return names[i] if i >= 0 else hex(pc)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("log")
    p.add_argument("--mark-core", type=int, required=True)
    p.add_argument("--mark", required=True)
    p.add_argument("--from", dest="start", type=int, required=True, help="the window starts at the Nth mark (1-based)")
    p.add_argument("--per", type=int, default=1, help="operations in the window")
    p.add_argument("--elf", required=True, help="CORE=ELF for each core's guest")
    p.add_argument("--kernel", required=True)
    p.add_argument("--kernel-base", type=lambda s: int(s, 0), default=0x40100000)
    a = p.parse_args()
    marks = {int(x, 0) for x in a.mark.split(",")}
    guests = {int(c): symbols(e) for c, e in (kv.split("=") for kv in a.elf.split(","))}
    kernel = symbols(a.kernel)
    trace = re.compile(r"^Trace (\d+): (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
    insn = re.compile(r"^(0x[0-9a-f]+):\s")
    size_by_host, size_by_pc = {}, {}
    pending_pc, pending = None, []
    in_block = False
    seen_marks = 0
    counting = False
    counts = collections.Counter()
    total = 0
    with open(a.log, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                in_block, pending = True, []
                continue
            if in_block:
                m = insn.match(line)
                if m:
                    pending.append(int(m.group(1), 16))
                    continue
                if line.strip() == "" or line.startswith("---"):
                    if pending:
                        pending_pc = pending[0]
                        size_by_pc[pending_pc] = len(pending)
                        pending_pcs = list(pending)
                    in_block = False
                continue
            m = trace.match(line)
            if not m:
                continue
            core, host, pc = int(m.group(1)), m.group(2), int(m.group(3), 16)
            if host not in size_by_host and pending_pc == pc:
                size_by_host[host] = (size_by_pc[pc], pending_pcs)
            n, pcs = size_by_host.get(host, (size_by_pc.get(pc, 1), [pc]))
            if core == a.mark_core and any(x in marks for x in pcs):
                seen_marks += 1
                if seen_marks == a.start:
                    counting = True
                elif seen_marks == a.start + 1:
                    break
            if not counting:
                continue
            where = "EL2 " + name_of(kernel, pc) if pc >= a.kernel_base else "guest " + name_of(guests.get(core, kernel), pc)
            counts[(core, where)] += n
            total += n
    print(f"{total} instructions in the window, {total / a.per:.1f} per operation")
    per_core = collections.Counter()
    for (core, where), n in counts.items():
        per_core[(core, where.split()[0])] += n
    for (core, kind), n in sorted(per_core.items()):
        print(f"  core {core} {kind}: {n / a.per:.1f}")
    for (core, where), n in counts.most_common(40):
        print(f"  {n / a.per:9.1f}  core {core}  {where}")


if __name__ == "__main__":
    sys.exit(main())

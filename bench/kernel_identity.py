#!/usr/bin/env python3
"""Shows that the benchmark kernel measures the default kernel's code (docs/benchmarks.md).

usage: bench/kernel_identity.py KERNEL.elf BENCH-KERNEL.elf

Both ELFs are linked from the same objects plus their own guest_pmu.cpp
(kernel/arch/aarch64/guest_pmu.hpp). This compares them two ways:
  1. every loadable byte: they must differ only inside bh::aarch64::kMdcrPmuTraps (8 bytes of
     .rodata), so every instruction, the measured paths included, sits at the same address with
     the same encoding in both;
  2. the disassembly of every function (objdump -d), which must be identical; the functions on
     the measured paths are listed by name.
Prints what it found; exit 0 when both hold, 1 otherwise, 2 on a usage or tool error.
"""
import struct
import subprocess
import sys

ALLOWED = "_ZN2bh7aarch6413kMdcrPmuTrapsE"  # bh::aarch64::kMdcrPmuTraps
# Entry points of the measured paths that exist under these names in any layout of the kernel:
# the vectors, the register save/restore and the C++ exit handler. Every other function is
# compared as well; those of the hot paths are listed by the substrings below (of mangled names)
# when present.
REQUIRED = ("bh_el2_vectors", "guest_exit_common", "bh_guest_resume", "bh_guest_exit", "bh_core_loop")
PATH_SUBSTRINGS = ("guest_exit", "next_guest", "decode_exit", "decode_call", "handle_hypercall",
                   "handle_vendor_call", "handle_cap_call", "is_cap_call", "invoke", "identify", "lookup",
                   "notification_signal", "notification_poll", "notification_wait", "notification_invoked",
                   "map_frame", "unmap_frame", "7control", "take_down", "launch",
                   "reload_memory", "settle_off", "wake_waiter", "handle_psci")
OBJDUMP = "aarch64-linux-gnu-objdump"
NM = "aarch64-linux-gnu-nm"


def load_segments(path):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError(f"{path}: not an ELF64 file")
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == 1:  # PT_LOAD
            segments.append((p_vaddr, p_memsz, data[p_offset:p_offset + p_filesz]))
    return segments


def symbols(path):
    out = subprocess.run([NM, "-S", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            table.append((int(parts[0], 16), int(parts[1], 16), parts[2], parts[3]))
        elif len(parts) == 3:
            table.append((int(parts[0], 16), 0, parts[1], parts[2]))
    return table


def functions(path):
    """{symbol: disassembly lines} from objdump -d."""
    out = subprocess.run([OBJDUMP, "-d", path], check=True, capture_output=True, text=True).stdout
    funcs, current = {}, None
    for line in out.splitlines():
        if line.endswith(">:") and " <" in line:
            current = line.split(" <", 1)[1][:-2]
            funcs[current] = []
        elif current is not None and line.strip():
            funcs[current].append(line)
    return funcs


def compare(kernel, bench):
    errors, report = [], []
    a, b = load_segments(kernel), load_segments(bench)
    if [(v, m, len(d)) for v, m, d in a] != [(v, m, len(d)) for v, m, d in b]:
        return [f"the loadable segments differ in address or size: {[(hex(v), m) for v, m, _ in a]} vs "
                f"{[(hex(v), m) for v, m, _ in b]}"], report
    table = symbols(kernel)
    allowed = [(addr, size) for addr, size, _, name in table if name == ALLOWED]
    if not allowed:
        return [f"{kernel}: no symbol {ALLOWED}"], report
    lo, size = allowed[0]
    differing = [v + i for (v, _, da), (_, _, db) in zip(a, b) for i in range(len(da)) if da[i] != db[i]]
    stray = [x for x in differing if not lo <= x < lo + size]
    loaded = sum(len(d) for _, _, d in a)
    if stray:
        def owner(x):
            for addr, sz, _, name in table:
                if addr <= x < addr + max(sz, 1):
                    return name
            return "?"
        errors.append(f"{len(stray)} loadable bytes differ outside {ALLOWED}, first at {stray[0]:#x} ({owner(stray[0])})")
    else:
        report.append(f"loadable bytes: {loaded - len(differing)} of {loaded} identical; the other "
                      f"{len(differing)} lie in bh::aarch64::kMdcrPmuTraps ({size} bytes at {lo:#x})")
    fa, fb = functions(kernel), functions(bench)
    if set(fa) != set(fb):
        errors.append(f"the kernels have different functions: {sorted(set(fa) ^ set(fb))[:5]}")
    different = sorted(name for name in fa if name in fb and fa[name] != fb[name])
    if different:
        errors.append(f"{len(different)} functions disassemble differently: {different[:5]}")
    missing = [name for name in REQUIRED if name not in fa]
    if missing:
        errors.append(f"entry points of the measured paths not found: {missing}")
    demangled = dict(zip(fa, subprocess.run(["c++filt"], input="\n".join(fa), capture_output=True, text=True,
                                               check=True).stdout.splitlines()))
    on_path = [n for n in fa if n in REQUIRED or any(s in n for s in PATH_SUBSTRINGS)]
    if not different:
        report.append(f"disassembly: all {len(fa)} functions identical, among them the measured paths':")
        for name in sorted(on_path, key=lambda n: demangled[n]):
            report.append(f"  {demangled[name]} ({len(fa[name])} instructions)")
    return errors, report


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        errors, report = compare(*argv)
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        print(f"kernel_identity: {e}", file=sys.stderr)
        return 2
    for line in report:
        print(line)
    for e in errors:
        print(f"kernel_identity: FAILED: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

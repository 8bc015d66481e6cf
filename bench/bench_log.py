"""What a benchmark run printed, and the figures it gives (docs/benchmarks.md, "Method").

The benchmark guest (guests/bench) and the floor program (bench/floor) print, each on a line
of its own (the kernel may prefix a partition's lines with `[name] `):

  bench start mode pmu|counter
  bench calibration iterations N total T el2 E
  bench path NAME iterations N total T el2 E empty-total T0 empty-el2 E0 status S expect X
  bench partner round-trips M guest G
  bench restart K status S call C
  bench started restart K entry V
  bench done
  bench FAILED <why>

T and E are counter differences over a loop (PMU: instructions at every EL / at EL2 only;
counter mode: CNTVCT ticks, E = 0), T0 and E0 those of the loop's empty twin. C is the
controller's run counter just before its K-th PartitionRestart call, V the target's as its
K-th restarted run began (guests/bench/loops.S, bench_entry). Everything here is a pure
function of the log text and the counters read at power-off, so bench/test_bench.py checks it
on canned inputs.
"""
import re

CALIBRATION_PER_ITERATION = 4  # guests/bench/loops.S, bench_calibrate_*
CALIBRATION_AROUND = 3
TICK = 16  # instructions per CNTVCT tick under -icount shift=0 (62.5 MHz counter, 1 ns each)

LINE = re.compile(r"^(?:\[[^\]]*\] )?bench (\S+)(?: (.*))?$")


class BenchError(Exception):
    pass


def _fields(text):
    words = text.split()
    if len(words) % 2:
        raise BenchError(f"malformed bench line: {text!r}")
    return {words[i]: words[i + 1] for i in range(0, len(words), 2)}


def _int(fields, key, line):
    try:
        return int(fields[key])
    except (KeyError, ValueError):
        raise BenchError(f"bench line without a number for {key!r}: {line!r}")


class Log:
    """The bench lines of one run, parsed."""

    def __init__(self, text):
        self.mode = None
        self.calibrations = []  # (iterations, total, el2)
        self.paths = {}  # name -> [run dict]
        self.partner = None  # (round trips, guest instructions)
        self.restarts = {}  # k -> (status, controller's run counter before the call)
        self.entries = {}  # k -> target's run counter as its k-th restarted run began
        self.failures = []
        self.done = False
        for raw in text.splitlines():
            line = raw.rstrip("\r")
            m = LINE.match(line)
            if not m:
                continue
            kind, rest = m.group(1), m.group(2) or ""
            if kind == "FAILED":
                self.failures.append(rest)
            elif kind == "done":
                self.done = True
            elif kind == "start":
                self.mode = _fields(rest).get("mode")
            elif kind == "calibration":
                f = _fields(rest)
                self.calibrations.append((_int(f, "iterations", line), _int(f, "total", line), _int(f, "el2", line)))
            elif kind == "path":
                name, _, rest = rest.partition(" ")
                f = _fields(rest)
                run = {k: _int(f, k, line) for k in
                       ("iterations", "total", "el2", "empty-total", "empty-el2", "status", "expect")}
                self.paths.setdefault(name, []).append(run)
            elif kind == "partner":
                f = _fields(rest)
                self.partner = (_int(f, "round-trips", line), _int(f, "guest", line))
            elif kind == "restart":
                k, _, rest = rest.partition(" ")
                f = _fields(rest)
                self.restarts[int(k)] = (_int(f, "status", line), _int(f, "call", line))
            elif kind == "started":
                f = _fields(rest)
                self.entries[_int(f, "restart", line)] = _int(f, "entry", line)


def check_calibration(log):
    """Errors of the calibration loops: a run whose counters are off measures nothing."""
    errors = []
    if len(log.calibrations) < 2 or len({n for n, _, _ in log.calibrations}) < 2:
        errors.append("calibration failed: fewer than two calibration loops of different lengths were run")
    for n, total, el2 in log.calibrations:
        expected = CALIBRATION_PER_ITERATION * n + CALIBRATION_AROUND
        if log.mode == "counter":
            # A tick difference is within 15 instructions of the truth on either side.
            if abs(total * TICK - expected) > TICK - 1:
                errors.append(f"calibration failed: {n} iterations took {total} ticks = {total * TICK} "
                              f"instructions, expected {expected} (within {TICK - 1})")
        elif total != expected or el2 != 0:
            errors.append(f"calibration failed: {n} iterations counted {total} instructions ({el2} at EL2), "
                          f"expected exactly {expected} (0 at EL2)")
    return errors


def _per_iteration(value, iterations, what, errors):
    if iterations <= 0 or value % iterations:
        errors.append(f"{what}: {value} instructions over {iterations} iterations is not a whole number per "
                      f"iteration (iterations differ)")
    return value // iterations if iterations > 0 else 0


def path_figures(log, name, cross_core):
    """(instructions, el2 or None, iterations, errors) of one PMU-mode path, from its runs.

    Each path is run twice. A single-core path must give the same counts both times. A path
    spanning two cores may differ when QEMU's scheduler kick (every 10^8 instructions) let one
    more idle-loop pass into one window: the lower count is the kick-free one.
    """
    errors = []
    runs = log.paths.get(name)
    if not runs:
        return None, None, 0, [f"{name}: not measured (no result line)"]
    for r in runs:
        if r["status"] != r["expect"]:
            errors.append(f"{name}: the calls returned status {r['status']}, expected {r['expect']}")
    if not cross_core and any(r != runs[0] for r in runs):
        errors.append(f"{name}: the runs of a single-core path differ: {runs}")
    best = min(runs, key=lambda r: (r["total"], r["empty-total"]))
    n = best["iterations"]
    total = _per_iteration(best["total"] - best["empty-total"], n, name, errors)
    if not cross_core:
        if best["empty-el2"] != 0:
            errors.append(f"{name}: the empty loop counted {best['empty-el2']} EL2 instructions (expected 0)")
        return total, _per_iteration(best["el2"] - best["empty-el2"], n, f"{name} (EL2)", errors), n, errors
    # Two cores: every instruction is the meter's at EL1, the partner's at EL1, or EL2 work of
    # either core. The meter's EL2-filtered counter also counts the partner while the meter
    # waits, so its guest share is what that counter did not see.
    meter_guest = total - _per_iteration(best["el2"] - best["empty-el2"], n, f"{name} (EL2)", errors)
    if log.partner is None:
        errors.append(f"{name}: the partner did not report its own instructions")
        return total, None, n, errors
    trips, guest = log.partner
    partner_guest = _per_iteration(guest - 1, trips, f"{name} (partner)", errors)  # 1: its last read
    return total, total - meter_guest - partner_guest, n, errors


def counter_estimate(log, name):
    """Instructions per iteration of a counter-mode path, as a float, and its error bound."""
    runs = log.paths.get(name)
    if not runs:
        return None, None
    best = min(runs, key=lambda r: (r["total"], r["empty-total"]))
    n = best["iterations"]
    # Each tick difference is within TICK - 1 instructions of the truth: two of them per figure.
    return TICK * (best["total"] - best["empty-total"]) / n, 2 * (TICK - 1) / n


def check_run(log):
    """Errors that make the whole run worthless, whatever the figures say."""
    errors = [f"the guest reported: {f}" for f in log.failures]
    if not log.done:
        errors.append("the run did not finish (no `bench done` line)")
    errors += [f"restart {k} returned status {s}" for k, (s, _) in sorted(log.restarts.items()) if s != 0]
    return errors + check_calibration(log)


class Entry:
    """Where the run counter starts and is read in guests/bench/loops.S (bench_entry): the
    instruction numbers, from 1 for the partition's first, of the read and of the start."""

    def __init__(self, symbols):
        self.read = (symbols["bench_entry_read"] - symbols["bench_entry"]) // 4 + 1
        self.enable = (symbols["bench_entry_enable"] - symbols["bench_entry"]) // 4 + 1


def started(run_counter_at_end, total):
    """The global instruction count at which a core's run counter started: it has counted
    every instruction since (docs/benchmarks.md, "Across cores")."""
    return total - run_counter_at_end


def boot_figure(entry, run_counters, total):
    """Instructions executed before the first partition instruction of all: each core's run
    counter started at its partition's `entry.enable`-th instruction, consecutive with the first."""
    starts = [started(c, total) - entry.enable for c in run_counters.values() if c != 0]
    return min(starts) if starts else None


def restart_figures(log, entry, run_counters, total, controller, target):
    """Instructions from the controller's call (its `hvc`, the instruction after its reading)
    to the target's first instruction of the restarted run, one per restart, and errors."""
    errors, figures = [], []
    for k in sorted(log.restarts):
        if k not in log.entries:
            errors.append(f"restart {k}: the target did not report the start of its run")
            continue
        call = log.restarts[k][1] + started(run_counters[controller], total) + 1
        first = log.entries[k] + started(run_counters[target], total) - (entry.read - 1)
        figures.append(first - call)
    return figures, errors

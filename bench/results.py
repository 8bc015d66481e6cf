"""results.json (schema 1, docs/benchmarks.md "results.json") and the printed table."""
import os
import subprocess

import bench_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def qemu_version():
    out = subprocess.run(["qemu-system-aarch64", "--version"], capture_output=True, text=True).stdout
    first = out.splitlines()[0] if out else ""
    return first.replace("QEMU emulator version ", "")


def commit():
    def git(*a):
        return subprocess.run(["git", "-C", ROOT] + list(a), capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + ("-dirty" if dirty else "")


def document(spec, figures, floor_el2, budgets, log, checks):
    """The results document of one run: `figures` {name: (instructions, el2, iterations)}."""
    peer = spec["peer"]
    paths = []
    for p in spec["paths"]:
        if p["name"] not in figures:
            continue
        instructions, el2, iterations = figures[p["name"]]
        per_call_floor = p["figure"] == "el2" and p.get("hypercalls") and floor_el2 is not None
        paths.append({
            "name": p["name"],
            "unit": p["unit"],
            "instructions": instructions,
            "el2_instructions": el2,
            "iterations": iterations,
            "budget": budgets.get(p["name"]),
            "reference": {
                "floor": floor_el2 * p["hypercalls"] if per_call_floor else None,
                "bao": peer["el2_instructions"] if p.get("bao") else None,
            },
            "goal": p.get("goal"),
        })
    n_iter = bench_log.CALIBRATION_PER_ITERATION
    calibration = {
        "method": "INST_RETIRED (PMU event 0x08) read by the benchmark guest, counter 0 at every EL "
                  "(PMEVTYPER.NSH=1), counter 1 at EL2 only; QEMU -icount shift=0,sleep=off",
        "loop": f"{n_iter} instructions per iteration + {bench_log.CALIBRATION_AROUND}",
        "runs": [{"iterations": n, "instructions": total, "expected": n_iter * n + bench_log.CALIBRATION_AROUND,
                  "el2_instructions": el2} for n, total, el2 in (log.calibrations if log else [])],
        "floor_el2_per_hypercall": floor_el2,
    }
    calibration.update(checks)
    return {"schema": 1, "qemu": qemu_version(), "cpu": "cortex-a53", "commit": commit(),
            "calibration": calibration, "paths": paths}


def _ratio(figure, reference):
    if figure is None or not reference:
        return "-"
    return f"{figure / reference:.2f}x"


def table(spec, doc):
    by_name = {p["name"]: p for p in spec["paths"]}
    head = ("path", "unit", "instr", "EL2", "floor", "/floor", "Bao", "/Bao", "goal", "budget")
    rows = [head]
    for r in doc["paths"]:
        p = by_name[r["name"]]
        figure = r["el2_instructions"] if p["figure"] == "el2" else r["instructions"]
        over = r["budget"] is not None and r["instructions"] > r["budget"]
        rows.append((r["name"], r["unit"], f"{r['instructions']:,}",
                     "-" if r["el2_instructions"] is None else f"{r['el2_instructions']:,}",
                     "-" if r["reference"]["floor"] is None else str(r["reference"]["floor"]),
                     _ratio(figure, r["reference"]["floor"]),
                     "-" if r["reference"]["bao"] is None else str(r["reference"]["bao"]),
                     _ratio(figure, r["reference"]["bao"]),
                     "-" if r["goal"] is None else f"{r['goal']:,}",
                     ("-" if r["budget"] is None else f"{r['budget']:,}") + (" OVER" if over else "")))
    measured = {r["name"] for r in doc["paths"]}
    for p in spec["paths"]:
        if p.get("optional") and p["name"] not in measured:
            rows.append((p["name"], p["unit"], "pending", "(not measured this run: bench/run --linux)", "", "", "", "", "", ""))
    for p in spec.get("pending", []):
        rows.append((p["name"], p["unit"], "pending", f"(awaits {p['awaits']})", "", "", "", "", "", ""))
    widths = [max(len(row[i]) for row in rows if not row[2] == "pending" or i < 3) for i in range(len(head))]
    lines = []
    for row in rows:
        if row[2] == "pending":
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]} {row[3]}")
            continue
        cells = [f"{c:<{widths[i]}}" if i < 2 else f"{c:>{widths[i]}}" for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    notes = [
        "",
        "instr: instructions per operation, every core, every EL (guest and kernel); EL2: the kernel's share",
        "(for the round trip: both cores' EL2 work). /floor and /Bao compare the EL2 share where there is one,",
        "else instr; floor: a bare-eret EL2 vector per hypercall (measured, bench/floor); Bao "
        f"{spec['peer']['commit']}: {spec['peer']['el2_instructions']} EL2 instructions, {spec['peer']['what']}.",
    ]
    return "\n".join(lines + notes)


def over_budget(doc):
    errors = []
    for r in doc["paths"]:
        if r["budget"] is None:
            errors.append(f"{r['name']}: no budget recorded in bench/budgets.json")
        elif r["instructions"] > r["budget"]:
            errors.append(f"{r['name']}: {r['instructions']} instructions {r['unit']} exceed the budget of {r['budget']}")
    return errors

"""The TCB report (docs/evidence.md "TCB"): what runs at EL2, measured from a cross build.

Everything here is read from the build, not typed: the files from the compile database and
ninja's dependency log, the sections and symbols from the ELF, the lines each function's code
comes from from its DWARF line table, the trap-handling code as what the exception vectors'
call graph reaches (from the disassembly), and the hypercall handlers from the `case` of each
ABI function in the kernel's sources, located in the ELF through the line table.
"""
from __future__ import annotations

import bisect
import json
import os
import re
import shutil
import subprocess

CROSS = "aarch64-linux-gnu-"
COMPONENTS = (("arch", "kernel/arch/aarch64/"), ("caps", "kernel/caps/"), ("generic", "kernel/"))


def run(cmd, cwd=None) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=True).stdout


def code_lines(path: str) -> int:
    """Non-blank lines that are not only a comment."""
    text = re.sub(r"/\*.*?\*/", "", open(path, encoding="utf-8", errors="replace").read(), flags=re.S)
    lines = [l.split("//")[0].strip() for l in text.splitlines()]
    return sum(1 for l in lines if l)


def component(rel: str) -> str:
    for name, prefix in COMPONENTS:
        if rel.startswith(prefix):
            return name
    return "generic"


def _kernel_object(text: str) -> bool:
    """Whether a compile command or deps line is of the kernel image: the objects compiled once for
    every kernel (bulkhead_objects.dir, kernel/CMakeLists.txt), the release variant of the sources
    the debug kernel compiles differently (bulkhead_release_objects.dir) and bulkhead.elf's own (its
    guest_pmu.cpp; before the benchmark kernel, every object was in bulkhead.dir). Never the debug
    kernel's (bulkhead_debug_objects.dir)."""
    return any(d in text for d in ("/bulkhead_objects.dir/", "/bulkhead_release_objects.dir/", "/bulkhead.dir/"))


def tcb_files(root: str, cross: str) -> list[str]:
    """Repository files compiled into the kernel image: its sources (compile database), the
    repository headers they include (ninja's deps log) and the linker script."""
    db = json.load(open(os.path.join(cross, "compile_commands.json")))
    sources = {os.path.realpath(e["file"]) for e in db if _kernel_object(e.get("command", "") + e.get("output", ""))}
    deps = run(["ninja", "-C", cross, "-t", "deps"])
    headers, in_kernel = set(), False
    build = os.path.realpath(cross)
    for line in deps.splitlines():
        if line and not line.startswith(" "):
            in_kernel = _kernel_object(line)
        elif in_kernel and line.strip():
            d = os.path.realpath(os.path.join(cross, line.strip()))
            if d.startswith(root + os.sep) and not d.startswith(build + os.sep):
                headers.add(d)
    linker = os.path.join(root, "kernel", "arch", "aarch64", "linker.ld")
    files = sources | headers | ({linker} if os.path.exists(linker) else set())
    return sorted(os.path.relpath(p, root) for p in files)


def lines_by_component(root: str, files: list[str]) -> tuple[list, dict]:
    rows = [(f, code_lines(os.path.join(root, f)), component(f)) for f in files]
    totals = {name: 0 for name, _ in COMPONENTS}
    for _, n, c in rows:
        totals[c] += n
    return rows, totals


def sections(elf: str) -> list[dict]:
    out = []
    for line in run([CROSS + "readelf", "-S", "-W", elf]).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(5):
            out.append({"name": m.group(1), "type": m.group(2), "address": int(m.group(3), 16), "size": int(m.group(4), 16)})
    return out


def size_totals(elf: str) -> dict:
    text, data, bss = run([CROSS + "size", elf]).splitlines()[-1].split()[:3]
    return {"text": int(text), "data": int(data), "bss": int(bss)}


# ------------------------------------------------------------------------- symbols and code

def functions(elf: str) -> list[dict]:
    """Code symbols with address and size (asm labels without a size run to the next symbol)."""
    syms = []
    for line in run([CROSS + "nm", "-C", "-S", "-n", "--defined-only", elf]).splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in "tTW":
            syms.append({"address": int(parts[0], 16), "size": int(parts[1], 16), "name": parts[3]})
        elif len(parts) >= 3 and parts[1] in "tT":
            syms.append({"address": int(parts[0], 16), "size": 0, "name": line.split(" ", 2)[2]})
    syms.sort(key=lambda s: s["address"])
    for i, s in enumerate(syms):
        if s["size"] == 0 and i + 1 < len(syms):
            s["size"] = syms[i + 1]["address"] - s["address"]
    return syms


def line_table(elf: str) -> list[tuple]:
    """(address, file basename, line) for every row of the DWARF line program."""
    rows = []
    for line in run([CROSS + "objdump", "--dwarf=decodedline", elf]).splitlines():
        m = re.match(r"^(\S+)\s+(\d+)\s+0x([0-9a-f]+)", line)
        if m:
            rows.append((int(m.group(3), 16), m.group(1), int(m.group(2))))
    rows.sort()
    return rows


def call_graph(elf: str, syms: list[dict]) -> dict:
    """name -> set of names it calls (bl) or branches to at their start (b, b.cond, cbz, cbnz,
    tbz, tbnz: a tail call, or an assembly label the vectors branch to)."""
    starts = {s["address"]: s["name"] for s in syms}
    edges, current = {}, None
    for line in run([CROSS + "objdump", "-d", "--no-show-raw-insn", elf]).splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            current = starts.get(int(m.group(1), 16), m.group(2))
            edges.setdefault(current, set())
            continue
        m = re.search(r"\s(bl|b|b\.\w+|cbn?z|tbn?z)\s+(?:[wx]\d+, )?(?:#\d+, )?([0-9a-f]+) <", line)
        if m and current is not None:
            target = starts.get(int(m.group(2), 16))
            if target is not None and target != current:
                edges[current].add(target)
    return edges


def reachable(edges: dict, roots: list[str]) -> set:
    seen, todo = set(), [r for r in roots if r in edges]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(edges.get(n, ()))
    return seen


def function_lines(sym: dict, table: list[tuple], addresses: list[int]) -> set:
    lo = bisect.bisect_left(addresses, sym["address"])
    hi = bisect.bisect_left(addresses, sym["address"] + sym["size"])
    return {(f, l) for _, f, l in table[lo:hi]}


# ---------------------------------------------------------------------- hypercall handlers

def abi_functions(root: str) -> list[tuple]:
    """(name, function ID, case pattern) of every hypercall and emulated PSCI call."""
    text = open(os.path.join(root, "kernel/include/bulkhead/hypercall.hpp"), encoding="utf-8").read()
    out = []
    for name, op in re.findall(r"^\s*(\w+) = kVendorBase \| (0x[0-9A-Fa-f]+),", text, re.M):
        # Decoded by `case F::<name>` (F = hvc::Function), invoked by `case CallId::<name>`.
        out.append((name, 0xC6000000 | int(op, 16), rf"(?:hvc::Function|F|CallId)::{name}\b"))
    for name, value in re.findall(r"inline constexpr u64 (k\w+) = (0x[0-9A-F']+);", text):
        out.append((f"PSCI {name[1:]}", int(value.replace("'", ""), 16), rf"(?:hvc::)?psci::{name}\b"))
    return out


def case_arms(root: str, files: list[str], pattern: str) -> list[tuple]:
    """(file, first line, last line) of each `case <pattern>:` arm in the kernel's .cpp files."""
    arms = []
    for rel in files:
        # The audit log's call classes name every call too, but handle none.
        if not rel.endswith(".cpp") or rel.startswith("kernel/audit/"):
            continue
        lines = open(os.path.join(root, rel), encoding="utf-8").read().splitlines()
        for i, l in enumerate(lines):
            m = re.search(r"\bcase\s+" + pattern + r"\s*:(.*)$", l)
            if m:
                j = i + 1
                depth = l.count("{") - l.count("}")
                # A case that falls through to the next shares its arm.
                body = m.group(1).split("//")[0].strip() not in ("", "{")
                while j < len(lines):
                    s = lines[j].strip()
                    if depth <= 0 and (s.startswith("case ") or s.startswith("default") or s == "}"):
                        if body or not s.startswith("case "):
                            break
                    elif s and not s.startswith("//"):
                        body = True
                    depth += lines[j].count("{") - lines[j].count("}")
                    j += 1
                arms.append((rel, i + 1, j))
    if not arms:  # dispatched by an `if` rather than a case: the line that names it
        for rel in files:
            if rel.endswith(".cpp") and not rel.startswith("kernel/include/"):
                for i, l in enumerate(open(os.path.join(root, rel), encoding="utf-8").read().splitlines()):
                    if re.search(pattern, l) and "return handle_" in l:
                        arms.append((rel, i + 1, i + 1))
    return arms


def report(root: str, build: str) -> dict:
    cross = os.path.join(build, "aarch64")
    elf = os.path.join(cross, "kernel", "bulkhead.elf")
    files = tcb_files(root, cross)
    rows, totals = lines_by_component(root, files)
    syms = functions(elf)
    table = line_table(elf)
    addresses = [a for a, _, _ in table]
    by_name = {s["name"]: s for s in syms}
    edges = call_graph(elf, syms)
    roots = [s["name"] for s in syms if re.match(r"^(bh_guest_exit|bh_el2_exception|bh_irq\w*|lower_\w+|cur_\w+)$", s["name"])]
    trap = sorted(reachable(edges, roots))
    handlers = []
    for name in trap:
        s = by_name.get(name)
        if s is None:
            continue
        fl = function_lines(s, table, addresses)
        handlers.append({"symbol": name, "bytes": s["size"], "lines": len(fl),
                         "files": sorted({f for f, _ in fl})})
    # Each ABI function: the symbol whose code carries the lines of its `case` arm.
    calls = []
    for name, fid, pattern in abi_functions(root):
        for rel, first, last in case_arms(root, files, pattern):
            base = os.path.basename(rel)
            spans = {}
            for k, (a, f, l) in enumerate(table):
                if f == base and first <= l <= last and k + 1 < len(table) and table[k + 1][0] > a:
                    spans[a] = table[k + 1][0] - a
            hits = sorted(spans)
            owner = None
            if hits:
                i = bisect.bisect_right([s["address"] for s in syms], hits[0]) - 1
                owner = syms[i]["name"] if i >= 0 else None
            arm_lines = sum(1 for l in open(os.path.join(root, rel), encoding="utf-8").read().splitlines()[first - 1:last]
                            if l.split("//")[0].strip())
            calls.append({"call": name, "id": f"0x{fid:08X}", "source": f"{rel}:{first}", "arm_lines": arm_lines,
                          "symbol": owner, "code_bytes": sum(spans.values())})
    return {
        "elf": os.path.relpath(elf, root),
        "size": size_totals(elf),
        "sections": sections(elf),
        "files": [{"path": p, "lines": n, "component": c} for p, n, c in rows],
        "components": totals,
        "total_lines": sum(totals.values()),
        "trap_roots": roots,
        "trap_handlers": handlers,
        "hypercalls": calls,
    }


# ------------------------------------------------------------------------------- history

def sample_commits(root: str, step: int, most: int) -> list[str]:
    """Every `step`-th first-parent commit from the root, and HEAD; the `most` most recent of
    them. Positions are counted from the root, so a sample stays a sample as history grows and
    its cached measurement is reused."""
    commits = run(["git", "rev-list", "--first-parent", "--reverse", "HEAD"], cwd=root).split()
    picked = [c for i, c in enumerate(commits) if i % step == 0]
    if commits and commits[-1] not in picked:
        picked.append(commits[-1])
    return picked[-most:]


def measure_commit(root: str, sha: str, work: str, log) -> dict:
    """Builds `sha`'s kernel in a temporary worktree under `work` and measures it."""
    tree = os.path.join(work, f"wt-{sha[:12]}")
    info = {"commit": sha}
    subject = run(["git", "log", "-1", "--format=%h%x09%ad%x09%s", "--date=short", sha], cwd=root).strip().split("\t")
    info.update({"short": subject[0], "date": subject[1], "subject": subject[2]})
    subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=root, capture_output=True)
    shutil.rmtree(tree, ignore_errors=True)
    try:
        run(["git", "worktree", "add", "--detach", tree, sha], cwd=root)
        cross = os.path.join(tree, "build", "aarch64")
        log(f"tcb history: building {info['short']} {info['subject'][:60]}")
        subprocess.run(["cmake", "-S", tree, "-B", cross, "-G", "Ninja",
                        f"-DCMAKE_TOOLCHAIN_FILE={tree}/cmake/aarch64-linux-gnu.cmake", "-DCMAKE_BUILD_TYPE=Release",
                        "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"], capture_output=True, text=True, check=True)
        subprocess.run(["nice", "cmake", "--build", cross, "--target", "bulkhead"], capture_output=True, text=True, check=True)
        elf = os.path.join(cross, "kernel", "bulkhead.elf")
        files = tcb_files(os.path.realpath(tree), cross)
        _, totals = lines_by_component(tree, files)
        info.update({"ok": True, "components": totals, "total_lines": sum(totals.values()), "size": size_totals(elf)})
    except (subprocess.CalledProcessError, OSError, ValueError) as e:
        info.update({"ok": False, "error": str(e)[:300]})
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=root, capture_output=True)
        shutil.rmtree(tree, ignore_errors=True)
    return info


def history(root: str, cache: str, step: int, most: int, build_missing: bool, log=print) -> list[dict]:
    """One measurement per sampled commit, cached in `cache`/<sha>.json (never rebuilt)."""
    os.makedirs(cache, exist_ok=True)
    out = []
    for sha in sample_commits(root, step, most):
        path = os.path.join(cache, f"{sha}.json")
        if os.path.exists(path):
            out.append(json.load(open(path)))
        elif build_missing:
            info = measure_commit(root, sha, cache, log)
            json.dump(info, open(path, "w"), indent=1)
            out.append(info)
    return out


def render_text(r: dict) -> str:
    out = ["Bulkhead TCB report: code running at EL2",
           f"image {r['elf']}: text {r['size']['text']} B, data {r['size']['data']} B, bss {r['size']['bss']} B", "",
           "lines by component: " + ", ".join(f"{k} {v}" for k, v in r["components"].items()) +
           f"; total {r['total_lines']}", "", "sections (allocated):"]
    out += [f"  {s['name']:<20} {s['size']:>8} B  at 0x{s['address']:x}" for s in r["sections"]]
    out += ["", f"{'lines':>6}  file"]
    out += [f"{f['lines']:>6}  {f['path']}  [{f['component']}]" for f in r["files"]]
    out += ["", "trap handling: every function the exception vectors reach (bytes, source lines its code comes from)"]
    out += [f"  {h['bytes']:>6} B {h['lines']:>5} lines  {h['symbol']}" for h in r["trap_handlers"]]
    out += ["", "hypercalls and emulated PSCI calls: the handler symbol holding each call's case arm"]
    out += [f"  {c['id']}  {c['call']:<20} {c['arm_lines']:>3} lines  {c['code_bytes']:>5} B  {c['source']}  in {c['symbol']}"
            for c in r["hypercalls"]]
    return "\n".join(out)

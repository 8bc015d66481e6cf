"""The evidence dossier (docs/evidence.md): one static HTML page from what the build, the tests,
the proofs, the fuzz campaigns, the coverage runs, the benchmarks and the red team left behind.

Collectors read outputs; `render` writes the page. The page needs no network: its style,
script and plots (SVG, svg.py) are inline, so it works from a file URL.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import time
from html import escape

import svg
import tcb
import traceability as tr

SECTIONS = ("summary", "tcb", "traceability", "proofs", "fuzzing", "coverage", "bench", "redteam", "repro")


# ------------------------------------------------------------------------------ collectors

def collect_proofs(build: str) -> dict:
    """Rows of build/proofs/report*.txt (bulkhead-proofs): group, subject, claim, verdict, seconds."""
    reports = sorted(glob.glob(os.path.join(build, "proofs", "report*.txt")))
    out = {"reports": [], "rows": []}
    row = re.compile(r"^(model|lemma)\s+(.{26})\s(.*?)\s+(proved|COUNTEREXAMPLE|UNKNOWN|satisfiable|VACUOUS)\s+([0-9.]+)\s*(.*)$")
    concrete = re.compile(r"^concrete check (\S+): proof: (holds|VIOLATED)(.*?)(\d+) z3 queries, ([0-9.]+) s")
    for path in reports:
        name = os.path.basename(path)[len("report"):-len(".txt")].lstrip("-") or "model"
        rows = []
        for line in open(path, encoding="utf-8", errors="replace"):
            c = concrete.match(line)
            if c:
                rows.append({"group": "concrete", "subject": os.path.basename(c.group(1)), "claim": c.group(3).strip(" :;"),
                             "verdict": "proved" if c.group(2) == "holds" else "VIOLATED", "seconds": float(c.group(5)),
                             "note": f"{c.group(4)} z3 queries, all 2^40 IPAs"})
                continue
            m = row.match(line.rstrip("\n"))
            if m:
                rows.append({"group": m.group(1), "subject": m.group(2).strip(), "claim": m.group(3).strip(),
                             "verdict": m.group(4).strip(), "seconds": float(m.group(5)), "note": m.group(6).strip()})
        out["reports"].append({"name": name, "queries": len(rows), "seconds": sum(r["seconds"] for r in rows),
                               "verdicts": {v: sum(1 for r in rows if r["verdict"] == v) for v in {r["verdict"] for r in rows}},
                               "mtime": os.path.getmtime(path)})
        if name in ("model", "lemmas", "demo"):
            out["rows"] += [dict(r, report=name) for r in rows]
    return out


FUZZ_LINE = re.compile(r"^#(\d+):?\s+(?:\w+\s+)?cov: (\d+) ft: (\d+) corp: (\d+)(?:/\S+)?.*?exec/s: (\d+)")


def collect_fuzz(fuzz_build: str) -> list[dict]:
    """Each campaign left by fuzz/tools/campaign: executions, coverage over executions, findings."""
    out = []
    for work in sorted(glob.glob(os.path.join(fuzz_build, "campaigns", "*"))):
        logf = os.path.join(work, "libfuzzer.log")
        if os.path.exists(os.path.join(work, "afl", "main", "plot_data")):
            out.append(_afl_campaign(work))
            continue
        if not os.path.exists(logf):
            continue
        points = []
        for line in open(logf, errors="replace"):
            m = FUZZ_LINE.match(line)
            if m:
                points.append((int(m.group(1)), int(m.group(2)), int(m.group(5))))
        text = open(logf, errors="replace").read()
        execs = points[-1][0] if points else 0
        m = re.search(r"stat::number_of_executed_units: (\d+)", text)
        if m:
            execs = max(execs, int(m.group(1)))
        findings = sorted(os.path.basename(f) for f in glob.glob(os.path.join(work, "findings", "*"))
                          if os.path.basename(f).split("-")[0] in ("crash", "timeout", "oom", "leak", "slow"))
        report = os.path.join(work, "coverage", "report.txt")
        line_cov = None
        if os.path.exists(report):
            total = [l for l in open(report) if l.startswith("TOTAL")]
            if total:
                line_cov = total[0].split()[-4] if len(total[0].split()) >= 10 else None
        out.append({"target": os.path.basename(work), "execs": execs, "rate": points[-1][2] if points else 0,
                    "coverage": [(p[0], p[1]) for p in points], "x": "executions", "edges": points[-1][1] if points else 0,
                    "features": 0, "findings": findings, "line_coverage": line_cov, "log": logf,
                    "mtime": os.path.getmtime(logf)})
    return out


def _afl_campaign(work: str) -> dict:
    """An AFL++ campaign (make fuzz ENGINE=afl): the main instance's plot_data (edges over time),
    every instance's fuzzer_stats (executions), the findings the campaign script copied out."""
    plot = os.path.join(work, "afl", "main", "plot_data")
    lines = open(plot, errors="replace").read().splitlines()
    header = [h.strip() for h in lines[0].lstrip("#").split(",")] if lines and lines[0].startswith("#") else []
    col = {name: i for i, name in enumerate(header)}
    points, rate = [], 0
    for line in lines[1:]:
        cells = [c.strip() for c in line.split(",")]
        try:
            points.append((int(float(cells[col["relative_time"]])), int(cells[col["edges_found"]])))
            rate = int(float(cells[col["execs_per_sec"]]))
        except (KeyError, IndexError, ValueError):
            continue
    execs = 0
    for stats in glob.glob(os.path.join(work, "afl", "*", "fuzzer_stats")):
        for line in open(stats, errors="replace"):
            if line.startswith("execs_done"):
                execs += int(line.split(":")[1])
    findings = sorted(os.path.basename(f) for f in glob.glob(os.path.join(work, "findings", "*")))
    return {"target": os.path.basename(work), "execs": execs, "rate": rate, "coverage": points, "x": "seconds",
            "edges": points[-1][1] if points else 0, "features": 0, "findings": findings, "line_coverage": None,
            "log": plot, "mtime": os.path.getmtime(plot)}


def _gcovr_summary(root: str, coverage_json: str, prefix: str) -> dict | None:
    try:
        out = subprocess.run(["gcovr", "--root", root, "-a", coverage_json, "--filter", prefix, "--json-summary"],
                             capture_output=True, text=True, check=True, cwd=root).stdout
        s = json.loads(out)
        return {"line_percent": s.get("line_percent"), "lines": (s.get("line_covered"), s.get("line_total")),
                "branch_percent": s.get("branch_percent"), "branches": (s.get("branch_covered"), s.get("branch_total"))}
    except (subprocess.CalledProcessError, OSError, ValueError):
        return None


def collect_coverage(root: str, coverage_build: str, mcdc_build: str) -> dict:
    out = {"gcov": {}, "mcdc": None}
    cj = os.path.join(coverage_build, "coverage", "coverage.json")
    if os.path.exists(cj):
        for prefix in ("kernel/", "kernel/caps/"):
            out["gcov"][prefix] = _gcovr_summary(root, cj, prefix)
        out["gcov_mtime"] = os.path.getmtime(cj)
    mj = os.path.join(mcdc_build, "mcdc.json")
    if os.path.exists(mj):
        out["mcdc"] = json.load(open(mj))
    return out


def collect_bench(build: str) -> dict | None:
    path = os.path.join(build, "bench", "results.json")
    if not os.path.exists(path):
        return None
    try:
        data = json.load(open(path))
    except ValueError as e:
        return {"error": f"{path}: {e}"}
    return data if data.get("schema") == 1 else {"error": f"{path}: schema {data.get('schema')} is not 1"}


def collect_ctest_label(build: str, label: str) -> list[dict] | None:
    """The tests of a label with their result in CTest's last run (None: no such tests)."""
    try:
        listed = json.loads(subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1", "-L", label],
                                           capture_output=True, text=True, check=True).stdout).get("tests", [])
    except (subprocess.CalledProcessError, OSError, ValueError):
        return None
    if not listed:
        return None
    failed = set()
    lf = os.path.join(build, "Testing", "Temporary", "LastTestsFailed.log")
    if os.path.exists(lf):
        failed = {l.strip().split(":", 1)[-1] for l in open(lf) if ":" in l}
    return [{"name": t["name"], "failed": t["name"] in failed} for t in listed]


def collect_repro(build: str) -> dict | None:
    path = os.path.join(build, "repro", "result.json")
    return json.load(open(path)) if os.path.exists(path) else None


# ---------------------------------------------------------------------------------- render

CSS = """
body{font-family:sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b4d;color:#fff;padding:14px 24px}header h1{margin:0;font-size:22px}
nav{background:#e8eef2;padding:6px 24px;position:sticky;top:0}nav a{margin-right:14px;color:#1f3b4d}
section{background:#fff;margin:16px 24px;padding:12px 20px;border:1px solid #ddd;border-radius:4px}
h2{margin-top:4px;color:#1f3b4d}table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}th{background:#f0f3f5}
td.num{text-align:right}tr.gap td{background:#fde2e1}tr.gapok td{background:#fff4d6}
.ok{color:#2d7a3a;font-weight:bold}.bad{color:#b23a48;font-weight:bold}.muted{color:#777}
code{font-size:11px}.evidence{max-width:520px}details{margin:6px 0}.kpi{display:inline-block;margin:4px 18px 4px 0}
.kpi b{font-size:20px;display:block}
"""

SCRIPT = """
(function(){
  var box=document.getElementById('matrix-filter'), gaps=document.getElementById('matrix-gaps');
  function apply(){
    var q=(box.value||'').toLowerCase(), only=gaps.checked;
    var rows=document.querySelectorAll('#matrix tbody tr'), shown=0;
    for(var i=0;i<rows.length;i++){
      var r=rows[i], hit=r.textContent.toLowerCase().indexOf(q)>=0 && (!only || r.classList.contains('gap') || r.classList.contains('gapok'));
      r.style.display=hit?'':'none'; if(hit) shown++;
    }
    document.getElementById('matrix-count').textContent=shown+' of '+rows.length+' threats shown';
  }
  box.addEventListener('input',apply); gaps.addEventListener('change',apply); apply();
  document.body.setAttribute('data-ready','1');
})();
"""


def _table(headers, rows, cls=None) -> str:
    h = "".join(f"<th>{escape(x)}</th>" for x in headers) if headers else ""
    body = []
    for r in rows:
        cells, klass = (r[0], r[1]) if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], list) else (r, "")
        body.append(f'<tr class="{klass}">' + "".join(
            f'<td class="num">{c}</td>' if isinstance(c, (int, float)) else f"<td>{c}</td>" for c in cells) + "</tr>")
    ident = f' id="{cls}"' if cls else ""
    thead = f"<thead><tr>{h}</tr></thead>" if h else ""
    return f'<table{ident}>{thead}<tbody>{"".join(body)}</tbody></table>'


def _age(mtime: float | None) -> str:
    if not mtime:
        return ""
    return f'<span class="muted">(outputs of {time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime))})</span>'


def section_tcb(r: dict | None, hist: list[dict]) -> str:
    if r is None:
        return "<p class='bad'>No cross build: build the kernel first (make build).</p>"
    c = r["components"]
    parts = [f"<div class='kpi'><b>{r['total_lines']}</b>lines at EL2</div>",
             f"<div class='kpi'><b>{r['size']['text']:,}</b>bytes of text</div>",
             f"<div class='kpi'><b>{len(r['trap_handlers'])}</b>functions reachable from the vectors</div>",
             svg.stacked_bar("Lines of code at EL2 by component", [("generic kernel/", c["generic"]), ("kernel/caps/", c["caps"]),
                                                                  ("kernel/arch/aarch64/", c["arch"])], unit=" lines")]
    ok = [h for h in hist if h.get("ok")]
    if ok:
        labels = [f"{h['short']} {h['date'][5:]}" for h in ok]
        parts.append(svg.line_chart("TCB across the history (sampled commits)", labels,
                                    [("lines: generic", [h["components"]["generic"] for h in ok]),
                                     ("lines: caps", [h["components"]["caps"] for h in ok]),
                                     ("lines: arch", [h["components"]["arch"] for h in ok])],
                                    y_label="lines", right=("text bytes (right axis)", [h["size"]["text"] for h in ok])))
    failed = [h for h in hist if not h.get("ok")]
    parts.append("<details><summary>History samples</summary>" + _table(
        ["commit", "date", "subject", "lines", "text B", "result"],
        [[f"<code>{h['short']}</code>", h["date"], escape(h["subject"][:80]), h.get("total_lines", ""),
          h.get("size", {}).get("text", ""), "built" if h.get("ok") else f"<span class='muted'>no kernel build: {escape(h.get('error', '')[:90])}</span>"]
         for h in hist]) + f"<p class='muted'>{len(ok)} commits measured, {len(failed)} without a buildable kernel (cached in build/evidence/tcb-history/).</p></details>")
    parts.append("<h3>Image sections</h3>" + _table(["section", "address", "bytes"],
                 [[f"<code>{s['name']}</code>", f"0x{s['address']:x}", s["size"]] for s in r["sections"]]))
    parts.append("<h3>Hypercall and PSCI handlers</h3><p>The symbol that holds each call's <code>case</code> arm, "
                 "found through the DWARF line table; lines of the arm, bytes of code the line table gives them.</p>" +
                 _table(["ID", "call", "source", "lines", "code B", "handler symbol"],
                        [[f"<code>{h['id']}</code>", escape(h["call"]), f"<code>{escape(h['source'])}</code>", h["arm_lines"],
                          h["code_bytes"], f"<code>{escape(str(h['symbol']))}</code>"] for h in r["hypercalls"]]))
    parts.append("<h3>Trap handling</h3><p>Every function the exception vectors reach (call graph of the disassembly "
                 f"from <code>{', '.join(escape(x) for x in r['trap_roots'][:6])}</code>…): bytes, and source lines its code comes from.</p>"
                 "<details><summary>" + f"{len(r['trap_handlers'])} functions, {sum(h['bytes'] for h in r['trap_handlers']):,} bytes"
                 + "</summary>" + _table(["function", "bytes", "lines"],
                                        [[f"<code>{escape(h['symbol'][:110])}</code>", h["bytes"], h["lines"]] for h in r["trap_handlers"]])
                 + "</details>")
    parts.append("<details><summary>Files at EL2</summary>" + _table(["file", "component", "lines"],
                 [[f"<code>{f['path']}</code>", f["component"], f["lines"]] for f in r["files"]]) + "</details>")
    return "".join(parts)


def section_traceability(model: tr.Model) -> str:
    threats = sorted(model.threats.values(), key=lambda t: tr.id_key(t.ident))
    rows = []
    for t in threats:
        ev = tr.evidence_for(model, t.ident)
        klass = "gap" if not ev else ("gapok" if t.gap else "")
        cells = [f"<b>{t.ident}</b> {escape(t.title)}", escape(", ".join(i[4:] for i in t.invariants) or "—"),
                 escape(t.status)]
        for k in tr.KINDS:
            names = [e.name for e in ev if e.kind == k]
            cells.append(f"<span class='evidence'>{'<br>'.join(escape(n) for n in names)}</span>" if names else "—")
        cells.append(escape(t.gap) if t.gap else "")
        rows.append((cells, klass))
    n_ev = sum(1 for t in threats if tr.evidence_for(model, t.ident))
    counts = {k: sum(1 for e in model.evidence.values() if e.kind == k) for k in tr.KINDS}
    inv_rows = [[f"<b>{i}</b> {escape(n)}", len([t for t in threats if i in t.invariants]),
                 *[sum(1 for e in tr.evidence_for(model, i) if e.kind == k) for k in tr.KINDS]]
                for i, n in sorted(model.invariants.items(), key=lambda x: tr.id_key(x[0]))]
    return (f"<div class='kpi'><b>{len(threats)}</b>threats</div><div class='kpi'><b>{n_ev}</b>with evidence</div>"
            f"<div class='kpi'><b>{sum(1 for t in threats if t.gap)}</b>accepted gaps</div>"
            f"<div class='kpi'><b>{len(model.evidence)}</b>pieces of evidence</div>"
            + svg.bar_chart("Evidence by kind", [(tr.KIND_TITLES[k], counts[k]) for k in tr.KINDS])
            + "<h3>Invariants</h3>" + _table(["invariant", "threats"] + [tr.KIND_TITLES[k] for k in tr.KINDS], inv_rows)
            + "<h3>Threats × evidence</h3><p>Generated from the tags where each test, proof, fuzz target and red-team "
              "partition is defined (docs/threat-model/traceability.md is the same matrix). "
              "<span style='background:#fde2e1'>Red</span>: no evidence; <span style='background:#fff4d6'>yellow</span>: "
              "evidence and an accepted gap.</p>"
            + "<p><input id='matrix-filter' placeholder='filter (e.g. T-45, INV-4, qemu.caps)' size='40'> "
              "<label><input type='checkbox' id='matrix-gaps'> gaps only</label> <span id='matrix-count'></span></p>"
            + _table(["threat", "INV", "status"] + [tr.KIND_TITLES[k] for k in tr.KINDS] + ["accepted gap"], rows, "matrix"))


def section_proofs(p: dict) -> str:
    if not p["reports"]:
        return "<p class='bad'>No proof reports (build/proofs/report*.txt): run <code>ctest -L proof</code>.</p>"
    meaning = lambda n: ("a planted bug: counterexamples are the expected result (the bug is caught)" if n.startswith("planted")
                         else "counterexamples here are the known findings of docs/proofs.md (KF-1)" if n == "model" else "")
    rows = [[escape(r["name"]), r["queries"], f"{r['seconds']:.2f}",
             ", ".join(f"{escape(k)} {v}" for k, v in sorted(r["verdicts"].items())), meaning(r["name"])] for r in p["reports"]]
    slow = sorted(p["rows"], key=lambda r: -r["seconds"])[:15]
    by_subject: dict = {}
    for r in p["rows"]:
        if r["report"] == "model":
            by_subject[r["subject"]] = by_subject.get(r["subject"], 0.0) + r["seconds"]
    chart = svg.bar_chart("Solver time per model operation (s)", sorted(by_subject.items(), key=lambda x: -x[1])[:22], unit=" s")
    bad = [r for r in p["rows"] if r["verdict"] not in ("proved", "satisfiable")]
    return (_table(["report", "queries", "solver s", "verdicts", "meaning"], rows) + chart
            + "<h3>Slowest queries</h3>" + _table(["report", "operation / lemma", "claim", "verdict", "s"],
                                                 [[r["report"], escape(r["subject"]), escape(r["claim"]), escape(r["verdict"]),
                                                   f"{r['seconds']:.3f}"] for r in slow])
            + "<h3>Not proved (each explained in docs/proofs.md)</h3>"
            + (_table(["report", "operation", "claim", "verdict", "note"],
                      [[r["report"], escape(r["subject"]), escape(r["claim"]), f"<span class='bad'>{escape(r['verdict'])}</span>",
                        escape(r["note"])] for r in bad]) if bad else "<p class='ok'>none</p>")
            + f"<p>{_age(max(r['mtime'] for r in p['reports']))}</p>")


def section_fuzz(campaigns: list[dict], planted: list | None) -> str:
    if not campaigns:
        out = "<p class='bad'>No fuzz campaign outputs (build-fuzz/campaigns/): run <code>make fuzz</code>.</p>"
    else:
        rows = [[escape(c["target"]), f"{c['execs']:,}", f"{c['rate']:,}", c["edges"], escape(str(c["line_coverage"] or "—")),
                 "<span class='ok'>none</span>" if not c["findings"] else f"<span class='bad'>{len(c['findings'])}</span>: "
                 + escape(", ".join(c["findings"][:5]))] for c in campaigns]
        out = _table(["campaign", "executions", "exec/s (last)", "edges covered", "line coverage", "findings"], rows)
        for c in campaigns:
            if len(c["coverage"]) > 1:
                pts = c["coverage"]
                step = max(1, len(pts) // 40)
                pts = pts[::step] + ([pts[-1]] if pts[-1] not in pts[::step] else [])
                out += svg.line_chart(f"Coverage over the campaign: {c['target']} (x: {c['x']})", [f"{e:,}" for e, _ in pts],
                                      [("edges covered", [cv for _, cv in pts])], y_label="edges", height=260)
        out += (f"<p>{_age(max(c['mtime'] for c in campaigns))} x axis: executions for libFuzzer campaigns (it reports "
                "at doubling counts and on each new input), seconds for AFL++ campaigns (its plot_data).</p>")
    if planted:
        out += "<h3>Planted bugs and regressions (CTest label fuzz, last run)</h3>" + _table(
            ["test", "last result"], [[escape(t["name"]), "<span class='bad'>failed</span>" if t["failed"] else "passed or not run"]
                                      for t in planted])
    return out


def _cov_cell(s: dict | None, key: str, pair: str) -> str:
    if not s or s.get(key) is None:
        return "—"
    a, b = s[pair]
    return f"{s[key]:.1f} % ({a}/{b})"


def _pct(v) -> str:
    return "—" if v is None else f"{v:.1f} %"


def section_coverage(c: dict) -> str:
    out = ""
    if c["gcov"]:
        out += _table(["code", "lines", "branches"],
                      [[f"<code>{k}</code>", _cov_cell(v, "line_percent", "lines"), _cov_cell(v, "branch_percent", "branches")]
                       for k, v in c["gcov"].items()]) + f"<p>gcov/gcovr over the unit tests (<code>make coverage</code>) {_age(c.get('gcov_mtime'))}</p>"
    else:
        out += "<p class='bad'>No gcov coverage (build-coverage/coverage/coverage.json): run <code>make coverage</code>.</p>"
    m = c["mcdc"]
    if m:
        out += "<h3>MC/DC of kernel/caps/ (clang-19 -fcoverage-mcdc, unit tests)</h3>" + _table(
            ["file", "lines", "branches", "MC/DC conditions"],
            [[f"<code>{escape(f['file'])}</code>", _pct(f["lines"]), _pct(f["branches"]),
              "—" if f["mcdc"] is None else f"{f['mcdc']:.1f} % ({f['mcdc_covered']}/{f['mcdc_total']})"] for f in m["files"]])
        out += svg.bar_chart("MC/DC per file, kernel/caps/ (%)", [(f["file"].split("/")[-1], f["mcdc"] or 0) for f in m["files"]],
                             unit=" %")
        t = m["total"]
        mcdc = "—" if t["mcdc"] is None else f"{t['mcdc']:.1f} % ({t['mcdc_covered']}/{t['mcdc_total']} conditions)"
        out += (f"<p>Total kernel/caps/: lines {_pct(t['lines'])}, branches {_pct(t['branches'])}, MC/DC {mcdc} "
                f"{_age(m.get('mtime'))}</p>")
    else:
        out += "<p class='bad'>No MC/DC report (build-mcdc/mcdc.json): run <code>tools/evidence/mcdc</code>.</p>"
    return out


def section_bench(b: dict | None) -> str:
    if b is None:
        return "<p class='muted'>No benchmark results yet (build/bench/results.json, written by <code>make bench</code>).</p>"
    if "error" in b:
        return f"<p class='bad'>{escape(b['error'])}</p>"
    rows, bars, marks = [], [], {}
    for p in b.get("paths", []):
        ref = p.get("reference") or {}
        cell = lambda v: "—" if v is None or v == "" else v
        rows.append([escape(p.get("name", "?")), escape(p.get("unit", "")), cell(p.get("instructions")), cell(p.get("el2_instructions")),
                     cell(p.get("iterations")), cell(p.get("budget")), cell(ref.get("floor")), cell(ref.get("bao")),
                     escape(str(cell(p.get("goal"))))])
        if isinstance(p.get("el2_instructions"), (int, float)):
            bars.append((p["name"], p["el2_instructions"]))
            marks[p["name"]] = [(k, v) for k, v in (("floor", ref.get("floor")), ("Bao", ref.get("bao"))) if isinstance(v, (int, float))]
    return (_table(["path", "unit", "instructions", "EL2 instructions", "iterations", "budget", "floor", "Bao", "goal"], rows)
            + (svg.bar_chart("EL2 instructions per path (ticks: floor, Bao)", bars, marks=marks) if bars else ""))


def section_redteam(tests: list | None, model: tr.Model) -> str:
    items = [e for e in model.evidence.values() if e.kind == "redteam"]
    if not items and not tests:
        return "<p class='muted'>No red-team partitions yet (redteam-tests/; the traceability tool reads their tags already).</p>"
    rows = [[escape(e.name), escape(", ".join(e.tags)), f"<code>{escape(e.defined_in)}</code>"] for e in items]
    out = _table(["attack", "threats and invariants", "defined in"], rows)
    if tests:
        out += _table(["test", "last result"], [[escape(t["name"]), "<span class='bad'>failed</span>" if t["failed"] else "passed or not run"]
                                                for t in tests])
    return out


def section_repro(r: dict | None, image: str) -> str:
    sha = subprocess.run(["sha256sum", image], capture_output=True, text=True).stdout.split(" ")[0] if os.path.exists(image) else None
    out = f"<p>demo.img sha256: <code>{sha or 'no image'}</code></p>"
    if r is None:
        return out + "<p class='muted'>Not checked yet: <code>ctest -R repro</code> (tools/repro-check).</p>"
    verdict = "<span class='ok'>bit-identical</span>" if r.get("identical") else "<span class='bad'>differs</span>"
    return out + (f"<p>Two clean builds in different directories: {verdict}; second build's image sha256 "
                  f"<code>{escape(r.get('second_sha256', ''))}</code>; kernel ELF sha256 <code>{escape(r.get('kernel_elf_sha256', ''))}</code>"
                  + (f"; ELFs that differ: {escape(r['elfs_differ'])}" if r.get("elfs_differ") else "") + "</p>")


def render(root: str, build: str, data: dict) -> str:
    model = data["model"]
    head = subprocess.run(["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True, cwd=root).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=root).stdout.strip()
    threats = len(model.threats)
    covered = sum(1 for t in model.threats.values() if tr.evidence_for(model, t.ident))
    r = data["tcb"]
    summary = (f"<p>Commit <code>{escape(head)}</code>{' (working tree with changes)' if dirty else ''}, "
               f"generated {time.strftime('%Y-%m-%d %H:%M')}.</p>"
               + _table(None, [
                   ["TCB", f"{r['total_lines']} lines at EL2, {r['size']['text']:,} bytes of text" if r else "—"],
                   ["threats with evidence", f"{covered} of {threats}"],
                   ["proof reports", str(len(data["proofs"]["reports"]))],
                   ["fuzz campaigns", str(len(data["fuzz"]))],
                   ["demo.img", "bit-identical across two clean builds" if (data["repro"] or {}).get("identical") else "not shown reproducible"],
               ]))
    body = {"summary": ("Summary", summary), "tcb": ("Trusted computing base", section_tcb(r, data["history"])),
            "traceability": ("Threats and evidence", section_traceability(model)),
            "proofs": ("Z3 proofs", section_proofs(data["proofs"])),
            "fuzzing": ("Fuzzing", section_fuzz(data["fuzz"], data.get("fuzz_tests"))),
            "coverage": ("Coverage", section_coverage(data["coverage"])),
            "bench": ("Benchmarks", section_bench(data["bench"])),
            "redteam": ("Red team", section_redteam(data.get("redteam"), model)),
            "repro": ("Reproducible image", section_repro(data["repro"], os.path.join(build, "images", "demo.img")))}
    nav = "".join(f'<a href="#{k}">{escape(body[k][0])}</a>' for k in SECTIONS)
    sections = "".join(f'<section id="{k}"><h2>{escape(body[k][0])}</h2>{body[k][1]}</section>' for k in SECTIONS)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Bulkhead evidence dossier</title>"
            f"<style>{CSS}</style></head><body><header><h1>Bulkhead evidence dossier</h1></header><nav>{nav}</nav>"
            f"{sections}<script>{SCRIPT}</script></body></html>")

"""Traceability, generated from where the evidence is defined (docs/evidence.md "Tags").

Reads the threat model (docs/threat-model/threats.md: the threats, their invariants, status,
mechanism, the tests their prose cites and their accepted gaps) and the tags that every piece
of evidence carries where it is defined:

  Catch2 unit tests      tags on the TEST_CASE line: TEST_CASE("name", "[caps][T-45][INV-4]")
  QEMU tests             a line `# covers: T-1 T-22 INV-7` in tests/qemu/<name>.expect
  red-team partitions    the same line in redteam-tests/**/<name>.expect (test redteam.<name>)
  any CTest test         a comment `# covers <test name>: T-27 INV-2` in a CMakeLists.txt under
                         tests/, proofs/, fuzz/ or redteam-tests/ (proof queries, planted bugs,
                         script tests)
  fuzz targets           a line `// covers: T-11 INV-4` in fuzz/targets/fuzz_<name>.cpp
                         (evidence fuzz.<name>: its smoke run, regressions and campaigns)

and builds the matrix threat -> mitigation -> evidence, its reverse, and the invariant view.
Standard library only.
"""
from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import subprocess
from dataclasses import dataclass, field

ID_RE = re.compile(r"^(T|INV)-(\d+)$")
KINDS = ("unit", "qemu", "proof", "fuzz", "redteam")
KIND_TITLES = {"unit": "unit tests", "qemu": "QEMU tests", "proof": "Z3 proofs", "fuzz": "fuzzing",
               "redteam": "red team"}


def id_key(ident: str):
    m = ID_RE.match(ident)
    return (m.group(1), int(m.group(2))) if m else (ident, 0)


@dataclass
class Evidence:
    name: str            # as CTest registers it (fuzz targets: fuzz.<target>)
    kind: str            # one of KINDS
    defined_in: str      # repository-relative path
    tags: list           # T-n and INV-n, sorted
    ctest: list          # the CTest names that run it


@dataclass
class Threat:
    ident: str
    title: str
    stride: str
    invariants: list     # INV-n
    status: str
    mechanism: list      # code symbols named by the Mechanism bullet
    cited: list          # test names (or globs) the Evidence prose cites
    gap: str | None      # the accepted-gap statement, if any
    planned: list = field(default_factory=list)  # evidence kinds the prose calls planned


@dataclass
class Model:
    threats: dict = field(default_factory=dict)      # T-n -> Threat
    invariants: dict = field(default_factory=dict)   # INV-n -> name
    evidence: dict = field(default_factory=dict)     # name -> Evidence
    problems: list = field(default_factory=list)     # definition errors found while reading


# ---------------------------------------------------------------------------- threat model

def _bullets(body: str) -> dict:
    """The `- **Name** text` bullets of a threat section, text joined onto one line."""
    out = {}
    for m in re.finditer(r"^- \*\*([A-Za-z]+)([^*]*)\*\*(.*?)(?=^- \*\*|^#|\Z)", body, re.M | re.S):
        # "**Mechanism today.**" and "**Mechanism (planned).**" are mechanisms too.
        if m.group(1) not in out:
            out[m.group(1)] = " ".join(m.group(3).split())
    return out


def read_threats(root: str, model: Model) -> None:
    text = open(os.path.join(root, "docs/threat-model/threats.md"), encoding="utf-8").read()
    index = {}
    for m in re.finditer(r"^\| (T-\d+) \| ([^|]*)\| ([^|]*)\| ([^|]*)\| ([^|]*)\|$", text, re.M):
        invs = [f"INV-{n}" for n in re.findall(r"\d+", m.group(4))]
        index[m.group(1)] = (m.group(2).strip(), m.group(3).strip(), invs, m.group(5).strip())
    sections = re.split(r"^### (T-\d+) — (.*)$", text, flags=re.M)
    for i in range(1, len(sections), 3):
        ident, title, body = sections[i], sections[i + 1].strip(), sections[i + 2]
        b = _bullets(body)
        stride, _, invs, status = index.get(ident, ("", "", [], ""))
        if ident not in index:
            model.problems.append(f"threats.md: {ident} has a section but no row in the index")
        cited = [" ".join(c.split()) for c in re.findall(r"`((?:%s)\.[^`]+)`" % "|".join(KINDS), b.get("Evidence", ""))]
        symbols = []
        for s in re.findall(r"`([^`]+)`", b.get("Mechanism", "")):
            if s not in symbols and " " not in s and len(s) <= 60:
                symbols.append(s)
        # "planned: proof (…), fuzz, redteam": the kinds named in each planned list.
        planned = set()
        for p in re.findall(r"planned:([^;.]*)", b.get("Evidence", "")):
            # Proof, fuzz and red-team evidence is one thing per threat: "planned" means none yet.
            # (A planned unit or QEMU test beside existing ones is just more evidence to come.)
            planned.update(k for k in ("proof", "fuzz", "redteam") if re.search(r"\b%s\b" % k, re.sub(r"\([^)]*\)", "", p)))
        model.threats[ident] = Threat(ident, title, stride, invs, status, symbols, cited, b.get("Gap"), sorted(planned))
    for ident in index:
        if ident not in model.threats:
            model.problems.append(f"threats.md: {ident} is in the index but has no section")
    readme = open(os.path.join(root, "docs/threat-model/README.md"), encoding="utf-8").read()
    for m in re.finditer(r"^\| (INV-\d+) \| ([^|]+)\|", readme, re.M):
        model.invariants[m.group(1)] = m.group(2).strip()


# ------------------------------------------------------------------------------- evidence

def _ids(text: str, where: str, model: Model) -> list:
    ids = text.replace(",", " ").split()
    for i in ids:
        if not ID_RE.match(i):
            model.problems.append(f"{where}: '{i}' is not a threat (T-n) or invariant (INV-n) ID")
    return sorted(set(i for i in ids if ID_RE.match(i)), key=id_key)


def _add(model: Model, ev: Evidence) -> None:
    if ev.name in model.evidence:
        model.problems.append(f"{ev.defined_in}: evidence {ev.name} is already defined in "
                              f"{model.evidence[ev.name].defined_in}")
        return
    model.evidence[ev.name] = ev


CATCH_RE = re.compile(r'^\s*TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"\s*(?:,\s*"([^"]*)")?', re.M)


def read_unit_tests(root: str, model: Model) -> None:
    for path in sorted(glob.glob(os.path.join(root, "tests/unit/*.cpp"))):
        rel = os.path.relpath(path, root)
        for m in CATCH_RE.finditer(open(path, encoding="utf-8").read()):
            name = "unit." + m.group(1).replace('\\"', '"')
            tags = [t for t in re.findall(r"\[([^\]]+)\]", m.group(2) or "") if re.match(r"^(T|INV)-", t)]
            _add(model, Evidence(name, "unit", rel, _ids(" ".join(tags), rel, model), [name]))


COVERS_LINE = re.compile(r"^\s*(?:#|//)\s*covers:\s*(.*)$", re.M)
COVERS_NAMED = re.compile(r"^\s*#\s*covers\s+([A-Za-z0-9_.\-]+):\s*(.*)$", re.M)


def read_expect_files(root: str, model: Model) -> None:
    for kind, pattern in (("qemu", "tests/qemu/*.expect"), ("redteam", "redteam-tests/**/*.expect")):
        for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
            rel = os.path.relpath(path, root)
            lines = COVERS_LINE.findall(open(path, encoding="utf-8").read())
            name = f"{kind}.{os.path.basename(path)[:-len('.expect')]}"
            _add(model, Evidence(name, kind, rel, _ids(" ".join(lines), rel, model), [name]))


def read_cmake_covers(root: str, model: Model) -> None:
    files = []
    for top in ("tests", "proofs", "fuzz", "redteam-tests"):
        files += glob.glob(os.path.join(root, top, "**", "CMakeLists.txt"), recursive=True)
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        for m in COVERS_NAMED.finditer(open(path, encoding="utf-8").read()):
            name = m.group(1)
            kind = name.split(".")[0]
            if kind not in KINDS:
                model.problems.append(f"{rel}: covers {name}: a test name starts with one of {', '.join(KINDS)}")
                continue
            _add(model, Evidence(name, kind, rel, _ids(m.group(2), rel, model), [name]))


def read_fuzz_targets(root: str, model: Model) -> None:
    for path in sorted(glob.glob(os.path.join(root, "fuzz/targets/fuzz_*.cpp"))):
        rel = os.path.relpath(path, root)
        target = os.path.basename(path)[len("fuzz_"):-len(".cpp")]
        lines = COVERS_LINE.findall(open(path, encoding="utf-8").read())
        name = f"fuzz.{target}"
        _add(model, Evidence(name, "fuzz", rel, _ids(" ".join(lines), rel, model),
                             [f"fuzz.{target}.smoke", f"fuzz.{target}.regressions"]))


def build_model(root: str) -> Model:
    model = Model()
    read_threats(root, model)
    read_unit_tests(root, model)
    read_expect_files(root, model)
    read_cmake_covers(root, model)
    read_fuzz_targets(root, model)
    return model


# ---------------------------------------------------------------------------------- views

def evidence_for(model: Model, ident: str) -> list:
    return sorted((e for e in model.evidence.values() if ident in e.tags), key=lambda e: (KINDS.index(e.kind), e.name))


def threat_kinds(model: Model, ident: str) -> dict:
    out = {k: 0 for k in KINDS}
    for e in evidence_for(model, ident):
        out[e.kind] += 1
    return out


def check(model: Model, registered: set | None, configured_kinds: set | None) -> list:
    """Every problem that makes the traceability CTest fail."""
    problems = list(model.problems)
    known = set(model.threats) | set(model.invariants)
    for e in model.evidence.values():
        for t in e.tags:
            if t not in known:
                problems.append(f"{e.defined_in}: {e.name} cites {t}, which the threat model does not define")
    for t in sorted(model.threats.values(), key=lambda t: id_key(t.ident)):
        if not evidence_for(model, t.ident) and not t.gap:
            problems.append(f"{t.ident} ({t.title}) has no evidence and is not marked as an accepted gap "
                            f"(a '- **Gap** ...' bullet in threats.md)")
        have = {e.kind for e in evidence_for(model, t.ident)}
        for k in t.planned:
            if k in have:
                problems.append(f"{t.ident}: threats.md calls {k} evidence planned, but "
                                + ", ".join(e.name for e in evidence_for(model, t.ident) if e.kind == k)
                                + " show it: cite them instead")
        for c in t.cited:
            if any(ch in c for ch in "*?["):
                if not fnmatch.filter(model.evidence, c):
                    problems.append(f"{t.ident} cites {c}, which matches no test")
                continue
            e = model.evidence.get(c)
            if e is None:
                problems.append(f"{t.ident} cites {c}, which does not exist")
            elif t.ident not in e.tags:
                problems.append(f"{t.ident} cites {c} ({e.defined_in}), which is not tagged {t.ident}")
    if registered is not None:
        for e in model.evidence.values():
            if configured_kinds is not None and e.kind not in configured_kinds:
                continue  # that label is not configured in this build (e.g. -DBH_FUZZ=OFF)
            for name in e.ctest:
                if name not in registered:
                    problems.append(f"{e.defined_in}: {name} is not a registered CTest test")
    return problems


def registered_tests(build: str) -> tuple[set, set]:
    """(every CTest test name, the evidence kinds whose label has tests) of a build directory."""
    out = subprocess.run(["ctest", "--test-dir", build, "--show-only=json-v1"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"ctest --show-only failed in {build}: {out.stderr.strip()}")
    names, kinds = set(), set()
    for test in json.loads(out.stdout).get("tests", []):
        names.add(test["name"])
        for prop in test.get("properties", []):
            if prop.get("name") == "LABELS":
                kinds.update(v for v in prop.get("value", []) if v in KINDS)
    return names, kinds


# ------------------------------------------------------------------------------- markdown

def _cell(items: list) -> str:
    return ", ".join(items) if items else "—"


def _code(names: list) -> list:
    return [f"`{n}`" for n in names]


def render_markdown(model: Model) -> str:
    threats = sorted(model.threats.values(), key=lambda t: id_key(t.ident))
    ev = sorted(model.evidence.values(), key=lambda e: (KINDS.index(e.kind), e.name))
    out = []
    w = out.append
    w("# Traceability")
    w("")
    w("<!-- Generated by tools/evidence/traceability (make evidence). Do not edit: change the tags")
    w("     where the evidence is defined, or threats.md, and regenerate. -->")
    w("")
    w("Generated from the tags each piece of evidence carries where it is defined (Catch2 tags on")
    w("the `TEST_CASE` line, `# covers:` lines in QEMU and red-team expectation files and fuzz")
    w("targets, `# covers <test>:` comments next to the CTest registration of proofs, planted bugs")
    w("and script tests; `docs/evidence.md`) and from `threats.md` (threats, invariants, status,")
    w("mechanism, accepted gaps). `ctest --test-dir build -R unit.traceability` fails when a threat has")
    w("no evidence and no accepted gap, when `threats.md` cites a test that does not exist or is not")
    w("tagged with that threat, or when this file is not what the generator makes.")
    w("")
    n_with = sum(1 for t in threats if evidence_for(model, t.ident))
    n_gap_only = sum(1 for t in threats if not evidence_for(model, t.ident) and t.gap)
    counts = {k: sum(1 for e in ev if e.kind == k) for k in KINDS}
    w(f"{len(threats)} threats: {n_with} with evidence, {n_gap_only} without evidence and marked as accepted gaps; "
      f"{sum(1 for t in threats if t.gap)} with an accepted gap in all. "
      f"{len(ev)} pieces of evidence: " + ", ".join(f"{counts[k]} {KIND_TITLES[k]}" for k in KINDS) + ".")
    w("")
    w("## 1. Threat → mitigation → evidence")
    w("")
    w("| threat | INV | status | mechanism (code) | " + " | ".join(KIND_TITLES[k] for k in KINDS) + " |")
    w("|---|---|---|---|" + "---|" * len(KINDS))
    for t in threats:
        e = evidence_for(model, t.ident)
        mech = ", ".join(_code(t.mechanism[:6])) + (", …" if len(t.mechanism) > 6 else "")
        cells = [_cell(_code([x.name for x in e if x.kind == k])) for k in KINDS]
        status = t.status + (" · **gap accepted**" if t.gap else "")
        w(f"| {t.ident} {t.title} | {', '.join(i[4:] for i in t.invariants) or '—'} | {status} | {mech or '—'} | "
          + " | ".join(cells) + " |")
    w("")
    w("## 2. Invariant → threats → evidence")
    w("")
    w("| invariant | threats | evidence tagged with the invariant |")
    w("|---|---|---|")
    for inv in sorted(model.invariants, key=id_key):
        ts = [t.ident for t in threats if inv in t.invariants]
        w(f"| {inv} {model.invariants[inv]} | {_cell(ts)} | {_cell(_code([x.name for x in evidence_for(model, inv)]))} |")
    w("")
    w("## 3. Evidence → threats")
    w("")
    w("| evidence | kind | defined in | threats | invariants |")
    w("|---|---|---|---|---|")
    for e in ev:
        ts = [t for t in e.tags if t.startswith("T-")]
        invs = [t for t in e.tags if t.startswith("INV-")]
        w(f"| `{e.name}` | {e.kind} | `{e.defined_in}` | {_cell(ts)} | {_cell(invs)} |")
    w("")
    w("## 4. Accepted gaps")
    w("")
    w("Threats whose `threats.md` section carries a **Gap** bullet: what is not shown, and why that is")
    w("accepted for now. A threat with no evidence at all must have one.")
    w("")
    w("| threat | evidence | gap |")
    w("|---|---|---|")
    for t in threats:
        if t.gap:
            w(f"| {t.ident} {t.title} | {len(evidence_for(model, t.ident))} | {t.gap} |")
    w("")
    return "\n".join(out)


def to_json(model: Model) -> dict:
    return {
        "threats": [
            {"id": t.ident, "title": t.title, "stride": t.stride, "invariants": t.invariants, "status": t.status,
             "mechanism": t.mechanism, "gap": t.gap, "evidence": [e.name for e in evidence_for(model, t.ident)]}
            for t in sorted(model.threats.values(), key=lambda t: id_key(t.ident))],
        "invariants": [{"id": i, "name": n, "evidence": [e.name for e in evidence_for(model, i)]}
                       for i, n in sorted(model.invariants.items(), key=lambda x: id_key(x[0]))],
        "evidence": [{"name": e.name, "kind": e.kind, "defined_in": e.defined_in, "tags": e.tags, "ctest": e.ctest}
                     for e in sorted(model.evidence.values(), key=lambda e: (KINDS.index(e.kind), e.name))],
    }

#!/usr/bin/env python3
"""Self-test of the benchmark harness on canned inputs (no QEMU): the logs and power-off counters
in bench/selftest/ are those of one real run of bench.img, bench-default.img and floor.elf (on the
kernel of 68b522c, before the kernel house: its figures, not today's).
Each test checks that what bench/run computes from them is right, and that each kind of bad run
is refused: calibration off, runs that differ, wrong statuses, a missing report, over budget.
Run by CTest as unit.bench_harness."""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_log  # noqa: E402
import results  # noqa: E402

SELFTEST = os.path.join(HERE, "selftest")
# The entry of guests/bench/loops.S: its second instruction reads the run counter, its tenth
# starts it (bench_entry_read and bench_entry_enable, 4 and 36 bytes after bench_entry).
ENTRY = bench_log.Entry({"bench_entry": 0x40000000, "bench_entry_read": 0x40000004, "bench_entry_enable": 0x40000024})


def canned(name):
    with open(os.path.join(SELFTEST, name)) as f:
        return f.read()


def canned_spec():
    with open(os.path.join(HERE, "paths.json")) as f:
        return f.read()


def replaced(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


class Calibration(unittest.TestCase):
    def test_a_good_run_passes(self):
        for name in ("pmu.log", "floor.log", "counter.log"):
            log = bench_log.Log(canned(name))
            self.assertEqual(bench_log.check_run(log), [], name)

    def test_a_count_one_off_fails(self):
        log = bench_log.Log(replaced(canned("pmu.log"), "iterations 1000 total 4003 el2 0", "iterations 1000 total 4004 el2 0"))
        self.assertTrue(any("calibration failed" in e for e in bench_log.check_calibration(log)))

    def test_work_at_el2_during_calibration_fails(self):
        log = bench_log.Log(replaced(canned("pmu.log"), "iterations 2000 total 8003 el2 0", "iterations 2000 total 8003 el2 5"))
        self.assertTrue(any("calibration failed" in e for e in bench_log.check_calibration(log)))

    def test_a_counter_that_does_not_count_fails(self):
        text = canned("floor.log").replace("total 4003", "total 0").replace("total 8003", "total 0")
        self.assertEqual(len(bench_log.check_calibration(bench_log.Log(text))), 2)

    def test_no_calibration_fails(self):
        text = "\n".join(l for l in canned("pmu.log").splitlines() if "calibration" not in l)
        self.assertTrue(bench_log.check_calibration(bench_log.Log(text)))

    def test_counter_mode_allows_one_tick(self):
        log = bench_log.Log(canned("counter.log"))
        self.assertEqual(bench_log.check_calibration(log), [])
        off = bench_log.Log(canned("counter.log").replace("iterations 1000 total 250 ", "iterations 1000 total 252 ", 1))
        self.assertTrue(bench_log.check_calibration(off))


class Figures(unittest.TestCase):
    def setUp(self):
        self.log = bench_log.Log(canned("pmu.log"))

    def test_single_core_paths(self):
        for name, total, el2 in [("unknown-function", 157, 156), ("abi-version", 169, 168),
                                 ("cap-identify", 304, 303), ("frame-map-unmap", 2135, 2133)]:
            got = bench_log.path_figures(self.log, name, cross_core=False)
            self.assertEqual(got, (total, el2, 1000, []), name)

    def test_round_trip_splits_guest_from_el2_work(self):
        # 1,488 in all: the meter's 2 `hvc`, the partner's 10 guest instructions, 1,476 at EL2.
        self.assertEqual(self.log.partner, (2017, 20171))
        self.assertEqual(bench_log.path_figures(self.log, "notification-round-trip", cross_core=True),
                         (1488, 1476, 1000, []))

    def test_round_trip_keeps_the_lower_run(self):
        text = replaced(canned("pmu.log"), "round-trip iterations 1000 total 1500003", "round-trip iterations 1000 total 1500093")
        self.assertEqual(bench_log.path_figures(bench_log.Log(text), "notification-round-trip", True)[0], 1488)

    def test_single_core_runs_must_agree(self):
        text = replaced(canned("pmu.log"), "abi-version iterations 1000 total 176003", "abi-version iterations 1000 total 177003")
        errors = bench_log.path_figures(bench_log.Log(text), "abi-version", cross_core=False)[3]
        self.assertTrue(any("differ" in e for e in errors))

    def test_a_wrong_status_is_an_error(self):
        text = canned("pmu.log").replace("cap-identify-empty iterations 1000 total 311003 el2 303000 empty-total 7003 "
                                         "empty-el2 0 status 0", "cap-identify-empty iterations 1000 total 311003 el2 "
                                         "303000 empty-total 7003 empty-el2 0 status -2")
        errors = bench_log.path_figures(bench_log.Log(text), "cap-identify-empty", cross_core=False)[3]
        self.assertTrue(any("status -2" in e for e in errors))

    def test_iterations_that_differ_are_an_error(self):
        text = canned("pmu.log").replace("poll iterations 1000 total 320003", "poll iterations 1000 total 320004")
        errors = bench_log.path_figures(bench_log.Log(text), "notification-poll", cross_core=False)[3]
        self.assertTrue(any("not a whole number" in e for e in errors))

    def test_a_missing_partner_report_is_an_error(self):
        text = "\n".join(l for l in canned("pmu.log").splitlines() if "partner" not in l)
        errors = bench_log.path_figures(bench_log.Log(text), "notification-round-trip", cross_core=True)[3]
        self.assertTrue(any("partner" in e for e in errors))

    def test_counter_mode_estimates_within_their_bound(self):
        log = bench_log.Log(canned("counter.log"))
        for name, exact in [("unknown-function", 157), ("cap-identify", 304), ("notification-round-trip", 1488)]:
            estimate, bound = bench_log.counter_estimate(log, name)
            self.assertLessEqual(abs(estimate - exact), bound, name)
            self.assertGreater(abs(estimate - (exact + 1)), bound, name)

    def test_floor_is_one_el2_instruction(self):
        self.assertEqual(bench_log.path_figures(bench_log.Log(canned("floor.log")), "floor", False), (2, 1, 1000, []))


class AcrossCores(unittest.TestCase):
    def setUp(self):
        end = json.loads(canned("pmu-end.json"))
        self.icount = end["icount"]
        self.counters = {int(core): value for core, value in end["run_counters"].items()}
        self.log = bench_log.Log(canned("pmu.log"))

    def test_boot_is_the_earliest_first_instruction(self):
        # Core 1 (the peer) starts first; a gdb breakpoint on its first instruction read
        # 30,303,754 (see docs/benchmarks.md, "Across cores").
        self.assertEqual(bench_log.boot_figure(ENTRY, self.counters, self.icount), 30303754)

    def test_boot_ignores_cores_whose_counter_never_started(self):
        counters = dict(self.counters)
        counters[2] = 0
        self.assertEqual(bench_log.boot_figure(ENTRY, counters, self.icount), 30303754)

    def test_restarts(self):
        figures, errors = bench_log.restart_figures(self.log, ENTRY, self.counters, self.icount, 0, 1)
        self.assertEqual((figures, errors), ([988819] * 4, []))

    def test_a_restart_without_its_start_report_is_an_error(self):
        text = "\n".join(l for l in canned("pmu.log").splitlines() if "started restart 3" not in l)
        figures, errors = bench_log.restart_figures(bench_log.Log(text), ENTRY, self.counters, self.icount, 0, 1)
        self.assertEqual(len(figures), 3)
        self.assertTrue(any("restart 3" in e for e in errors))

    def test_a_refused_restart_fails_the_run(self):
        text = replaced(canned("pmu.log"), "bench restart 2 status 0", "bench restart 2 status -11")
        self.assertTrue(any("restart 2" in e for e in bench_log.check_run(bench_log.Log(text))))


class Budgets(unittest.TestCase):
    def document(self, instructions, budget):
        spec = json.loads(canned_spec())
        spec["paths"] = [p for p in spec["paths"] if p["name"] == "abi-version"]
        log = bench_log.Log(canned("pmu.log"))
        return spec, results.document(spec, {"abi-version": (instructions, instructions - 1, 1000)}, 1,
                                      {"abi-version": budget} if budget else {}, log, {})

    def test_within_budget(self):
        self.assertEqual(results.over_budget(self.document(169, 173)[1]), [])

    def test_over_budget_fails(self):
        self.assertTrue(results.over_budget(self.document(174, 173)[1]))

    def test_a_path_without_budget_fails(self):
        self.assertTrue(results.over_budget(self.document(169, None)[1]))

    def test_the_document_keeps_to_schema_1(self):
        spec, doc = self.document(169, 173)
        self.assertEqual(set(doc), {"schema", "qemu", "cpu", "commit", "calibration", "paths"})
        self.assertEqual(doc["schema"], 1)
        self.assertEqual(doc["paths"], [{"name": "abi-version", "unit": "per round trip", "instructions": 169,
                                         "el2_instructions": 168, "iterations": 1000, "budget": 173,
                                         "reference": {"floor": 1, "bao": 146}, "goal": None}])
        spec = json.loads(canned_spec())
        spec["pending"] = [{"name": "a-pending-path", "unit": "per operation", "awaits": "its subject"}]
        table = results.table(spec, doc)
        self.assertIn("168.00x", table)
        self.assertIn("a-pending-path", table)  # pending paths keep their place in the table
        self.assertIn("linux-boot", table)  # so does an optional path not measured this run


if __name__ == "__main__":
    unittest.main(verbosity=1)

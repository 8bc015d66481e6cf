# Bulkhead: `make run` boots the demo under QEMU, `make test` runs every registered test.
# Debian bookworm, as root: the first run installs what is missing (tools/bootstrap).
BUILD ?= build

.PHONY: all bootstrap configure build run test bench redteam coverage fuzz fuzz-build evidence clean

all: build

bootstrap:
	tools/bootstrap

# Configure once; later builds let CMake re-run itself when a CMakeLists.txt changes.
configure: bootstrap
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; \
	fi

build: configure
	cmake --build $(BUILD)

# The Linux demo (config/linux-demo.dts); DEMO=demo boots the bare-metal one. Interactive when
# stdin is a terminal (the Linux partition's console takes the keyboard; Ctrl-A X quits QEMU),
# without a time limit then; otherwise QEMU's stdin is /dev/null and it gets 400 s. The demo
# powers the machine off by itself.
DEMO ?= linux-demo
run: build
	@mkdir -p $(BUILD)/logs
	@if [ -t 0 ]; then limit=--interactive; else limit="--timeout 400"; fi; \
	tools/qemu-run $$limit --log $(BUILD)/logs/run.log $(BUILD)/images/$(DEMO).img; \
	status=$$?; echo "log: $(BUILD)/logs/run.log"; exit $$status

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j2

# Instruction counts of the kernel's hot paths under QEMU -icount (docs/benchmarks.md): the table
# on stdout, $(BUILD)/bench/results.json and the serial logs beside it. Two runs, which must agree
# to the instruction; fails when the calibration is off, a check fails or a path exceeds its
# budget (bench/budgets.json).
bench: build
	bench/run --build $(BUILD) --runs 2 --linux

# The red-team tests alone (label redteam, redteam-tests/); LONG=1 boots their long variants:
# storms and sweeps ten times longer (docs/testing.md, "Red-team tests").
LONG ?= 0
redteam: build
	BH_REDTEAM_LONG=$(LONG) ctest --test-dir $(BUILD) -L redteam --output-on-failure -j2

# Host-side coverage: a separate, instrumented build (BH_COVERAGE=ON: --coverage -O0, no aarch64
# image, no QEMU tests), the unit tests, then gcovr over kernel/ and tools/bhcc/. HTML report
# in $(COVERAGE_BUILD)/coverage/index.html; line and branch figures per file on stdout, then
# the totals for kernel/ and kernel/caps/. Branches that only exceptions or the compiler's
# unreachable code can take are left out (--exclude-throw-branches/--exclude-unreachable-branches).
COVERAGE_BUILD ?= build-coverage
GCOV ?= gcov-12
GCOVR_FILES = --root . --filter kernel/ --filter tools/bhcc/ --exclude tests/

coverage: bootstrap
	cmake -S . -B $(COVERAGE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBH_COVERAGE=ON
	cmake --build $(COVERAGE_BUILD)
	find $(COVERAGE_BUILD) -name '*.gcda' -delete
	ctest --test-dir $(COVERAGE_BUILD) -L unit --output-on-failure -j2
	@mkdir -p $(COVERAGE_BUILD)/coverage
	gcovr $(GCOVR_FILES) --object-directory $(COVERAGE_BUILD) --gcov-executable $(GCOV) \
	  --exclude-throw-branches --exclude-unreachable-branches \
	  --json $(COVERAGE_BUILD)/coverage/coverage.json \
	  --html-details $(COVERAGE_BUILD)/coverage/index.html
	@echo; echo "== line coverage per file"
	@gcovr --root . -a $(COVERAGE_BUILD)/coverage/coverage.json --txt
	@echo "== branch coverage per file"
	@gcovr --root . -a $(COVERAGE_BUILD)/coverage/coverage.json --txt --branches
	@# gcovr replaces its --txt target with a new file: never give it a device such as /dev/null.
	@for dir in kernel/ kernel/caps/ tools/bhcc/; do \
	  summary=$$(gcovr --root . -a $(COVERAGE_BUILD)/coverage/coverage.json --filter $$dir \
	    --txt $(COVERAGE_BUILD)/coverage/summary.txt --print-summary | grep -E '^(lines|branches):'); \
	  case "$$summary" in \
	    *"(0 out of 0)"*"(0 out of 0)"*|"") echo "total $$dir: no instrumented code (not built into bh_generic yet)" ;; \
	    *) echo "total $$dir:" $$summary ;; \
	  esac; \
	done
	@echo "HTML report: $(COVERAGE_BUILD)/coverage/index.html"

# Fuzzing (docs/fuzzing.md): one campaign of one target, e.g.
#   make fuzz TARGET=hypercall SECONDS=60 JOBS=2 [ENGINE=afl]
# Its own builds in $(FUZZ_BUILD)/<engine> (clang-14 + libFuzzer/ASan/UBSan, or AFL++); status
# lines while it runs; execs/s, coverage (with an llvm-cov line report) and findings with their
# reproducers at the end. Targets: hypercall manifest stage2 bhcc decode vgic smmu.
FUZZ_BUILD ?= build-fuzz
TARGET ?= hypercall
SECONDS ?= 60
JOBS ?= 1
ENGINE ?= libfuzzer

fuzz: bootstrap
	fuzz/tools/campaign --target $(TARGET) --seconds $(SECONDS) --jobs $(JOBS) --engine $(ENGINE) \
	  --build-dir $(FUZZ_BUILD)

fuzz-build: bootstrap
	fuzz/tools/campaign --engine $(ENGINE) --build-dir $(FUZZ_BUILD) --build-only

# The evidence dossier (docs/evidence.md): $(BUILD)/evidence/index.html, one static page (TCB and
# its history, threats x evidence, proofs, fuzzing, coverage with MC/DC, benchmarks, red team,
# the reproducible image), and docs/threat-model/traceability.md regenerated from the tags. Runs
# what has no outputs yet (proofs, a short fuzz campaign, make coverage, MC/DC, the repro check,
# the kernel of each sampled commit, cached in $(BUILD)/evidence/tcb-history/).
evidence: build
	tools/evidence/make-evidence --build $(BUILD) --fuzz-build $(FUZZ_BUILD) --coverage-build $(COVERAGE_BUILD)
	tools/evidence/render-check $(BUILD)/evidence/index.html $(BUILD)/evidence/screenshot.png

clean:
	rm -rf $(BUILD)

#!/usr/bin/env bash
# Self-test of tools/qemu-test's checker, no QEMU needed: canned serial logs (selftest/) are
# checked against the real expectation files and against small ones that exercise each
# directive, and every case states whether the checker must pass (0), fail (1) or reject the
# expectation file (2). Mutated logs show that demo.expect and quad.expect can fail.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
qt="$here/../../tools/qemu-test"
canned="$here/selftest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failures=0
cases=0

# check <want-status> <description> <log> <expect-file> [--exit-code N]
check() {
  local want=$1 what=$2 log=$3 expect=$4; shift 4
  local got=0
  "$qt" --check-log "$log" --expect "$expect" "$@" >"$tmp/out" 2>&1 || got=$?
  cases=$((cases + 1))
  if [ "$got" = "$want" ]; then
    printf 'ok    %s\n' "$what"
  else
    printf 'FAIL  %s: checker exited %s, expected %s\n' "$what" "$got" "$want"
    sed 's/^/      | /' "$tmp/out"
    failures=$((failures + 1))
  fi
}

# mutate <name> <sed script>: a copy of the canned demo log with one change.
mutate() { sed -e "$2" "$canned/demo.log" >"$tmp/$1.log"; }
# expectations <name> <lines...>
expectations() { local name=$1; shift; printf '%s\n' "$@" >"$tmp/$name.expect"; }

demo="$here/demo.expect"
quad="$here/quad.expect"

# ---------------------------------------------------------------- the real expectation files
check 0 "demo.expect accepts the canned demo log" "$canned/demo.log" "$demo"
check 0 "quad.expect accepts the canned quad log (CRLF line ends)" "$canned/quad.log" "$quad"
check 1 "demo.expect rejects the quad log" "$canned/quad.log" "$demo"
check 1 "demo.expect: exit status 124 (timeout) fails" "$canned/demo.log" "$demo" --exit-code 124

mutate attack-succeeded '/stage-2 data abort/a [attacker] ATTACK SUCCEEDED'
check 1 "demo.expect: ATTACK SUCCEEDED fails" "$tmp/attack-succeeded.log" "$demo"
mutate no-fault '/FAULT partition/d'
check 1 "demo.expect: a missing FAULT line fails" "$tmp/no-fault.log" "$demo"
mutate wrong-ipa 's/at IPA 0x48000000/at IPA 0x49000000/'
check 1 "demo.expect: the wrong fault IPA fails" "$tmp/wrong-ipa.log" "$demo"
mutate panic '/partition .attacker. stopped/a [bulkhead] PANIC: something'
check 1 "demo.expect: a PANIC line fails" "$tmp/panic.log" "$demo"
mutate no-poweroff '/powering off/d'
check 1 "demo.expect: a missing power-off line fails" "$tmp/no-poweroff.log" "$demo"
mutate beta-dies '/^\[beta\] heartbeat \([4-9]\|1[0-2]\)$/d; /^\[beta\] done/d; /.beta. stopped/d'
check 1 "demo.expect: beta not running after the fault fails" "$tmp/beta-dies.log" "$demo"
# The attack before any beta heartbeat: order matters.
mutate early-attack '/^\[beta\] heartbeat 1$/d; /^\[attacker\] attacking/a [beta] heartbeat 1'
check 1 "demo.expect: the attack before beta's first heartbeat fails" "$tmp/early-attack.log" "$demo"
mutate injected '/partition .attacker. stopped/i [attacker] unexpected exception ESR=0x93800046 ELR=0x400010d0 FAR=0x48000000'
check 1 "demo.expect: the attacker's own exception report fails" "$tmp/injected.log" "$demo"
sed -e '/p2. started/s/core 2/core 1/' "$canned/quad.log" >"$tmp/quad-core.log"
check 1 "quad.expect: a partition on the wrong core fails" "$tmp/quad-core.log" "$quad"
sed -e '/^\[p3\] heartbeat 6/d' "$canned/quad.log" >"$tmp/quad-short.log"
check 1 "quad.expect: a missing heartbeat 6 fails" "$tmp/quad-short.log" "$quad"

# ---------------------------------------------------------------- directive semantics
printf '%s\n' 'one' 'two' 'three' 'two' 'four' >"$tmp/small.log"

expectations order-ok 'expect ^one$' 'expect ^three$' 'expect ^four$'
check 0 "expect: lines in order" "$tmp/small.log" "$tmp/order-ok.expect"
expectations order-bad 'expect ^three$' 'expect ^one$'
check 1 "expect: searches forward only" "$tmp/small.log" "$tmp/order-bad.expect"
expectations same-line 'expect ^one$' 'expect ^one$'
check 1 "expect: one line matches one expect" "$tmp/small.log" "$tmp/same-line.expect"
expectations anywhere-ok 'expect ^four$' 'anywhere ^one$'
check 0 "anywhere: ignores the position" "$tmp/small.log" "$tmp/anywhere-ok.expect"
expectations anywhere-bad 'anywhere ^five$'
check 1 "anywhere: fails when no line matches" "$tmp/small.log" "$tmp/anywhere-bad.expect"
expectations absent-ok 'absent ^five$' 'absent ^on$'
check 0 "absent: passes when no line matches" "$tmp/small.log" "$tmp/absent-ok.expect"
expectations absent-bad 'expect ^four$' 'absent ^one$'
check 1 "absent: looks at the whole log" "$tmp/small.log" "$tmp/absent-bad.expect"
expectations count-ok 'count 2 ^two$' 'expect ^one$' 'count 2 ^two$'
check 0 "count: at least N from after the previous expect" "$tmp/small.log" "$tmp/count-ok.expect"
expectations count-bad 'expect ^two$' 'count 2 ^two$'
check 1 "count: lines before the previous expect's match do not count" "$tmp/small.log" "$tmp/count-bad.expect"
expectations count-zero 'count 0 ^five$'
check 0 "count 0 always holds" "$tmp/small.log" "$tmp/count-zero.expect"
expectations exit-ok '# comment' '' 'exit 3' 'expect ^one$'
check 0 "exit: expected status matches" "$tmp/small.log" "$tmp/exit-ok.expect" --exit-code 3
check 1 "exit: status 0 when 3 is expected fails" "$tmp/small.log" "$tmp/exit-ok.expect"
expectations default-exit 'expect ^one$'
check 1 "exit: default 0 fails on status 1" "$tmp/small.log" "$tmp/default-exit.expect" --exit-code 1
expectations spaces 'expect ^one$' 'anywhere ^t.o$' 'absent ^two three$'
check 0 "regex runs to the end of the line, spaces included" "$tmp/small.log" "$tmp/spaces.expect"
expectations unknown 'expekt ^one$'
check 2 "an unknown directive is rejected" "$tmp/small.log" "$tmp/unknown.expect"
expectations bad-regex 'expect ^(one$'
check 2 "a bad regex is rejected" "$tmp/small.log" "$tmp/bad-regex.expect"
expectations bad-count 'count many ^one$'
check 2 "a bad count is rejected" "$tmp/small.log" "$tmp/bad-count.expect"
# Captures: a later directive requires the text an earlier one matched.
printf '%s\n' 'total=42' 'x' 'injected 42 faults' 'injected 4 faults' >"$tmp/capture.log"
expectations capture-ok 'expect total=(?P<n>\d+)$' 'expect ^injected ${n} faults$' 'anywhere ^injected ${n} '
check 0 "capture: a later line carries the captured text" "$tmp/capture.log" "$tmp/capture-ok.expect"
expectations capture-bad 'expect total=(?P<n>\d+)$' 'expect ^injected ${n}0 faults$'
check 1 "capture: a different number fails" "$tmp/capture.log" "$tmp/capture-bad.expect"
printf '%s\n' 'name=a.c' 'got abc' >"$tmp/escape.log"
expectations capture-escaped 'expect name=(?P<n>\S+)$' 'expect ^got ${n}$'
check 1 "capture: the captured text is matched literally (a.c is not abc)" "$tmp/escape.log" "$tmp/capture-escaped.expect"
expectations capture-missing 'expect ^nothing (?P<n>\d+)$' 'absent ^injected ${n} faults$'
check 1 "capture: using a name nothing captured fails" "$tmp/capture.log" "$tmp/capture-missing.expect"
expectations capture-anywhere 'anywhere ^injected (?P<k>4) ' 'expect ^total=${k}2$'
check 0 "capture: anywhere captures too" "$tmp/capture.log" "$tmp/capture-anywhere.expect"
expectations capture-bad-regex 'expect ^${n}($'
check 2 "capture: a bad regex around a capture is rejected" "$tmp/capture.log" "$tmp/capture-bad-regex.expect"

# Coverage: the PASS line names what the file covers.
expectations covers '# covers: T-1 INV-2' '#covers: T-35' 'expect ^one$'
"$qt" --check-log "$tmp/small.log" --expect "$tmp/covers.expect" >"$tmp/report" 2>&1 || true
cases=$((cases + 1))
if grep -q '^qemu-test: PASS .* covers T-1 INV-2 T-35$' "$tmp/report"; then
  echo "ok    the PASS line names the covered threats and invariants"
else
  echo "FAIL  covers:"; sed 's/^/      | /' "$tmp/report"; failures=$((failures + 1))
fi

: >"$tmp/empty.log"
check 1 "an empty log fails an expect" "$tmp/empty.log" "$tmp/order-ok.expect"

# The failure report names the directive and shows the log's tail.
"$qt" --check-log "$tmp/small.log" --expect "$tmp/order-bad.expect" >"$tmp/report" 2>&1 || true
cases=$((cases + 1))
if grep -qF "order-bad.expect:2: expect ^one$" "$tmp/report" && grep -q '^--- last 5 lines' "$tmp/report"; then
  echo "ok    the failure report names file:line and prints the log's tail"
else
  echo "FAIL  the failure report:"; sed 's/^/      | /' "$tmp/report"; failures=$((failures + 1))
fi

echo "$((cases - failures))/$cases checker self-tests passed"
[ "$failures" = 0 ]

#!/bin/sh
# The refuting path of `bhcc --verify` (docs/proofs.md, "Checking a packed image"):
#   verify-damaged.sh <bhcc> <tamper-image> <mode|none> <in.img> <out.img> <regex>...
# mode none: the image as packed must verify (exit 0). Otherwise tools/tamper-image damages a
# copy (fixing the checksum, so only the Z3 check can object) and `bhcc --verify` must exit 1.
# Either way every extended regex must match a line of bhcc's output.
set -u
bhcc=$1 tamper=$2 mode=$3 in=$4 out=$5
shift 5
want=1
if [ "$mode" = none ]; then
    out=$in
    want=0
else
    "$tamper" "$mode" "$in" "$out" || { echo "FAIL: tamper-image $mode"; exit 2; }
fi
log=$("$bhcc" --verify "$out" 2>&1)
rc=$?
printf '%s\n' "$log"
[ "$rc" -eq "$want" ] || { echo "FAIL: bhcc --verify exited $rc, expected $want"; exit 1; }
for re in "$@"; do
    printf '%s\n' "$log" | grep -Eq -- "$re" || { echo "FAIL: no line matches: $re"; exit 1; }
done
echo "PASS: bhcc --verify $mode"

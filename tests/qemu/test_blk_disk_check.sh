#!/usr/bin/env bash
# Self-test of tools/blk-disk-check, no QEMU needed: a disk image written here the way
# guests/blkclient writes its blocks (guests/blkclient/block.hpp) must pass against a log that
# acknowledges what it holds, and fail when the log acknowledges a later write (a lost write),
# when a block is damaged, or when the log acknowledges nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
check="$here/../../tools/blk-disk-check"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Blocks 64 and 66 of client 1, sequence numbers 3 and 5.
python3 - "$tmp/disk.raw" <<'PY'
import struct, sys
M = (1 << 64) - 1
def block(client, number, seq):
    w = [0x4B4C42484B4C4230, client, number, seq, 0] + [
        ((((client << 56) ^ (number << 32) ^ seq ^ (i << 20)) * 0x9E3779B97F4A7C15) & M) for i in range(5, 512)]
    h = 0xCBF29CE484222325
    for i, x in enumerate(w):
        h = ((h ^ (0 if i == 4 else x)) * 0x100000001B3) & M
    w[4] = h
    return struct.pack("<512Q", *w)
with open(sys.argv[1], "wb") as f:
    f.truncate(1 << 20)
    f.seek(64 * 4096); f.write(block(1, 64, 3))
    f.seek(66 * 4096); f.write(block(1, 66, 5))
PY
printf '[client1] acked 64..67: 3 0 5 0\n' > "$tmp/good.log"
printf '[client1] acked 64..67: 3 0 6 0\n' > "$tmp/lost.log"
printf '[client1] acked 64..67: 0 0 0 0\n' > "$tmp/none.log"
cp "$tmp/disk.raw" "$tmp/torn.raw"
printf 'x' | dd of="$tmp/torn.raw" bs=1 seek=$((66 * 4096 + 100)) conv=notrunc status=none

failures=0
expect() {
  local want=$1 what=$2; shift 2
  local got=0
  "$check" "$@" > "$tmp/out" 2>&1 || got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, wanted $want"; cat "$tmp/out"; failures=$((failures + 1))
  else
    echo "ok: $what: $(tail -1 "$tmp/out")"
  fi
}
expect 0 "every acknowledged write there" --log "$tmp/good.log" --disk "$tmp/disk.raw"
expect 1 "a lost write" --log "$tmp/lost.log" --disk "$tmp/disk.raw"
expect 1 "a damaged block" --log "$tmp/good.log" --disk "$tmp/torn.raw"
expect 1 "nothing acknowledged" --log "$tmp/none.log" --disk "$tmp/disk.raw"
exit $((failures != 0))

#!/usr/bin/env bash
# Self-test of tools/blk-linux-disk-check, no QEMU needed: a disk image holding the pattern
# Linux's /init writes (guests/linux/init, blk_pattern) passes against a log with its md5, and the
# check fails when a byte of the disk differs, when the log's md5 is not the pattern's, or when
# the log holds no write at all.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
check="$here/../../tools/blk-linux-disk-check"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

md5=$(python3 - "$tmp/disk.raw" <<'PY'
import hashlib, sys
data = b"".join(b"linux-blk line %05d %s\n" % (i, b"x" * 42) for i in range(1024))
with open(sys.argv[1], "wb") as f:
    f.truncate(1 << 20)
    f.write(data)
print(hashlib.md5(data).hexdigest())
PY
)
printf '[linux] init: blk: wrote 65536 bytes md5 %s, read back md5 %s\n' "$md5" "$md5" > "$tmp/good.log"
"$check" --log "$tmp/good.log" --disk "$tmp/disk.raw"

fails() {
    if "$check" "$@" 2>/dev/null; then
        echo "blk-linux-disk-check accepted: $*" >&2
        exit 1
    fi
}
cp "$tmp/disk.raw" "$tmp/damaged.raw"
printf 'X' | dd of="$tmp/damaged.raw" bs=1 seek=40000 conv=notrunc 2>/dev/null
fails --log "$tmp/good.log" --disk "$tmp/damaged.raw"
printf '[linux] init: blk: wrote 65536 bytes md5 %s, read back md5 %s\n' 00000000000000000000000000000000 "$md5" > "$tmp/wrong.log"
fails --log "$tmp/wrong.log" --disk "$tmp/disk.raw"
: > "$tmp/empty.log"
fails --log "$tmp/empty.log" --disk "$tmp/disk.raw"
echo "blk-linux-disk-check: self-test passed"

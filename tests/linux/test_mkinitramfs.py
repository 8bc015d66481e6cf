#!/usr/bin/env python3
"""unit.mkinitramfs: tools/mkinitramfs writes the newc archive the kernel unpacks.

Reads the archive back with an independent newc reader and checks every entry (type, mode,
owner, device numbers, link target, contents), the gzip framing, that the same inputs give the
same bytes, and each refusal. Exit 0 when all hold, 1 with the failures listed.
"""
import gzip
import os
import stat
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "mkinitramfs")
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def read_newc(data):
    """{name: (mode, uid, gid, nlink, mtime, rdevmajor, rdevminor, bytes)} in archive order."""
    entries = {}
    at = 0
    while True:
        header = data[at:at + 110]
        if header[:6] != b"070701":
            raise ValueError(f"bad magic at {at}")
        f = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = f[11], f[6]
        name = data[at + 110:at + 110 + namesize - 1].decode()
        check(data[at + 110 + namesize - 1] == 0, f"{name}: name not NUL-terminated")
        at += 110 + namesize
        at += -at % 4
        body = data[at:at + filesize]
        at += filesize
        at += -at % 4
        if name == "TRAILER!!!":
            check(at == len(data), "data after the trailer")
            return entries
        check(name not in entries, f"{name}: twice")
        entries[name] = (f[1], f[2], f[3], f[4], f[5], f[9], f[10], body)


def run(args):
    return subprocess.run([TOOL] + args, capture_output=True, text=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        def put(name, data):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        busybox = put("busybox", b"\x7fELF busybox")
        init = put("init", b"#!/bin/sh\necho hi\n")
        tool = put("cntvct", b"\x7fELF cntvct")
        module = put("virtio_blk.ko", b"module")
        out = os.path.join(tmp, "out.cpio.gz")
        args = ["-o", out, "--busybox", busybox, "--init", init, "--file", tool + ":/bin/cntvct",
                "--module", module, "--applet", "sh", "--applet", "poweroff"]
        r = run(args)
        check(r.returncode == 0, f"mkinitramfs failed: {r.stderr}")
        raw = open(out, "rb").read()
        check(raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0", "gzip header with a time stamp")
        entries = read_newc(gzip.decompress(raw))

        expected_dirs = ["bin", "dev", "proc", "sys", "tmp", "root", "lib", "lib/modules"]
        for d in expected_dirs:
            check(d in entries and stat.S_ISDIR(entries[d][0]) and entries[d][0] & 0o777 == 0o755, f"directory {d}")
        console = entries.get("dev/console")
        check(console is not None and stat.S_ISCHR(console[0]) and console[5:7] == (5, 1), "dev/console is c 5 1")
        for name, data, mode in (("init", b"#!/bin/sh\necho hi\n", 0o755), ("bin/busybox", b"\x7fELF busybox", 0o755),
                                 ("bin/cntvct", b"\x7fELF cntvct", 0o755),
                                 ("lib/modules/virtio_blk.ko", b"module", 0o644),
                                 ("lib/modules/modules.order", b"virtio_blk.ko\n", 0o644)):
            e = entries.get(name)
            check(e is not None and stat.S_ISREG(e[0]) and e[0] & 0o777 == mode and e[7] == data,
                  f"file {name} with mode {mode:o}")
        for applet in ("sh", "poweroff"):
            e = entries.get("bin/" + applet)
            check(e is not None and stat.S_ISLNK(e[0]) and e[7] == b"busybox", f"bin/{applet} -> busybox")
        for name, e in entries.items():
            check(e[1:5] == (0, 0, 1, 0), f"{name}: owner root, one link, mtime 0")
        names = list(entries)
        check(names.index("bin") < names.index("bin/busybox") and names.index("lib") < names.index("lib/modules"),
              "parents before children")

        # Reproducible: the same inputs, the same bytes.
        check(run(args).returncode == 0 and open(out, "rb").read() == raw, "a second run gives other bytes")
        plain = os.path.join(tmp, "plain.cpio")
        check(run(args[:1] + [plain] + args[2:] + ["--no-gzip"]).returncode == 0 and
              open(plain, "rb").read() == gzip.decompress(raw), "--no-gzip writes the same archive uncompressed")

        # Refusals: each exits 2 with a message and leaves no output behind.
        for bad, why in ((["--file", tool + ":/../etc/x"], "bad destination"),
                         (["--file", tool + ":/bin/busybox"], "given twice"),
                         (["--applet", "a/b"], "bad applet name"),
                         (["--applet", "cntvct", "--file", tool + ":/bin/cntvct"], "given twice"),
                         (["--file", "nosuchfile:/x"], "nosuchfile")):
            target = os.path.join(tmp, "refused.gz")
            r = run(["-o", target, "--busybox", busybox, "--init", init] + bad)
            check(r.returncode == 2 and why in r.stderr and not os.path.exists(target),
                  f"refusal '{why}': status {r.returncode}, stderr {r.stderr.strip()!r}")

    if failures:
        print("unit.mkinitramfs: FAIL\n  " + "\n  ".join(failures))
        return 1
    print("unit.mkinitramfs: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

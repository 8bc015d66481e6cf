"""One QEMU run of a benchmark image under -icount shift=0,sleep=off, from start to power-off,
and what can be read from the machine once it is off (docs/benchmarks.md, "Method").

The machine runs undisturbed: no breakpoint, no stop. Under -icount with QEMU's single-threaded
round-robin of the vCPUs the run is then exactly the same every time; a gdb breakpoint is not
harmless there (with one inserted, the interleaving of the cores changed from run to run by up
to a million instructions in our trials). QEMU is started with -no-shutdown, so that after the
kernel's PSCI SYSTEM_OFF it stays, stopped, with every vCPU's registers intact. Then:
  - QMP `query-replay` gives QEMU's global instruction count (icount), the counter that the
    PMU's INST_RETIRED event is computed from;
  - the gdb stub gives each vCPU's PMU counters (system registers by name). It reads the value
    QEMU last stored, which QEMU brings up to date only when that vCPU changes exception level
    or touches its PMU (a halted core's counter reads as of its last exception return). A
    migration brings every vCPU's counters up to date (the CPU's pre-save hook), so one is made,
    into /dev/null, before the counters are read: then they are the values at power-off.
"""
import json
import os
import re
import shlex
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU_RUN = os.path.join(ROOT, "tools", "qemu-run")


class SessionError(Exception):
    pass


def qemu_command(image, icount=True, extra=()):
    """The reference machine's command line, from tools/qemu-run (its one definition)."""
    args = [QEMU_RUN, "--dry-run"] + (["--icount"] if icount else []) + [image, "--"] + list(extra)
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return shlex.split(out.strip())


def _connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise SessionError(f"QEMU did not open {path}")
            time.sleep(0.05)


class Gdb:
    """The few gdb remote-protocol packets needed to read registers of a stopped machine."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _read_byte(self):
        while not self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SessionError("the gdb stub closed the connection")
            self.buf += chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def request(self, data):
        self.sock.sendall(f"${data}#{sum(data.encode()) & 0xff:02x}".encode())
        while self._read_byte() != b"+":
            pass
        while self._read_byte() != b"$":
            pass
        body = b""
        while (b := self._read_byte()) != b"#":
            body += b
        self._read_byte(), self._read_byte()
        self.sock.sendall(b"+")
        return body.decode()

    def _xfer(self, name):
        out, offset = "", 0
        while True:
            reply = self.request(f"qXfer:features:read:{name}:{offset:x},fff")
            if not reply or reply[0] not in "ml":
                raise SessionError(f"gdb stub: cannot read {name}: {reply!r}")
            out += reply[1:]
            offset += len(reply) - 1
            if reply[0] == "l":
                return out

    def register_numbers(self):
        """{name: number} of every register the stub describes, system registers included."""
        numbers = {}
        for part in re.findall(r'href="([^"]+)"', self._xfer("target.xml")):
            for name, num in re.findall(r'<reg name="([^"]+)"[^>]*regnum="(\d+)"', self._xfer(part)):
                numbers[name] = int(num)
        return numbers

    def threads(self):
        ids, reply = [], self.request("qfThreadInfo")
        while reply.startswith("m"):
            ids += [int(t, 16) for t in reply[1:].split(",")]
            reply = self.request("qsThreadInfo")
        return ids

    def read(self, thread, number):
        if self.request(f"Hg{thread:x}") != "OK":
            raise SessionError(f"gdb stub: no thread {thread}")
        reply = self.request(f"p{number:x}")
        if not reply or reply.startswith("E"):
            raise SessionError(f"gdb stub: cannot read register {number} of thread {thread}: {reply!r}")
        return int.from_bytes(bytes.fromhex(reply), "little")


class Qmp:
    def __init__(self, sock):
        self.file = sock.makefile("rw")
        json.loads(self.file.readline())  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command):
        self.file.write(json.dumps({"execute": command}) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise SessionError(f"QMP {command}: {reply['error']}")


class Outcome:
    """What the machine held when QEMU stopped it, a few host milliseconds after the kernel's
    SYSTEM_OFF: the cores' last instructions before that depend on the host's timing, so the
    instruction count is meaningful only against counters read at the same moment."""

    def __init__(self, icount, registers):
        self.icount = icount        # QEMU's instruction count when it stopped the machine
        self.registers = registers  # {core: {register name: value}} read then


def _refresh_counters(qmp, deadline):
    qmp.file.write(json.dumps({"execute": "migrate", "arguments": {"uri": "exec:cat > /dev/null"}}) + "\n")
    qmp.file.flush()
    while "return" not in (reply := json.loads(qmp.file.readline())):
        if "error" in reply:
            raise SessionError(f"QMP migrate: {reply['error']}")
    while (status := qmp.execute("query-migrate").get("status")) != "completed":
        if status == "failed" or time.monotonic() > deadline:
            raise SessionError(f"the migration that brings the PMU counters up to date did not complete ({status})")
        time.sleep(0.05)


def run(image, log_path, timeout, icount=True, registers=(), extra=()):
    """Boots `image` to its power-off; its serial output goes to `log_path`. Returns the
    Outcome, or raises SessionError (QEMU still running at the timeout, or not powered off)."""
    scratch = tempfile.mkdtemp(prefix="bulkhead-bench.")
    qmp_path, gdb_path = os.path.join(scratch, "qmp"), os.path.join(scratch, "gdb")
    cmd = qemu_command(image, icount, ["-S", "-no-shutdown", "-qmp", f"unix:{qmp_path},server=on,wait=off",
                                       "-gdb", f"unix:{gdb_path},server=on,wait=off"] + list(extra))
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            qmp = Qmp(_connect(qmp_path, deadline))
            qmp.execute("cont")
            while qmp.execute("query-status")["status"] != "shutdown":
                if proc.poll() is not None:
                    raise SessionError(f"QEMU exited with status {proc.returncode} before the machine powered off")
                if time.monotonic() > deadline:
                    raise SessionError(f"the machine did not power off within {timeout:g} s (log: {log_path})")
                time.sleep(0.1)
            total = qmp.execute("query-replay")["icount"]
            values = {}
            if registers:
                _refresh_counters(qmp, deadline)
                gdb = Gdb(_connect(gdb_path, deadline))
                numbers = gdb.register_numbers()
                missing = [r for r in registers if r not in numbers]
                if missing:
                    raise SessionError(f"the gdb stub does not show {missing}")
                for thread in gdb.threads():
                    values[thread - 1] = {r: gdb.read(thread, numbers[r]) for r in registers}
            qmp.execute("quit")
            proc.wait(timeout=10)
            return Outcome(total, values)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for p in (qmp_path, gdb_path):
                if os.path.exists(p):
                    os.unlink(p)
            os.rmdir(scratch)

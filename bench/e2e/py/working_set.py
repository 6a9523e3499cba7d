"""Working set of a nameserver: how much of its RSS it touches again after start-up.

  working_set.py ours|py [--rounds N]

Starts the nameserver (ours: `deno run` of cli/nameserver.ts with the nameserver binary's flags;
py: posttroll's) with --no-multicast on free ports, from a private copy of its executable (deno;
python and libpython), so that no other process maps the same pages, registers one service, then
prints VmRSS,
RssAnon and RssFile (MiB) three times: idle; after process_madvise(MADV_PAGEOUT) of every read-only
file mapping (executable code and data, shared libraries: the pages stay in the page cache, the
process gets back only those it touches again; a page another process also maps is not dropped)
and 5 s idle; after 1,000 look-ups by the Python client. Linux 5.10 or later.
Prints {"event":"result", "impl", "rows": [[label, rss, anon, file], ...]} per round.
"""

import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from common import emit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SYS_PROCESS_MADVISE = 440  # x86_64 and aarch64 (generic table: 440 as well)
MADV_PAGEOUT = 21


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def page_out(pid: int) -> None:
    """Drops the read-only file-backed pages of `pid` from its page tables."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
                if not m or not m.group(4).startswith("/") or m.group(3) not in ("r-xp", "r--p"):
                    continue
                a, b = int(m.group(1), 16), int(m.group(2), 16)
                iov = _IoVec(a, b - a)
                if libc.syscall(SYS_PROCESS_MADVISE, pidfd, ctypes.byref(iov), 1, MADV_PAGEOUT, 0) < 0:
                    raise OSError(ctypes.get_errno(), "process_madvise")
    finally:
        os.close(pidfd)


def mem(pid: int) -> list[float]:
    with open(f"/proc/{pid}/status") as f:
        text = f.read()
    return [
        round(int(re.search(rf"^{k}:\s+(\d+)", text, re.M).group(1)) / 1024, 1)
        for k in ("VmRSS", "RssAnon", "RssFile")
    ]


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def private_copy(path: str, tmp: str) -> str:
    """A copy of `path` in `tmp` (same file name), executable."""
    dst = os.path.join(tmp, os.path.basename(path))
    shutil.copy2(os.path.realpath(path), dst)
    return dst


def server_cmd(impl: str, tmp: str) -> tuple[list[str], dict]:
    """The nameserver's command line, run from private copies in `tmp`, and extra environment."""
    if impl == "py":
        exe = os.path.realpath(f"{ROOT}/.cache/venv/bin/python")
        libdir = os.path.join(os.path.dirname(os.path.dirname(exe)), "lib")
        for name in os.listdir(libdir):
            if name.startswith("libpython") and ".so" in name:
                private_copy(os.path.join(libdir, name), tmp)
        site = subprocess.run(
            [f"{ROOT}/.cache/venv/bin/python", "-c", "import posttroll, os; "
             "print(os.path.dirname(os.path.dirname(posttroll.__file__)))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return ([private_copy(exe, tmp), f"{ROOT}/.cache/venv/bin/nameserver", "--no-multicast"],
                {"LD_LIBRARY_PATH": tmp, "PYTHONPATH": site})
    deno = private_copy(shutil.which("deno"), tmp)
    flags = subprocess.run(
        ["deno", "eval", 'import { binary, denoFlags } from "./cli/binaries.ts";'
         ' console.log(JSON.stringify(denoFlags(binary("nameserver"))))'],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return [deno, "run", *json.loads(flags), f"{ROOT}/cli/nameserver.ts", "--no-multicast"], {}


def client(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, f"{ROOT}/bench/e2e/py/ns_client.py", *args],
        env=env, check=True, capture_output=True,
    )


def one_round(impl: str, tmp: str) -> list:
    ports = [free_port() for _ in range(3)]
    env = dict(os.environ, POSTTROLL_NAMESERVER_PORT=str(ports[0]),
               POSTTROLL_BROADCAST_PORT=str(ports[1]), POSTTROLL_ADDRESS_PUBLISH_PORT=str(ports[2]))
    cmd, extra = server_cmd(impl, tmp)
    server = subprocess.Popen(cmd, env={**env, **extra}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(2)
        client(env, "register", "--port", str(ports[1]))
        time.sleep(0.5)
        rows = [["idle, one service registered", *mem(server.pid)]]
        page_out(server.pid)
        time.sleep(5)
        rows.append(["after paging out, 5 s idle", *mem(server.pid)])
        client(env, "lookups", "--count", "1000", "--seconds", "10")
        rows.append(["then 1,000 look-ups (Python client)", *mem(server.pid)])
        return rows
    finally:
        server.terminate()
        server.wait(5)


def main() -> int:
    impl = sys.argv[1] if len(sys.argv) > 1 else "ours"
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
    for _ in range(rounds):
        tmp = tempfile.mkdtemp(prefix="working-set-")
        try:
            emit(event="result", impl=impl, rows=one_round(impl, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

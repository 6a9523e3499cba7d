"""Shared helpers for the Python peers of the end-to-end bench (bench/e2e/).

Peers talk to the driver (bench/e2e/run.ts) with one JSON object per stdout line and read
commands ("go", "quit") from stdin. Times are wall-clock microseconds (CLOCK_REALTIME), the same
clock the Deno peers read through performance.timeOrigin + performance.now().
"""

import ctypes
import datetime as dt
import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES_FILE = os.path.join(HERE, "..", "shapes.json")


def die_with_parent() -> None:
    """Asks Linux to send SIGTERM to this process when its parent (the driver) dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


die_with_parent()


def now_us() -> int:
    """Wall-clock time in integer microseconds."""
    return time.time_ns() // 1000


def status_kb(field: str, pid="self") -> int:
    """A memory figure of /proc/PID/status (VmHWM, VmRSS, ...) in KiB, -1 if unknown."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def vmhwm_kb(pid="self") -> int:
    """Peak resident set size (VmHWM) of a process in KiB, -1 if unknown."""
    return status_kb("VmHWM", pid)


def emit(**obj) -> None:
    """Writes one JSON line to stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load_shapes() -> dict:
    with open(SHAPES_FILE) as f:
        return json.load(f)


def shape_args(name: str):
    """(subject, type, data, binary) of a message shape, datetimes as naive datetime objects."""
    shapes = load_shapes()
    if name == "latency":
        s = shapes["file_event"]
    else:
        s = shapes[name]
    if s.get("binary"):
        alpha = s["alphabet"]
        data = "".join(alpha[(i * 31 + (i >> 6) * 17) % 64] for i in range(s["size"]))
        return s["subject"], s["type"], data, True
    data = s["data"]
    if isinstance(data, dict):
        data = dict(data)
        for key in s.get("datetimes", []):
            data[key] = dt.datetime.fromisoformat(data[key])
    return s["subject"], s["type"], data, False


class Commands:
    """Reads command lines from stdin in a background thread."""

    def __init__(self):
        self.go = threading.Event()
        self.quit = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "go":
                self.go.set()
            elif cmd == "quit":
                self.quit.set()
        # stdin closed: the driver is gone or done with us
        self.go.set()
        self.quit.set()


def add_run_args(p, count: int, seconds: float, idle: float) -> None:
    """The run arguments every peer takes, with the peer's defaults."""
    p.add_argument("--count", type=int, default=count)
    p.add_argument("--seconds", type=float, default=seconds)
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--warm", type=int, default=0)
    p.add_argument("--idle", type=float, default=idle)


def paced(total: int, rate: float):
    """Yields 0..total-1, each at its time on a fixed schedule of `rate` per second."""
    period = 1.0 / rate
    p0 = time.perf_counter()
    for i in range(total):
        delay = p0 + i * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield i


def run_peer(parse, roles) -> None:
    """Parses the arguments and runs the role they name (`roles`: name -> function); exits 0."""
    a = parse()
    roles[a.role](a)
    sys.exit(0)

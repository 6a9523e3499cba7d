"""Nameserver peer of the end-to-end bench (Python side).

  ns_client.py register --port BROADCAST_PORT
      registers service "bench" (URI tcp://127.0.0.1:40000) with a nameserver started with
      --no-multicast, the way a posttroll publisher with `nameservers=[...]` does (REQ, reply "ok").
  ns_client.py lookups --count N --seconds D
      N sequential posttroll.ns.get_pub_address("bench", nameserver="127.0.0.1") calls (port from
      POSTTROLL_NAMESERVER_PORT), each timed.
  ns_client.py ready --port NS_PORT --runs R -- CMD ARGS...
      R times: spawn CMD, send the nameserver request every attempt over a REQ socket that
      reconnects every 5 ms, time spawn -> first reply, read VmHWM, stop CMD.

Each prints {"event":"result", ...} as a JSON line.
"""

import json
import os
import signal
import subprocess
import sys
import time

import zmq

from common import emit, status_kb, vmhwm_kb


def _child_setup():
    """In the spawned nameserver: own process group, and SIGKILL if this prober dies."""
    os.setsid()
    die_with_parent_kill()


def die_with_parent_kill():
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def register(port: int) -> None:
    from posttroll.message import Message

    msg = Message("/address/bench", "info", {
        "URI": "tcp://127.0.0.1:40000",
        "service": ["bench"],
        "supported_message_version": "v1.2",
        "backend": "unsecure_zmq",
    }).encode()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10_000)
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send_string(msg)
    reply = sock.recv_string()
    sock.close(0)
    ctx.term()
    emit(event="result", reply=reply)


def lookups(count: int, seconds: float) -> None:
    from posttroll.ns import get_pub_address

    first = get_pub_address("bench", timeout=5, nameserver="127.0.0.1")
    if not first or first[0].get("URI") != "tcp://127.0.0.1:40000":
        emit(event="result", error=f"unexpected lookup result: {first!r}")
        return
    idle_rss_kb = status_kb("VmRSS")  # after one look-up: ready, before the run
    lat = []
    deadline = time.perf_counter() + seconds
    t0 = time.perf_counter()
    for _ in range(count):
        a = time.perf_counter()
        addr = get_pub_address("bench", timeout=5, nameserver="127.0.0.1")
        b = time.perf_counter()
        if not addr:
            emit(event="result", error="empty lookup result")
            return
        lat.append(round((b - a) * 1e6))
        if b > deadline:
            break
    total = time.perf_counter() - t0
    emit(
        event="result",
        n=len(lat),
        seconds=total,
        latencies_us=lat,
        vmhwm_kb=vmhwm_kb(),
        idle_rss_kb=idle_rss_kb,
    )


def ready(port: int, runs: int, cmd: list[str]) -> None:
    from posttroll.message import Message

    request = Message("/oper/ns", "request", {"service": "bench"}).encode()
    ctx = zmq.Context()
    times = []
    hwms = []
    for _ in range(runs):
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 5)
        sock.setsockopt(zmq.REQ_RELAXED, 1)
        sock.setsockopt(zmq.REQ_CORRELATE, 1)
        sock.connect(f"tcp://127.0.0.1:{port}")
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=_child_setup)
        took = None
        try:
            limit = t0 + 20
            sock.send_string(request)
            while time.perf_counter() < limit:
                if sock.poll(50):
                    sock.recv()
                    took = time.perf_counter() - t0
                    break
                if proc.poll() is not None:
                    break
            if took is not None:
                # let it settle a moment so the peak memory covers serving a request
                time.sleep(0.2)
                hwms.append(vmhwm_kb(proc.pid))
        finally:
            sock.close(0)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if took is None:
            ctx.term()
            emit(event="result", error=f"no reply within 20 s (exit code {proc.returncode})")
            return
        times.append(round(took * 1e6))
    ctx.term()
    emit(event="result", ready_us=times, vmhwm_kb=max(hwms) if hwms else -1)


def main() -> int:
    mode = sys.argv[1]
    args = sys.argv[2:]
    opts = {}
    rest = []
    if "--" in args:
        i = args.index("--")
        rest = args[i + 1:]
        args = args[:i]
    for i in range(0, len(args), 2):
        opts[args[i].lstrip("-")] = args[i + 1]
    if mode == "register":
        register(int(opts["port"]))
    elif mode == "lookups":
        lookups(int(opts["count"]), float(opts["seconds"]))
    elif mode == "ready":
        ready(int(opts["port"]), int(opts["runs"]), rest)
    else:
        print(json.dumps({"event": "result", "error": f"unknown mode {mode}"}))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""igwn-alert publisher / listener peer of the end-to-end bench (Python igwn-alert 0.7 side).

Usage: igwn_peer.py pub|listen --broker HOST:PORT --group G --topic T --size BYTES
       [--count N] [--seconds D] [--rate R] [--warm W] [--idle S]

pub: client(noauth).connect(topic), then publish_to_topic() per alert (one producer session, the
way a steady publisher uses the API); {"event":"ready"} -> warm-up alerts every 100 ms until "go"
-> measured alerts (as fast as possible, or paced at --rate with the send time embedded) ->
flush -> {"event":"done", ...} -> end alerts every 200 ms until "quit" -> {"event":"exit"}.
pub with --per-call: client.publish() per alert (opens, writes and closes a producer each time).
listen: client.listen(callback, topic) -> {"event":"warm"} on the first warm-up alert ->
{"event":"result", ...} after the end alert (or --idle seconds without alerts, or --cutoff seconds
after the first measured alert: then "cut" is true and the rest was not delivered yet).
"""

import argparse
import os
import threading
import time

from common import Commands, add_run_args, emit, now_us, paced, run_peer, vmhwm_kb

SENT_PLACEHOLDER = 1000000000000000
HERE = os.path.dirname(os.path.abspath(__file__))


def alert_text(kind: str, size: int) -> str:
    """A GraceDB-like alert JSON text of `size` bytes with a 16-digit sent_us placeholder."""
    head = ('{"alert_type": "%s", "uid": "S261125bench", "sent_us": %d, "data": {"superevent_id": '
            '"S261125bench", "far": 1.2e-10, "t_0": 1448062923.25}, "object": {"padding": "'
            % (kind, SENT_PLACEHOLDER))
    tail = '"}}'
    pad = max(0, size - len(head) - len(tail))
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return head + "".join(alpha[(i * 31 + (i >> 6) * 17) % 62] for i in range(pad)) + tail


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["pub", "listen"])
    p.add_argument("--broker", required=True)
    p.add_argument("--group", default="bench")
    p.add_argument("--topic", required=True)
    p.add_argument("--size", type=int, default=1024)
    add_run_args(p, count=1000, seconds=10, idle=5)
    p.add_argument("--per-call", action="store_true")
    p.add_argument("--cutoff", type=float, default=0)
    return p.parse_args()


def make_client(a):
    from igwn_alert import client

    host, port = a.broker.rsplit(":", 1)
    return client(server=f"kafka://{host}/", port=int(port), noauth=True, group=a.group)


def run_pub(a):
    cmds = Commands()
    c = make_client(a)
    if a.per_call:
        def publish(text):
            c.publish(a.topic, text)

        def flush():
            pass
    else:
        c.connect(a.topic)

        def publish(text):
            c.publish_to_topic(a.topic, text)

        def flush():
            c.flush_by_topic(a.topic)

    warm = alert_text("warmup", 200)
    end = alert_text("end", 200)
    emit(event="ready")
    while not cmds.go.wait(0.1):
        publish(warm)
        flush()
    text = alert_text("new", a.size)
    head, tail = text.split(str(SENT_PLACEHOLDER), 1)
    sent = 0
    if a.rate > 0:
        t_start = now_us()
        for _ in paced(a.warm + a.count, a.rate):
            publish(head + str(now_us()) + tail)
            sent += 1
    else:
        deadline = time.perf_counter() + a.seconds
        t_start = now_us()
        for i in range(a.count):
            publish(text)
            sent += 1
            if time.perf_counter() > deadline:
                break
    flush()
    t_end = now_us()
    emit(event="done", sent=sent, t_start_us=t_start, t_end_us=t_end, bytes=len(text.encode()))
    limit = time.monotonic() + 60
    while not cmds.quit.wait(0.2) and time.monotonic() < limit:
        publish(end)
        flush()
    emit(event="exit", vmhwm_kb=vmhwm_kb())
    if not a.per_call:
        c.disconnect()
    os._exit(0)


def run_listen(a):
    c = make_client(a)
    latency = a.rate > 0
    state = dict(warm=False, arrivals=0, received=0, first=0, last=0, activity=time.monotonic(),
                 done=False, first_mono=0.0, cut=False)
    lat = []
    key = '"sent_us": '
    lock = threading.Lock()

    def finish():
        with lock:
            if state["done"]:
                return
            state["done"] = True
        result = dict(event="result", received=state["received"], t_first_us=state["first"],
                      t_last_us=state["last"], cut=state["cut"], vmhwm_kb=vmhwm_kb())
        if latency:
            result["latencies_us"] = lat
        emit(**result)
        os._exit(0)

    def callback(topic, payload):
        t = now_us()
        state["activity"] = time.monotonic()
        text = payload if isinstance(payload, str) else str(payload)
        if text.startswith('{"alert_type": "warmup"'):
            if not state["warm"]:
                state["warm"] = True
                emit(event="warm")
            return
        if text.startswith('{"alert_type": "end"'):
            finish()
            return
        state["arrivals"] += 1
        if latency and state["arrivals"] <= a.warm:
            return
        state["received"] += 1
        if not state["first"]:
            state["first"] = t
            state["first_mono"] = time.monotonic()
        state["last"] = t
        if latency:
            i = text.index(key) + len(key)
            lat.append(t - int(text[i:i + 16]))

    def watchdog():
        started = time.monotonic()
        while True:
            time.sleep(0.2)
            idle = time.monotonic() - state["activity"]
            if state["warm"] and idle > a.idle:
                finish()
            if not state["warm"] and time.monotonic() - started > 120:
                finish()
            if a.cutoff and state["first_mono"] and time.monotonic() - state["first_mono"] > a.cutoff:
                state["cut"] = True
                finish()

    threading.Thread(target=watchdog, daemon=True).start()
    emit(event="connected")
    c.listen(callback, a.topic)
    finish()


if __name__ == "__main__":
    run_peer(parse, {"pub": run_pub, "listen": run_listen})

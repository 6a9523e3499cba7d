"""Publisher / subscriber peer of the end-to-end posttroll bench (Python side).

Usage: posttroll_peer.py pub|sub --impl posttroll|raw --port P [--shape S] [--count N]
       [--seconds D] [--rate R] [--warm W] [--hwm H] [--idle S]

--impl posttroll: posttroll 1.16 Publisher / Subscriber; every message is a fresh Message that the
publisher encodes and the subscriber decodes.
--impl raw: pyzmq PUB / SUB sending the same bytes (encoded once), no decoding: the ceiling.

High-water marks stay at the ZeroMQ default (1000) everywhere. Throughput runs pace the sender
with a credit window instead: the subscriber reports its count of measured messages every
--ack-every messages over a side TCP connection to --ack-port, and the publisher keeps at most
--window (< HWM/2) messages unacknowledged. libzmq's PUB can still drop at its high-water mark (it
learns of its reader's progress only every HWM/2 messages, and lazily); with --ack-idle S the
subscriber reports "N idle" after S seconds without messages, so the publisher does not wait for
lost messages forever (loss is counted: sent - received).

Protocol with the driver (bench/e2e/run.ts), JSON lines on stdout:
  pub: {"event":"bound"} -> sends /bench/warmup every 20 ms until "go" on stdin -> measured run ->
       {"event":"done", sent, t_start_us, t_end_us, bytes} -> sends /bench/end every 50 ms until
       "quit" -> {"event":"exit", vmhwm_kb}
  sub: {"event":"connected"} -> {"event":"warm"} on the first warm-up message -> counts measured
       messages until /bench/end (or `idle` s without messages) ->
       {"event":"result", received, t_first_us, t_last_us, latencies_us?, vmhwm_kb}
"""

import argparse
import socket
import time

import zmq

from common import (Commands, add_run_args, emit, now_us, paced, run_peer, shape_args,
                    vmhwm_kb)

SENT_PLACEHOLDER = 1000000000000000  # 16 digits, same width as a current time in microseconds


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["pub", "sub"])
    p.add_argument("--impl", choices=["posttroll", "raw"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--shape", default="short")
    add_run_args(p, count=10000, seconds=5.0, idle=3.0)
    p.add_argument("--hwm", type=int, default=1000)
    p.add_argument("--ack-port", type=int, default=0)
    p.add_argument("--window", type=int, default=800)
    p.add_argument("--ack-every", type=int, default=100)
    p.add_argument("--ack-idle", type=float, default=0.0)
    return p.parse_args()


class Credits:
    """Publisher side of the credit window: acknowledged counts read from the side connection.

    A report "N idle" (from a subscriber run with --ack-idle) means nothing has arrived for a
    while: the rest was lost (libzmq's PUB drops at its high-water mark even under the window, as
    it learns of its reader's progress only every HWM/2 messages, and lazily), so stop waiting for
    it instead of deadlocking; `stalls` counts these. The loss is remembered and added to every
    later count: otherwise, once more than the window minus the report interval is lost, no count
    can ever free the window again and every window ends in an idle wait."""

    def __init__(self, listener, window):
        self.listener = listener
        self.window = window
        self.conn = None
        self.acked = 0
        self.stalls = 0
        self.lost = 0
        self.buf = b""

    def wait(self, sent):
        """Blocks while `sent - acked >= window`."""
        if self.conn is None:
            self.conn, _ = self.listener.accept()
        while sent - self.acked >= self.window:
            chunk = self.conn.recv(4096)
            if not chunk:
                raise RuntimeError("subscriber closed the credit connection")
            self.buf += chunk
            *lines, self.buf = self.buf.split(b"\n")
            if lines:
                count, _, idle = lines[-1].partition(b" ")
                if idle == b"idle":
                    self.stalls += 1
                    self.lost = sent - int(count)
                    self.acked = sent
                else:
                    self.acked = int(count) + self.lost


def raw_socket(kind, hwm):
    """A pyzmq PUB or SUB socket with the run's high-water mark and no linger, and its close()."""
    ctx = zmq.Context()
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.SNDHWM if kind == zmq.PUB else zmq.RCVHWM, hwm)
    sock.setsockopt(zmq.LINGER, 0)

    def close():
        sock.close(0)
        ctx.term()

    return sock, close


def run_pub(a):
    from posttroll.message import Message

    cmds = Commands()
    addr = f"tcp://127.0.0.1:{a.port}"
    if a.impl == "posttroll":
        from posttroll.publisher import Publisher

        pub = Publisher(addr)
        pub.start()
        send_text = pub.send

        def close():
            pub.stop()
    else:
        sock, close = raw_socket(zmq.PUB, a.hwm)
        sock.bind(addr)

        def send_text(text):
            sock.send(text.encode("utf-8"))

    credits = None
    if a.ack_port:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", a.ack_port))
        lsock.listen(1)
        credits = Credits(lsock, a.window)
    emit(event="bound")
    warm = Message("/bench/warmup", "info", "w").encode()
    end = Message("/bench/end", "info", "e").encode()
    while not cmds.go.wait(0.02):
        send_text(warm)

    subject, atype, data, binary = shape_args(a.shape)
    size = len(Message(subject, atype, data, binary=binary).encode().encode("utf-8"))
    sent = 0
    if a.rate > 0:  # latency run: paced, send time embedded in the data
        base = dict(data)
        if a.impl == "raw":
            base["sent_us"] = SENT_PLACEHOLDER
            text = Message(subject, atype, base).encode().encode("utf-8")
            head, tail = text.split(str(SENT_PLACEHOLDER).encode(), 1)
        t_start = now_us()
        for _ in paced(a.warm + a.count, a.rate):
            if a.impl == "raw":
                sock.send(head + str(now_us()).encode() + tail)
            else:
                msg_data = dict(base)
                msg_data["sent_us"] = now_us()
                pub.send(Message(subject, atype, msg_data).encode())
            sent += 1
        t_end = now_us()
    else:  # throughput run: as fast as possible, bounded by count and seconds
        deadline = time.perf_counter() + a.seconds
        if a.impl == "raw":
            payload = Message(subject, atype, data, binary=binary).encode().encode("utf-8")
            t_start = now_us()
            window = credits.window
            for i in range(a.count):
                if sent - credits.acked >= window:
                    credits.wait(sent)
                sock.send(payload)
                sent += 1
                if (i & 255) == 0 and time.perf_counter() > deadline:
                    break
        else:
            t_start = now_us()
            window = credits.window
            for i in range(a.count):
                if sent - credits.acked >= window:
                    credits.wait(sent)
                pub.send(Message(subject, atype, data, binary=binary).encode())
                sent += 1
                if (i & 255) == 0 and time.perf_counter() > deadline:
                    break
        t_end = now_us()
    emit(event="done", sent=sent, t_start_us=t_start, t_end_us=t_end, bytes=size,
         credit_stalls=credits.stalls if credits else 0)
    limit = time.monotonic() + 30
    while not cmds.quit.wait(0.05) and time.monotonic() < limit:
        send_text(end)
    emit(event="exit", vmhwm_kb=vmhwm_kb())
    close()


def run_sub(a):
    addr = f"tcp://127.0.0.1:{a.port}"
    latency = a.rate > 0
    if a.impl == "posttroll":
        from posttroll.subscriber import Subscriber

        sub = Subscriber([addr], topics="")
        stream = sub.recv(timeout=0.1)

        def receive():
            msg = next(stream)
            if msg is None:
                return None
            if msg.subject == "/bench/warmup":
                return "warm", None
            if msg.subject == "/bench/end":
                return "end", None
            return "msg", (msg.data["sent_us"] if latency else None)

        def close():
            sub.close()
    else:
        sock, close = raw_socket(zmq.SUB, a.hwm)
        sock.setsockopt(zmq.SUBSCRIBE, b"pytroll:/")
        sock.connect(addr)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        key = b'"sent_us": '

        def receive():
            if not poller.poll(100):
                return None
            raw = sock.recv()
            if raw.startswith(b"pytroll://bench/warmup "):
                return "warm", None
            if raw.startswith(b"pytroll://bench/end "):
                return "end", None
            if latency:
                i = raw.index(key) + len(key)
                return "msg", int(raw[i:i + 16])
            return "msg", None

    ack = None
    if a.ack_port and not latency:
        ack = socket.create_connection(("127.0.0.1", a.ack_port))
        ack.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ack_every = a.ack_every
    emit(event="connected")
    warm_seen = False
    received = 0
    arrivals = 0
    t_first = t_last = 0
    lat = []
    started = time.monotonic()
    last_activity = started
    last_ack = started
    while True:
        got = receive()
        mono = time.monotonic()
        if got is None:
            if warm_seen and mono - last_activity > a.idle:
                break
            if not warm_seen and mono - started > 60:
                break
            if ack is not None and a.ack_idle and warm_seen and mono - last_ack > a.ack_idle and \
                    mono - last_activity > a.ack_idle:
                ack.sendall(b"%d idle\n" % received)
                last_ack = mono
            continue
        last_activity = mono
        kind, sent_us = got
        if kind == "warm":
            if not warm_seen:
                warm_seen = True
                emit(event="warm")
            continue
        if kind == "end":
            break
        t = now_us()
        arrivals += 1
        if latency and arrivals <= a.warm:
            continue
        received += 1
        if ack is not None and received % ack_every == 0:
            ack.sendall(b"%d\n" % received)
        if t_first == 0:
            t_first = t
        t_last = t
        if latency:
            lat.append(t - sent_us)
    result = dict(event="result", received=received, t_first_us=t_first, t_last_us=t_last,
                  vmhwm_kb=vmhwm_kb())
    if latency:
        result["latencies_us"] = lat
    emit(**result)
    close()


if __name__ == "__main__":
    run_peer(parse, {"pub": run_pub, "sub": run_sub})

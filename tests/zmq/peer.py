# pyzmq reference peer for the ZeroMQ interop tests. One JSON config in argv[1]:
#   mode: sub | pub | rep | req | push | pull
#   endpoint, bind (bool), curve ({"server": true, "secret", "public"} or {"serverkey", "public",
#   "secret"}), allow (list of Z85 client keys; starts a ThreadAuthenticator), plus per-mode keys.
# Prints "ready <endpoint>" once set up, then one JSON line per message (frames decoded latin-1)
# unless "quiet", and "done <count>" at the end.
import json
import sys
import time

import zmq

cfg = json.loads(sys.argv[1])
ctx = zmq.Context()
auth = None
if cfg.get("allow") is not None:
    from zmq.auth.thread import ThreadAuthenticator

    allowed = set(k.encode() for k in cfg["allow"])

    class Provider:
        def callback(self, domain, key):
            return key in allowed

    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve_callback(domain="*", credentials_provider=Provider())

mode = cfg["mode"]
kind = {"sub": zmq.SUB, "pub": zmq.PUB, "pubburst": zmq.PUB, "rep": zmq.REP, "req": zmq.REQ,
        "push": zmq.PUSH, "pull": zmq.PULL}[mode]
s = ctx.socket(kind)
s.linger = cfg.get("linger", 1000)
if cfg.get("ipv6"):
    s.ipv6 = True
curve = cfg.get("curve")
if curve:
    if curve.get("server"):
        s.curve_server = True
        s.curve_secretkey = curve["secret"].encode()
        s.curve_publickey = curve["public"].encode()
    else:
        s.curve_serverkey = curve["serverkey"].encode()
        s.curve_publickey = curve["public"].encode()
        s.curve_secretkey = curve["secret"].encode()
if cfg.get("heartbeat"):
    s.heartbeat_ivl, s.heartbeat_timeout = cfg["heartbeat"]
if cfg.get("hwm") is not None:
    s.sndhwm = cfg["hwm"]
    s.rcvhwm = cfg["hwm"]
if mode == "sub":
    for t in cfg.get("topics", [""]):
        s.setsockopt(zmq.SUBSCRIBE, t.encode("latin-1"))
if cfg.get("bind"):
    s.bind(cfg["endpoint"])
else:
    s.connect(cfg["endpoint"])
print("ready", s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
quiet = cfg.get("quiet", False)
count = cfg.get("count", 1)


def show(frames):
    if not quiet or n == 0:
        print(json.dumps([f.decode("latin-1") for f in frames]), flush=True)


def enc(frames):
    return [f.encode("latin-1") for f in frames]


n = 0
if mode in ("sub", "pull"):
    until = cfg.get("until")
    while n < count:
        msg = s.recv_multipart()
        show(msg)
        n += 1
        if until is not None and msg[0] == until.encode():
            break
elif mode == "rep":
    while n < count:
        msg = s.recv_multipart()
        show(msg)
        s.send_multipart([b"re:" + f for f in msg])
        n += 1
elif mode == "req":
    s.rcvtimeo = cfg.get("timeout_ms", 10000)
    for i in range(count):
        s.send_multipart(enc([cfg.get("body", "req") + str(i)]))
        show(s.recv_multipart())
        n += 1
elif mode == "push":
    time.sleep(cfg.get("delay", 0))
    for i in range(count):
        s.send_multipart(enc([cfg.get("body", "job") + str(i)] + cfg.get("extra", [])))
        n += 1
elif mode == "pubburst":
    # "sync" every 10 ms until a stdin line arrives, then `count` messages and "end"
    import select

    while not select.select([sys.stdin], [], [], 0.01)[0]:
        s.send_multipart([b"sync"])
    sys.stdin.readline()
    payload = b"x" * cfg.get("size", 100)
    for i in range(count):
        s.send_multipart([b"m", payload])
        n += 1
    s.send_multipart([b"end"])
    sys.stdin.readline()
elif mode == "pub":
    # re-send the messages every interval until stdin closes (slow joiner), or `rounds` times
    import select

    rounds = cfg.get("rounds", 1000000)
    msgs = cfg.get("messages", [["topic", "payload"]])
    for r in range(rounds):
        for m in msgs:
            s.send_multipart(enc(m))
            n += 1
        if select.select([sys.stdin], [], [], cfg.get("interval", 0.05))[0]:
            if not sys.stdin.readline():
                break
print("done", n, flush=True)
s.close()
if auth:
    auth.stop()
ctx.term()

// Fault suite, silent partition: the publisher's host (a test-bed host, testing/hosts.ts)
// drops off the network and dies while unreachable (its namespace is destroyed, so no FIN or RST
// ever reaches the subscriber, as with a power cut), then comes back with the same address and the
// publisher on the same port. The subscriber, on another host, holds a TCP connection that looks
// alive forever unless something probes it: with `tcp_keepalive` configured it must notice and
// reconnect within seconds. Needs root and `ip`.
import { assert, assertEquals } from "@std/assert";
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { PythonProcess } from "../../testing/python.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { baseEnv, cliKeys, configOf, keyEnv } from "../secure/_helpers.ts";
import { type Host, TestBed } from "../../testing/hosts.ts";
import type { Child } from "../../testing/child.ts";
import { recordFault } from "./_record.ts";

const CHILD = new URL("./_pub_child.ts", import.meta.url).pathname;
const PEER = new URL("../hosts/_peer.ts", import.meta.url).pathname;

interface Got {
  seq: number;
  pid: number;
}

Deno.test("fault pubsub: silent partition, publisher host dies and returns; tcp_keepalive recovers", async () => {
  await using bed = await TestBed.create({ hosts: ["pub", "sub"] });
  const env: Record<string, string> = Deno.env.get("FAULT_NO_KA") ? {} : {
    POSTTROLL_TCP_KEEPALIVE: "1",
    POSTTROLL_TCP_KEEPALIVE_IDLE: "1",
    POSTTROLL_TCP_KEEPALIVE_INTVL: "1",
    POSTTROLL_TCP_KEEPALIVE_CNT: "2",
  };
  const port = 20000 + Math.floor(Math.random() * 20000); // any port is free in a new namespace
  const startPub = (host: Host) => host.deno(CHILD, ["farpub", `${port}`, host.ipv4!]);
  const pubs: Child[] = [];
  const uri = `tcp://${bed.host("pub").ipv4}:${port}`;
  const sub = bed.host("sub").deno(PEER, ["tail", uri, "counter"], { env });
  const got = (): Got[] =>
    sub.lines.filter((l) => l.startsWith("msg /counter ")).map((l) => JSON.parse(l.slice(13)));
  try {
    pubs.push(startPub(bed.host("pub")));
    await pubs[0].line((l) => l.startsWith("port "));
    await until(() => got().length >= 20, { what: "messages before the partition" });
    const pid1 = got()[0].pid;
    await bed.host("pub").down();
    const downAt = Date.now();
    // the host dies while unreachable: its TCP state goes without a word to the subscriber
    await pubs[0].kill("SIGKILL");
    // and reboots: same address, publisher on the same port
    const again = await bed.reboot("pub");
    pubs.push(startPub(again));
    await pubs[1].line((l) => l.startsWith("port "));
    const upAt = Date.now();
    await until(() => got().some((g) => g.pid !== pid1), {
      what: "messages from the publisher that came back (stale connection never detected?)",
      timeoutMs: 20_000,
    });
    const recoverMs = Date.now() - upAt;
    assert(recoverMs < 15_000);
    await recordFault({
      area: "pubsub",
      fault: "silent partition: publisher host unreachable, dies (no FIN/RST), comes back with " +
        "the same address and port; tcp_keepalive idle 1 s, intvl 1 s, cnt 2",
      inputs: got().length,
      lost: 0,
      notes: `subscriber reconnected and received from the new publisher ${recoverMs} ms after ` +
        `the host came back (${upAt - downAt} ms outage)`,
    });
  } finally {
    await sub.kill("SIGTERM");
    for (const p of pubs) await p.kill("SIGKILL");
  }
});

const PY_PEER = String.raw`
import sys, zmq
from posttroll.message import Message
ctx = zmq.Context()
pub = ctx.socket(zmq.PUB)
port = pub.bind_to_random_port("tcp://127.0.0.1")
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.setsockopt(zmq.RCVTIMEO, 200)
sub.connect(sys.argv[1])
print("port", port, flush=True)
for line in sys.stdin:
    cmd, arg = line.split()
    if cmd == "send":
        pub.send_string(Message("/hb", "info", arg).encode())
    elif cmd == "recv":
        got = "timeout"
        for _ in range(15):
            try:
                got = Message(rawstr=sub.recv_string()).data
                if got == arg:
                    break
            except zmq.Again:
                pass
        print("got", got, flush=True)
`;

Deno.test("fault pubsub: keepalive heartbeats with libzmq peers keep idle connections up", async () => {
  const s = testSetup();
  using _ka = s.config.set({
    tcp_keepalive: 1,
    tcp_keepalive_idle: 1,
    tcp_keepalive_intvl: 1,
    tcp_keepalive_cnt: 1,
  });
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config: s.config }).start();
  await using py = PythonProcess.spawn(PY_PEER, { args: [`tcp://127.0.0.1:${pub.portNumber}`] });
  const pyPort = Number((await py.waitForLine((l) => l.startsWith("port "), 15_000)).slice(5));
  const sub = new Subscriber([`tcp://127.0.0.1:${pyPort}`], { config: s.config });
  const statuses: string[] = [];
  const watching = (async () => {
    for await (const st of sub.status()) statuses.push(st.type);
  })();
  const received: string[] = [];
  const reading = (async () => {
    for await (const m of sub.recv(0.05)) {
      if (m) received.push(String(m.data));
      if (!sub.running && m === null) break;
    }
  })();
  try {
    // both directions up
    await until(async () => {
      await py.writeLine("send warm");
      return received.includes("warm");
    }, { what: "Python -> Deno" });
    await until(async () => {
      await pub.send(new Message("/hb", "info", "warm"));
      await py.writeLine("recv warm");
      return (await py.waitForLine((l) => l.startsWith("got "), 10_000)) === "got warm";
    }, { what: "Deno -> Python" });
    const disconnectsBefore = statuses.filter((t) => t === "disconnected").length;
    // idle for 5 heartbeat intervals: PINGs must be answered by libzmq, nothing dropped
    await new Promise((r) => setTimeout(r, 5000));
    await py.writeLine("send after");
    await until(() => received.includes("after"), { what: "Python -> Deno after idling" });
    await pub.send(new Message("/hb", "info", "after"));
    await py.writeLine("recv after");
    assertEquals(await py.waitForLine((l) => l.startsWith("got "), 10_000), "got after");
    const disconnects = statuses.filter((t) => t === "disconnected").length - disconnectsBefore;
    assertEquals(disconnects, 0, `statuses: ${statuses}`);
    await recordFault({
      area: "pubsub",
      fault: "idle connections with libzmq (pyzmq) peers under keepalive heartbeats (1 s)",
      inputs: 2,
      lost: 0,
      notes: "5 s idle both ways: PINGs answered, no disconnect, first message after idling " +
        "delivered in both directions",
    });
  } finally {
    await sub.close();
    await Promise.allSettled([watching, reading]);
  }
});

const PY_SECURE_PEER = String.raw`
import sys
from posttroll.message import Message
from posttroll.publisher import Publisher
from posttroll.subscriber import Subscriber
pub = Publisher("tcp://127.0.0.1:0")
pub.start()
sub = Subscriber([sys.argv[1]], topics="/hb")
print("port", pub.port_number, flush=True)
for line in sys.stdin:
    cmd, arg = line.split()
    if cmd == "send":
        pub.send(Message("/hb", "info", arg).encode())
    elif cmd == "recv":
        got = "timeout"
        for i, msg in enumerate(sub.recv(0.2)):
            if msg is not None and msg.data == arg:
                got = arg
                break
            if i > 15:
                break
        print("got", got, flush=True)
`;

Deno.test("fault pubsub: keepalive heartbeats over CURVE (secure_zmq) with posttroll/pyzmq peers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "faults-hb-" });
  try {
    const keys = await cliKeys(dir);
    const env = { ...baseEnv({ POSTTROLL_BACKEND: "secure_zmq" }), ...keyEnv(keys) };
    const config = configOf(env);
    using _ka = config.set({
      tcp_keepalive: 1,
      tcp_keepalive_idle: 1,
      tcp_keepalive_intvl: 1,
      tcp_keepalive_cnt: 1,
    });
    await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
    await using py = PythonProcess.spawn(PY_SECURE_PEER, {
      args: [`tcp://127.0.0.1:${pub.portNumber}`],
      env,
    });
    const pyPort = Number((await py.waitForLine((l) => l.startsWith("port "), 15_000)).slice(5));
    await using sub = new Subscriber([`tcp://127.0.0.1:${pyPort}`], { topics: "/hb", config });
    const statuses: string[] = [];
    const watching = (async () => {
      for await (const st of sub.status()) statuses.push(st.type);
    })();
    const received: string[] = [];
    const reading = (async () => {
      for await (const m of sub.recv(0.05)) {
        if (m) received.push(String(m.data));
        if (!sub.running && m === null) break;
      }
    })();
    try {
      await until(async () => {
        await py.writeLine("send warm");
        return received.includes("warm");
      }, { what: "Python -> Deno (CURVE)" });
      await until(async () => {
        await pub.send(new Message("/hb", "info", "warm"));
        await py.writeLine("recv warm");
        return (await py.waitForLine((l) => l.startsWith("got "), 10_000)) === "got warm";
      }, { what: "Deno -> Python (CURVE)" });
      const before = statuses.filter((t) => t === "disconnected").length;
      await new Promise((r) => setTimeout(r, 5000)); // idle: only heartbeats on the wire
      await py.writeLine("send after");
      await until(() => received.includes("after"), { what: "Python -> Deno after idling" });
      await pub.send(new Message("/hb", "info", "after"));
      await py.writeLine("recv after");
      assertEquals(await py.waitForLine((l) => l.startsWith("got "), 10_000), "got after");
      assertEquals(statuses.filter((t) => t === "disconnected").length - before, 0, `${statuses}`);
      await recordFault({
        area: "pubsub",
        fault: "idle CURVE connections with posttroll (pyzmq) peers under keepalive heartbeats",
        inputs: 2,
        lost: 0,
        notes: "secure_zmq both ways, 5 s idle: encrypted PINGs answered, no disconnect",
      });
    } finally {
      await sub.close();
      await Promise.allSettled([watching, reading]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Fault suite, pub/sub: a publisher process SIGKILLed and restarted on a new port (an NSSubscriber
// with addr_listener follows it without a restart), the nameserver process SIGKILLed and restarted
// (data keeps flowing while it is down; a publisher started during the outage is found once it is
// back), and a subscriber that stops reading (the publisher never blocks; other subscribers lose
// nothing; the PUB high-water mark drops for the stalled one only).
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { binary } from "../../cli/binaries.ts";
import { Message } from "../../lib/posttroll/message.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher, Publisher } from "../../lib/posttroll/publisher.ts";
import { subscribe, Subscriber } from "../../lib/posttroll/subscriber.ts";
import { SubSocket } from "../../lib/zmq/mod.ts";
import { PythonProcess, REPO_ROOT } from "../../testing/python.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { startNameServer } from "./_posttroll.ts";
import { Child } from "../../testing/child.ts";
import { recordFault } from "./_record.ts";

const CHILD = new URL("./_pub_child.ts", import.meta.url).pathname;

interface Got {
  seq: number;
  port: number;
}

/** Reads `sub` in the background into `got` until `stop()` is called. */
function collect(sub: Subscriber): { got: Got[]; stop: () => Promise<void> } {
  const got: Got[] = [];
  let stopped = false;
  const done = (async () => {
    for await (const m of sub.recv(0.05)) {
      if (stopped) break;
      if (m && m.type === "info" && m.subject === "/counter") got.push(m.data as Got);
    }
  })();
  return {
    got,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Sequence gaps in what came from `port` between the first and the last message received. */
function gaps(got: Got[], port: number): number {
  const seqs = got.filter((g) => g.port === port).map((g) => g.seq);
  let missing = 0;
  for (let i = 1; i < seqs.length; i++) {
    assert(seqs[i] > seqs[i - 1], `out of order from ${port}: ${seqs[i - 1]} then ${seqs[i]}`);
    missing += seqs[i] - seqs[i - 1] - 1;
  }
  return missing;
}

Deno.test("fault pubsub: publisher SIGKILLed and restarted on a new port; addr_listener follows", async () => {
  const s = testSetup();
  const { close } = await startNameServer(s, { maxAge: 2 });
  const sub = await subscribe({
    services: "faultpub",
    topics: "counter",
    addrListener: true,
    timeout: 0.5,
    config: s.config,
  });
  const reader = collect(sub);
  const env = { ...s.env, NO_COLOR: "1" };
  let p1: Child | undefined, p2: Child | undefined;
  try {
    p1 = Child.deno(CHILD, ["faultpub"], env);
    const port1 = Number((await p1.line((l) => l.startsWith("port "))).slice(5));
    await until(() => reader.got.filter((g) => g.port === port1).length >= 20, {
      what: "first publisher's messages",
    });
    await p1.kill("SIGKILL");
    p2 = Child.deno(CHILD, ["faultpub"], env);
    const port2 = Number((await p2.line((l) => l.startsWith("port "))).slice(5));
    assertNotEquals(port2, port1);
    const t0 = Date.now();
    await until(() => reader.got.some((g) => g.port === port2), {
      what: "messages from the restarted publisher",
      timeoutMs: 15_000,
    });
    const resumeMs = Date.now() - t0;
    await until(() => reader.got.filter((g) => g.port === port2).length >= 100, {
      what: "100 messages from the restarted publisher",
    });
    // the dead address is dropped when the nameserver expires it (max_age 2 s)
    await until(() => sub.addresses.length === 1 && sub.addresses[0].URI?.includes(`:${port2}`), {
      what: "subscriber follows the address book",
      timeoutMs: 10_000,
    });
    const lost = gaps(reader.got, port1) + gaps(reader.got, port2);
    assertEquals(lost, 0);
    await recordFault({
      area: "pubsub",
      fault: "publisher process SIGKILLed, restarted on a new port (NSSubscriber, addr_listener)",
      inputs: reader.got.length,
      lost,
      notes: `resumed ${resumeMs} ms after the new publisher was up; no gap in either stream ` +
        "once the subscriber was connected (messages sent before the connection are not counted: " +
        "PUB/SUB has no history)",
    });
  } finally {
    await p1?.kill("SIGKILL");
    await p2?.kill("SIGKILL");
    await reader.stop();
    await sub.close();
    await close();
  }
});

Deno.test("fault pubsub: nameserver SIGKILLed and restarted; data keeps flowing, publishers re-register", async () => {
  const s = testSetup();
  const NS = binary("nameserver");
  const nsArgs = ["run", ...NS.permissions, "--no-prompt", `${REPO_ROOT}/${NS.entry}`];
  const env = { ...s.env, NO_COLOR: "1" };
  let ns = new Child(Deno.execPath(), nsArgs, env);
  await ns.line((l) => l.includes("Nameserver ready"));
  const pubs: NoisyPublisher[] = [];
  const senders: Promise<void>[] = [];
  let stop = false;
  const startPub = async () => {
    const p = await new NoisyPublisher("faultpub", {
      broadcastInterval: 0.2,
      announceHost: "127.0.0.1",
      config: s.config,
    }).start();
    pubs.push(p);
    senders.push((async () => {
      for (let seq = 0; !stop; seq++) {
        await p.send(new Message("/counter", "info", { seq, port: p.portNumber }));
        await new Promise((r) => setTimeout(r, 5));
      }
    })());
    return p.portNumber!;
  };
  const sub = await subscribe({
    services: "faultpub",
    topics: "counter",
    addrListener: true,
    timeout: 2,
    config: s.config,
  });
  const reader = collect(sub);
  try {
    const port1 = await startPub();
    await until(() => reader.got.filter((g) => g.port === port1).length >= 20, {
      what: "messages via the first nameserver",
    });
    await ns.kill("SIGKILL");
    // while the nameserver is down the data path is untouched
    const during = reader.got.length;
    await until(() => reader.got.length >= during + 100, { what: "messages while it is down" });
    // a publisher that starts during the outage
    const port2 = await startPub();
    ns = new Child(Deno.execPath(), nsArgs, env);
    await ns.line((l) => l.includes("Nameserver ready"));
    const t0 = Date.now();
    await until(async () =>
      (await getPubAddress("faultpub", { timeout: 2, config: s.config }))
        .length === 2, { what: "both publishers re-registered", timeoutMs: 15_000 });
    const reregMs = Date.now() - t0;
    await until(() => reader.got.filter((g) => g.port === port2).length >= 20, {
      what: "subscriber picks up the publisher started during the outage",
      timeoutMs: 15_000,
    });
    const recoverMs = Date.now() - t0;
    const lost = gaps(reader.got, port1) + gaps(reader.got, port2);
    assertEquals(lost, 0);
    await recordFault({
      area: "pubsub",
      fault: "nameserver process SIGKILLed and restarted (publishers keep announcing)",
      inputs: reader.got.length,
      lost,
      notes: `no gap in the running stream across the outage; both publishers listed again ` +
        `${reregMs} ms after restart; the one started during the outage reached the subscriber ` +
        `after ${recoverMs} ms`,
    });
  } finally {
    stop = true;
    await Promise.allSettled(senders);
    for (const p of pubs) await p.stop();
    await reader.stop();
    await sub.close();
    await ns.kill("SIGTERM");
  }
});

Deno.test("fault pubsub: a stalled subscriber never blocks the publisher; others lose nothing", async () => {
  const s = testSetup();
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config: s.config }).start();
  const endpoint = `tcp://127.0.0.1:${pub.portNumber}`;
  // the stalled one: a raw SUB socket nobody reads, small receive HWM
  await using stalled = new SubSocket({ receiveHighWaterMark: 100, linger: 0 });
  stalled.subscribe("");
  stalled.connect(endpoint);
  // the healthy one: a posttroll Subscriber read by the test
  await using fast = new Subscriber([endpoint], { topics: "", config: s.config });
  const reader = collect(fast);
  // wait until both are connected (PUB drops for peers not yet connected)
  for (let probe = 0;; probe++) {
    await pub.send(new Message("/probe", "info", probe));
    await new Promise((r) => setTimeout(r, 20));
    const got = await stalled.receive({ signal: AbortSignal.timeout(50) }).catch(() => null);
    if (got && probe > 2) break;
    assert(probe < 500, "subscribers never connected");
  }
  await new Promise((r) => setTimeout(r, 200)); // settle probe traffic
  const N = 20_000, BATCH = 500;
  const payload = "x".repeat(2000);
  let maxSendMs = 0;
  const t0 = performance.now();
  for (let seq = 0; seq < N; seq++) {
    const t = performance.now();
    await pub.send(new Message("/counter", "info", { seq, port: 0, payload }));
    maxSendMs = Math.max(maxSendMs, performance.now() - t);
    // pace by the healthy subscriber only (bounded): the stalled one must not matter
    if (seq % BATCH === BATCH - 1) {
      await until(() => reader.got.length >= seq + 1 - BATCH, {
        what: `healthy subscriber at ${seq}`,
        timeoutMs: 20_000,
      });
    }
  }
  const totalMs = performance.now() - t0;
  await until(() => reader.got.length >= N, {
    what: `healthy subscriber got ${reader.got.length}/${N}`,
    timeoutMs: 20_000,
  }).catch(() => {});
  await reader.stop();
  const fastLost = N - reader.got.length;
  assertEquals(fastLost, 0);
  assertEquals(gaps(reader.got, 0), 0);
  assert(maxSendMs < 1000, `a send blocked for ${maxSendMs.toFixed(0)} ms`);
  // the stalled subscriber now drains what it kept: in order, far fewer than N (dropped by HWM)
  let kept = 0, last = -1;
  while (true) {
    const frames = await stalled.receive({ signal: AbortSignal.timeout(500) }).catch(() => null);
    if (!frames) break;
    const m = Message.decode(frames[0]);
    if (m.subject !== "/counter") continue;
    const seq = (m.data as Got).seq;
    assert(seq > last, "stalled subscriber: out of order");
    last = seq;
    kept++;
  }
  assert(kept < N, `stalled subscriber kept all ${kept}`);
  // and once it reads again it gets new messages
  await pub.send(new Message("/counter", "info", { seq: N, port: 0 }));
  const after = await stalled.receive({ signal: AbortSignal.timeout(5000) });
  assertEquals((Message.decode(after[0]).data as Got).seq, N);
  await recordFault({
    area: "pubsub",
    fault: "one subscriber stops reading (2 KB messages, receive HWM 100) next to a healthy one",
    inputs: N,
    lost: fastLost,
    notes:
      `publisher never blocked (max send ${maxSendMs.toFixed(1)} ms, ${N} sends in ${
        (totalMs / 1000).toFixed(1)
      } s); healthy subscriber got ${reader.got.length}/${N}; the stalled one kept ${kept} ` +
      `(HWM + socket buffers; the rest dropped for it alone), in order, and resumed`,
  });
});

Deno.test("fault pubsub: publisher churn (3 x 30 come and go); the subscriber frees every socket", async () => {
  const s = testSetup();
  const { close } = await startNameServer(s, { maxAge: 1 });
  const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
  const sub = await subscribe({
    services: "churn",
    addrListener: true,
    timeout: 0.5,
    config: s.config,
  });
  const ROUNDS = 3, N = 30;
  const fd0 = fds();
  const peaks: number[] = [];
  const pubs: NoisyPublisher[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < N; i++) {
        pubs.push(
          await new NoisyPublisher(`churn${i}`, {
            aliases: ["churn"],
            broadcastInterval: 0.2,
            announceHost: "127.0.0.1",
            config: s.config,
          }).start(),
        );
      }
      await until(() => sub.addresses.length === N, {
        what: `round ${round}: ${N} publishers followed (have ${sub.addresses.length})`,
      });
      peaks.push(fds());
      for (const p of pubs.splice(0)) await p.stop();
      await until(() => sub.addresses.length === 0, {
        what: `round ${round}: all removed (have ${sub.addresses.length})`,
        timeoutMs: 15_000,
      });
    }
    await until(() => fds() <= fd0 + 5, { what: `descriptors back to ${fd0} (now ${fds()})` });
    await recordFault({
      area: "pubsub",
      fault: `publisher churn: ${ROUNDS} rounds of ${N} NoisyPublishers started and stopped, ` +
        "followed by one NSSubscriber (addr_listener, max_age 1 s)",
      inputs: ROUNDS * N,
      lost: 0,
      notes: `every publisher added and removed; descriptors ${fd0} -> ${
        peaks.join("/")
      } (peaks) -> ${fds()} after the last round`,
    });
  } finally {
    for (const p of pubs) await p.stop();
    await sub.close();
    await close();
  }
});

const PY_NSSUB = String.raw`
import json, sys
from posttroll.subscriber import Subscribe
with Subscribe("faultpub", "counter", addr_listener=True, timeout=2) as sub:
    print("ready", flush=True)
    for msg in sub.recv(0.1):
        if msg is not None:
            print("got", msg.data["port"], msg.data["seq"], flush=True)
`;

Deno.test("fault pubsub: nameserver restarted; a Python NSSubscriber (addr_listener) finds a publisher started during the outage", async () => {
  const s = testSetup();
  let ns = await startNameServer(s, { maxAge: 10 });
  const pubs: NoisyPublisher[] = [];
  const senders: Promise<void>[] = [];
  let stop = false;
  const startPub = async () => {
    const p = await new NoisyPublisher("faultpub", {
      broadcastInterval: 0.5,
      announceHost: "127.0.0.1",
      config: s.config,
    }).start();
    pubs.push(p);
    senders.push((async () => {
      for (let seq = 0; !stop; seq++) {
        await p.send(new Message("/counter", "info", { seq, port: p.portNumber }));
        await new Promise((r) => setTimeout(r, 20));
      }
    })());
    return p.portNumber!;
  };
  await using py = PythonProcess.spawn(PY_NSSUB, { env: s.env });
  try {
    const port1 = await startPub();
    await py.waitForLine((l) => l === "ready", 15_000);
    await py.waitForLine((l) => l.startsWith(`got ${port1} `), 15_000);
    await ns.close();
    const port2 = await startPub();
    ns = await startNameServer(s, { maxAge: 10 });
    const t0 = Date.now();
    await py.waitForLine((l) => l.startsWith(`got ${port2} `), 15_000);
    const ms = Date.now() - t0;
    await recordFault({
      area: "pubsub",
      fault: "nameserver restarted; Python NSSubscriber (addr_listener) and a publisher started " +
        "during the outage",
      inputs: 2,
      lost: 0,
      notes: `the Python subscriber received from the new publisher ${ms} ms after the restart`,
    });
  } finally {
    stop = true;
    await Promise.allSettled(senders);
    for (const p of pubs) await p.stop();
    await ns.close();
  }
});

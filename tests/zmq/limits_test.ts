// The engine's limits, each with real sockets over loopback and a hand-made peer where a
// well-behaved one would not misbehave: maxMessageSize across the frames of one message,
// maxConnections (who makes room, who is refused), the REP socket's fair queue and send
// high-water mark, per-subscriber subscription caps, and the subscription tree against a naive
// model. The same attacks on whole processes, with memory measured, are in tests/faults/.
import { assert, assertEquals, assertGreater } from "@std/assert";
import { buildSubscribeCommand } from "../../lib/zmq/command.ts";
import { encodeFrame, FLAG_COMMAND, FLAG_MORE } from "../../lib/zmq/frame.ts";
import { PubSocket, RepSocket, ReqSocket, SubSocket } from "../../lib/zmq/mod.ts";
import { SubscriptionSet } from "../../lib/zmq/subscriptions.ts";
import { rawHandshake, waitEvent, writeAll } from "./_peer.ts";

const enc = new TextEncoder();

function portOf(endpoint: string): number {
  return Number(endpoint.split(":").pop());
}

async function connect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

/** True once the peer closed `conn` (a read returns null or fails) within `ms`. */
async function closedByPeer(conn: Deno.Conn, ms = 5000): Promise<boolean> {
  const buf = new Uint8Array(65536);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"wait">((res) => (timer = setTimeout(() => res("wait"), end - Date.now()))),
    ]);
    clearTimeout(timer);
    if (r === null) return true;
    if (r === "wait") return false;
  }
  return false;
}

Deno.test("limits: maxMessageSize bounds a whole multipart message, not just its frames", async () => {
  await using rep = new RepSocket({ maxMessageSize: 1000 });
  const port = portOf(await rep.bind("tcp://127.0.0.1:0"));
  // a message of 3 frames of 400 bytes: each frame fits, the message does not
  const c = await connect(port);
  try {
    await rawHandshake(c, "REQ");
    const limit = waitEvent(rep, "limit");
    const f = new Uint8Array(400);
    await writeAll(c, encodeFrame(new Uint8Array(0), FLAG_MORE));
    await writeAll(c, encodeFrame(f, FLAG_MORE));
    await writeAll(c, encodeFrame(f, FLAG_MORE));
    await writeAll(c, encodeFrame(f, 0)).catch(() => {});
    const ev = await limit;
    assertEquals(ev.limit, "maxMessageSize");
    assert(ev.detail.includes("exceeds maxMessageSize 1000"), ev.detail);
    assert(await closedByPeer(c), "the connection stays open");
  } finally {
    c.close();
  }
  // a frame announcing more than the limit is refused at its header, before any body arrives
  const c2 = await connect(port);
  try {
    await rawHandshake(c2, "REQ");
    const h = new Uint8Array(9);
    h[0] = 2;
    new DataView(h.buffer).setBigUint64(1, 1n << 30n);
    await writeAll(c2, encodeFrame(new Uint8Array(0), FLAG_MORE));
    await writeAll(c2, h);
    assert(await closedByPeer(c2), "a 1 GiB frame header did not end the connection");
  } finally {
    c2.close();
  }
  // a message within the limit is served
  await using req = new ReqSocket();
  req.connect(`tcp://127.0.0.1:${port}`);
  await req.send(["a", new Uint8Array(900)]);
  const got = await rep.receive({ signal: AbortSignal.timeout(5000) });
  assertEquals(got.map((x) => x.length), [1, 900]);
  await rep.send("ok");
  assertEquals((await req.receive({ signal: AbortSignal.timeout(5000) }))[0], enc.encode("ok"));
});

Deno.test("limits: a PUB socket takes 64 KiB messages at most (they can only be subscriptions)", async () => {
  await using pub = new PubSocket();
  const port = portOf(await pub.bind("tcp://127.0.0.1:0"));
  const c = await connect(port);
  try {
    await rawHandshake(c, "SUB", 0);
    await writeAll(c, encodeFrame(new Uint8Array(70_000).fill(1), 0)).catch(() => {});
    assert(await closedByPeer(c));
  } finally {
    c.close();
  }
});

Deno.test("limits: maxConnections — REP closes the connection silent longest, PUB only a stalled handshake", async () => {
  await using rep = new RepSocket({ maxConnections: 3 });
  const port = portOf(await rep.bind("tcp://127.0.0.1:0"));
  const held: Deno.TcpConn[] = [];
  try {
    // three silent connections (no handshake) fill the socket; a new one is refused while they
    // are young (a connection that has just arrived is never closed for another)
    for (let i = 0; i < 3; i++) held.push(await connect(port));
    const early = await connect(port);
    assert(await closedByPeer(early, 2000), "a fourth connection was let in");
    early.close();
    // once silent for a second, the connection silent longest makes room for a real client
    await new Promise((r) => setTimeout(r, 1100));
    await using req = new ReqSocket();
    req.connect(`tcp://127.0.0.1:${port}`);
    await req.send("ping");
    await rep.receive({ signal: AbortSignal.timeout(5000) });
    await rep.send("pong");
    await req.receive({ signal: AbortSignal.timeout(5000) });
    assert(await closedByPeer(held[0], 2000), "the connection silent longest stays");
    // REP: connections that finished their handshake and went quiet make room too
    for (const c of held.splice(0)) c.close();
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 2; i++) {
      const c = await connect(port);
      await rawHandshake(c, "REQ");
      held.push(c);
    }
    await new Promise((r) => setTimeout(r, 1100));
    await using req2 = new ReqSocket();
    req2.connect(`tcp://127.0.0.1:${port}`);
    await req2.send("again");
    assertEquals(
      (await rep.receive({ signal: AbortSignal.timeout(5000) }))[0],
      enc.encode("again"),
    );
    await rep.send("ok");
    await req2.receive({ signal: AbortSignal.timeout(5000) });
  } finally {
    for (const c of held) c.close();
  }

  await using pub = new PubSocket({ maxConnections: 2 });
  const pport = portOf(await pub.bind("tcp://127.0.0.1:0"));
  const subs: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await connect(pport);
      await rawHandshake(c, "SUB");
      subs.push(c);
    }
    const limit = waitEvent(pub, "limit");
    const third = await connect(pport);
    subs.push(third);
    const ev = await limit;
    assertEquals(ev.limit, "maxConnections");
    assert(ev.detail.includes("refused"), ev.detail);
    assert(await closedByPeer(third, 2000));
    assertEquals(await closedByPeer(subs[0], 300), false, "a subscriber was dropped");
    // a connection stuck in its handshake for more than a second makes room; a new one does not
    subs.pop()!.close();
    subs.shift()!.close();
    await new Promise((r) => setTimeout(r, 100));
    const stuck = await connect(pport);
    subs.push(stuck);
    await new Promise((r) => setTimeout(r, 1200));
    const fresh = await connect(pport);
    subs.push(fresh);
    const late = await connect(pport); // the socket is full with stuck + fresh
    subs.push(late);
    assert(await closedByPeer(stuck, 2000), "the stalled handshake stays");
    assertEquals(await closedByPeer(fresh, 300), false, "a fresh connection was dropped");
    assert(await closedByPeer(late, 2000), "a third connection was let in");
  } finally {
    for (const c of subs) c.close();
  }
});

Deno.test("limits: REP serves others first and drops replies for a peer that never reads", async () => {
  await using rep = new RepSocket({ sendHighWaterMark: 10, maxBufferedBytes: 1 << 20 });
  const port = portOf(await rep.bind("tcp://127.0.0.1:0"));
  const bad = await connect(port);
  let served = 0;
  const server = (async () => {
    const big = new Uint8Array(256 * 1024);
    while (true) {
      try {
        await rep.receive();
      } catch {
        return;
      }
      served++;
      await rep.send(big);
    }
  })();
  try {
    await rawHandshake(bad, "DEALER");
    // 2,000 pipelined requests, replies of 256 KiB never read: 500 MiB if they were all queued
    const one = [encodeFrame(new Uint8Array(0), FLAG_MORE), encodeFrame(enc.encode("q"), 0)];
    const burst = new Uint8Array(2000 * (one[0].length + one[1].length));
    for (let i = 0, o = 0; i < 2000; i++) {
      burst.set(one[0], o);
      o += one[0].length;
      burst.set(one[1], o);
      o += one[1].length;
    }
    await writeAll(bad, burst);
    // a well-behaved client keeps getting answers meanwhile
    await using req = new ReqSocket();
    req.connect(`tcp://127.0.0.1:${port}`);
    for (let i = 0; i < 20; i++) {
      await req.send("hello");
      const r = await req.receive({ signal: AbortSignal.timeout(5000) });
      assertEquals(r[0].length, 256 * 1024);
    }
    // the bad peer got only what its queue takes (10 messages or 1 MiB, plus the kernel's buffers)
    await new Promise((r) => setTimeout(r, 200));
    assert(served < 2000 + 20, `served ${served}: every pipelined request was answered`);
    assertGreater(served, 20);
    const rss = Deno.memoryUsage().rss;
    assert(rss < 2 * 1024 ** 3, `RSS ${rss}`);
  } finally {
    bad.close();
    await rep.close();
    await server;
  }
});

Deno.test("limits: a subscriber's subscriptions are capped in count and bytes; the rest ignored", async () => {
  await using pub = new PubSocket({ maxSubscriptions: 100, maxSubscriptionBytes: 2000 });
  const port = portOf(await pub.bind("tcp://127.0.0.1:0"));
  const c = await connect(port);
  try {
    await rawHandshake(c, "SUB");
    const limit = waitEvent(pub, "limit");
    for (let i = 0; i < 150; i++) {
      await writeAll(
        c,
        encodeFrame(buildSubscribeCommand(enc.encode(`t${i}/`), true), FLAG_COMMAND),
      );
    }
    const ev = await limit;
    assertEquals(ev.limit, "maxSubscriptions");
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(pub.ignoredSubscriptions, 50);
    assertEquals(pub.subscriberCount("t99/x"), 1);
    assertEquals(pub.subscriberCount("t100/x"), 0);
    // cancelling makes room again
    await writeAll(c, encodeFrame(buildSubscribeCommand(enc.encode("t0/"), false), FLAG_COMMAND));
    await writeAll(c, encodeFrame(buildSubscribeCommand(enc.encode("t120/"), true), FLAG_COMMAND));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(pub.subscriberCount("t120/x"), 1);
    assertEquals(pub.subscriberCount("t0/x"), 0);
  } finally {
    c.close();
  }
  // bytes: long prefixes hit maxSubscriptionBytes first
  await using pub2 = new PubSocket({ maxSubscriptions: 100, maxSubscriptionBytes: 2000 });
  const port2 = portOf(await pub2.bind("tcp://127.0.0.1:0"));
  const c2 = await connect(port2);
  try {
    await rawHandshake(c2, "SUB");
    const limit = waitEvent(pub2, "limit");
    for (let i = 0; i < 10; i++) {
      const topic = enc.encode(`${i}`.padEnd(500, "x"));
      await writeAll(c2, encodeFrame(buildSubscribeCommand(topic, true), FLAG_COMMAND));
    }
    assertEquals((await limit).limit, "maxSubscriptionBytes");
  } finally {
    c2.close();
  }
});

Deno.test("subscriptions: the radix tree matches what a naive prefix list matches", () => {
  let seed = 20261206;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const word = (max: number) => {
    const b = new Uint8Array(rnd(max + 1));
    for (let i = 0; i < b.length; i++) b[i] = 97 + rnd(3); // a, b, c: many shared prefixes
    return b;
  };
  const set = new SubscriptionSet();
  const model = new Map<string, number>();
  const key = (b: Uint8Array) => String.fromCharCode(...b);
  const naive = (topic: Uint8Array) => {
    for (const k of model.keys()) {
      if (k.length <= topic.length && key(topic.subarray(0, k.length)) === k) return true;
    }
    return false;
  };
  for (let step = 0; step < 20_000; step++) {
    const p = word(6);
    const k = key(p);
    if (rnd(3) === 0) {
      const had = model.get(k) ?? 0;
      assertEquals(set.remove(p), had === 1);
      if (had === 1) model.delete(k);
      else if (had > 1) model.set(k, had - 1);
    } else {
      assertEquals(set.add(p), !model.has(k));
      model.set(k, (model.get(k) ?? 0) + 1);
    }
    const t = word(8);
    assertEquals(set.matches(t), naive(t), `topic ${key(t)} with ${[...model.keys()]}`);
  }
  assertEquals(set.size, model.size);
  assertEquals(set.bytes, [...model.keys()].reduce((n, k) => n + k.length, 0));
  assertEquals(set.prefixes.map(key).sort(), [...model.keys()].sort());
});

Deno.test("subscriptions: the tree keeps matching while most long prefixes come and go", () => {
  // 40-byte prefixes sharing their first 30: edges are split, merged and their bytes rewritten
  // once most of them are dead
  const set = new SubscriptionSet();
  const p = (i: number) =>
    enc.encode(`pytroll://a/long/shared/prefix/${String(i).padStart(9, "0")}`);
  const kept = new Set<number>();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 2000; i++) set.add(p(round * 2000 + i));
    for (let i = 0; i < 2000; i++) {
      if (i % 50 === 0) kept.add(round * 2000 + i);
      else assert(set.remove(p(round * 2000 + i)));
    }
  }
  assertEquals(set.size, kept.size);
  assertEquals(set.bytes, kept.size * p(0).length);
  for (let i = 0; i < 8000; i++) {
    assertEquals(set.matches(enc.encode(`${new TextDecoder().decode(p(i))} x`)), kept.has(i));
    assertEquals(set.has(p(i)), kept.has(i));
  }
  assertEquals(set.prefixes.length, kept.size);
  assert(!set.matches(enc.encode("pytroll://a/long/shared/prefix/")));
  assertEquals(set.matchesStart(enc.encode("pytroll://a/long/shared/prefix/")), undefined);
  for (const i of kept) assert(set.remove(p(i)));
  assertEquals([set.size, set.bytes, set.prefixes.length], [0, 0, 0]);
  assertEquals(set.matchesStart(enc.encode("pytroll://a")), false);
});

Deno.test("subscriptions: 50,000 distinct prefixes are added and matched quickly", () => {
  const set = new SubscriptionSet();
  const t0 = performance.now();
  for (let i = 0; i < 50_000; i++) set.add(enc.encode(`pytroll://attack/${i}`));
  const addMs = performance.now() - t0;
  const t1 = performance.now();
  let hits = 0;
  for (let i = 0; i < 50_000; i++) if (set.matches(enc.encode(`pytroll://attack/${i}/x`))) hits++;
  const matchMs = performance.now() - t1;
  assertEquals(hits, 50_000);
  assert(!set.matches(enc.encode("pytroll://other")));
  // coarse (linear scans took ~15 s for the adds alone): a tree takes well under a second
  assert(addMs < 3000 && matchMs < 3000, `add ${addMs} ms, match ${matchMs} ms`);
});

Deno.test("limits: SUB pauses reading at maxBufferedBytes of queued input and loses nothing", async () => {
  await using sub = new SubSocket({ maxBufferedBytes: 1 << 20, receiveHighWaterMark: 100_000 });
  sub.subscribe("");
  await using pub = new PubSocket({ sendHighWaterMark: 100_000 });
  const ep = await pub.bind("tcp://127.0.0.1:0");
  sub.connect(ep);
  await waitEvent(sub, "connected");
  while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10));
  const msg = new Uint8Array(64 * 1024);
  // 12.5 MiB offered while nothing is read: the SUB stops at ~1 MiB, the rest waits in the
  // publisher's queue and the kernel, and arrives once the reader goes on
  for (let i = 0; i < 200; i++) await pub.send(msg);
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 200; i++) await sub.receive({ signal: AbortSignal.timeout(5000) });
  assertEquals(pub.dropped, 0);
});

/** The largest a loopback TCP socket's send or receive buffer may grow to (bytes). */
function tcpBufferMax(dir: "wmem" | "rmem"): number {
  try {
    return Number(Deno.readTextFileSync(`/proc/sys/net/ipv4/tcp_${dir}`).trim().split(/\s+/)[2]);
  } catch {
    return 8 << 20;
  }
}

Deno.test("limits: PUB drops for a subscriber that never reads once maxBufferedBytes are queued for it", async () => {
  const budget = 2 << 20;
  // the high-water mark in messages (100,000 x 64 KiB) is far away: only the byte budget bounds
  await using pub = new PubSocket({ sendHighWaterMark: 100_000, maxBufferedBytes: budget });
  const port = portOf(await pub.bind("tcp://127.0.0.1:0"));
  const stalled = await connect(port);
  try {
    await rawHandshake(stalled, "SUB");
    await writeAll(
      stalled,
      encodeFrame(buildSubscribeCommand(new Uint8Array(0), true), FLAG_COMMAND),
    );
    while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10));
    const size = 64 * 1024, n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await pub.send(new Uint8Array(size).fill(i & 255)); // 125 MiB offered
    const ms = performance.now() - t0;
    assert(ms < 10_000, `the publisher blocked: ${n} sends took ${ms.toFixed(0)} ms`);
    assertGreater(pub.dropped, n / 2);
    // what reaches the peer once it reads: the budget plus what the kernel's buffers took, not
    // everything offered (a queue bounded only by the 100,000 messages would have kept all)
    const bound = budget + tcpBufferMax("wmem") + tcpBufferMax("rmem") + size;
    const buf = new Uint8Array(1 << 20);
    let got = 0;
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        stalled.read(buf),
        new Promise<"quiet">((res) => (timer = setTimeout(() => res("quiet"), 500))),
      ]);
      clearTimeout(timer);
      if (r === null || r === "quiet") break;
      got += r;
    }
    assertGreater(got, budget);
    assert(got <= bound, `the stalled peer got ${got} bytes; at most ${bound} may wait for it`);
    assert(pub.dropped + Math.floor(got / (size + 9)) <= n, "a message both dropped and written");
  } finally {
    stalled.close();
  }
});

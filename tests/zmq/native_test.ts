// Our sockets talking to each other: API semantics (state errors, abort signals, close, events,
// endpoints, bindRandomPort), reconnect with resubscription, ZMTP 3.0 peers, garbage peers,
// PUB high-water-mark drops, heartbeats.
import { assert, assertEquals, assertGreater, assertRejects, assertThrows } from "@std/assert";
import {
  PubSocket,
  PullSocket,
  PushSocket,
  RepSocket,
  ReqSocket,
  SubSocket,
  ZmqClosedError,
  ZmqError,
  ZmqStateError,
} from "../../lib/zmq/mod.ts";
import { buildSubscribeMessage } from "../../lib/zmq/command.ts";
import { encodeFrame, FLAG_COMMAND, FLAG_MORE } from "../../lib/zmq/frame.ts";
import { buildSubscribeCommand } from "../../lib/zmq/command.ts";
import { waitFor } from "../../testing/net.ts";
import { rawHandshake, text, waitEvent, writeAll } from "./_peer.ts";

async function subReceiveUntil(sub: SubSocket, pub: PubSocket, msg: string[]): Promise<string[]> {
  // publish until the subscription has propagated, return the first message received
  const ctl = new AbortController();
  const pump = (async () => {
    while (!ctl.signal.aborted) {
      await pub.send(msg);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    return text(await sub.receive({ signal: AbortSignal.timeout(5000) }));
  } finally {
    ctl.abort();
    await pump;
  }
}

Deno.test("native: pub/sub with runtime subscribe/unsubscribe and multipart", async () => {
  await using pub = new PubSocket();
  const ep = await pub.bind("tcp://127.0.0.1:0");
  await using sub = new SubSocket();
  sub.connect(ep);
  sub.subscribe("a");
  assertEquals(await subReceiveUntil(sub, pub, ["a1", "x"]), ["a1", "x"]);
  sub.unsubscribe("a");
  sub.subscribe("b");
  // drain anything left of "a", then only "b" arrives
  const got = await subReceiveUntil(sub, pub, ["b1"]).catch(() => []);
  assert(got[0] === "b1" || got[0] === "a1");
  let m: string[];
  do {
    await pub.send("a2");
    await pub.send("b2");
    m = text(await sub.receive({ signal: AbortSignal.timeout(2000) }));
  } while (m[0] !== "b2");
  assertEquals(m, ["b2"]);
});

Deno.test("native: REQ/REP state machine, envelope, abort and close semantics", async () => {
  await using rep = new RepSocket();
  const ep = await rep.bind("tcp://127.0.0.1:*");
  await using req = new ReqSocket();
  req.connect(ep);
  await assertRejects(() => req.receive(), ZmqStateError);
  await assertRejects(() => rep.send("x"), ZmqStateError);
  await req.send(["hello", "world"]);
  await assertRejects(() => req.send("again"), ZmqStateError);
  const body = await rep.receive({ signal: AbortSignal.timeout(5000) });
  assertEquals(text(body), ["hello", "world"]);
  await assertRejects(() => rep.receive(), ZmqStateError);
  await rep.send(["reply"]);
  assertEquals(text(await req.receive({ signal: AbortSignal.timeout(5000) })), ["reply"]);
  // abort: receive rejects with signal.reason
  const err = await assertRejects(
    () => rep.receive({ signal: AbortSignal.timeout(50) }),
    DOMException,
  );
  assertEquals(err.name, "TimeoutError");
  // close fails waiting calls and is idempotent
  const pending = rep.receive().then(() => null, (e) => e);
  await rep.close();
  await rep.close();
  assert((await pending) instanceof ZmqClosedError);
  assert(rep.closed);
});

Deno.test("native: REQ fails the pending request when its peer goes away", async () => {
  const rep = new RepSocket();
  const ep = await rep.bind("tcp://127.0.0.1:0");
  await using req = new ReqSocket();
  req.connect(ep);
  await req.send("q");
  await rep.receive({ signal: AbortSignal.timeout(5000) });
  await rep.close();
  await assertRejects(() => req.receive({ signal: AbortSignal.timeout(5000) }), ZmqError, "lost");
  // back to idle: a new send is allowed (waits for a peer; abort it)
  await assertRejects(() => req.send("q2", { signal: AbortSignal.timeout(50) }), DOMException);
});

Deno.test("native: PUSH round-robin over two PULLs, PULL fair-queue, ipc + events", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/push.sock`;
    await Deno.writeTextFile(path, "stale"); // stale file is replaced on bind
    await using push = new PushSocket();
    const ep = await push.bind(`ipc://${path}`);
    assertEquals(ep, `ipc://${path}`);
    await using a = new PullSocket();
    await using b = new PullSocket();
    a.connect(ep);
    b.connect(ep);
    await waitFor(() => (push as unknown as { peers: unknown[] }).peers.length === 2);
    for (let i = 0; i < 10; i++) await push.send(`${i}`);
    const ga: string[] = [];
    const gb: string[] = [];
    for (let i = 0; i < 5; i++) {
      ga.push(text(await a.receive({ signal: AbortSignal.timeout(5000) }))[0]);
      gb.push(text(await b.receive({ signal: AbortSignal.timeout(5000) }))[0]);
    }
    assertEquals(ga.length + gb.length, 10);
    await push.close();
    assertThrows(() => Deno.statSync(path)); // unlinked on close
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("native: endpoints — * bind, bindRandomPort range, unbind, disconnect, bad endpoints", async () => {
  await using pub = new PubSocket();
  const ep = await pub.bind("tcp://*:*");
  assert(ep.startsWith("tcp://0.0.0.0:"), ep);
  const port = await pub.bindRandomPort("tcp://127.0.0.1", 40000, 40100);
  assert(port >= 40000 && port < 40100);
  await pub.unbind(`tcp://127.0.0.1:${port}`);
  await assertRejects(() => pub.bind("udp://1.2.3.4:5"), ZmqError, "unsupported");
  await assertRejects(() => pub.bind(ep.replace("0.0.0.0", "127.0.0.1")), ZmqError);
  const fixed = Number(ep.split(":").pop());
  await pub.unbind(`tcp://*:${fixed}`); // as given to bind(), with the real port
  await assertRejects(() => pub.unbind(`tcp://*:${fixed}`), ZmqError, "not bound");
  await using sub = new SubSocket();
  sub.connect(ep.replace("0.0.0.0", "127.0.0.1"));
  sub.disconnect(ep.replace("0.0.0.0", "127.0.0.1"));
  assertThrows(() => sub.connect("tcp://nope"), ZmqError);
});

Deno.test("native: SUB reconnects after the publisher restarts on the same port and resubscribes", async () => {
  const pub1 = new PubSocket();
  const ep = await pub1.bind("tcp://127.0.0.1:0");
  await using sub = new SubSocket({ reconnectInterval: 50 });
  sub.subscribe("t");
  sub.connect(ep);
  assertEquals(await subReceiveUntil(sub, pub1, ["t", "1"]), ["t", "1"]);
  await pub1.close();
  await waitEvent(sub, "disconnected");
  await using pub2 = new PubSocket();
  await pub2.bind(ep);
  // no new subscribe call: the subscription is replayed on reconnect
  assertEquals(await subReceiveUntil(sub, pub2, ["t", "2"]), ["t", "2"]);
});

Deno.test("native: ZMTP 3.0 peers use the 0x01/0x00 subscription message form", async () => {
  await using pub = new PubSocket();
  const ep = await pub.bind("tcp://127.0.0.1:0");
  const port = Number(ep.split(":").pop());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const dec = await rawHandshake(conn, "SUB", 0);
    assert(dec);
    await writeAll(
      conn,
      encodeFrame(buildSubscribeMessage(new TextEncoder().encode("x"), true), 0),
    );
    const ctl = new AbortController();
    const pump = (async () => {
      while (!ctl.signal.aborted) {
        await pub.send(["xy", "z"]);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const buf = new Uint8Array(100);
    let got = "";
    try {
      while (!got.includes("xy")) {
        const n = await conn.read(buf);
        if (n === null) break;
        got += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      ctl.abort();
      await pump;
    }
    assert(got.includes("xy"));
  } finally {
    conn.close();
  }
  // our SUB towards a 3.0 publisher sends the message form
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await using sub = new SubSocket();
    sub.subscribe("abc");
    sub.connect(`tcp://127.0.0.1:${(l.addr as Deno.NetAddr).port}`);
    const c = await l.accept();
    try {
      const d = await rawHandshake(c, "PUB", 0);
      const buf = new Uint8Array(100);
      while (!d.next()) {
        const n = await c.read(buf);
        d.push(buf.subarray(0, n!));
      }
      assertEquals(d.flags & FLAG_COMMAND, 0);
      assertEquals(text([d.body]), ["\x01abc"]);
      // and receives what the 3.0 publisher sends
      await writeAll(c, encodeFrame(new TextEncoder().encode("abcd"), FLAG_MORE));
      await writeAll(c, encodeFrame(new TextEncoder().encode("body"), 0));
      assertEquals(text(await sub.receive({ signal: AbortSignal.timeout(5000) })), [
        "abcd",
        "body",
      ]);
    } finally {
      c.close();
    }
  } finally {
    l.close();
  }
});

Deno.test("native: garbage and mid-frame stops drop the connection, the socket survives", async () => {
  await using pub = new PubSocket();
  const ep = await pub.bind("tcp://127.0.0.1:0");
  const port = Number(ep.split(":").pop());
  // 1. garbage instead of a greeting
  const g = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(g, new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + "x".repeat(80)));
  const ev = await waitEvent(pub, "handshake-failed");
  assertEquals(ev.authRefused, false);
  g.close();
  // 2. valid handshake, then bad flags
  const b = await Deno.connect({ hostname: "127.0.0.1", port });
  await rawHandshake(b, "SUB");
  await writeAll(b, new Uint8Array([0xff, 0xff, 0xff]));
  await waitEvent(pub, "disconnected");
  b.close();
  // 3. valid handshake, then half a frame and EOF
  const h = await Deno.connect({ hostname: "127.0.0.1", port });
  await rawHandshake(h, "SUB");
  await writeAll(h, new Uint8Array([FLAG_COMMAND, 20, 9, 83, 85]));
  h.close();
  await waitEvent(pub, "disconnected");
  // the socket still serves a real subscriber
  await using sub = new SubSocket();
  sub.subscribe("");
  sub.connect(ep);
  assertEquals(await subReceiveUntil(sub, pub, ["still", "alive"]), ["still", "alive"]);
});

Deno.test("native: PUB drops at the high-water mark for a stalled subscriber and never blocks", async () => {
  await using pub = new PubSocket({ sendHighWaterMark: 10 });
  const ep = await pub.bind("tcp://127.0.0.1:0");
  const port = Number(ep.split(":").pop());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await rawHandshake(conn, "SUB");
    await writeAll(conn, encodeFrame(buildSubscribeCommand(new Uint8Array(0), true), FLAG_COMMAND));
    await waitFor(() => pub.subscriberCount() === 1);
    const big = new Uint8Array(64 * 1024);
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) await pub.send(big); // 128 MB offered to a reader that stalls
    const ms = performance.now() - t0;
    assertGreater(pub.dropped, 1000);
    assert(ms < 5000, `publisher blocked for ${ms} ms`);
  } finally {
    conn.close();
  }
});

Deno.test("native: heartbeat timeout drops a silent peer; a live peer stays", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  try {
    await using sub = new SubSocket({ heartbeatInterval: 50, heartbeatTimeout: 100 });
    sub.connect(`tcp://127.0.0.1:${(l.addr as Deno.NetAddr).port}`);
    const c = await l.accept();
    conns.push(c);
    await rawHandshake(c, "PUB"); // then silence: PINGs are never answered
    const t0 = Date.now();
    await waitEvent(sub, "disconnected", 3000);
    assert(Date.now() - t0 < 2000);
    // ours <-> ours with heartbeats stays connected for several intervals
    await using pub = new PubSocket({ heartbeatInterval: 30 });
    const ep = await pub.bind("tcp://127.0.0.1:0");
    await using sub2 = new SubSocket({ heartbeatInterval: 30, heartbeatTimeout: 60 });
    sub2.subscribe("");
    sub2.connect(ep);
    await waitEvent(sub2, "connected");
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(await subReceiveUntil(sub2, pub, ["hb"]), ["hb"]);
  } finally {
    for (const c of conns) c.close();
    l.close();
  }
});

Deno.test("native: linger flushes queued output on close; tcpKeepalive connections work", async () => {
  await using pull = new PullSocket({ tcpKeepalive: true });
  const ep = await pull.bind("tcp://127.0.0.1:0");
  const push = new PushSocket({ linger: 5000, tcpKeepalive: { idleSeconds: 60 } });
  push.connect(ep);
  await waitEvent(push, "connected");
  const big = new Uint8Array(100_000);
  for (let i = 0; i < 200; i++) await push.send(["n", `${i}`, big]); // 20 MB queued
  await push.close(); // waits (up to linger) until everything is written
  for (let i = 0; i < 200; i++) {
    const m = await pull.receive({ signal: AbortSignal.timeout(5000) });
    assertEquals(text(m.slice(0, 2)), ["n", `${i}`]);
  }
});

Deno.test("native: PUSH waits at the high-water mark of a stalled peer; the wait is abortable", async () => {
  await using push = new PushSocket({ sendHighWaterMark: 4 });
  const ep = await push.bind("tcp://127.0.0.1:0");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(ep.split(":").pop()) });
  try {
    await rawHandshake(conn, "PULL"); // then never reads
    await waitEvent(push, "connected");
    const big = new Uint8Array(1 << 20);
    let sent = 0;
    const err = await assertRejects(async () => {
      while (true) {
        await push.send(big, { signal: AbortSignal.timeout(300) });
        sent++;
      }
    }, DOMException);
    assertEquals(err.name, "TimeoutError");
    assert(sent >= 4 && sent < 200, `sent ${sent}`);
  } finally {
    conn.close();
  }
});

Deno.test("native: incompatible socket types fail the handshake (READY Socket-Type check)", async () => {
  await using pull = new PullSocket();
  const ep = await pull.bind("tcp://127.0.0.1:0");
  await using sub = new SubSocket();
  const failed = waitEvent(sub, "handshake-failed");
  sub.connect(ep);
  const ev = await failed;
  assert(ev.reason.includes("socket type"), ev.reason);
  assertEquals(ev.authRefused, false);
});

Deno.test("native: for await iterates messages, break keeps the socket, close ends the loop", async () => {
  await using pull = new PullSocket();
  const ep = await pull.bind("tcp://127.0.0.1:0");
  await using push = new PushSocket();
  push.connect(ep);
  for (let i = 0; i < 4; i++) await push.send(`${i}`);
  const seen: string[] = [];
  for await (const m of pull) {
    seen.push(text(m)[0]);
    if (seen.length === 2) break;
  }
  assertEquals(text(await pull.receive({ signal: AbortSignal.timeout(5000) })), ["2"]);
  const rest = (async () => {
    for await (const m of pull) seen.push(text(m)[0]);
  })();
  await waitFor(() => seen.length === 3);
  await pull.close();
  await rest; // the loop ends when the socket closes
  assertEquals(seen, ["0", "1", "3"]);
});

Deno.test("native: a peer's PING TTL is honoured (silent peer dropped after the TTL)", async () => {
  await using pub = new PubSocket();
  const ep = await pub.bind("tcp://127.0.0.1:0");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(ep.split(":").pop()) });
  try {
    await rawHandshake(conn, "SUB");
    const { buildPing } = await import("../../lib/zmq/command.ts");
    const t0 = Date.now();
    await writeAll(conn, encodeFrame(buildPing("PING", 2), FLAG_COMMAND)); // TTL 200 ms
    await waitEvent(pub, "disconnected", 3000);
    const ms = Date.now() - t0;
    assert(ms >= 150 && ms < 2000, `dropped after ${ms} ms`);
  } finally {
    conn.close();
  }
});

Deno.test("native: REP routes each reply to its requester; REQ round-robins over REPs", async () => {
  await using rep = new RepSocket();
  const ep = await rep.bind("tcp://127.0.0.1:0");
  await using a = new ReqSocket();
  await using b = new ReqSocket();
  a.connect(ep);
  b.connect(ep);
  await a.send("from-a");
  await b.send("from-b");
  const first = text(await rep.receive({ signal: AbortSignal.timeout(5000) }))[0];
  await rep.send(`re-${first}`);
  const second = text(await rep.receive({ signal: AbortSignal.timeout(5000) }))[0];
  await rep.send(`re-${second}`);
  assertEquals(text(await a.receive({ signal: AbortSignal.timeout(5000) })), ["re-from-a"]);
  assertEquals(text(await b.receive({ signal: AbortSignal.timeout(5000) })), ["re-from-b"]);
  // one REQ, two REPs: requests alternate
  await using rep2 = new RepSocket();
  const ep2 = await rep2.bind("tcp://127.0.0.1:0");
  await using c = new ReqSocket();
  c.connect(ep);
  c.connect(ep2);
  await waitFor(() => (c as unknown as { peers: unknown[] }).peers.length === 2);
  const served: string[] = [];
  const loop = async (r: RepSocket, name: string) => {
    try {
      while (true) {
        const m = await r.receive();
        served.push(name);
        await r.send(m);
      }
    } catch { /* closed */ }
  };
  const loops = [loop(rep, "rep1"), loop(rep2, "rep2")];
  for (let i = 0; i < 4; i++) {
    await c.send(`${i}`);
    await c.receive({ signal: AbortSignal.timeout(5000) });
  }
  await rep.close();
  await rep2.close();
  await Promise.all(loops);
  assertEquals(served.filter((n) => n === "rep1").length, 2);
  assertEquals(served.filter((n) => n === "rep2").length, 2);
});

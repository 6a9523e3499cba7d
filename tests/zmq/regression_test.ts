// Regression tests against libzmq (pyzmq): low rate (messages 1 s apart) and high rate (20k
// messages / round trips) without a stall; reconnect to a pyzmq publisher restarted on the same
// port with the subscription replayed.
import { assert, assertEquals } from "@std/assert";
import { PubSocket, RepSocket, ReqSocket, SubSocket } from "../../lib/zmq/mod.ts";
import { freePort } from "../../testing/net.ts";
import { startPeer, text, waitEvent } from "./_peer.ts";

const N = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("regression: low rate, messages 1 s apart (pub/sub and req/rep both ways)", async () => {
  const pubsub = async () => {
    await using pub = new PubSocket();
    const ep = await pub.bind("tcp://127.0.0.1:0");
    await using peer = await startPeer({ mode: "sub", endpoint: ep, count: 4, topics: ["s"] });
    const first = peer.next(10_000);
    let ok = false;
    first.then(() => (ok = true), () => (ok = true));
    while (!ok) {
      await pub.send(["s", "sync"]);
      await sleep(20);
    }
    assertEquals(await first, ["s", "sync"]);
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      await pub.send(["s", `slow${i}`]);
    }
    assertEquals(await peer.done(), 4);
  };
  const reqrep = async () => {
    await using peer = await startPeer({
      mode: "rep",
      endpoint: "tcp://127.0.0.1:*",
      bind: true,
      count: 3,
    });
    await using req = new ReqSocket();
    req.connect(peer.endpoint);
    for (let i = 0; i < 3; i++) {
      if (i) await sleep(1000);
      await req.send(`r${i}`);
      assertEquals(text(await req.receive({ signal: AbortSignal.timeout(5000) })), [`re:r${i}`]);
    }
  };
  const repreq = async () => {
    await using rep = new RepSocket();
    const ep = await rep.bind("tcp://127.0.0.1:0");
    await using peer = await startPeer({ mode: "req", endpoint: ep, count: 3 });
    for (let i = 0; i < 3; i++) {
      const [b] = await rep.receive({ signal: AbortSignal.timeout(5000) });
      if (i < 2) await sleep(1000);
      await rep.send(b);
    }
    assertEquals(await peer.done(), 3);
  };
  await Promise.all([pubsub(), reqrep(), repreq()]);
});

Deno.test("regression: 20k messages our PUB -> pyzmq SUB and pyzmq PUB -> our SUB", async () => {
  {
    await using pub = new PubSocket({ sendHighWaterMark: 0 });
    const ep = await pub.bind("tcp://127.0.0.1:0");
    await using peer = await startPeer({
      mode: "sub",
      endpoint: ep,
      count: N + 1000,
      quiet: true,
      until: "end",
      hwm: 0,
    });
    const first = peer.next(10_000);
    let ok = false;
    first.then(() => (ok = true), () => (ok = true));
    while (!ok) {
      await pub.send("sync");
      await sleep(10);
    }
    await first;
    await sleep(50); // let in-flight sync messages land
    const payload = new Uint8Array(100);
    for (let i = 0; i < N; i++) await pub.send(["m", payload]);
    await pub.send("end");
    const n = await peer.done(20_000);
    assert(n >= N + 2, `pyzmq SUB got ${n}`);
  }
  {
    await using peer = await startPeer({
      mode: "pubburst",
      endpoint: "tcp://127.0.0.1:*",
      bind: true,
      count: N,
      hwm: 0,
    });
    await using sub = new SubSocket();
    sub.subscribe("");
    sub.connect(peer.endpoint);
    assertEquals(text(await sub.receive({ signal: AbortSignal.timeout(10_000) })), ["sync"]);
    await peer.proc.writeLine("go");
    let got = 0;
    while (true) {
      const m = await sub.receive({ signal: AbortSignal.timeout(10_000) });
      if (m.length === 1 && m[0].length === 3 && text(m)[0] === "end") break;
      if (m.length === 2) got++;
    }
    assertEquals(got, N);
  }
});

Deno.test("regression: 20k round trips our REQ -> pyzmq REP and pyzmq REQ -> our REP", async () => {
  {
    await using peer = await startPeer({
      mode: "rep",
      endpoint: "tcp://127.0.0.1:*",
      bind: true,
      count: N,
      quiet: true,
    });
    await using req = new ReqSocket();
    req.connect(peer.endpoint);
    for (let i = 0; i < N; i++) {
      await req.send("x");
      await req.receive({ signal: AbortSignal.timeout(5000) });
    }
    assertEquals(await peer.done(), N);
  }
  {
    await using rep = new RepSocket();
    const ep = await rep.bind("tcp://127.0.0.1:0");
    await using peer = await startPeer({ mode: "req", endpoint: ep, count: N, quiet: true });
    for (let i = 0; i < N; i++) {
      const m = await rep.receive({ signal: AbortSignal.timeout(5000) });
      await rep.send(m);
    }
    assertEquals(await peer.done(), N);
  }
});

Deno.test("regression: our SUB reconnects to a pyzmq PUB restarted on the same port", async () => {
  const port = freePort();
  const ep = `tcp://127.0.0.1:${port}`;
  await using sub = new SubSocket({ reconnectInterval: 50 });
  sub.subscribe("/t");
  sub.connect(ep);
  const cfg = { mode: "pub", endpoint: ep, bind: true, messages: [["/t/a", "1"]], interval: 0.02 };
  {
    await using _peer = await startPeer(cfg);
    assertEquals(text(await sub.receive({ signal: AbortSignal.timeout(10_000) })), ["/t/a", "1"]);
  }
  await waitEvent(sub, "disconnected");
  await using _peer2 = await startPeer({ ...cfg, messages: [["/t/b", "2"]] });
  let m: string[];
  do m = text(await sub.receive({ signal: AbortSignal.timeout(10_000) })); while (m[0] !== "/t/b");
  assertEquals(m, ["/t/b", "2"]);
});

// PUB/SUB interop with libzmq (pyzmq) in both directions over tcp IPv4, tcp IPv6 and ipc.
import { assertEquals } from "@std/assert";
import { PubSocket, SubSocket } from "../../lib/zmq/mod.ts";
import { ipcPath, startPeer, text } from "./_peer.ts";

const transports = [
  { name: "tcp4", bindEp: "tcp://127.0.0.1:0", ipv6: false },
  { name: "tcp6", bindEp: "tcp://[::1]:0", ipv6: true },
  { name: "ipc", bindEp: "ipc", ipv6: false },
];

for (const t of transports) {
  Deno.test(`pubsub interop ${t.name}: our PUB -> pyzmq SUB with topic filter`, async () => {
    const ipc = t.bindEp === "ipc" ? ipcPath() : undefined;
    try {
      await using pub = new PubSocket();
      const ep = await pub.bind(ipc ? `ipc://${ipc.path}` : t.bindEp);
      await using peer = await startPeer({
        mode: "sub",
        endpoint: ep,
        topics: ["/keep"],
        count: 3,
        ipv6: t.ipv6,
      });
      // slow joiner: publish until the subscriber has 3 matching messages
      let i = 0;
      const got: string[][] = [];
      const reader = (async () => {
        for (let k = 0; k < 3; k++) got.push(await peer.next(10_000));
      })();
      let done = false;
      reader.finally(() => (done = true));
      while (!done) {
        await pub.send(["/drop/x", "no"]);
        await pub.send(["/keep/x", `yes${i++}`]);
        await new Promise((r) => setTimeout(r, 20));
      }
      await reader;
      for (const m of got) {
        assertEquals(m[0], "/keep/x");
        assertEquals(m[1].startsWith("yes"), true);
      }
    } finally {
      ipc?.cleanup();
    }
  });

  Deno.test(`pubsub interop ${t.name}: pyzmq PUB -> our SUB with topic filter`, async () => {
    const ipc = t.bindEp === "ipc" ? ipcPath() : undefined;
    try {
      const bindEp = ipc ? `ipc://${ipc.path}` : t.bindEp.replace(":0", ":*");
      await using peer = await startPeer({
        mode: "pub",
        endpoint: bindEp,
        bind: true,
        ipv6: t.ipv6,
        messages: [["/drop/a", "x"], ["/keep/a", "y", "z"]],
        interval: 0.02,
      });
      await using sub = new SubSocket();
      sub.subscribe("/keep");
      sub.connect(peer.endpoint);
      for (let k = 0; k < 3; k++) {
        const m = await sub.receive({ signal: AbortSignal.timeout(10_000) });
        assertEquals(text(m), ["/keep/a", "y", "z"]);
      }
    } finally {
      ipc?.cleanup();
    }
  });
}

Deno.test("pubsub interop: ZMTP heartbeats with libzmq keep silent connections up both ways", async () => {
  // No data flows for a second: a pyzmq SUB pings our PUB (we must answer PONG or libzmq drops
  // us after 400 ms), and our SUB pings a silent pyzmq PUB (libzmq must answer, or we drop it).
  await using pub = new PubSocket();
  const ep = await pub.bind("tcp://127.0.0.1:0");
  await using pyPub = await startPeer({
    mode: "pub",
    endpoint: "tcp://127.0.0.1:*",
    bind: true,
    messages: [["hb", "x"]],
    interval: 30,
  });
  await using sub = new SubSocket({ heartbeatInterval: 50, heartbeatTimeout: 400 });
  sub.subscribe("");
  const events: string[] = [];
  const watch = async (s: PubSocket | SubSocket) => {
    for await (const ev of s.events()) events.push(`${s.type}:${ev.type}`);
  };
  const w1 = watch(pub);
  const w2 = watch(sub);
  sub.connect(pyPub.endpoint);
  await using peer = await startPeer({ mode: "sub", endpoint: ep, count: 1, heartbeat: [50, 400] });
  const { waitFor } = await import("../../testing/net.ts");
  await waitFor(() => events.includes("PUB:connected") && events.includes("SUB:connected"));
  await new Promise((r) => setTimeout(r, 1200));
  const before = [...events]; // closing emits its own disconnected events
  // the PUB connection is still the first one: a message goes through without reconnecting
  let got: string[] | undefined;
  const next = peer.next(5000).then((m) => (got = m));
  while (!got) {
    await pub.send(["t", "y"]);
    await Promise.race([next, new Promise((r) => setTimeout(r, 50))]);
  }
  assertEquals(got, ["t", "y"]);
  await pub.close();
  await sub.close();
  await Promise.all([w1, w2]);
  assertEquals(before.filter((e) => e.endsWith("disconnected")), []);
});

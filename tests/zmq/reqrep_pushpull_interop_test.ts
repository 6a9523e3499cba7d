// REQ/REP and PUSH/PULL interop with libzmq (pyzmq) in both directions over tcp IPv4, IPv6, ipc.
import { assertEquals } from "@std/assert";
import { PullSocket, PushSocket, RepSocket, ReqSocket } from "../../lib/zmq/mod.ts";
import { ipcPath, startPeer, text } from "./_peer.ts";

const transports = [
  { name: "tcp4", bindEp: "tcp://127.0.0.1:0", pyBind: "tcp://127.0.0.1:*", ipv6: false },
  { name: "tcp6", bindEp: "tcp://[::1]:0", pyBind: "tcp://[::1]:*", ipv6: true },
  { name: "ipc", bindEp: "ipc", pyBind: "ipc", ipv6: false },
];

function eps(t: (typeof transports)[number], ipc?: { path: string }) {
  return ipc
    ? { ours: `ipc://${ipc.path}`, py: `ipc://${ipc.path}` }
    : { ours: t.bindEp, py: t.pyBind };
}

for (const t of transports) {
  Deno.test(`reqrep interop ${t.name}: our REQ -> pyzmq REP`, async () => {
    const ipc = t.name === "ipc" ? ipcPath() : undefined;
    try {
      await using peer = await startPeer({
        mode: "rep",
        endpoint: eps(t, ipc).py,
        bind: true,
        ipv6: t.ipv6,
        count: 3,
      });
      await using req = new ReqSocket();
      req.connect(peer.endpoint);
      for (let i = 0; i < 3; i++) {
        await req.send(["a", `b${i}`], { signal: AbortSignal.timeout(5000) });
        const reply = await req.receive({ signal: AbortSignal.timeout(5000) });
        assertEquals(text(reply), ["re:a", `re:b${i}`]);
      }
      assertEquals(await peer.done(), 3);
    } finally {
      ipc?.cleanup();
    }
  });

  Deno.test(`reqrep interop ${t.name}: pyzmq REQ -> our REP`, async () => {
    const ipc = t.name === "ipc" ? ipcPath() : undefined;
    try {
      await using rep = new RepSocket();
      const ep = await rep.bind(eps(t, ipc).ours);
      await using peer = await startPeer({
        mode: "req",
        endpoint: ep,
        ipv6: t.ipv6,
        count: 3,
        body: "q",
      });
      for (let i = 0; i < 3; i++) {
        const [body] = await rep.receive({ signal: AbortSignal.timeout(5000) });
        await rep.send(["ok", body]);
      }
      for (let i = 0; i < 3; i++) assertEquals(await peer.next(), ["ok", `q${i}`]);
      assertEquals(await peer.done(), 3);
    } finally {
      ipc?.cleanup();
    }
  });

  Deno.test(`pushpull interop ${t.name}: our PUSH -> pyzmq PULL`, async () => {
    const ipc = t.name === "ipc" ? ipcPath() : undefined;
    try {
      await using peer = await startPeer({
        mode: "pull",
        endpoint: eps(t, ipc).py,
        bind: true,
        ipv6: t.ipv6,
        count: 5,
      });
      await using push = new PushSocket();
      push.connect(peer.endpoint);
      for (let i = 0; i < 5; i++) {
        await push.send(["job", `${i}`], { signal: AbortSignal.timeout(5000) });
      }
      for (let i = 0; i < 5; i++) assertEquals(await peer.next(), ["job", `${i}`]);
      assertEquals(await peer.done(), 5);
    } finally {
      ipc?.cleanup();
    }
  });

  Deno.test(`pushpull interop ${t.name}: pyzmq PUSH -> our PULL`, async () => {
    const ipc = t.name === "ipc" ? ipcPath() : undefined;
    try {
      await using pull = new PullSocket();
      const ep = await pull.bind(eps(t, ipc).ours);
      await using peer = await startPeer({
        mode: "push",
        endpoint: ep,
        ipv6: t.ipv6,
        count: 5,
      });
      for (let i = 0; i < 5; i++) {
        const m = await pull.receive({ signal: AbortSignal.timeout(5000) });
        assertEquals(text(m), [`job${i}`]);
      }
      assertEquals(await peer.done(), 5);
    } finally {
      ipc?.cleanup();
    }
  });
}

Deno.test("pushpull interop: long frames (8-byte length) and many frames both ways", async () => {
  const big = "x".repeat(70_000);
  {
    await using peer = await startPeer({
      mode: "pull",
      endpoint: "tcp://127.0.0.1:*",
      bind: true,
      count: 2,
    });
    await using push = new PushSocket();
    push.connect(peer.endpoint);
    await push.send(["a", big, "", "b".repeat(256)]);
    await push.send(Array.from({ length: 50 }, (_, i) => `${i}`));
    assertEquals(await peer.next(), ["a", big, "", "b".repeat(256)]);
    assertEquals((await peer.next()).length, 50);
  }
  {
    await using pull = new PullSocket();
    const ep = await pull.bind("tcp://127.0.0.1:0");
    await using _peer = await startPeer({
      mode: "push",
      endpoint: ep,
      count: 2,
      extra: [big, "c".repeat(255), "d".repeat(256)],
    });
    for (let i = 0; i < 2; i++) {
      const m = text(await pull.receive({ signal: AbortSignal.timeout(5000) }));
      assertEquals(m, [`job${i}`, big, "c".repeat(255), "d".repeat(256)]);
    }
  }
});

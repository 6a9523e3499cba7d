import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { PosttrollConfig } from "../../lib/posttroll/config.ts";
import {
  mcastReceiver,
  mcastSender,
  MulticastError,
  MulticastReceiver,
  MulticastSender,
  SocketTimeoutError,
} from "../../lib/posttroll/multicast.ts";
import { PythonProcess } from "../../testing/python.ts";

function randomGroup(): string {
  const r = () => Math.floor(Math.random() * 256);
  return `${224 + 1 + Math.floor(Math.random() * 14)}.${r()}.${r()}.${
    1 + Math.floor(Math.random() * 250)
  }`;
}

const loopback = () => new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });

Deno.test("mcast_sender works with valid addresses, broadcast for 0s and 255s", () => {
  const g = randomGroup();
  const a = mcastSender(g, { config: loopback() });
  assertEquals(a.group, g);
  a.socket.close();
  for (const b of ["0.0.0.0", "255.255.255.255"]) {
    const s = mcastSender(b, { config: loopback() });
    assertEquals(s.group, "<broadcast>");
    s.socket.close();
  }
});

Deno.test("mcast_sender raises for invalid addresses", () => {
  for (const g of ["10.0.0.1", "223.255.255.255", "240.0.0.1", "255.0.0.1", "not-an-ip"]) {
    const e = assertThrows(() => mcastSender(g, { config: loopback() }), MulticastError);
    assert(e.message.startsWith("Invalid multicast address"), e.message);
  }
});

Deno.test("mcast_receiver: broadcast groups and validation", async () => {
  for (const g of ["0.0.0.0", "255.255.255.255"]) {
    const r = await mcastReceiver(0, g, { config: loopback() });
    assertEquals(r.group, "<broadcast>");
    r.socket.close();
  }
  const g = randomGroup();
  const r = await mcastReceiver(0, g, { config: loopback() });
  assertEquals(r.group, g);
  r.socket.close();
  await assertRejects(() => mcastReceiver(0, "10.1.2.3", { config: loopback() }), MulticastError);
  await assertRejects(() => mcastReceiver(0, "241.1.2.3", { config: loopback() }), MulticastError);
});

Deno.test("multicast roundtrip on 127.0.0.1, 1024-byte truncation, settimeout", async () => {
  const config = loopback();
  const group = randomGroup();
  await using rx = await MulticastReceiver.open(0, group, { config });
  await using tx = new MulticastSender(rx.port, group, { config });
  await tx.send("Ho Ho Ho!");
  const d = await rx.settimeout(2).receive();
  assertEquals(d.data, "Ho Ho Ho!");
  assertEquals(d.address, "127.0.0.1");
  assertEquals(d.truncated, false);
  await tx.send("x".repeat(3000));
  const big = await rx.receive();
  assertEquals(big.data.length, 1024);
  assertEquals(big.truncated, true);
  await tx.send("after");
  assertEquals((await rx.receive()).data, "after");
  await assertRejects(() => rx.settimeout(0.1).receive(), SocketTimeoutError);
});

Deno.test("configured mc_group and legacy PYTROLL_MC_GROUP are used", () => {
  const c = new PosttrollConfig({ env: { PYTROLL_MC_GROUP: "226.0.0.13" } });
  const s = mcastSender(undefined, { config: c });
  assertEquals(s.group, "226.0.0.13");
  s.socket.close();
  using _ = c.set({ mc_group: "226.0.0.14" });
  const t = mcastSender(undefined, { config: c });
  assertEquals(t.group, "226.0.0.14");
  t.socket.close();
});

Deno.test("multicast interop: Python bbmcast sender -> our receiver, ours -> Python receiver", async () => {
  const config = loopback();
  const group = randomGroup();
  await using rx = await MulticastReceiver.open(0, group, { config });
  const env = { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1", POSTTROLL_MC_GROUP: group };
  await using py = PythonProcess.spawn(
    `import sys, socket
from posttroll.bbmcast import MulticastSender, MulticastReceiver
port = int(sys.argv[1])
rec = MulticastReceiver(0)
rec.settimeout(5)
print(rec.socket.getsockname()[1], flush=True)
s = MulticastSender(port)
s("from python")
data, sender = rec()
print("GOT", data, sender[0], flush=True)
`,
    { args: [String(rx.port)], env },
  );
  const pyPort = Number(await py.readLine(10_000));
  const d = await rx.settimeout(5).receive();
  assertEquals(d.data, "from python");
  await using tx = new MulticastSender(pyPort, group, { config });
  // the Python receiver may not have joined before its port line: resend until it answers
  let line: string | undefined;
  for (let i = 0; i < 20 && line === undefined; i++) {
    await tx.send("from deno");
    line = await py.readLine(250).catch(() => undefined);
  }
  assertEquals(line, "GOT from deno 127.0.0.1");
});

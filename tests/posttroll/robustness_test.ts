/**
 * Bad input and failures: garbage on the nameserver's REP and UDP ports, oversized datagrams,
 * unknown services, a dead nameserver, a publisher killed mid-stream. The nameserver keeps serving
 * through all of it.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import dgram from "node:dgram";
import { Message } from "../../lib/posttroll/message.ts";
import {
  getPubAddress,
  getPubAddresses,
  NameServer,
  NameserverTimeoutError,
} from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { subscribe } from "../../lib/posttroll/subscriber.ts";
import { ReqSocket } from "../../lib/zmq/mod.ts";
import { PythonProcess } from "../../testing/python.ts";
import { type TestSetup, testSetup, until } from "../../testing/posttroll.ts";

function sendUdp(port: number, group: string, payloads: Uint8Array[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      s.setMulticastInterface("127.0.0.1");
      let left = payloads.length;
      for (const p of payloads) {
        s.send(p, port, group, (err) => {
          if (err) reject(err);
          if (--left === 0) s.close(() => resolve());
        });
      }
    });
  });
}

async function rawTcp(port: number, bytes: Uint8Array): Promise<void> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(bytes).catch(() => {});
    // read until the peer drops us (or 500 ms)
    const buf = new Uint8Array(256);
    const t = setTimeout(() => c.close(), 500);
    try {
      while ((await c.read(buf)) !== null) { /* discard */ }
    } catch { /* closed */ }
    clearTimeout(t);
  } finally {
    try {
      c.close();
    } catch { /* closed */ }
  }
}

async function serving(s: TestSetup, fn: (ns: NameServer) => Promise<void>, mc = true) {
  const ns = new NameServer({
    maxAge: 2,
    multicastEnabled: mc,
    directRegistration: true,
    config: s.config,
  });
  const running = ns.run();
  try {
    await ns.ready;
    await fn(ns);
  } finally {
    await ns.stop();
    await running;
  }
}

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("nameserver keeps serving through garbage requests on its REP port", async () => {
  const s = testSetup();
  await serving(s, async (ns) => {
    const endpoint = `tcp://127.0.0.1:${s.nameserverPort}`;
    const requests = [
      "garbage",
      "pytroll://oper/ns request u@h 2020-01-01T00:00:00 v1.01 text/ascii no-json",
      new Message("/oper/ns", "request", { nope: 1 }).encode(),
      new Message("/oper/ns", "request", { service: 12 }).encode(),
      "pytroll://oper/ns request u@h 2020-01-01T00:00:00 v9.99 application/json {}",
    ];
    for (const r of [...requests.map(enc), new Uint8Array([0xff, 0xfe, 0x00])]) {
      await using req = new ReqSocket({ linger: 0 });
      req.connect(endpoint);
      await req.send(r, { signal: AbortSignal.timeout(2000) });
      const [reply] = await req.receive({ signal: AbortSignal.timeout(2000) });
      const m = Message.decode(reply);
      assertEquals([m.subject, m.type, m.data], ["/oper/ns", "info", ""]);
    }
    // not even ZMTP: the connection is dropped, the server stays up
    await rawTcp(s.nameserverPort, enc("GET / HTTP/1.0\r\n\r\n"));
    await rawTcp(s.nameserverPort, new Uint8Array(4096).fill(0xff));
    // a unknown service: empty answer, quickly
    assertEquals(await getPubAddress("no_such_service", { timeout: 2, config: s.config }), []);
    // and the real thing still works
    ns.addressReceiver!.book.receive(
      new Message("/address/x", "info", { URI: "tcp://127.0.0.1:1", service: ["x"] }).encode(),
    );
    assertEquals((await getPubAddress("x", { timeout: 2, config: s.config })).length, 1);
  });
});

Deno.test("nameserver keeps serving through garbage and oversized datagrams on the UDP port", async () => {
  const s = testSetup();
  await serving(s, async (ns) => {
    const big = new Message("/address/big", "info", {
      URI: "tcp://127.0.0.1:2",
      service: ["big"],
      padding: "x".repeat(3000),
    }).encode();
    await sendUdp(s.broadcastPort, s.group, [
      enc("garbage"),
      new Uint8Array([0xc3, 0x28, 0xff]),
      enc(big), // truncated to 1024 bytes: invalid JSON, dropped
      enc(new Message("/address/nouri", "info", { service: ["a"] }).encode()),
      enc(new Message("/address/str", "info", "just text").encode()),
      enc(
        new Message("/address/ok", "info", { URI: "tcp://127.0.0.1:3", service: ["ok"] }).encode(),
      ),
    ]);
    await until(() => ns.addressReceiver!.get("ok").length === 1, { what: "valid datagram" });
    assertEquals(ns.addressReceiver!.get("big"), []);
    assertEquals(ns.addressReceiver!.get("").length, 1);
    assertEquals((await getPubAddress("ok", { timeout: 2, config: s.config })).length, 1);
  });
});

Deno.test("garbage on the direct-registration port is acknowledged and ignored", async () => {
  const s = testSetup();
  await serving(s, async (ns) => {
    await using req = new ReqSocket({ linger: 0 });
    req.connect(`tcp://127.0.0.1:${s.broadcastPort}`);
    for (const g of ["garbage", new Message("/address/x", "info", "no dict").encode()]) {
      await req.send(g, { signal: AbortSignal.timeout(2000) });
      const [ack] = await req.receive({ signal: AbortSignal.timeout(2000) });
      assertEquals(new TextDecoder().decode(ack), "ok");
    }
    await rawTcp(s.broadcastPort, new Uint8Array(100).fill(0x41));
    assertEquals(ns.addressReceiver!.get(""), []);
    await using _pub = await new NoisyPublisher("late", {
      nameservers: [`127.0.0.1:${s.broadcastPort}`],
      broadcastInterval: 0.1,
      config: s.config,
    }).start();
    await until(() => ns.addressReceiver!.get("late").length === 1);
  });
});

Deno.test("dead nameserver: getPubAddress(es) and subscribe fail with a clear, bounded timeout", async () => {
  const s = testSetup();
  const t0 = Date.now();
  const e = await assertRejects(
    () => getPubAddresses(["a"], { timeout: 0.2, config: s.config }),
    NameserverTimeoutError,
  );
  assertEquals(e.message, "Didn't get an address after 0.2 seconds.");
  // NSSubscriber logs and carries on without addresses, like posttroll
  const warnings: string[] = [];
  await using sub = await subscribe({
    services: "a",
    timeout: 0.2,
    config: s.config,
    logger: (_l, m) => warnings.push(m),
  });
  assertEquals(sub.addresses, []);
  assert(warnings.some((w) => w.includes("Can't get any address for a")));
  assert(Date.now() - t0 < 3000);
  // a NoisyPublisher registering with a dead nameserver reports it and keeps going
  const errors: Error[] = [];
  await using pub = await new NoisyPublisher("orphan", {
    nameservers: ["127.0.0.1"],
    broadcastInterval: 0.05,
    config: s.config,
    onError: (err) => errors.push(err),
  }).start();
  await pub.send(new Message("/x", "info", "still publishing"));
});

Deno.test("publisher killed mid-stream: subscriber survives, nameserver expires it and keeps serving", async () => {
  const s = testSetup();
  await serving(s, async (ns) => {
    await using sub = await subscribe({
      services: "py_data",
      topics: "counter",
      addrListener: true,
      timeout: 0.2,
      config: s.config,
    });
    const py = PythonProcess.spawn(
      `import time
from posttroll.publisher import NoisyPublisher
from posttroll.message import Message
pub = NoisyPublisher("pyprov", aliases=["py_data"], broadcast_interval=0.2)
pub.start()
print("started", flush=True)
i = 0
while True:
    pub.send(Message("/counter", "info", "py %d" % i).encode())
    i += 1
    time.sleep(0.01)
`,
      { env: s.env },
    );
    try {
      await py.waitForLine((l) => l === "started", 15_000);
      await until(() => sub.addresses.length === 1, { what: "publisher added" });
      let got = 0;
      for await (const m of sub.recv(0.1)) {
        if (m) got++;
        if (got >= 5) break;
      }
      py.kill("SIGKILL");
    } finally {
      await py.close();
    }
    // the stream goes quiet (null timeouts), nothing throws
    const it = sub.recv(0.1);
    for (let i = 0; i < 3; i++) {
      const { value } = await it.next();
      if (value === null) break;
    }
    await it.return();
    await until(() => sub.addresses.length === 0, {
      what: "killed publisher expired",
      timeoutMs: 8000,
    });
    assertEquals(ns.addressReceiver!.get("py_data"), []);
    assertEquals(await getPubAddress("py_data", { timeout: 2, config: s.config }), []);
  });
});

Deno.test("nameserver stop never hangs, even with a client mid-request", async () => {
  const s = testSetup();
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns.run();
  await ns.ready;
  const req = new ReqSocket({ linger: 0 });
  req.connect(`tcp://127.0.0.1:${s.nameserverPort}`);
  const t0 = Date.now();
  await ns.stop();
  await running;
  assert(Date.now() - t0 < 1000, `stop took ${Date.now() - t0} ms`);
  await req.close();
});

/**
 * Interoperability with Python posttroll 1.16 on loopback, with multicast (on 127.0.0.1) and
 * without (direct registration): Python publishers through our nameserver to our subscribers,
 * ours through Python's nameserver to Python's subscribers, Python's get_pub_address against our
 * nameserver, and expiry of publishers that stop.
 */
import { assert, assertEquals } from "@std/assert";
import { Message } from "../../lib/posttroll/message.ts";
import { getPubAddress, NameServer } from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";
import { subscribe, type Subscriber } from "../../lib/posttroll/subscriber.ts";
import { PythonProcess } from "../../testing/python.ts";
import { testSetup, until } from "../../testing/posttroll.ts";

const PY_PUBLISHER = `
import sys, time, threading
from posttroll.publisher import NoisyPublisher
from posttroll.message import Message
ns = None if sys.argv[1] == "mc" else ["localhost"]
pub = NoisyPublisher("pyprov", aliases=["py_data"], broadcast_interval=0.2, nameservers=ns)
pub.start()
print("started", pub.port_number, flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
i = 0
while not stop.is_set():
    pub.send(Message("/counter", "info", "py %d" % i).encode())
    i += 1
    time.sleep(0.02)
pub.stop()
`;

const PY_NAMESERVER = `
import sys, threading, datetime as dt
from posttroll.ns import NameServer
ns = NameServer(max_age=dt.timedelta(seconds=float(sys.argv[2])), multicast_enabled=(sys.argv[1] == "mc"))
t = threading.Thread(target=ns.run)
t.start()
print("running", flush=True)
sys.stdin.read()
ns.stop()
t.join()
`;

const PY_SUBSCRIBER = `
import sys
from posttroll.subscriber import Subscribe
with Subscribe("deno_data", topics="counter", nameserver="localhost", timeout=5) as sub:
    print("addresses", len(list(sub.addresses)), flush=True)
    n = 0
    for msg in sub.recv(0.2):
        if msg is not None:
            print("GOT", msg.subject, msg.data, flush=True)
            n += 1
            if n == 3:
                break
`;

async function receiveSome(sub: Subscriber, n: number, timeoutMs = 10_000): Promise<Message[]> {
  const out: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  for await (const m of sub.recv(0.1)) {
    if (m) out.push(m);
    if (out.length >= n || Date.now() > deadline) break;
  }
  return out;
}

for (const mode of ["mc", "direct"] as const) {
  const mc = mode === "mc";

  Deno.test(`interop (${mode}): Python NoisyPublisher -> our nameserver -> our Subscribe; expiry drops it`, async () => {
    const s = testSetup();
    const ns = new NameServer({ maxAge: 1, multicastEnabled: mc, config: s.config });
    const running = ns.run();
    try {
      await ns.ready;
      await using sub = await subscribe({
        services: "py_data",
        topics: "counter",
        addrListener: true,
        timeout: 0.2,
        config: s.config,
      });
      const py = PythonProcess.spawn(PY_PUBLISHER, { args: [mode], env: s.env });
      try {
        await py.waitForLine((l) => l.startsWith("started"), 15_000);
        const addrs = await until(async () => {
          const a = await getPubAddress("py_data", { timeout: 1, config: s.config });
          return a.length ? a : undefined;
        }, { what: "python publisher registered" });
        assertEquals(addrs[0].service, ["pyprov", "py_data"]);
        assertEquals(addrs[0].name, "address");
        await until(() => sub.addresses.length === 1, {
          what: "address listener adds the publisher",
        });
        const got = await receiveSome(sub, 3);
        assert(got.length >= 3, `received ${got.length}`);
        assertEquals(got[0].subject, "/counter");
        assert(String(got[0].data).startsWith("py "));
      } finally {
        await py.close();
      }
      // the publisher stopped announcing: expired after max_age, removed from the subscriber
      await until(() => sub.addresses.length === 0, { what: "publisher expired", timeoutMs: 8000 });
      assertEquals(await getPubAddress("py_data", { timeout: 1, config: s.config }), []);
    } finally {
      await ns.stop();
      await running;
    }
  });

  Deno.test(`interop (${mode}): our NoisyPublisher -> Python nameserver -> Python Subscribe`, async () => {
    const s = testSetup();
    await using pyns = PythonProcess.spawn(PY_NAMESERVER, { args: [mode, "10"], env: s.env });
    await pyns.waitForLine((l) => l === "running", 15_000);
    await using pub = await new NoisyPublisher("deno_pub", {
      aliases: ["deno_data"],
      broadcastInterval: 0.2,
      nameservers: mc ? undefined : ["localhost"],
      config: s.config,
    }).start();
    // wait until Python's nameserver lists us (asked from our client)
    await until(
      async () => (await getPubAddress("deno_data", { timeout: 1, config: s.config })).length,
      {
        what: "registered at the Python nameserver",
        timeoutMs: 15_000,
      },
    );
    await using pysub = PythonProcess.spawn(PY_SUBSCRIBER, { env: s.env });
    assertEquals(await pysub.readLine(15_000), "addresses 1");
    let i = 0;
    const sending = (async () => {
      while (pysub.seen.filter((l) => l.startsWith("GOT")).length < 3 && i < 500) {
        await pub.send(new Message("/counter", "info", `deno ${i++}`));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const line = await pysub.waitForLine((l) => l.startsWith("GOT"), 15_000);
    assert(line.startsWith("GOT /counter deno "), line);
    await sending;
  });
}

Deno.test("interop: Python get_pub_address / get_pub_addresses against our nameserver (v1.01 and v1.2)", async () => {
  const s = testSetup();
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns.run();
  try {
    await ns.ready;
    await using _pub = await new NoisyPublisher("deno_pub", {
      aliases: ["deno_data"],
      broadcastInterval: 0.2,
      nameservers: ["localhost"],
      announceHost: "127.0.0.1",
      config: s.config,
    }).start();
    await until(async () =>
      (await getPubAddress("deno_data", { timeout: 1, config: s.config })).length
    );
    const py = PythonProcess.spawn(
      `import json
from posttroll.ns import get_pub_address, get_pub_addresses
from posttroll.backends.zmq.ns import zmq_request_to_nameserver, create_unsecure_zmq_nameserver_address
from posttroll.message import Message
res = get_pub_address("deno_data", timeout=5)
print(json.dumps([{k: (v if k != "receive_time" else type(v).__name__) for k, v in r.items()} for r in res]), flush=True)
print(len(get_pub_addresses(["deno_pub", "nothing_here"], timeout=1)), flush=True)
print(json.dumps(get_pub_address("nothing_here", timeout=5)), flush=True)
addr = create_unsecure_zmq_nameserver_address("localhost")
for v in ["v1.01", "v1.2"]:
    r = zmq_request_to_nameserver(addr, Message("/oper/ns", "request", {"service": "deno_data"}, version=v), 5)
    print(r.version, flush=True)
`,
      { env: s.env },
    );
    try {
      const rec = JSON.parse(await py.readLine(15_000));
      assertEquals(rec.length, 1);
      assertEquals(rec[0].service, ["deno_pub", "deno_data"]);
      assertEquals(rec[0].status, true);
      assertEquals(rec[0].name, "address");
      assertEquals(rec[0].backend, "unsecure_zmq");
      assertEquals(rec[0].supported_message_version, "v1.2");
      assertEquals(rec[0].receive_time, "datetime"); // decoded by Python's object_hook
      assertEquals(rec[0].URI.startsWith("tcp://127.0.0.1:"), true);
      assertEquals(await py.readLine(5000), "1");
      assertEquals(await py.readLine(5000), '""');
      assertEquals(await py.readLine(5000), "v1.01");
      assertEquals(await py.readLine(5000), "v1.2");
    } finally {
      await py.close();
    }
  } finally {
    await ns.stop();
    await running;
  }
});

Deno.test("interop: our nameserver's address announcements drive a Python addr_listener subscriber", async () => {
  const s = testSetup();
  const ns = new NameServer({ maxAge: 10, multicastEnabled: false, config: s.config });
  const running = ns.run();
  try {
    await ns.ready;
    await using py = PythonProcess.spawn(
      `from posttroll.subscriber import Subscribe
with Subscribe("deno_data", topics="counter", addr_listener=True, nameserver="localhost", timeout=1) as sub:
    print("addresses", len(list(sub.addresses)), flush=True)
    for msg in sub.recv(0.2):
        if msg is not None:
            print("GOT", msg.subject, msg.data, flush=True)
            break
`,
      { env: s.env },
    );
    assertEquals(await py.readLine(15_000), "addresses 0");
    // the publisher appears after the subscriber: only the address announcement can tell it
    await using pub = await new NoisyPublisher("deno_late", {
      aliases: ["deno_data"],
      broadcastInterval: 0.2,
      nameservers: ["localhost"],
      config: s.config,
    }).start();
    let line: string | undefined;
    for (let i = 0; i < 300 && !line; i++) {
      await pub.send(new Message("/counter", "info", `late ${i}`));
      line = await py.readLine(30).catch(() => undefined);
    }
    assert(line?.startsWith("GOT /counter late "), line);
  } finally {
    await ns.stop();
    await running;
  }
});

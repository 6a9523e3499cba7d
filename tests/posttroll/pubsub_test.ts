/**
 * Cases mirroring posttroll's tests/test_pubsub.py and test_unsecure_zmq_backend.py, plus the
 * Subscriber details (recv timeouts, filters, hooks, invalid input) on loopback.
 */
import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import { PosttrollConfig, UnsupportedBackendError } from "../../lib/posttroll/config.ts";
import { Message, PyDateTime, PyFloat } from "../../lib/posttroll/message.ts";
import {
  createPublisherFromDictConfig,
  NoisyPublisher,
  publish,
  Publisher,
  PublisherError,
} from "../../lib/posttroll/publisher.ts";
import {
  createSubscriberFromDictConfig,
  magickfyTopics,
  rawMessage,
  subscribe,
  Subscriber,
} from "../../lib/posttroll/subscriber.ts";
import { ListenerContainer } from "../../lib/posttroll/listener.ts";
import { keepaliveOption } from "../../lib/posttroll/_sockets.ts";
import { PubSocket, PushSocket } from "../../lib/zmq/mod.ts";
import { freePort, until } from "../../testing/net.ts";
import { testSetup } from "../../testing/posttroll.ts";

/** Sends until the subscriber yields a message (slow joiner), returns it. */
async function sendUntilReceived(
  send: () => Promise<void>,
  sub: Subscriber,
  tries = 100,
): Promise<Message> {
  for (let i = 0; i < tries; i++) {
    await send();
    const it = sub.recv(0.05);
    const { value } = await it.next();
    await it.return();
    if (value) return value;
  }
  throw new Error("nothing received");
}

Deno.test("test_pub_suber: Publisher port 0 + Subscriber topic /counter", async () => {
  const { config } = testSetup();
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
  assert(pub.portNumber! >= 49152 && pub.portNumber! < 65536);
  await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], {
    topics: "/counter",
    config,
  });
  let tested = 0;
  const sent: string[] = []; // a late message may arrive after a timed-out recv: keep order
  let last = -1;
  for (let counter = 0; counter < 100 && tested < 5; counter++) {
    const message = new Message("/counter", "info", String(counter));
    sent.push(message.encode());
    await pub.send(message.encode());
    await pub.send(new Message("/other", "info", "not for us").encode());
    const it = sub.recv(0.05);
    const { value } = await it.next();
    await it.return();
    if (value) {
      assertInstanceOf(value, Message);
      const at = sent.indexOf(value.encode());
      assert(at > last, `unexpected or out-of-order message ${value.encode()}`);
      last = at;
      tested++;
    }
  }
  assertEquals(tested, 5);
});

Deno.test("test_pub_sub_ctx_no_nameserver: Publish(port, nameservers=False) + Subscribe(nameserver=False)", async () => {
  const { config } = testSetup();
  const port = freePort();
  await using pub = await publish("data_provider", { port, nameservers: false, config });
  assertInstanceOf(pub, Publisher);
  await using sub = await subscribe({
    topics: "counter",
    nameserver: false,
    addresses: [`tcp://127.0.0.1:${port}`],
    config,
  });
  assertInstanceOf(sub, Subscriber);
  const message = new Message("/counter", "info", "0");
  const got = await sendUntilReceived(() => pub.send(message), sub);
  assertEquals(got.encode(), message.encode());
});

Deno.test("test_pub_supports_unicode", async () => {
  const { config } = testSetup();
  const port = freePort();
  await using pub = await publish("a_service", { port, nameservers: false, config });
  await using sub = new Subscriber([`tcp://127.0.0.1:${port}`], { config });
  const message = new Message("/pџтяöll", "info", "hej");
  const got = await sendUntilReceived(() => pub.send(message.encode()), sub);
  assertEquals(got.subject, "/pџтяöll");
});

Deno.test("test_pub_minmax_port_from_config and from instantiation", async () => {
  const { config } = testSetup();
  for (const useConfig of [true, false]) {
    let done = false;
    for (let i = 0; i < 20 && !done; i++) {
      const port = freePort();
      using _ = useConfig
        ? config.set({ pub_min_port: String(port), pub_max_port: String(port + 1) })
        : config.set({});
      try {
        await using pub = await publish("a_service", {
          minPort: useConfig ? undefined : port,
          maxPort: useConfig ? undefined : port + 1,
          broadcastInterval: 0,
          config,
        });
        assertEquals(pub.portNumber, port);
        done = true;
      } catch { /* port taken meanwhile: try another */ }
    }
    assert(done);
  }
});

Deno.test("create_publisher_from_dict_config: selection rules", () => {
  const { config } = testSetup();
  assertThrows(
    () =>
      createPublisherFromDictConfig({
        address: "ipc:///tmp/test.ipc",
        nameservers: false,
        invalid_arg: "bar",
      }, { config }),
    TypeError,
  );
  assertInstanceOf(
    createPublisherFromDictConfig({ port: 12345, nameservers: false }, { config }),
    Publisher,
  );
  const p = createPublisherFromDictConfig({
    port: 12345,
    nameservers: false,
    name: "foo",
    min_port: 40000,
    max_port: 41000,
  }, { config });
  assertInstanceOf(p, Publisher);
  assertEquals((p as Publisher).destination, "tcp://*:12345");
  assertEquals(p.name, "foo");
  assertThrows(
    () => createPublisherFromDictConfig({}, { config }),
    PublisherError,
    "NoisyPublisher requires a name",
  );
  assertInstanceOf(
    createPublisherFromDictConfig({ name: "publisher_name" }, { config }),
    NoisyPublisher,
  );
  assertInstanceOf(
    createPublisherFromDictConfig({ name: "publisher_name", port: 40000 }, { config }),
    NoisyPublisher,
  );
  const n = createPublisherFromDictConfig({
    port: 12345,
    nameservers: ["foo"],
    name: "foo",
    min_port: 40000,
    max_port: 41000,
    invalid_arg: "bar",
    aliases: ["alias1", "alias2"],
    broadcast_interval: 42,
  }, { config });
  assertInstanceOf(n, NoisyPublisher);
  assertEquals((n as NoisyPublisher).services, ["foo", "alias1", "alias2"]);
  assertInstanceOf(
    createPublisherFromDictConfig({ name: "s", nameservers: ["a", "b"] }, { config }),
    NoisyPublisher,
  );
});

Deno.test("NoisyPublisher announcement: /address/<name>, URI, services, v1.2, backend", async () => {
  const { config } = testSetup();
  await using pub = await new NoisyPublisher("svc", {
    aliases: "alias",
    broadcastInterval: 0,
    announceHost: "127.0.0.1",
    config,
  }).start();
  const m = Message.decode(pub.announcement!);
  assertEquals(m.subject, "/address/svc");
  assertEquals(m.type, "info");
  assertEquals(m.version, "v1.01");
  assertEquals(m.data, {
    URI: `tcp://127.0.0.1:${pub.portNumber}`,
    service: ["svc", "alias"],
    supported_message_version: "v1.2",
    backend: "unsecure_zmq",
  });
});

Deno.test("create_subscriber_from_dict_config: selection rules", async () => {
  const { config } = testSetup(); // nameserver port with nobody listening
  const plain = await createSubscriberFromDictConfig({
    nameserver: false,
    addresses: ["ipc:///tmp/pt-addr1"],
  }, { config });
  assertEquals(plain.addresses.map((a) => a.URI), ["ipc:///tmp/pt-addr1"]);
  await plain.close();
  // no addresses -> NSSubscriber (nameserver looked up, none answers within the timeout)
  const ns = await createSubscriberFromDictConfig({ nameserver: false, timeout: 0.1 }, { config });
  assertEquals(ns.addresses, []);
  await ns.close();
  const ns2 = await createSubscriberFromDictConfig({
    timeout: 0.1,
    services: "val1",
    topics: "val2",
    addr_listener: true,
  }, { config });
  await ns2.close();
  await assertRejects(
    () =>
      createSubscriberFromDictConfig({
        addresses: "ipc:///tmp/x",
        nameserver: false,
        client_secret_key_file: "k",
      }, { config }),
    TypeError,
  );
});

Deno.test("topic prefixes: /x and x -> pytroll://x, '' -> pytroll://", () => {
  assertEquals(magickfyTopics("/x"), ["pytroll://x"]);
  assertEquals(magickfyTopics("x"), ["pytroll://x"]);
  assertEquals(magickfyTopics(""), ["pytroll://"]);
  assertEquals(magickfyTopics(["pytroll://a", "pytroll:/"]), ["pytroll://a", "pytroll:/"]);
  assertEquals(magickfyTopics(null), null);
});

Deno.test("tcp keepalive options from config; publisher and subscriber work with them", async () => {
  const { config } = testSetup();
  assertEquals(keepaliveOption(config), undefined);
  using _ = config.set({
    tcp_keepalive: 1,
    tcp_keepalive_cnt: 10,
    tcp_keepalive_idle: 1,
    tcp_keepalive_intvl: 1,
  });
  assertEquals(keepaliveOption(config), { idleSeconds: 1, intervalSeconds: 1, count: 10 });
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
  await using sub = new Subscriber(`tcp://127.0.0.1:${pub.portNumber}`, { config });
  await sendUntilReceived(() => pub.send(new Message("/k", "info", "x")), sub);
  using _off = config.set({ tcp_keepalive: 0 });
  assertEquals(keepaliveOption(config), false);
});

Deno.test("test_switch_to_unknown_backend", () => {
  const c = new PosttrollConfig({ env: { POSTTROLL_BACKEND: "unsecure_and_deprecated" } });
  assertThrows(() => new Publisher("ipc:///tmp/bla.ipc", { config: c }), UnsupportedBackendError);
  assertThrows(() => new Subscriber("ipc:///tmp/bla.ipc", { config: c }), UnsupportedBackendError);
});

Deno.test("test_ipc_pubsub", async () => {
  const { config } = testSetup();
  const dir = await Deno.makeTempDir();
  try {
    const address = `ipc://${dir}/bla.ipc`;
    await using sub = await createSubscriberFromDictConfig({
      addresses: address,
      topics: "",
      nameserver: false,
      port: 10202,
    }, { config });
    await using pub = await new Publisher(address, { config }).start();
    assertEquals(pub.portNumber, undefined);
    const got = await sendUntilReceived(() => pub.send(new Message("/hi", "string", "hi")), sub);
    assertEquals(got.data, "hi");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("subscriber: recv yields null on timeouts, running, stop ends the loop", async () => {
  const { config } = testSetup();
  const sub = new Subscriber([], { config });
  assertEquals(sub.running, false);
  let nulls = 0;
  const t0 = Date.now();
  for await (const m of sub.recv(0.05)) {
    assertEquals(m, null);
    assert(sub.running);
    if (++nulls === 3) break;
  }
  assert(Date.now() - t0 >= 140);
  assertEquals(sub.running, false);
  setTimeout(() => sub.stop(), 50);
  for await (const _ of sub.recv(10)) { /* ends on stop */ }
  for await (const _ of sub) { /* closed: ends at once */ }
  assert(sub.closed);
});

Deno.test("subscriber: add/remove/update/addresses/subscribers, version guard", async () => {
  const { config } = testSetup();
  await using sub = new Subscriber(["tcp://127.0.0.1:1"], { config });
  assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:1"]);
  assertEquals(sub.addresses[0].backend, "unsecure_zmq");
  sub.add("tcp://127.0.0.1:1"); // duplicate ignored
  sub.add({ URI: "tcp://127.0.0.1:2", supported_message_version: "v1.3" }); // too new: refused
  assertEquals(sub.subscribers.length, 1);
  assertEquals(sub.update(["tcp://127.0.0.1:3", { URI: "tcp://127.0.0.1:4" }]), true);
  assertEquals(sub.addresses.map((a) => a.URI).sort(), ["tcp://127.0.0.1:3", "tcp://127.0.0.1:4"]);
  assertEquals(sub.update(["tcp://127.0.0.1:3", "tcp://127.0.0.1:4"]), false);
  sub.remove("tcp://127.0.0.1:3");
  sub.remove("tcp://nowhere:1");
  assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:4"]);
});

Deno.test("subscriber: message_filter, translate, invalid messages dropped and logged", async () => {
  const { config } = testSetup();
  await using raw = new PubSocket({ linger: 0 });
  const port = await raw.bindRandomPort("tcp://127.0.0.1", 40000, 60000);
  const logged: string[] = [];
  await using sub = new Subscriber(`tcp://127.0.0.1:${port}`, {
    config,
    translate: true,
    messageFilter: (m) => m.type !== "skip",
    logger: (_l, m) => logged.push(m),
  });
  const good = new Message("/a", "info", "ok", { sender: "user@elsewhere" });
  const got = await sendUntilReceived(async () => {
    await raw.send("pytroll://garbage");
    await raw.send("definitely not a message");
    await raw.send(new Message("/a", "skip", "filtered").encode());
    await raw.send(good.encode());
  }, sub);
  assertEquals(got.type, "info");
  assertEquals(got.sender, "user@127.0.0.1");
  assert(logged.some((l) => l.startsWith("Invalid message received")));
});

Deno.test("subscriber: queued messages are decoded when read, in order; invalid ones dropped then", async () => {
  const { config } = testSetup();
  await using raw = new PubSocket({ linger: 0 });
  const port = await raw.bindRandomPort("tcp://127.0.0.1", 40000, 60000);
  const logged: string[] = [];
  await using sub = new Subscriber(`tcp://127.0.0.1:${port}`, {
    config,
    messageFilter: (m) => m.type !== "skip",
    logger: (_l, m) => logged.push(m),
  });
  await sendUntilReceived(() => raw.send(new Message("/hello", "info", "x").encode()), sub);
  for await (const m of sub.recv(0.2)) if (m === null) break; // late hellos
  logged.length = 0;
  const t = PyDateTime.fromisoformat("2020-01-01T00:00:00.500000");
  const one = new Message("/a", "info", "1", { sender: "u@h" });
  const two = new Message("/a", "file", { n: 2, t, f: [1.0, new PyFloat(2)] }, { sender: "u@h" });
  await raw.send("pytroll://garbage");
  await raw.send(one.encode());
  await raw.send(new Message("/a", "skip", "filtered").encode());
  await raw.send("pytroll://a info u@h not-a-time v1.01");
  await raw.send(two.encode());
  await new Promise((r) => setTimeout(r, 300)); // queued, nobody reads
  assertEquals(logged.filter((l) => l.startsWith("Invalid message received")), []);
  const got: Message[] = [];
  for await (const m of sub.recv(0.3)) {
    if (m === null) break;
    got.push(m);
  }
  assertEquals(got.map((m) => m.encode()), [one.encode(), two.encode()]);
  assertEquals(logged.filter((l) => l.startsWith("Invalid message received")).length, 2);
});

Deno.test("subscriber: add_hook_sub and add_hook_pull call back outside the stream", async () => {
  const { config } = testSetup();
  const dir = await Deno.makeTempDir();
  try {
    await using push = new PushSocket({ linger: 0 });
    await push.bind(`ipc://${dir}/pull`);
    await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
    await using sub = new Subscriber([], { config });
    const pulled: Message[] = [];
    const hooked: Message[] = [];
    sub.addHookPull(`ipc://${dir}/pull`, (m) => pulled.push(m));
    sub.addHookSub(
      `tcp://127.0.0.1:${pub.portNumber}`,
      ["pytroll://address"],
      (m) => hooked.push(m),
    );
    await push.send(new Message("/pushed", "info", "p").encode());
    for (let i = 0; i < 100 && !hooked.length; i++) {
      await pub.send(new Message("/address/x", "info", { URI: "tcp://h:1" }));
      await pub.send(new Message("/other", "info", "not hooked"));
      const it = sub.recv(0.02);
      assertEquals((await it.next()).value, null); // hook messages never reach recv()
      await it.return();
    }
    assertEquals(pulled.map((m) => m.subject), ["/pushed"]);
    assert(hooked.length > 0 && hooked.every((m) => m.subject === "/address/x"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test_listener_container without nameserver", async () => {
  const { config } = testSetup();
  await using pub = await new Publisher("tcp://127.0.0.1:0", { name: "test", config }).start();
  const addr = `tcp://127.0.0.1:${pub.portNumber}`;
  const lc = new ListenerContainer({
    topics: ["/counter"],
    nameserver: false,
    addresses: [addr],
    config,
  });
  await lc.ready;
  let tested = 0;
  for (let counter = 0; counter < 100 && tested < 5; counter++) {
    const out = new Message("/counter", "info", String(counter));
    await pub.send(out.encode());
    const got = await lc.outputQueue!.get(0.05).catch(() => undefined);
    if (got) {
      assertEquals(got.subject, out.subject);
      tested++;
    }
  }
  assertEquals(tested, 5);
  await lc.stop();
  assertEquals(new ListenerContainer().outputQueue, undefined);
});

Deno.test("publisher: send(Message) puts the bytes of its encode() on the wire (64 KiB binary, JSON, unicode)", async () => {
  const { config } = testSetup();
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
  await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], {
    config,
    keepRaw: true,
  });
  const messages = [
    new Message("/bin", "file", "ABCDé😀".repeat(11_000), { binary: true }),
    new Message("/json", "file", { uri: "/data/x", n: 1.5, t: new Date(0), s: "pöst" }),
    new Message("/pџтяöll", "info", "hej"),
    new Message("/empty", "beat"),
  ];
  await sendUntilReceived(() => pub.send(new Message("/warm", "info", "w")), sub);
  for (const m of messages) await pub.send(m);
  const got: Message[] = [];
  for await (const m of sub.recv(10)) {
    if (m === null) break;
    if (m.subject !== "/warm") got.push(m);
    if (got.length === messages.length) break;
  }
  const enc = new TextEncoder();
  assertEquals(got.map((m) => rawMessage(m)), messages.map((m) => enc.encode(m.encode())));
});

Deno.test("subscriber: onMessage gets each message and its bytes at once (filtered, nothing queued); a throwing one is logged", async () => {
  const { config } = testSetup();
  await using pub = await new Publisher("tcp://127.0.0.1:0", { config }).start();
  const got: Array<[string, string]> = [];
  const warnings: string[] = [];
  const dec = new TextDecoder();
  await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], {
    config,
    messageFilter: (m) => m.type !== "skip",
    logger: (level, text) => void (level === "warning" && warnings.push(text)),
    onMessage: (m, raw) => {
      if (m.subject === "/throw") throw new Error("forwarder bug");
      // the bytes are valid during the call: copied here
      got.push([m.subject, dec.decode(raw)]);
    },
  });
  await until(async () => {
    await pub.send(new Message("/warm", "info", "w"));
    return got.length > 0 || undefined;
  }, { timeoutMs: 10_000, what: "the first message" });
  const messages = [
    new Message("/a", "file", { uri: "/data/é.nc" }),
    new Message("/b", "skip", "dropped by the filter"),
    new Message("/throw", "info"),
    new Message("/c", "file", "x".repeat(40_000)), // a large body (recycled arrays)
    new Message("/d", "beat"),
  ];
  for (const m of messages) await pub.send(m);
  await until(() => got.some(([s]) => s === "/d") || undefined, {
    timeoutMs: 10_000,
    what: "the last message",
  });
  const after = got.filter(([s]) => s !== "/warm");
  const want = [messages[0], messages[3], messages[4]];
  assertEquals(after, want.map((m) => [m.subject, m.encode()]));
  assertEquals(warnings.filter((w) => w.includes("forwarder bug")).length, 1);
  // nothing was queued for iteration
  const it = sub.recv(0.2);
  assertEquals((await it.next()).value, null);
  await it.return(undefined);
});

/**
 * Cases mirroring posttroll's tests/test_nameserver.py, on loopback with free ports.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { AddressBook } from "../../lib/posttroll/address_book.ts";
import { AddressReceiver } from "../../lib/posttroll/address_receiver.ts";
import { UnsupportedBackendError } from "../../lib/posttroll/config.ts";
import { CURRENT_MESSAGE_VERSION, Message } from "../../lib/posttroll/message.ts";
import {
  createNameserverAddress,
  getConfiguredNameserverPort,
  getPubAddress,
  getPubAddresses,
  NameServer,
  NameserverTimeoutError,
  requestToNameserver,
} from "../../lib/posttroll/nameserver.ts";
import { NoisyPublisher, publish } from "../../lib/posttroll/publisher.ts";
import { subscribe } from "../../lib/posttroll/subscriber.ts";
import { ListenerContainer } from "../../lib/posttroll/listener.ts";
import { isLocalAddress, localAddresses } from "../../lib/posttroll/_sockets.ts";
import { type TestSetup, testSetup, until } from "../../testing/posttroll.ts";

async function withNameserver(
  setup: TestSetup,
  opts: { maxAge?: number; multicastEnabled?: boolean },
  fn: (ns: NameServer) => Promise<void>,
): Promise<void> {
  const ns = new NameServer({
    maxAge: opts.maxAge ?? 3,
    multicastEnabled: opts.multicastEnabled ?? true,
    config: setup.config,
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

const modes = [["mc on", true], ["mc off", false]] as const;

for (const [label, mc] of modes) {
  Deno.test(`test_pub_addresses (${label})`, async () => {
    const s = testSetup();
    const nameservers = mc ? undefined : ["localhost"];
    await withNameserver(s, { multicastEnabled: mc }, async () => {
      await using _pub = await publish("data_provider", {
        port: 0,
        aliases: ["this_data"],
        nameservers,
        broadcastInterval: 0.1,
        config: s.config,
      });
      for (const name of ["this_data", "data_provider"]) {
        const res = await until(async () => {
          const r = await getPubAddresses([name], { timeout: 0.5, config: s.config });
          return r.length ? r : undefined;
        }, { what: "address" });
        assertEquals(res.length, 1);
        const expected: Record<string, unknown> = {
          status: true,
          service: ["data_provider", "this_data"],
          name: "address",
          backend: "unsecure_zmq",
          supported_message_version: CURRENT_MESSAGE_VERSION,
        };
        for (const [k, v] of Object.entries(expected)) assertEquals(res[0][k], v, k);
        assert("receive_time" in res[0]);
        assert("URI" in res[0]);
      }
    });
  });

  Deno.test(`test_pub_sub_ctx (${label})`, async () => {
    const s = testSetup();
    const nameservers = mc ? undefined : ["localhost"];
    await withNameserver(s, { multicastEnabled: mc }, async () => {
      await using pub = await publish("data_provider", {
        port: 0,
        aliases: ["this_data"],
        nameservers,
        broadcastInterval: 0.1,
        config: s.config,
      });
      await until(async () =>
        (await getPubAddress("this_data", { timeout: 1, config: s.config })).length
      );
      await using sub = await subscribe({
        services: "this_data",
        topics: "counter",
        config: s.config,
        timeout: 2,
      });
      assertEquals(sub.addresses.length, 1);
      let tested = 0;
      const sent: string[] = []; // a late message may arrive after a timed-out recv: keep order
      let last = -1;
      for (let counter = 0; counter < 100 && tested < 5; counter++) {
        const message = new Message("/counter", "info", String(counter));
        sent.push(message.encode());
        await pub.send(message.encode());
        const it = sub.recv(0.05);
        const { value } = await it.next();
        await it.return();
        if (value) {
          const at = sent.indexOf(value.encode());
          assert(at > last, `unexpected or out-of-order message ${value.encode()}`);
          last = at;
          tested++;
        }
      }
      assertEquals(tested, 5);
    });
  });

  Deno.test(`test_pub_sub_add_rm (${label})`, async () => {
    const s = testSetup();
    const nameservers = mc ? undefined : ["localhost"];
    const maxAge = 0.5;
    await withNameserver(s, { maxAge, multicastEnabled: mc }, async () => {
      await using sub = await subscribe({
        services: "this_data",
        topics: "counter",
        addrListener: true,
        timeout: 0.2,
        config: s.config,
      });
      assertEquals(sub.addresses.length, 0);
      {
        await using _pub = await publish("data_provider", {
          port: 0,
          aliases: ["this_data"],
          nameservers,
          broadcastInterval: 0.1,
          config: s.config,
        });
        await until(() => sub.addresses.length === 1, { what: "publisher added" });
      }
      // announcements stop: expired after max_age and removed from the subscriber
      await until(() => sub.addresses.length === 0, { what: "publisher removed", timeoutMs: 5000 });
      {
        await using _pub2 = await publish("data_provider_2", {
          port: 0,
          aliases: ["another_data"],
          nameservers,
          broadcastInterval: 0.1,
          config: s.config,
        });
        await new Promise((r) => setTimeout(r, 400));
        assertEquals(sub.addresses.length, 0);
      }
    });
  });

  Deno.test(`test_noisypublisher_heartbeat (${label})`, async () => {
    const s = testSetup();
    await withNameserver(s, { multicastEnabled: mc }, async () => {
      await using pub = await new NoisyPublisher("test", {
        nameservers: mc ? undefined : ["localhost"],
        broadcastInterval: 0.1,
        config: s.config,
      }).start();
      await until(async () =>
        (await getPubAddress("test", { timeout: 1, config: s.config })).length
      );
      await using sub = await subscribe({
        services: "test",
        topics: "/heartbeat/test",
        config: s.config,
      });
      let msg: Message | null = null;
      for (let i = 0; i < 50 && !msg; i++) {
        await pub.heartbeat(0); // 0: always beat; posttroll's test uses 10 once after a sleep
        const it = sub.recv(0.05);
        msg = (await it.next()).value ?? null;
        await it.return();
      }
      assert(msg);
      assertEquals(msg.type, "beat");
      assertEquals(msg.data, { min_interval: 0 });
      // min_interval: a second beat within the interval is not sent
      await pub.heartbeat(10);
      await pub.heartbeat(10);
    });
  });
}

Deno.test("test_listener_container (with nameserver, multicast)", async () => {
  const s = testSetup();
  await withNameserver(s, { multicastEnabled: true }, async () => {
    await using pub = await new NoisyPublisher("test", { broadcastInterval: 0.1, config: s.config })
      .start();
    await until(async () => (await getPubAddress("test", { timeout: 1, config: s.config })).length);
    await using lc = new ListenerContainer({ topics: ["/counter"], config: s.config });
    await lc.ready;
    await until(() => lc.subscriber?.addresses.length === 1);
    let tested = 0;
    for (let counter = 0; counter < 100 && tested < 5; counter++) {
      const out = new Message("/counter", "info", String(counter));
      await pub.send(out.encode());
      const got = await lc.outputQueue!.get(0.05).catch(() => undefined);
      if (got) {
        assertEquals(got.subject, "/counter");
        tested++;
      }
    }
    assertEquals(tested, 5);
  });
});

Deno.test("test_switch_backend_for_nameserver", async () => {
  const s = testSetup({ POSTTROLL_BACKEND: "spurious_backend" });
  assertThrows(() => new NameServer({ config: s.config }), UnsupportedBackendError);
  await assertRejects(
    () => getPubAddress("some_name", { config: s.config }),
    UnsupportedBackendError,
  );
});

Deno.test("test_create_nameserver_address", () => {
  const s = testSetup();
  const port = getConfiguredNameserverPort(s.config);
  assertEquals(port, s.nameserverPort);
  assertEquals(createNameserverAddress("somehost", port), `tcp://somehost:${port}`);
  assertEquals(createNameserverAddress("ipc:///tmp/x", port), "ipc:///tmp/x");
  assertEquals(createNameserverAddress("tcp://somehost", port), `tcp://somehost:${port}`);
  assertEquals(createNameserverAddress("tcp://somehost:12", port), "tcp://somehost:12");
  assertEquals(createNameserverAddress("::1", port), `tcp://[::1]:${port}`);
  assertEquals(createNameserverAddress("tcp://[::1]", port), `tcp://[::1]:${port}`);
});

Deno.test("test_no_tcp_nameserver (ipc, dict source)", async () => {
  const dir = await Deno.makeTempDir();
  const s = testSetup();
  const ns = new NameServer({ config: s.config });
  const address = `ipc://${dir}/ns1`;
  const running = ns.run({ cool_service: ["some", "addresses"] }, address);
  try {
    await ns.ready;
    assertEquals(
      await getPubAddress("cool_service", { nameserver: address, config: s.config }) as unknown,
      ["some", "addresses"],
    );
    assertEquals(
      await getPubAddress("unknown", { nameserver: address, timeout: 1, config: s.config }),
      [],
    );
  } finally {
    await ns.stop();
    await running;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test_unsecure_tcp_nameserver (tcp://localhost, IPv6 too)", async () => {
  for (const [bind, client] of [["tcp://localhost", "tcp://localhost"], ["::1", "::1"]]) {
    const s = testSetup();
    const ns = new NameServer({ config: s.config });
    const running = ns.run(new Map([["cool_service", ["some", "addresses"]]]), bind);
    try {
      await ns.ready;
      assertEquals(
        await getPubAddress("cool_service", {
          nameserver: client,
          timeout: 2,
          config: s.config,
        }) as unknown,
        ["some", "addresses"],
      );
    } finally {
      await ns.stop();
      await running;
    }
  }
});

for (const version of ["v1.01", "v1.2"]) {
  Deno.test(`test_address_receiver_republishes_as_v1_01 (received ${version})`, () => {
    const book = new AddressBook();
    const incoming = new Message("/address/myservice", "info", {
      URI: "tcp://host:1234",
      service: ["myservice"],
    }, { version });
    const r = book.receive(incoming.encode());
    assertEquals(r.status, "added");
    const published = Message.decode(r.republish!);
    assertEquals(published.version, "v1.01");
    assert(!r.republish!.split(" ")[3].includes("+00:00"));
    assertEquals((published.data as Record<string, unknown>).status, true);
    // second time: refreshed, not re-published
    assertEquals(book.receive(incoming.encode()).republish, undefined);
  });

  Deno.test(`test_message_version_compatibility (${version})`, async () => {
    const dir = await Deno.makeTempDir();
    const s = testSetup();
    const ns = new NameServer({ config: s.config });
    const address = `ipc://${dir}/ns1`;
    const running = ns.run({ cool_service: ["some", "addresses"] }, address);
    try {
      await ns.ready;
      const request = new Message("/oper/ns", "request", { service: "cool_service" }, { version });
      const response = await requestToNameserver(address, request, 1, { config: s.config });
      assertEquals(response.version, version);
    } finally {
      await ns.stop();
      await running;
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("address book: expiry publishes status false; matching rules", () => {
  let now = 0;
  const book = new AddressBook({ maxAgeMs: 1000, now: () => now });
  book.receive(
    new Message("/address/a", "info", { URI: "tcp://h:1", service: ["a", "x"] }).encode(),
  );
  book.receive(
    new Message("/address/b", "info", { URI: "tcp://h:2", service: "b_service" }).encode(),
  );
  assertEquals(book.get("").length, 2);
  assertEquals(book.get("x").map((r) => r.URI), ["tcp://h:1"]);
  assertEquals(book.get("nothing"), []);
  assert(String(book.get("a")[0].receive_time).endsWith("+00:00"));
  now = 900;
  assertEquals(book.expire(), []);
  now = 1001;
  const removed = book.expire().map((r) => Message.decode(r));
  assertEquals(removed.length, 2);
  assertEquals(removed[0].subject, "/address/address");
  assertEquals(removed[0].data, { status: false, URI: "tcp://h:1", service: ["a", "x"] });
  assertEquals(book.size, 0);
  // garbage and non-announcements are reported, never thrown
  assertEquals(book.receive("garbage").status, "invalid");
  assertEquals(
    book.receive(new Message("/other", "info", { URI: "x" }).encode()).status,
    "ignored",
  );
  assertEquals(book.receive(new Message("/address/x", "info", "text").encode()).status, "invalid");
});

Deno.test("test_localhost_restriction: local addresses accepted, others not", async () => {
  const local = localAddresses();
  assert(isLocalAddress("127.0.0.1", local));
  assert(isLocalAddress("::ffff:127.0.0.1", local));
  assert(!isLocalAddress("255.255.255.255", local));
  assert(!isLocalAddress("192.0.2.1", local));
  const s = testSetup();
  await using rec = await new AddressReceiver({
    multicastEnabled: false,
    restrictToLocalhost: true,
    config: s.config,
  }).start();
  await using _pub = await new NoisyPublisher("local", {
    nameservers: ["127.0.0.1"],
    broadcastInterval: 0.1,
    config: s.config,
  }).start();
  await until(() => rec.get("local").length === 1, { what: "local registration" });
});

Deno.test("getPubAddress against a dead nameserver: clear TimeoutError, socket closed", async () => {
  const s = testSetup();
  const t0 = Date.now();
  const e = await assertRejects(
    () => getPubAddress("this_data", { timeout: 0.05, config: s.config }),
    NameserverTimeoutError,
  );
  assertEquals(e.message, "Didn't get an address after 0.05 seconds.");
  assertEquals(e.name, "TimeoutError");
  assert(Date.now() - t0 < 1000);
});

Deno.test("address receiver heartbeat: /heartbeat/address_receiver beat {min_interval} on the address port", async () => {
  const s = testSetup();
  await using _rec = await new AddressReceiver({
    multicastEnabled: false,
    heartbeatInterval: 0.1,
    config: s.config,
  }).start();
  const { Subscriber } = await import("../../lib/posttroll/subscriber.ts");
  await using sub = new Subscriber(`tcp://127.0.0.1:${s.addressPort}`, {
    topics: "/heartbeat/address_receiver",
    config: s.config,
  });
  let beat: Message | null = null;
  for await (const m of sub.recv(2)) {
    beat = m;
    break;
  }
  assert(beat);
  assertEquals([beat.type, beat.data], ["beat", { min_interval: 0.1 }]);
});

Deno.test("NameServer stopped before it is ready: run() resolves, ready rejects", async () => {
  const s = testSetup();
  const ns = new NameServer({ multicastEnabled: false, config: s.config });
  const stopping = ns.stop();
  await ns.run();
  await stopping;
  await assertRejects(() => ns.ready, Error, "stopped before it was ready");
  const ns2 = new NameServer({ multicastEnabled: false, config: s.config });
  const running = ns2.run();
  await ns2.stop(); // while binding
  await running;
});

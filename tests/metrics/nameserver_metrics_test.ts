/**
 * `nameserver --metrics` and `posttroll listen --metrics`, spawned with their binaries'
 * permissions: scraped during a run, the counters match what was sent, and every scrape parses
 * with Python's prometheus_client parser.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { baseEnv, cliKeys, configOf } from "../secure/_helpers.ts";
import { PythonProcess } from "../../testing/python.ts";
import { scrape } from "./_scrape.ts";
import { Child } from "../../testing/child.ts";
import { freePort } from "../../testing/net.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import {
  AuthRefusedError,
  getPubAddress,
  requestToNameserver,
} from "../../lib/posttroll/nameserver.ts";
import { Message, PyDateTime } from "../../lib/posttroll/message.ts";
import { NoisyPublisher } from "../../lib/posttroll/publisher.ts";

Deno.test("nameserver --metrics: counters follow announcements, look-ups, expiries", async () => {
  const s = testSetup();
  const port = freePort();
  const ns = Child.binary(
    "nameserver",
    ["--metrics", `127.0.0.1:${port}`, "--max-age", "1.5"],
    s.env,
  );
  try {
    await ns.line((l) => l.includes("Nameserver ready"));
    const url = `http://127.0.0.1:${port}/metrics`;
    const m0 = await scrape(url);
    assertEquals(m0.get("posttroll_nameserver_addresses{}"), 0);
    // one publisher by multicast, one registering directly
    const mc = await new NoisyPublisher("mc_pub", { broadcastInterval: 0.2, config: s.config })
      .start();
    const direct = await new NoisyPublisher("direct_pub", {
      aliases: ["alias"],
      nameservers: ["localhost"],
      broadcastInterval: 0.2,
      config: s.config,
    }).start();
    await until(async () =>
      (await getPubAddress("", { config: s.config, timeout: 2 })).length === 2
    );
    for (const name of ["mc_pub", "direct_pub", "alias"]) {
      assertEquals((await getPubAddress(name, { config: s.config, timeout: 2 })).length, 1);
    }
    await getPubAddress("nobody", { config: s.config, timeout: 2 });
    await requestToNameserver(
      `tcp://127.0.0.1:${s.nameserverPort}`,
      new Message("/oper/ns", "request", { nothing: 1 }),
      2,
      { config: s.config },
    );
    const m1 = await until(async () => {
      const m = await scrape(url);
      return m.get("posttroll_nameserver_announcements_total{result=refreshed,via=direct}")
        ? m
        : undefined;
    });
    assertEquals(m1.get("posttroll_nameserver_addresses{}"), 2);
    assertEquals(m1.get("posttroll_nameserver_services{}"), 3);
    // 1 + 3 found above, plus the wait loop's successful look-ups: at least 4
    assert(m1.get("posttroll_nameserver_lookups_total{result=found}")! >= 4);
    assert(m1.get("posttroll_nameserver_lookups_total{result=not_found}")! >= 1);
    assertEquals(m1.get("posttroll_nameserver_lookups_total{result=invalid}"), 1);
    assertEquals(m1.get("posttroll_nameserver_announcements_total{result=added,via=multicast}"), 1);
    assertEquals(m1.get("posttroll_nameserver_announcements_total{result=added,via=direct}"), 1);
    assert(m1.get("posttroll_nameserver_announcements_total{result=refreshed,via=direct}")! >= 1);
    assertEquals(m1.get("posttroll_nameserver_expiries_total{}"), 0);
    assert(m1.get("process_resident_memory_bytes{}")! > 0);
    await mc.stop();
    await direct.stop();
    const m2 = await until(async () => {
      const m = await scrape(url);
      return m.get("posttroll_nameserver_expiries_total{}") === 2 ? m : undefined;
    });
    assertEquals(m2.get("posttroll_nameserver_addresses{}"), 0);
  } finally {
    const { code } = await ns.kill("SIGTERM");
    assertEquals(code, 0, ns.lines.join("\n"));
  }
});

Deno.test("nameserver --metrics: a bad or taken address fails at start-up, naming the option", async () => {
  const s = testSetup();
  const bad = Child.binary("nameserver", ["--metrics", "9557"], s.env);
  assertEquals((await bad.child.status).code, 2);
  await bad.done;
  assert(bad.lines.some((l) => l.includes("--metrics: expected HOST:PORT")), bad.lines.join("\n"));
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const c = Child.binary("nameserver", ["--metrics", `127.0.0.1:${port}`], s.env);
    assertEquals((await c.child.status).code, 2);
    await c.done;
    assert(c.lines.some((l) => l.includes(`--metrics 127.0.0.1:${port}: cannot listen`)));
  } finally {
    taken.close();
  }
  const rates = Child.binary("nameserver", ["--rates-from", "http://x/metrics"], s.env);
  assertEquals((await rates.child.status).code, 2);
  await rates.done;
});

Deno.test("posttroll listen --metrics: pytroll-messages-prom's metrics from a Python publisher", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const port = freePort();
  const ns = Child.binary("nameserver", ["--no-multicast"], s.env);
  const listen = Child.binary("posttroll", ["listen", "--metrics", `127.0.0.1:${port}`], s.env);
  await using pub = PythonProcess.spawn(
    `
import sys, datetime as dt
from posttroll.message import Message
from posttroll.publisher import Publish
with Publish("prom_pub", 0, nameservers=["localhost"]) as pub:
    print("started", flush=True)
    for line in sys.stdin:
        n = int(line)
        pub.send(str(Message("/prom/files", "dataset", {"dataset": [{"uri": "a"}, {"uri": "b"}, {"uri": "c"}],
            "start_time": dt.datetime(2026, 11, 25, 10, 0, n), "end_time": dt.datetime(2026, 11, 25, 10, 5, n)})))
        pub.send(str(Message("/prom/beat", "beat", {"min_interval": 1})))
        print("sent", n, flush=True)
`,
    { env: s.env },
  );
  try {
    await ns.line((l) => l.includes("Nameserver ready"));
    await pub.waitForLine((l) => l === "started", 20_000);
    // send until the listener has seen messages, then a counted batch
    const url = `http://127.0.0.1:${port}/metrics`;
    const key = "posttroll_message_counter_total{message_type=dataset,topic=/prom/files}";
    let n = 0;
    await until(async () => {
      await pub.writeLine(String(++n));
      await pub.waitForLine((l) => l.startsWith("sent"));
      const m = await scrape(url).catch(() => undefined);
      return (m?.get(key) ?? 0) > 0;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const before = (await scrape(url)).get(key)!;
    for (let i = 0; i < 20; i++) {
      await pub.writeLine(String(++n));
      await pub.waitForLine((l) => l.startsWith("sent"));
    }
    const m = await until(async () => {
      const x = await scrape(url);
      return x.get(key) === before + 20 ? x : undefined;
    });
    const l = "{message_type=dataset,topic=/prom/files}";
    const at = (iso: string) => PyDateTime.fromisoformat(iso).epochMicroseconds() / 1e6;
    assertEquals(
      m.get(`posttroll_message_start_time_seconds${l}`),
      at(`2026-11-25T10:00:${String(n).padStart(2, "0")}`),
    );
    assertEquals(
      m.get(`posttroll_message_end_time_seconds${l}`),
      at(`2026-11-25T10:05:${String(n).padStart(2, "0")}`),
    );
    assertEquals(m.get(`posttroll_message_number_of_files_count${l}`), 3);
    const reg = m.get(`posttroll_message_register_time_seconds${l}`)!;
    assert(Math.abs(reg - Date.now() / 1000) < 30, String(reg));
    assert(m.get("posttroll_message_counter_total{message_type=beat,topic=/prom/beat}")! >= 20);
  } finally {
    assertEquals((await listen.kill("SIGINT")).code, 0, listen.lines.join("\n"));
    await ns.kill("SIGTERM");
  }
});

Deno.test("nameserver --metrics: refused clients are counted per socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keys = await cliKeys(dir);
    // the nameserver has server keys: it opens the CURVE port beside the plain one
    const env = baseEnv({
      POSTTROLL_SERVER_SECRET_KEY_FILE: keys.serverSecret,
      POSTTROLL_CLIENTS_PUBLIC_KEYS_DIRECTORY: keys.clientsDir,
      POSTTROLL_MULTICAST: "False",
    });
    const port = freePort();
    const ns = Child.binary("nameserver", ["--metrics", `127.0.0.1:${port}`], env);
    try {
      await ns.line((l) => l.includes("Nameserver ready"));
      // a plain client on the CURVE port: refused
      const plain = configOf(env);
      const securePort = env.POSTTROLL_SECURE_ZMQ_NAMESERVER_PORT;
      for (let i = 0; i < 3; i++) {
        await assertRejects(() =>
          requestToNameserver(
            `tcp://127.0.0.1:${securePort}`,
            new Message("/oper/ns", "request", { service: "" }),
            5,
            { config: plain },
          ), AuthRefusedError);
      }
      const m = await until(async () => {
        const x = await scrape(`http://127.0.0.1:${port}/metrics`);
        return x.get("posttroll_nameserver_refused_clients_total{socket=nameserver_secure}")! >= 3
          ? x
          : undefined;
      });
      assertEquals(m.get("posttroll_nameserver_refused_clients_total{socket=nameserver}"), 0);
    } finally {
      assertEquals((await ns.kill("SIGTERM")).code, 0, ns.lines.slice(-10).join("\n"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

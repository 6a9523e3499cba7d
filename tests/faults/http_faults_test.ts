// Fault suite, metrics/web view HTTP port: the `nameserver --metrics` program (spawned with its
// binary's permissions, 1,500 addresses in its book so the web view's snapshot is large) under
// slowloris heads, an endless header, an endless body, a flood of idle connections, and event
// stream clients that never read. A scraper fetches /metrics throughout: every scrape must answer,
// lookups on the nameserver keep succeeding, and the process's memory (its own
// process_resident_memory_bytes) stays bounded. The same attacks on Python's prometheus_client
// exporter (start_http_server, what pytroll-messages-prom serves) are recorded beside it.
import { assert, assertEquals } from "@std/assert";
import { PythonProcess } from "../../testing/python.ts";
import { Child } from "../../testing/child.ts";
import { freePort } from "../../testing/net.ts";
import { testSetup, until } from "../../testing/posttroll.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { ReqSocket } from "../../lib/zmq/mod.ts";
import { announcement } from "./_posttroll.ts";
import { recordFault } from "./_record.ts";

const MB = 1024 * 1024;
const enc = new TextEncoder();

/** Scrapes `url` every 100 ms; records the slowest answer and every failure. */
function scraper(url: string) {
  let stopped = false;
  let ok = 0;
  let slowest = 0;
  let retried = 0;
  const failures: string[] = [];
  // a new connection per scrape: under a flood the server closes idle kept-alive connections
  // first, and a pooled one would fail where Prometheus (Go's client) retries on a fresh one
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const done = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      // like Prometheus, a scrape whose connection is cut is tried again at once (once)
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(5000), client });
          const text = await res.text();
          if (res.status === 200 && text.length > 0) ok++;
          else failures.push(`status ${res.status}`);
          break;
        } catch (e) {
          if (attempt === 0) retried++;
          else failures.push(`${e} ${(e as Error).cause ?? ""}`);
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    get ok() {
      return ok;
    },
    async stop() {
      stopped = true;
      await done;
      client.close();
      return { ok, failures, slowest, retried };
    },
  };
}

async function connect(port: number): Promise<Deno.TcpConn | undefined> {
  try {
    return await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return undefined; // the listen queue is full: that is the flood working
  }
}

function closeAll(conns: Array<Deno.Conn | undefined>): void {
  for (const c of conns) {
    try {
      c?.close();
    } catch { /* closed by the server */ }
  }
}

interface AttackResult {
  inputs: number;
  retried: number;
  scrapes: number;
  failures: string[];
  slowestMs: number;
}

/**
 * Runs the five attacks against an HTTP port while scraping `/metrics`. `streamPath` is the
 * event-stream route (none for servers without one).
 */
async function attack(port: number, streamPath?: string): Promise<AttackResult> {
  const scrape = scraper(`http://127.0.0.1:${port}/metrics`);
  const held: Array<Deno.Conn | undefined> = [];
  let inputs = 0;
  const stop = new AbortController();
  const drips: Array<Promise<void>> = [];
  try {
    await until(() => scrape.ok >= 2, { timeoutMs: 20_000, what: "first scrapes" });
    // 1. slowloris: 300 heads that never end, one byte per second each
    for (let i = 0; i < 300; i++) {
      const c = await connect(port);
      held.push(c);
      inputs++;
      if (!c) continue;
      drips.push((async () => {
        try {
          await c.write(enc.encode("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
          while (!stop.signal.aborted) {
            await c.write(enc.encode("X"));
            await new Promise((r) => setTimeout(r, 1000));
          }
        } catch { /* cut by the server */ }
      })());
    }
    // 2. an endless header and 3. an endless body, written as fast as the server reads
    for (
      const head of [
        "GET /metrics HTTP/1.1\r\nX-Endless: ",
        "GET /metrics HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n",
      ]
    ) {
      const c = await connect(port);
      held.push(c);
      inputs++;
      if (!c) continue;
      drips.push((async () => {
        const chunk = new Uint8Array(64 * 1024).fill(65);
        try {
          await c.write(enc.encode(head));
          for (let i = 0; i < 16 * 1024 && !stop.signal.aborted; i++) await c.write(chunk); // 1 GiB
        } catch { /* cut by the server */ }
      })());
    }
    // 4. a flood of 2,000 idle connections
    for (let batch = 0; batch < 10; batch++) {
      held.push(...await Promise.all(Array.from({ length: 200 }, () => connect(port))));
      inputs += 200;
    }
    // 5. 100 event-stream clients that never read
    if (streamPath) {
      for (let i = 0; i < 100; i++) {
        const c = await connect(port);
        held.push(c);
        inputs++;
        await c?.write(enc.encode(`GET ${streamPath} HTTP/1.1\r\nHost: x\r\n\r\n`)).catch(() => {});
      }
    }
    // scrapes go on while all of that is held
    const before = scrape.ok;
    await until(() => scrape.ok >= before + 20, {
      timeoutMs: 60_000,
      what: "scrapes under attack",
    });
  } finally {
    stop.abort();
    closeAll(held);
    await Promise.allSettled(drips);
  }
  const r = await scrape.stop();
  return { inputs, scrapes: r.ok, failures: r.failures, slowestMs: r.slowest, retried: r.retried };
}

async function rssOf(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const m = /^process_resident_memory_bytes (\S+)$/m.exec(text);
  return Number(m![1]);
}

Deno.test("fault http: nameserver --metrics keeps answering slowloris, endless input, floods and streams that never read", async () => {
  const s = testSetup({ POSTTROLL_MULTICAST: "False" });
  const port = freePort();
  const ns = Child.binary(
    "nameserver",
    ["--no-multicast", "--metrics", `127.0.0.1:${port}`],
    s.env,
  );
  try {
    await ns.line((l) => l.includes("Nameserver ready"));
    // 1,500 addresses: the web view's snapshot is ~300 KB, more than a client's stream buffer
    const req = new ReqSocket({ linger: 0 });
    req.connect(`tcp://127.0.0.1:${s.broadcastPort}`);
    for (let i = 0; i < 1500; i++) {
      await req.send(announcement(`svc${i}`, `tcp://10.1.${i >> 8}.${i & 255}:40000`));
      await req.receive();
    }
    await req.close();
    const url = `http://127.0.0.1:${port}/metrics`;
    const rss0 = await rssOf(url);
    const r = await attack(port, "/events");
    const rss1 = await rssOf(url);
    const lookups = await getPubAddress("svc7", { timeout: 5, config: s.config });
    assertEquals(lookups.length, 1);
    const growth = (rss1 - rss0) / MB;
    await recordFault({
      area: "http",
      fault:
        "nameserver --metrics: slowloris ×300, endless header and body, 2,000 idle connections, 100 event streams that never read",
      inputs: r.inputs,
      lost: r.failures.length,
      notes:
        `ours: ${r.scrapes} scrapes answered (${r.retried} on the retry), none failed, slowest ${
          r.slowestMs.toFixed(0)
        } ms, RSS ${(rss0 / MB).toFixed(0)} -> ${(rss1 / MB).toFixed(0)} MB`,
    });
    assertEquals(r.failures, [], `scrapes failed under attack`);
    assert(growth < 150, `RSS grew by ${growth.toFixed(0)} MB`);
  } finally {
    const { code } = await ns.kill("SIGTERM");
    assertEquals(code, 0, ns.lines.slice(-20).join("\n"));
  }
});

Deno.test("fault http: the same attacks on Python's prometheus_client exporter (pytroll-messages-prom's server), recorded", async () => {
  const port = freePort();
  await using py = PythonProcess.spawn(
    `
import sys, time, resource
from prometheus_client import start_http_server, Counter
c = Counter("posttroll_message_counter", "n", ["message_type", "topic"])
for i in range(1500):
    c.labels("file", "/subject/%d" % i).inc()
start_http_server(${port}, addr="127.0.0.1")
print("ready", flush=True)
while True:
    time.sleep(1)
`,
  );
  await py.waitForLine((l) => l === "ready", 20_000);
  const rss = async () => {
    const status = await Deno.readTextFile(`/proc/${py.pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
  };
  const rss0 = await rss();
  let r: AttackResult;
  try {
    r = await attack(port);
  } catch (e) {
    r = { inputs: 0, scrapes: 0, failures: [String(e)], slowestMs: NaN, retried: 0 };
  }
  const rss1 = await rss();
  await recordFault({
    area: "http",
    fault:
      "Python prometheus_client start_http_server (reference): slowloris ×300, endless header and body, 2,000 idle connections",
    inputs: r.inputs,
    lost: 0,
    notes:
      `python: ${r.scrapes} scrapes answered (${r.retried} on the retry), ${r.failures.length} failed${
        r.failures.length ? ` (${r.failures[0].slice(0, 80)})` : ""
      }, slowest ${r.slowestMs.toFixed(0)} ms, RSS ${(rss0 / MB).toFixed(0)} -> ${
        (rss1 / MB).toFixed(0)
      } MB (a thread per connection)`,
  });
  // a reference measurement: recorded, not asserted
  console.log(`prometheus_client under attack: ${JSON.stringify({ ...r, rss0, rss1 })}`);
});

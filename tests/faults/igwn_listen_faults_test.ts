// Fault suite, igwn-alert listener: its `--metrics` port attacked the way a hostile or broken
// peer would while alerts flow through `--exec` handlers — a flood of idle connections, an
// endless request head, requests with bodies, garbage bytes, clients that send requests and never
// read the answers. The listener keeps handling every alert, /metrics keeps answering, its memory
// stays bounded, and nothing the attackers do ends it.
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { Child } from "../../testing/child.ts";
import { freePort } from "../../testing/net.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { createTopics } from "../igwn_alert/_helpers.ts";
import { recordFault } from "./_record.ts";

const CLI = `${REPO_ROOT}/cli/igwn_alert.ts`;

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function write(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

Deno.test("fault igwn-alert listen: the --metrics port attacked while handlers run", async () => {
  await using kafka = await startKafka();
  const [host, port] = kafka.plaintext.split(":");
  await createTopics(kafka, ["gracedb.attack"]);
  const work = await Deno.makeTempDir({ prefix: "igwn-attack-" });
  const metricsPort = freePort();
  const child = Child.deno(CLI, [
    "--no-auth",
    "-s",
    `kafka://${host}:${port}/`,
    "-l",
    "info",
    "listen",
    "--exec",
    `/bin/sh -c 'cat >> ${work}/handled; echo >> ${work}/handled'`,
    "--metrics",
    `127.0.0.1:${metricsPort}`,
    "attack",
  ], { NO_COLOR: "1" });
  const publisher = new IgwnAlertClient({
    noauth: true,
    server: `kafka://${host}:${port}/`,
    logger: () => {},
  });
  const conns: Deno.Conn[] = [];
  const enc = new TextEncoder();
  const handled = () => {
    try {
      return Deno.readTextFileSync(`${work}/handled`).split("\n").filter((l) => l).length;
    } catch {
      return 0;
    }
  };
  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    return { status: r.status, text: await r.text() };
  };
  let attacks = 0;
  let sent = 0;
  try {
    await child.line((l) => l.includes("ready on gracedb.attack"), 30_000);
    const rss0 = rssMiB(child.child.pid);
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) await publisher.publish("attack", `{"n": ${sent++}}`);
    };
    // 1. 500 connections that never send a byte
    for (let i = 0; i < 500; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: metricsPort }));
      attacks++;
    }
    await send(10);
    // 2. endless request heads (a header that never ends), 20 of them, 1 MiB each
    const junk = enc.encode("X-Junk: " + "a".repeat(64 * 1024));
    await Promise.all(Array.from({ length: 20 }, async () => {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: metricsPort });
      conns.push(c);
      attacks++;
      await write(c, enc.encode("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
      for (let i = 0; i < 16; i++) await write(c, junk).catch(() => {});
    }));
    await send(10);
    // 3. requests with a body, 4. garbage, 5. clients that pipeline requests and never read
    for (let i = 0; i < 50; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: metricsPort });
      conns.push(c);
      attacks++;
      const kind = i % 3;
      const data = kind === 0
        ? "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "b".repeat(4096)
        : kind === 1
        ? "\x00\xff\xfe garbage \r\n\r\n\x16\x03\x01 not http at all"
        : "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
      await write(c, enc.encode(data)).catch(() => {});
    }
    await send(10);
    // meanwhile: the listener handles every alert and /metrics answers
    const end = Date.now() + 60_000;
    while (handled() < sent) {
      assert(Date.now() < end, `handled ${handled()}/${sent}:\n${child.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = await scrape();
    assertEquals(m.status, 200);
    assert(
      new RegExp(`igwn_alert_alerts_handled_total\\{topic="attack"\\} ${sent}`).test(m.text),
      m.text,
    );
    const rss1 = rssMiB(child.child.pid);
    assert(rss1 - rss0 < 150, `RSS grew from ${rss0.toFixed(0)} to ${rss1.toFixed(0)} MiB`);
    // still running
    const exited = await Promise.race([
      child.child.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
    ]);
    assert(!exited, "the listener exited under attack");
    await recordFault({
      area: "igwn-alert",
      fault: "listener's --metrics port: 500 idle connections, 20 endless 1 MiB heads, bodies, " +
        "garbage, pipelined requests never read, while --exec handlers run",
      inputs: attacks,
      lost: sent - handled(),
      notes: `${sent} alerts handled, /metrics answered 200, RSS ${rss0.toFixed(0)} -> ` +
        `${rss1.toFixed(0)} MiB, the listener kept running`,
    });
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed by the server */ }
    }
    await child.kill("SIGKILL");
    await publisher.close();
    await Deno.remove(work, { recursive: true });
  }
});

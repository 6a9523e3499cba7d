// A listener that proves it is alive: `igwn-alert listen --exec ... --metrics HOST:PORT
// --heartbeat S` as a real process. /metrics (alerts received and handled per topic, handler
// durations, consumer lag, seconds since the broker last answered) parses with Python's
// prometheus_client parser; the broker frozen with SIGSTOP (a wedged listener: the process runs,
// nothing arrives) makes the listener exit with status 3 within its heartbeat.
import { assert, assertEquals } from "@std/assert";
import { startKafka } from "../../testing/kafka.ts";
import { Child } from "../../testing/child.ts";
import { freePort } from "../../testing/net.ts";
import { python, REPO_ROOT } from "../../testing/python.ts";
import { IgwnAlertClient } from "../../lib/igwn_alert/mod.ts";
import { createTopics } from "./_helpers.ts";

const CLI = `${REPO_ROOT}/cli/igwn_alert.ts`;

/** The samples of a scrape, parsed by prometheus_client: family -> [[labels, value]]. */
async function parseWithPython(
  text: string,
): Promise<Record<string, Array<[Record<string, string>, number]>>> {
  const out = await python(
    `import sys, json
from prometheus_client.parser import text_string_to_metric_families
fams = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    fams[f.name] = [[s.labels, s.value] for s in f.samples]
print(json.dumps(fams))`,
    { stdin: text },
  );
  return JSON.parse(out);
}

Deno.test("igwn-alert listen: /metrics parses with prometheus_client; heartbeat exit on a frozen broker", async () => {
  await using kafka = await startKafka();
  const [host, port] = kafka.plaintext.split(":");
  await createTopics(kafka, ["gracedb.live"]);
  const metricsPort = freePort();
  const HEARTBEAT = 4;
  const child = Child.deno(CLI, [
    "--no-auth",
    "-s",
    `kafka://${host}:${port}/`,
    "-l",
    "info",
    "listen",
    "--exec",
    "cat",
    "--metrics",
    `127.0.0.1:${metricsPort}`,
    "--heartbeat",
    String(HEARTBEAT),
    "live",
  ], { NO_COLOR: "1" });
  const publisher = new IgwnAlertClient({
    noauth: true,
    server: `kafka://${host}:${port}/`,
    logger: () => {},
  });
  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return await r.text();
  };
  try {
    await child.line((l) => l.includes("ready on gracedb.live"), 30_000);
    // alerts through `cat`: handled and counted
    let handled = 0;
    const end = Date.now() + 30_000;
    while (handled < 3) {
      assert(Date.now() < end, `handled ${handled}; ${child.lines.join("\n")}`);
      await publisher.publish("live", '{"uid": "S-live"}');
      await new Promise((r) => setTimeout(r, 300));
      const m = /igwn_alert_alerts_handled_total\{topic="live"\} (\d+)/.exec(await scrape());
      handled = m ? Number(m[1]) : 0;
    }
    // the lag gauge is set every 5 s
    const lagBy = Date.now() + 15_000;
    while (!/igwn_alert_consumer_lag\{/.test(await scrape()) && Date.now() < lagBy) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const text = await scrape();
    const fams = await parseWithPython(text);
    assert(
      fams["igwn_alert_alerts_received"]?.some(([l, v]) => l.topic === "live" && v >= 3),
      text,
    );
    assert(fams["igwn_alert_alerts_handled"]?.some(([l, v]) => l.topic === "live" && v >= 3), text);
    assert(fams["igwn_alert_handler_duration_seconds"]?.length > 0, text);
    assert(fams["igwn_alert_consumer_lag"]?.some(([l]) => l.topic === "live"), text);
    const since = fams["igwn_alert_seconds_since_broker_contact"]?.[0]?.[1];
    assert(typeof since === "number" && since >= 0 && since < HEARTBEAT, text);
    // freeze the broker: no heartbeat, no fetch succeeds; the listener must notice and exit 3
    const t0 = Date.now();
    kafka.pause();
    const status = await Promise.race([
      child.child.status,
      new Promise<null>((r) => setTimeout(() => r(null), (HEARTBEAT + 20) * 1000)),
    ]);
    const ms = Date.now() - t0;
    assert(
      status !== null,
      `still running ${ms} ms after the broker froze:\n${child.lines.join("\n")}`,
    );
    assertEquals(status.code, 3, child.lines.join("\n"));
    // the broker answered until the freeze; the exit comes after HEARTBEAT s of silence
    assert(ms >= (HEARTBEAT - 1) * 1000 && ms < (HEARTBEAT + 15) * 1000, `exited after ${ms} ms`);
    assert(child.lines.some((l) => l.includes("wedged")), child.lines.join("\n"));
  } finally {
    kafka.resume();
    await child.kill("SIGKILL");
    await publisher.close();
  }
});

/**
 * End-to-end igwn-alert benchmark on a local Kafka broker (the test harness): publish -> listen
 * latency of single alerts (fresh `publish()` per alert, as the Python client does, and a
 * connected session), and session throughput. Prints one table.
 *
 *   deno task bench:igwn            (or: deno run -A bench/igwn_alert_e2e.ts [count])
 *
 * @module
 */
import { startKafka } from "../tests/harness/kafka.ts";
import { createTopics } from "../tests/harness/kafka_records.ts";
import { IgwnAlertClient } from "../lib/igwn_alert/mod.ts";

const count = Number(Deno.args[0] ?? 200);
const ALERT = JSON.stringify({
  uid: "S240615dg",
  alert_type: "update",
  data: { far: 1.2e-10, instruments: ["H1", "L1", "V1"], pipeline: "gstlal" },
  object: { superevent_id: "S240615dg", t_0: 1402437895.5 },
});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

await using kafka = await startKafka();
await createTopics(kafka, ["gracedb.bench"]);

const rows: Array<[string, string, string]> = [];
for (
  const [label, broker, ssl] of [
    ["PLAINTEXT", kafka.plaintext, false],
    ["SASL_SSL SCRAM-512", kafka.saslSsl, true],
  ] as const
) {
  const [host, port] = broker.split(":");
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/hop`);
  await Deno.writeTextFile(
    `${dir}/hop/auth.toml`,
    `[[auth]]\nusername = "alice"\npassword = "alice-secret"\nssl_ca_location = "${kafka.caFile}"\n`,
  );
  await Deno.chmod(`${dir}/hop/auth.toml`, 0o600);
  const opts = {
    server: `kafka://${host}/`,
    port: Number(port),
    noauth: !ssl,
    env: { get: (k: string) => (k === "XDG_CONFIG_HOME" ? dir : undefined) },
    logger: () => {},
  };
  const listener = new IgwnAlertClient(opts);
  const publisher = new IgwnAlertClient(opts);
  const arrivals = new Map<string, number>();
  let waiting: { id: string; resolve: () => void } | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const listening = listener.listen((_t, payload) => {
    const id = (JSON.parse(payload as string) as { seq: string }).seq;
    arrivals.set(id, performance.now());
    if (waiting?.id === id) waiting.resolve();
  }, { topics: "bench", onReady: () => ready() });
  await isReady;
  const send = async (id: string, viaSession: boolean) => {
    const msg = ALERT.replace('"uid"', `"seq": "${id}", "uid"`);
    const got = new Promise<void>((resolve) => (waiting = { id, resolve }));
    const t0 = performance.now();
    if (viaSession) await publisher.publishToTopic("bench", msg);
    else await publisher.publish("bench", msg);
    await got;
    return arrivals.get(id)! - t0;
  };
  // warm up
  await send("warm", false);
  const oneShot: number[] = [];
  for (let i = 0; i < Math.min(count, 50); i++) oneShot.push(await send(`p${i}`, false));
  await publisher.connect("bench");
  const session: number[] = [];
  for (let i = 0; i < count; i++) session.push(await send(`s${i}`, true));
  // throughput: fire `count` alerts on the session without waiting for each delivery
  const t0 = performance.now();
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) => publisher.publishToTopic("bench", ALERT.replace('"uid"', `"seq": "t${i}", "uid"`)),
    ),
  );
  while (![...Array(count).keys()].every((i) => arrivals.has(`t${i}`))) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const secs = (performance.now() - t0) / 1000;
  rows.push([
    label,
    `publish(): p50 ${pct(oneShot, 50).toFixed(1)} ms, p99 ${pct(oneShot, 99).toFixed(1)} ms; ` +
    `session: p50 ${pct(session, 50).toFixed(1)} ms, p99 ${pct(session, 99).toFixed(1)} ms`,
    `${Math.round(count / secs)} alerts/s`,
  ]);
  listener.stop();
  await listening;
  await listener.close();
  await publisher.close();
  await Deno.remove(dir, { recursive: true });
}
console.log(`\nigwn-alert end to end, ${count} alerts of ${ALERT.length} B, one local broker\n`);
console.log(
  "| listener | latency publish -> callback | session throughput (publish -> callback) |",
);
console.log("|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);

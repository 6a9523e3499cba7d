/**
 * Diagnostic: repeated bridge throughput runs (posttroll publisher -> to-kafka -> Kafka ->
 * from-kafka -> subscriber, and the raw client with the same records) on one broker, each with
 * its rate, the CPU time per message of both bridges (raw: producer and consumer) and their peak
 * RSS: `deno run -A bench/e2e/bridge_runs.ts [--shape=short|file_event] [--count=N]
 * [--seconds=S] [--window=N] [--runs=N] [--v8='FLAGS|FLAGS|...'] [bridge] [raw]`.
 * `--v8` runs the bridges once per variant in each round, alternating, with that variant's V8
 * flags instead of the executable's runtime flags (`default` = the executable's, `none` = V8's
 * defaults), e.g. `--v8='default|none|--max-semi-space-size=2'`.
 *
 * @module
 */
import { startKafka } from "../../testing/kafka.ts";
import { bridgedRun, type BridgeShape, describe, rawRun, type RunResult } from "./_bridge.ts";
import { killAll } from "./_peer.ts";

const flag = (name: string, dflt: string): string =>
  Deno.args.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const shape = flag("shape", "short") as BridgeShape;
const count = Number(flag("count", "100000"));
const seconds = Number(flag("seconds", "10"));
const window = Number(flag("window", shape === "short" ? "8000" : "2000"));
const runs = Number(flag("runs", "1"));
const variants = flag("v8", "default").split("|").map((v) =>
  v === "default" ? undefined : v === "none" ? "" : v
);
const kinds = Deno.args.filter((a) => !a.startsWith("--"));
const which = kinds.length ? kinds : ["bridge", "raw"];

function perMessage(r: RunResult): string {
  const us = (
    s?: number,
  ) => (s === undefined || !r.received ? "?" : (s * 1e6 / r.received).toFixed(1));
  const mib = (kb?: number) => (kb === undefined ? "?" : (kb / 1024).toFixed(0));
  return `CPU per message: up ${us(r.upCpu)} µs, down ${us(r.downCpu)} µs; peak RSS up ${
    mib(r.upHwmKb)
  } MiB, down ${mib(r.downHwmKb)} MiB`;
}

try {
  await using kafka = await startKafka();
  for (let i = 0; i < runs; i++) {
    for (const kind of which) {
      for (const v8Flags of kind === "raw" ? [undefined] : variants) {
        const opts = { shape, count, seconds, window, v8Flags };
        const r = kind === "raw"
          ? await rawRun(kafka, "plaintext", opts)
          : await bridgedRun(kafka, "plaintext", opts);
        const label = v8Flags === undefined ? "" : ` [v8: ${v8Flags || "none"}]`;
        console.log(`${kind}${label} ${shape}: ${describe(r)}\n  ${perMessage(r)}`);
      }
    }
  }
} finally {
  await killAll();
}

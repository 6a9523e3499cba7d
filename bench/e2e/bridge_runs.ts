/**
 * Diagnostic: repeated bridge throughput runs (posttroll publisher -> to-kafka -> Kafka ->
 * from-kafka -> subscriber, and the raw client with the same records) on one broker, each with
 * its rate, the CPU time per message of both bridges (raw: producer and consumer) and their peak
 * RSS: `deno run -A bench/e2e/bridge_runs.ts [--shape=short|file_event] [--count=N]
 * [--seconds=S] [--window=N] [--runs=N] [bridge] [raw]`.
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
      const opts = { shape, count, seconds, window };
      const r = kind === "raw"
        ? await rawRun(kafka, "plaintext", opts)
        : await bridgedRun(kafka, "plaintext", opts);
      console.log(`${kind} ${shape}: ${describe(r)}\n  ${perMessage(r)}`);
    }
  }
} finally {
  await killAll();
}

/**
 * Diagnostic: igwn-alert end-to-end latency at a fixed rate (1 KiB alerts) for publisher:listener
 * pairs run alternately against one broker, to tell which side adds latency.
 * `deno run -A bench/e2e/igwn_latency.ts ours:ours raw:raw ours:raw raw:ours java` (implementations
 * ours, py, raw; `java`: the Java Kafka client at the same rate and record size, its consumer
 * waiting on the broker like ours, `java0`: polling without waiting, as Kafka's EndToEndLatency
 * tool does — compiled from bench/e2e/java/ with the machine's javac);
 * `--rate=100`, `--count=1000`, `--warm=100`, `--rounds=2`.
 *
 * A first run (discarded) warms the broker up, and each round starts one pair later than the one
 * before: the first runs on a fresh broker (JIT) are slower, whichever pair they belong to.
 *
 * @module
 */
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { createTopics } from "../../testing/kafka_records.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { type Impl, pubListen } from "./_igwn.ts";
import { killAll } from "./_peer.ts";

const flag = (name: string, dflt: number): number => {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const rate = flag("rate", 100);
const count = flag("count", 1000);
const warm = flag("warm", 100);
const rounds = flag("rounds", 2);
const named = Deno.args.filter((a) => !a.startsWith("--"));
const pairs = named.length ? named : ["ours:ours", "raw:raw"];
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const ms = (us: number) => (us / 1000).toFixed(2);

/** The Java client's classes, compiled once into .cache/tmp. */
async function javaClasses(): Promise<string> {
  const out = `${REPO_ROOT}/.cache/tmp/java-bench`;
  const src = `${REPO_ROOT}/bench/e2e/java/PacedLatency.java`;
  const cp = `${REPO_ROOT}/.cache/kafka/lib/*`;
  const built = await Deno.stat(`${out}/PacedLatency.class`).catch(() => undefined);
  if (!built || built.mtime! < (await Deno.stat(src)).mtime!) {
    const r = await new Deno.Command("javac", { args: ["-cp", cp, "-d", out, src] }).output();
    if (!r.success) throw new Error(`javac failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return `${cp}:${out}`;
}

/** Latency quantiles in µs and the number of alerts measured. */
interface Quantiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  n: number;
}

let javaTopics = 0;
/** Latencies in µs of one run of the Java client (`maxWaitMs`: its consumer's fetch.max.wait.ms). */
async function javaRun(kafka: KafkaBroker, maxWaitMs: number): Promise<Quantiles> {
  const topic = `bench.java${++javaTopics}`;
  await createTopics(kafka, [topic]);
  const size = 1100; // ours: the 1 KiB alert as a JSON string literal (hop's value)
  const args = ["-cp", await javaClasses(), "PacedLatency", kafka.plaintext, topic, String(count)];
  const o = await new Deno.Command("java", {
    args: [...args, String(rate), String(size), String(maxWaitMs), String(warm)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(o.stdout).split("\n").find((l) => l.startsWith("java "));
  if (!line) throw new Error(`java: ${new TextDecoder().decode(o.stderr).slice(-2000)}`);
  const [p50, p90, p99, max, n] = line.split(" ").slice(1).map(Number);
  return { p50, p90, p99, max, n };
}

const medians = new Map<string, number[][]>();
try {
  await using kafka = await startKafka();
  const run = async (name: string, n = count): Promise<Quantiles> => {
    if (name === "java" || name === "java0") {
      return await javaRun(kafka, name === "java" ? 500 : 0);
    }
    const pair = name.split(":") as [Impl, Impl];
    const r = await pubListen(kafka, pair, { size: 1024, count: n, warm, seconds: 0, rate });
    const l = [...(r.latenciesUs ?? [])].sort((a, b) => a - b);
    return { p50: q(l, 0.5), p90: q(l, 0.9), p99: q(l, 0.99), max: l[l.length - 1], n: l.length };
  };
  await run(pairs[0].startsWith("java") ? "raw:raw" : pairs[0], 300);
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < pairs.length; i++) {
      const name = pairs[(i + round - 1) % pairs.length];
      const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
      const r = await run(name);
      const m = medians.get(name) ?? [];
      medians.set(name, [...m, [r.p50, r.p99]]);
      console.log(
        `round ${round} ${name.replace(":", " -> ")} (load ${load}): ${r.n} alerts, p50 ${
          ms(r.p50)
        } ms, p90 ${ms(r.p90)} ms, p99 ${ms(r.p99)} ms, max ${ms(r.max)} ms`,
      );
    }
  }
  for (const [name, v] of medians) {
    const mid = (k: number) => ms(v.map((x) => x[k]).sort((a, b) => a - b)[v.length >> 1]);
    console.log(`${name}: median over ${v.length} rounds p50 ${mid(0)} ms, p99 ${mid(1)} ms`);
  }
} finally {
  await killAll();
}

/**
 * Diagnostic: igwn-alert end-to-end latency at a fixed rate (1 KiB alerts) for publisher:listener
 * pairs run alternately against one broker, to tell which side adds latency.
 * `deno run -A bench/e2e/igwn_latency.ts ours:ours raw:raw ours:raw raw:ours` (implementations
 * ours, py, raw); `--rate=100`, `--count=1000`, `--warm=100`, `--rounds=2`.
 *
 * @module
 */
import { startKafka } from "../../testing/kafka.ts";
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
const pairs = (named.length ? named : ["ours:ours", "raw:raw"]).map(
  (a) => a.split(":") as [Impl, Impl],
);
const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const ms = (us: number) => (us / 1000).toFixed(2);
try {
  await using kafka = await startKafka();
  for (let round = 1; round <= rounds; round++) {
    for (const pair of pairs) {
      const r = await pubListen(kafka, pair, { size: 1024, count, warm, seconds: 0, rate });
      const l = [...(r.latenciesUs ?? [])].sort((a, b) => a - b);
      console.log(
        `round ${round} ${pair.join(" -> ")}: ${l.length} alerts, p50 ${ms(q(l, 0.5))} ms, p90 ${
          ms(q(l, 0.9))
        } ms, p99 ${ms(q(l, 0.99))} ms, max ${ms(l[l.length - 1])} ms`,
      );
    }
  }
} finally {
  await killAll();
}

/**
 * Diagnostic: igwn-alert throughput with publisher and listener from different implementations,
 * to tell which side limits a run. `deno run -A bench/e2e/igwn_mixed.ts ours:raw raw:ours py:ours`
 * (publisher:listener; implementations ours, py, raw). 1 KiB alerts, 3000 per run;
 * `--size=65536` (any byte count) and `--count=N` change the alert size and count.
 *
 * @module
 */
import { startKafka } from "../../testing/kafka.ts";
import { cpuPerAlert, type Impl, pubListen } from "./_igwn.ts";
import { killAll } from "./_peer.ts";

const flag = (name: string, dflt: number): number => {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const size = flag("size", 1024);
const count = flag("count", 3000);
const mib = (kb?: number) => (kb ? `${(kb / 1024).toFixed(0)} MiB` : "?");
const named = Deno.args.filter((a) => !a.startsWith("--"));
const pairs = (named.length ? named : ["ours:raw", "raw:ours"]).map(
  (a) => a.split(":") as [Impl, Impl],
);
try {
  await using kafka = await startKafka();
  for (const pair of pairs) {
    const r = await pubListen(kafka, pair, { size, count, seconds: 10 });
    console.log(
      `${pair.join(" -> ")}: ${r.received}/${r.sent} alerts in ${r.seconds.toFixed(2)} s = ${
        r.rate.toFixed(0)
      } alerts/s; ${cpuPerAlert(r)}; peak RSS publisher ${mib(r.pubHwmKb)}, listener ${
        mib(r.subHwmKb)
      }`,
    );
  }
} finally {
  await killAll();
}

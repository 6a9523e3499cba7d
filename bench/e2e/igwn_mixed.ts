/**
 * Diagnostic: igwn-alert throughput with publisher and listener from different implementations,
 * to tell which side limits a run. `deno run -A bench/e2e/igwn_mixed.ts ours:raw raw:ours py:ours`
 * (publisher:listener; implementations ours, py, raw). 1 KiB alerts, 3000 per run.
 *
 * @module
 */
import { startKafka } from "../../tests/harness/kafka.ts";
import { type Impl, pubListen } from "./_igwn.ts";
import { killAll } from "./_peer.ts";

const pairs = (Deno.args.length ? Deno.args : ["ours:raw", "raw:ours"]).map(
  (a) => a.split(":") as [Impl, Impl],
);
try {
  await using kafka = await startKafka();
  for (const pair of pairs) {
    const r = await pubListen(kafka, pair, { size: 1024, count: 3000, seconds: 10 });
    console.log(
      `${pair.join(" -> ")}: ${r.received}/${r.sent} alerts in ${r.seconds.toFixed(2)} s = ${
        r.rate.toFixed(0)
      } alerts/s`,
    );
  }
} finally {
  await killAll();
}

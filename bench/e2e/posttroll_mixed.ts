/**
 * Diagnostic: posttroll throughput with publisher and subscriber from different implementations,
 * to tell which side limits a run. `deno run -A bench/e2e/posttroll_mixed.ts short ours:raw raw:ours`
 * (shape, then publisher:subscriber pairs; implementations ours, py, raw, zmq).
 *
 * @module
 */
import { type Impl, pubSub, type Shape } from "./_posttroll.ts";
import { killAll } from "./_peer.ts";

const [shape = "short", ...rest] = Deno.args;
const pairs = (rest.length ? rest : ["ours:raw", "raw:ours"]).map(
  (a) => a.split(":") as [Impl, Impl],
);
try {
  for (const pair of pairs) {
    const r = await pubSub(pair, { shape: shape as Shape, count: 300_000, seconds: 4 });
    console.log(
      `${shape} ${pair.join(" -> ")}: ${r.received}/${r.sent} in ${r.seconds.toFixed(2)} s = ${
        Math.round(r.rate)
      } msg/s (lost ${r.sent - r.received}, credit stalls ${r.creditStalls}); CPU µs/msg pub ${
        r.cpuUs?.pub.toFixed(2)
      }, sub ${r.cpuUs?.sub.toFixed(2)}`,
    );
  }
} finally {
  await killAll();
}

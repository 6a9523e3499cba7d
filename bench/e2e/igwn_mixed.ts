/**
 * Diagnostic: igwn-alert throughput with publisher and listener from different implementations,
 * to tell which side limits a run. `deno run -A bench/e2e/igwn_mixed.ts ours:raw raw:ours py:ours`
 * (publisher:listener; implementations ours, py, raw). 1 KiB alerts, 3000 per run;
 * `--size=65536` (any byte count) and `--count=N` change the alert size and count. Each line also
 * gives the broker's CPU per alert (at 64 KiB the broker, on the same cores, uses more than either
 * client: bench/README.md "Session 8 (k64, #17)"). With `--before=DIR` (a worktree of another
 * commit sharing this checkout's `.cache/`), a pair written `ours:ours@before` runs that tree's peers
 * on the same broker: before/after pairs alternate in one run. A first, unreported `ours:ours` run
 * warms the broker up (the first run after its start costs it twice the CPU per alert, a handicap
 * for whichever pair came first).
 *
 * @module
 */
import { startKafka } from "../../testing/kafka.ts";
import { cpuPerAlert, type Impl, pubListen } from "./_igwn.ts";
import { killAll } from "./_peer.ts";
import { cpuSeconds } from "./ts/_common.ts";

const flag = (name: string, dflt: number): number => {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const size = flag("size", 1024);
const count = flag("count", 3000);
const mib = (kb?: number) => (kb ? `${(kb / 1024).toFixed(0)} MiB` : "?");
const named = Deno.args.filter((a) => !a.startsWith("--"));
const pairs = (named.length ? named : ["ours:raw", "raw:ours"]).map((a) => {
  const [pair, tree] = a.split("@");
  return { pair: pair.split(":") as [Impl, Impl], tree };
});
const beforeDir = Deno.args.find((a) => a.startsWith("--before="))?.slice(9);
const before: { pubListen: typeof pubListen; killAll: typeof killAll } | undefined = beforeDir
  ? {
    ...await import(`${beforeDir}/bench/e2e/_igwn.ts`),
    ...await import(`${beforeDir}/bench/e2e/_peer.ts`),
  }
  : undefined;
try {
  await using kafka = await startKafka();
  await pubListen(kafka, ["ours", "ours"], { size, count: 2000, seconds: 10 });
  for (const { pair, tree } of pairs) {
    if (tree && !before) throw new Error(`${pair.join(":")}@${tree} needs --before=DIR`);
    const run = tree ? before!.pubListen : pubListen;
    const broker0 = cpuSeconds(kafka.pid ?? 0);
    const r = await run(kafka, pair, { size, count, seconds: 10 });
    const broker = ((cpuSeconds(kafka.pid ?? 0) - broker0) * 1e6) / Math.max(1, r.received);
    console.log(
      `${pair.join(" -> ")}${tree ? ` (${tree})` : ""}: ${r.received}/${r.sent} alerts in ${
        r.seconds.toFixed(2)
      } s = ${r.rate.toFixed(0)} alerts/s; ${cpuPerAlert(r)}, broker ${
        broker.toFixed(0)
      } µs; peak RSS publisher ${mib(r.pubHwmKb)}, listener ${mib(r.subHwmKb)}; load ${
        Deno.readTextFileSync("/proc/loadavg").split(" ")[0]
      }`,
    );
  }
} finally {
  await Promise.all([killAll(), before?.killAll()]);
}

/**
 * Diagnostic: how much of the quick posttroll rows is V8's warm-up, and what runtime (V8) flags
 * do to it. Each flag set runs our publisher and subscriber for twice the quick plan's count of
 * file events and 64 KiB messages and the quick plan's latency run with twice its measured
 * messages; the subscriber notes when every N-th message arrived, so one run gives the rate of the
 * quick row's part (the first half, as a quick run measures it) and of the same count right after
 * (warmed up), and the latency p99 of the quick row's 2,000 and of the next 2,000. Flag sets run
 * in alternating order per round; raw pyzmq (file event) and Python posttroll (64 KiB, latency)
 * run at the quick sizes once per round for reference.
 *
 * ```sh
 * deno run -A bench/e2e/posttroll_warmup.ts --rounds=4 \
 *   'binary=--v8-flags=--max-semi-space-size=2' \
 *   'sparkplug=--v8-flags=--max-semi-space-size=2,--always-sparkplug'
 * ```
 *
 * A set is `NAME=FLAGS` (deno runtime flags separated by spaces, replacing the `posttroll`
 * executable's runtime flags); without sets it runs the executable's flags alone.
 *
 * @module
 */
import { killAll } from "./_peer.ts";
import {
  type Impl,
  POSTTROLL_PLANS,
  POSTTROLL_RUNTIME_FLAGS,
  pubSub,
  type PubSubResult,
} from "./_posttroll.ts";
import { median, percentile } from "./_table.ts";

const quick = POSTTROLL_PLANS.quick;
let rounds = 3;
const sets: [string, readonly string[]][] = [];
for (const a of Deno.args) {
  if (a.startsWith("--rounds=")) rounds = Number(a.slice(9));
  else {
    const eq = a.indexOf("=");
    if (eq < 1) throw new Error(`not NAME=FLAGS or --rounds=N: ${a}`);
    sets.push([a.slice(0, eq), a.slice(eq + 1).split(" ").filter(Boolean)]);
  }
}
if (!sets.length) sets.push(["binary", POSTTROLL_RUNTIME_FLAGS]);

/** Rate (msg/s) of the first `n` messages and of the `n` after them, from the run's marks. */
function halves(r: PubSubResult, n: number, every: number): [number, number] {
  const m = r.marks!;
  const at = (k: number) => m.everyUs[k / every - 1];
  return [n / ((at(n) - m.startUs) / 1e6), n / ((at(2 * n) - at(n)) / 1e6)];
}

/** Measured values of one flag set in one round. */
type Sample = Record<string, number>;

async function measure(impl: Impl, flags: readonly string[] | undefined): Promise<Sample> {
  const fe = quick.count.file_event, k64 = quick.count.binary64k, lat = quick.latencyCount;
  const feEvery = fe / 6, k64Every = k64 / 6;
  const a = await pubSub(impl, {
    shape: "file_event",
    count: 2 * fe,
    seconds: 10,
    marks: feEvery,
    runtimeFlags: flags,
  });
  const b = await pubSub(impl, {
    shape: "binary64k",
    count: 2 * k64,
    seconds: 10,
    marks: k64Every,
    runtimeFlags: flags,
  });
  const c = await pubSub(impl, {
    shape: "latency",
    count: 2 * lat,
    warm: quick.latencyWarm,
    seconds: 0,
    rate: quick.rate,
    runtimeFlags: flags,
  });
  const l = c.latenciesUs ?? [];
  const p = (xs: number[], q: number) => percentile([...xs].sort((x, y) => x - y), q) / 1000;
  const [feQ, feW] = halves(a, fe, feEvery);
  const [k64Q, k64W] = halves(b, k64, k64Every);
  const kb = (x: number | undefined) => (x ?? NaN) / 1024;
  return {
    feQuick: feQ,
    feWarm: feW,
    k64Quick: k64Q,
    k64Warm: k64W,
    p99Quick: p(l.slice(0, lat), 99),
    p99Warm: p(l.slice(lat), 99),
    p50Quick: p(l.slice(0, lat), 50),
    p50Warm: p(l.slice(lat), 50),
    pubIdle: Math.max(...[a, b, c].map((r) => kb(r.idleKb?.pub))),
    subIdle: Math.max(...[a, b, c].map((r) => kb(r.idleKb?.receiver))),
    pubPeak: Math.max(...[a, b, c].map((r) => kb(r.pubHwmKb))),
    subPeak: Math.max(...[a, b, c].map((r) => kb(r.subHwmKb))),
  };
}

async function reference(): Promise<Sample> {
  const raw = await pubSub("raw", {
    shape: "file_event",
    count: quick.count.file_event,
    seconds: quick.seconds,
  });
  const py = await pubSub("py", {
    shape: "binary64k",
    count: quick.count.binary64k,
    seconds: quick.seconds,
  });
  const lat = await pubSub("py", {
    shape: "latency",
    count: quick.latencyCount,
    warm: quick.latencyWarm,
    seconds: 0,
    rate: quick.rate,
  });
  const l = [...(lat.latenciesUs ?? [])].sort((x, y) => x - y);
  return { rawFe: raw.rate, py64k: py.rate, pyP99: percentile(l, 99) / 1000 };
}

const samples = new Map<string, Sample[]>();
const keep = (name: string, s: Sample) => samples.set(name, [...(samples.get(name) ?? []), s]);
try {
  // one unreported run per set: the first process with new V8 flags writes its code cache
  for (const [, flags] of sets) {
    await pubSub("ours", {
      shape: "latency",
      count: 200,
      seconds: 0,
      rate: 1000,
      runtimeFlags: flags,
    });
  }
  for (let r = 1; r <= rounds; r++) {
    const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
    console.log(`round ${r}, ${new Date().toISOString()}, load ${load}`);
    const runs: [string, () => Promise<Sample>][] = [
      ["reference", reference],
      ...(r % 2 ? sets : [...sets].reverse()).map(([name, flags]) =>
        [name, () => measure("ours", flags)] as [string, () => Promise<Sample>]
      ),
    ];
    for (const [name, run] of runs) {
      try {
        const s = await run();
        keep(name, s);
        console.log(`  ${name} ${JSON.stringify(s)}`);
      } catch (e) {
        // e.g. a port taken between freePort() and bind by another program: the round goes on
        console.log(`  ${name} failed: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }
} finally {
  await killAll();
}

const fmt = (v: number) =>
  v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(v < 10 ? 2 : 1);
const cell = (xs: number[]) =>
  `${fmt(median(xs))} (${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))})`;
const ref = samples.get("reference") ?? [];
console.log(
  `\nmedians (range) of ${rounds} rounds; reference at the quick sizes: raw pyzmq file event ${
    cell(ref.map((s) => s.rawFe))
  } msg/s, Python 64 KiB ${cell(ref.map((s) => s.py64k))} msg/s, Python p99 ${
    cell(ref.map((s) => s.pyP99))
  } ms\n`,
);
const fe = quick.count.file_event.toLocaleString("en-US");
const k64 = quick.count.binary64k.toLocaleString("en-US");
const lat = quick.latencyCount.toLocaleString("en-US");
const LABEL: Record<string, string> = {
  feQuick: `file event msg/s, messages 1-${fe} (the quick row)`,
  feWarm: `file event msg/s, the next ${fe}`,
  k64Quick: `64 KiB msg/s, messages 1-${k64} (the quick row)`,
  k64Warm: `64 KiB msg/s, the next ${k64}`,
  p99Quick: `latency p99 ms, messages 1-${lat} after the warm-up (the quick row)`,
  p99Warm: `latency p99 ms, the next ${lat}`,
  p50Quick: `latency p50 ms, messages 1-${lat}`,
  p50Warm: `latency p50 ms, the next ${lat}`,
  pubIdle: "publisher idle VmRSS MiB (max of the 3 runs)",
  subIdle: "subscriber idle VmRSS MiB",
  pubPeak: "publisher peak VmHWM MiB",
  subPeak: "subscriber peak VmHWM MiB",
};
console.log(`| metric | ${sets.map(([n]) => n).join(" | ")} |`);
console.log(`| --- | ${sets.map(() => "---").join(" | ")} |`);
for (const k of Object.keys(LABEL)) {
  console.log(
    `| ${LABEL[k]} | ${
      sets.map(([n]) => cell((samples.get(n) ?? []).map((s) => s[k]))).join(" | ")
    } |`,
  );
}

/**
 * posttroll pub -> sub over TCP loopback, publisher and subscriber in separate processes:
 * throughput for three message shapes and latency at a fixed rate.
 *
 * @module
 */
import { binary } from "../../cli/binaries.ts";
import { freePort } from "../../testing/net.ts";
import { landed, Peer, runCounts, runFlags, runPhase } from "./_peer.ts";
import type { LatencyPlan, Plans, RunCounts, RunSize } from "./_peer.ts";
import {
  type Cell,
  cell,
  errCell,
  latencyByImpl,
  latencyCells,
  latencyRows,
  missing,
  peakMemories,
  peakRssRows,
  recordMemory,
  type Row,
  val,
} from "./_table.ts";

/** Sizes of one bench run. */
export interface PosttrollPlan extends LatencyPlan {
  /** Message count cap per throughput run, per shape. */
  count: Record<Shape, number>;
  /** Seconds cap of the sending phase of a throughput run. */
  seconds: number;
}

/** The posttroll group's sizes. */
export const POSTTROLL_PLANS: Plans<PosttrollPlan> = {
  quick: {
    count: { short: 60_000, file_event: 30_000, binary64k: 1_500 },
    seconds: 1.5,
    latencyCount: 2_000,
    latencyWarm: 300,
    rate: 1000,
  },
  full: {
    count: { short: 400_000, file_event: 200_000, binary64k: 6_000 },
    seconds: 5,
    latencyCount: 10_000,
    latencyWarm: 1_000,
    rate: 1000,
  },
};

/** Message shapes (see bench/e2e/shapes.json). */
export type Shape = "short" | "file_event" | "binary64k";
/** Implementations: ours (Deno), Python posttroll, raw pyzmq. */
export type Impl = "ours" | "py" | "raw" | "zmq";

/**
 * Credit window of the throughput runs: at most this many messages unacknowledged by the
 * subscriber, below the default send high-water mark (1000) of every implementation, so PUB never
 * drops (libzmq's writer sees the reader's progress only every HWM/2 messages, so the window
 * must stay below HWM/2).
 */
export const WINDOW = 400;

/**
 * Seconds without a message after which the subscriber reports "N idle": libzmq's PUB can still
 * drop at its high-water mark under the window (it learns of its reader's progress only every
 * HWM/2 messages, and processes that news lazily), and a publisher waiting for credit that lost
 * messages will never bring would otherwise wait until the subscriber gives up (the `raw:ours`
 * runs of `posttroll_mixed.ts` died so). The loss is counted in the table.
 */
export const ACK_IDLE_S = 0.5;

const SHAPE_LABEL: Record<Shape, string> = {
  short: "short text",
  file_event: "file event (20 fields, 4 datetimes)",
  binary64k: "64 KiB binary",
};

/** Outcome of one pub -> sub run. */
export interface PubSubResult extends RunCounts {
  /** Bytes of one message. */
  bytes: number;
  pubHwmKb?: number;
  subHwmKb?: number;
  /** VmRSS (KiB) of the publisher and the subscribing process when ready, before the run. */
  idleKb?: { pub: number | undefined; receiver: number | undefined };
  /**
   * CPU time per received message (µs) of the publisher and the subscriber process over the
   * measured phase: steadier than the rate on a busy machine.
   */
  cpuUs?: { pub: number; sub: number };
  /** Times the publisher stopped waiting for credit because the subscriber went idle (loss). */
  creditStalls?: number;
  /**
   * With `marks`: when (µs, the peers' clock) every `marks`-th message arrived, and the first
   * send, so rates over parts of a run can be told apart (our peers only).
   */
  marks?: { startUs: number; everyUs: number[] };
}

/** Extra options of a diagnostic {@linkcode pubSub} run (the bench itself passes none). */
export interface PubSubExtras {
  /** Our subscriber notes the arrival time of every `marks`-th message. */
  marks?: number;
  /** V8 and other runtime flags of our peers instead of the `posttroll` executable's. */
  runtimeFlags?: readonly string[];
}

/** True when our publisher, subscriber and codec have landed (are committed). */
export function oursBuilt(): boolean {
  return landed([
    "lib/posttroll/message.ts",
    "lib/posttroll/publisher.ts",
    "lib/posttroll/subscriber.ts",
  ]);
}

/** True when our ZeroMQ engine has landed. */
export function engineBuilt(): boolean {
  return landed(["lib/zmq/mod.ts", "lib/posttroll/message.ts"]);
}

/**
 * Our publisher and subscriber run with the runtime (V8) flags of the `posttroll` executable
 * (send, listen) and -A: with the executable's permissions Deno refuses to read /proc/self, where
 * the peers read their own memory figures.
 */
export const POSTTROLL_RUNTIME_FLAGS: readonly string[] = binary("posttroll").runtimeFlags ?? [];

function spawn(
  impl: Impl,
  role: "pub" | "sub",
  args: string[],
  runtimeFlags: readonly string[] = POSTTROLL_RUNTIME_FLAGS,
): Peer {
  if (impl === "ours" || impl === "zmq") {
    const peerImpl = impl === "ours" ? "posttroll" : "zmq";
    return Peer.deno("posttroll_peer.ts", [role, "--impl", peerImpl, ...args], {
      denoFlags: ["-A", ...runtimeFlags],
    });
  }
  return Peer.python("posttroll_peer.py", [
    role,
    "--impl",
    impl === "py" ? "posttroll" : "raw",
    ...args,
  ]);
}

/** One publisher process -> one subscriber process run (`impl` may name [publisher, subscriber]). */
export async function pubSub(
  impl: Impl | [Impl, Impl],
  opts: RunSize & { shape: Shape | "latency" } & PubSubExtras,
): Promise<PubSubResult> {
  const port = freePort();
  const common = [
    "--port",
    String(port),
    "--shape",
    opts.shape,
    ...runFlags(opts),
    ...(opts.rate ? [] : [
      "--ack-port",
      String(freePort()),
      "--window",
      String(WINDOW),
      "--ack-idle",
      String(ACK_IDLE_S),
    ]),
  ];
  const [pubImpl, subImpl] = Array.isArray(impl) ? impl : [impl, impl];
  const pub = spawn(pubImpl, "pub", common, opts.runtimeFlags);
  let sub: Peer | undefined;
  try {
    await pub.next("bound", 60_000);
    const marks = opts.marks && subImpl !== "py" && subImpl !== "raw"
      ? ["--marks", String(opts.marks)]
      : [];
    sub = spawn(subImpl, "sub", [...common, ...marks], opts.runtimeFlags);
    await sub.next("connected", 60_000);
    await sub.next("warm", 30_000);
    const { done, result: res, exit, idleKb, cpu } = await runPhase(pub, sub, opts);
    const counts = runCounts(done, res);
    return {
      ...counts,
      cpuUs: {
        pub: (cpu.pub * 1e6) / Math.max(1, counts.received),
        sub: (cpu.receiver * 1e6) / Math.max(1, counts.received),
      },
      bytes: done.bytes as number,
      pubHwmKb: exit?.vmhwm_kb as number,
      subHwmKb: res.vmhwm_kb as number,
      idleKb,
      creditStalls: (done.credit_stalls as number | undefined) ?? 0,
      ...(res.marks_us
        ? { marks: { startUs: done.t_start_us as number, everyUs: res.marks_us as number[] } }
        : {}),
    };
  } finally {
    await Promise.all([pub.close(3000), sub?.close(3000)]);
  }
}

const THROUGHPUT_TARGET = {
  text: "≥3× Python and ≥50% raw",
  check: (r: Row) => {
    const o = val(r.ours), p = val(r.py), w = val(r.raw);
    if (o === undefined || p === undefined || w === undefined) return undefined;
    return o >= 3 * p && o >= 0.5 * w;
  },
};

/** Runs the posttroll group and returns its rows. */
export async function posttrollGroup(
  plan: PosttrollPlan,
  log: (s: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const built = oursBuilt();
  const zmqBuilt = engineBuilt();
  const notBuilt = missing("n/a (not built)");
  const none = missing("–");
  const impls: Impl[] = ["ours", "py", "raw", "zmq"];
  const isBuilt = (impl: Impl) => impl === "ours" ? built : impl === "zmq" ? zmqBuilt : true;
  const mem = peakMemories(impls);
  const record = (impl: Impl, r: PubSubResult) =>
    recordMemory(mem[impl], { pub: r.pubHwmKb, sub: r.subHwmKb }, r.idleKb);
  if (built) {
    // not reported: the first Deno process to run a module with these V8 flags writes its code
    // cache and kept ~1 MiB more (idle 51.8 vs 50.7 MiB after `deno cache`, 2026-12-07); a
    // compiled executable carries its code cache
    log("posttroll warm-up run (ours, not reported)");
    await pubSub("ours", { shape: "latency", count: 200, seconds: 0, rate: 1000 })
      .catch((e) => log(`  warm-up failed: ${(e as Error).message.split("\n")[0]}`));
  }
  for (const shape of ["short", "file_event", "binary64k"] as Shape[]) {
    const msgs = {} as Record<Impl, Cell>;
    const mbs = {} as Record<Impl, Cell>;
    let size = 0;
    for (const impl of impls) {
      if (!isBuilt(impl)) {
        msgs[impl] = mbs[impl] = notBuilt;
        continue;
      }
      log(`posttroll throughput ${shape} ${impl}`);
      try {
        const r = await pubSub(impl, {
          shape,
          count: plan.count[shape],
          seconds: plan.seconds,
        });
        const lost = r.sent - r.received;
        msgs[impl] = cell(r.rate, lost > 0 ? `lost ${lost} of ${r.sent}` : undefined);
        mbs[impl] = cell((r.rate * r.bytes) / 1e6);
        if (impl === "py" || !size) size = r.bytes;
        record(impl, r);
        log(
          `  ${r.received}/${r.sent} msgs in ${r.seconds.toFixed(2)} s: ${
            Math.round(r.rate)
          } msg/s`,
        );
      } catch (e) {
        msgs[impl] = mbs[impl] = errCell(e);
      }
    }
    const label = `pub→sub ${SHAPE_LABEL[shape]}, ${size} B`;
    rows.push({
      group: "posttroll",
      metric: `${label}: throughput`,
      unit: "msg/s",
      higherIsBetter: true,
      ours: msgs.ours,
      py: msgs.py,
      raw: msgs.raw,
      target: THROUGHPUT_TARGET,
    });
    rows.push({
      group: "posttroll",
      metric: `${label}: throughput`,
      unit: "MB/s",
      higherIsBetter: true,
      ours: mbs.ours,
      py: mbs.py,
      raw: mbs.raw,
    });
    rows.push({
      group: "posttroll",
      metric: `${label}: our ZeroMQ engine alone (lib/zmq PUB/SUB, same bytes, no codec)`,
      unit: "msg/s",
      higherIsBetter: true,
      ours: msgs.zmq,
      py: none,
      raw: msgs.raw,
    });
  }

  const unbuilt = Object.fromEntries(impls.filter((i) => !isBuilt(i)).map((i) => [i, notBuilt]));
  const lat = await latencyByImpl(impls, unbuilt, async (impl) => {
    log(`posttroll latency ${impl} at ${plan.rate} msg/s`);
    const r = await pubSub(impl, {
      shape: "latency",
      count: plan.latencyCount,
      warm: plan.latencyWarm,
      seconds: 0,
      rate: plan.rate,
    });
    record(impl, r);
    const lost = r.sent - plan.latencyWarm - r.received;
    return latencyCells(r.latenciesUs ?? [], lost > 0 ? `lost ${lost}` : undefined, log);
  });
  const latLabel = `latency at ${plan.rate.toLocaleString("en-US")} msg/s (file event)`;
  rows.push(...latencyRows("posttroll", (k) => `${latLabel} ${k}`, lat, { p99: 1 }));
  for (const k of ["p50", "p99"] as const) {
    rows.push({
      group: "posttroll",
      metric: `${latLabel} ${k}: our ZeroMQ engine alone (same bytes, no codec)`,
      unit: "ms",
      higherIsBetter: false,
      ours: lat.zmq[k],
      py: none,
      raw: lat.raw[k],
    });
  }
  rows.push(...peakRssRows("posttroll", "subscriber", mem, isBuilt, notBuilt));
  return rows;
}

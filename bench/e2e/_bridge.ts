/**
 * posttroll <-> Kafka bridge end to end: a posttroll publisher at "site A"
 * (bench/e2e/ts/posttroll_peer.ts) -> `posttroll-bridge to-kafka` -> a real Kafka 4 broker
 * (testing/kafka.ts) -> `posttroll-bridge from-kafka` -> a posttroll subscriber at "site
 * B", every one its own process, loopback only. Throughput for the short and file-event shapes
 * (PLAINTEXT, and the short shape over SASL_SSL as in production), latency at a fixed rate and
 * the bridges' peak RSS; compared with raw @platformatic/kafka produce -> consume of the same records
 * (bench/e2e/ts/bridge_raw.ts) and with the direct posttroll pub -> sub (no bridge).
 *
 * @module
 */
import type { KafkaBroker } from "../../testing/kafka.ts";
import { createTopics } from "../../testing/kafka_records.ts";
import { freePort } from "../../testing/net.ts";
import { testSetup } from "../../testing/posttroll.ts";
import { withKafka } from "./_kafka.ts";
import {
  binaryPermissions,
  DENO,
  driveRun,
  extraDenoFlags,
  landed,
  Peer,
  ROOT,
  runCounts,
  runFlags,
  runPhase,
  vmHwmKb,
  vmRssKb,
} from "./_peer.ts";
import type { LatencyPlan, Plans, RunCounts } from "./_peer.ts";
import { cpuSeconds } from "./ts/_common.ts";
import { pubSub } from "./_posttroll.ts";
import {
  type Cell,
  cell,
  errCell,
  latencyByImpl,
  latencyCells,
  latencyRows,
  missing,
  peakMemories,
  type PeakMemory,
  recordMemory,
  type Row,
  val,
} from "./_table.ts";

/** Sizes of one bench run. */
export interface BridgePlan extends LatencyPlan {
  /** Message count cap per throughput run, per shape. */
  count: Record<BridgeShape, number>;
  /** Seconds cap of the sending phase of a throughput run. */
  seconds: number;
  /**
   * Credit window of the bridged throughput runs, per shape: the publisher at A keeps at most
   * this many messages not yet received at B (B reports its count every 100 messages over a side
   * TCP connection). It bounds the bytes in flight: a burst larger than what the loopback TCP
   * buffers and the publisher's high-water mark (1000) hold while to-kafka is busy producing
   * is dropped by the publisher's PUB socket before the bridge sees it.
   */
  window: Record<BridgeShape, number>;
  /** Also run the short shape over the SASL_SSL listener. */
  saslSsl: boolean;
}

const BRIDGE_QUICK: BridgePlan = {
  count: { short: 30_000, file_event: 20_000 },
  seconds: 3,
  window: { short: 8_000, file_event: 2_000 },
  latencyCount: 500,
  latencyWarm: 100,
  rate: 100,
  saslSsl: true,
};

/** The bridge group's sizes (the full run differs in its counts and durations). */
export const BRIDGE_PLANS: Plans<BridgePlan> = {
  quick: BRIDGE_QUICK,
  full: {
    ...BRIDGE_QUICK,
    count: { short: 200_000, file_event: 100_000 },
    seconds: 10,
    latencyCount: 3_000,
    latencyWarm: 200,
  },
};

/** Shapes of bench/e2e/shapes.json used here. */
export type BridgeShape = "short" | "file_event";

const SHAPE_LABEL: Record<BridgeShape, string> = {
  short: "short text",
  file_event: "file event (20 fields, 4 datetimes)",
};

const BRIDGE_CLI = `${ROOT}/cli/posttroll_bridge.ts`;

/** True when the bridge and its CLI have landed (are committed). */
export function bridgeBuilt(): boolean {
  return landed(["lib/bridge/mod.ts", "cli/posttroll_bridge.ts"]);
}

/** How the bridges reach the broker. */
export type Listener = "plaintext" | "sasl_ssl";

interface Creds {
  /** `--kafka` URL and auth flags of the bridge CLI. */
  bridgeArgs: string[];
  /** Connection flags of bench/e2e/ts/bridge_raw.ts. */
  rawArgs: string[];
}

async function credentials(kafka: KafkaBroker, listener: Listener): Promise<Creds> {
  if (listener === "plaintext") {
    return {
      bridgeArgs: ["--kafka", `kafka://${kafka.plaintext}/`, "--no-auth"],
      rawArgs: ["--broker", kafka.plaintext],
    };
  }
  const port = kafka.saslSsl.split(":")[1];
  const user = kafka.users[0];
  const dir = await Deno.makeTempDir({ prefix: "bench-bridge-auth-" });
  const file = `${dir}/auth.toml`;
  await Deno.writeTextFile(
    file,
    `[[auth]]\nusername = "${user.username}"\npassword = "${user.password}"\n` +
      `hostname = "localhost:${port}"\nprotocol = "SASL_SSL"\nmechanism = "SCRAM-SHA-512"\n` +
      `ssl_ca_location = "${kafka.caFile}"\n`,
  );
  await Deno.chmod(file, 0o600);
  return {
    bridgeArgs: [
      "--kafka",
      `kafka://${user.username}@localhost:${port}/`,
      "--auth-file",
      file,
    ],
    rawArgs: [
      "--broker",
      `localhost:${port}`,
      "--sasl-user",
      user.username,
      "--sasl-password",
      user.password,
      "--ca",
      kafka.caFile,
    ],
  };
}

let topicSeq = 0;

/** The credentials for `listener` and a topic of its own for one run (`bench.bridge.<kind>N`). */
async function newRun(
  kafka: KafkaBroker,
  listener: Listener,
  kind: "run" | "raw",
): Promise<{ creds: Creds; topic: string }> {
  const creds = await credentials(kafka, listener);
  const topic = `bench.bridge.${kind}${++topicSeq}`;
  await createTopics(kafka, [topic]);
  return { creds, topic };
}

/**
 * Starts `posttroll-bridge <args>` and waits for its ready line; `v8Flags` replaces the
 * executable's runtime flags (see {@linkcode RunOptions.v8Flags}).
 */
async function startBridge(
  args: string[],
  env: Record<string, string>,
  v8Flags?: string,
): Promise<Peer> {
  // BENCH_CPU_PROF=<dir> profiles the bridges too (written when they exit after SIGTERM)
  const prof = Deno.env.get("BENCH_CPU_PROF");
  const flags = [...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...extraDenoFlags()];
  const permissions = v8Flags === undefined ? await binaryPermissions("posttroll-bridge") : [
    ...await binaryPermissions("posttroll-bridge", false),
    ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
  ];
  const peer = Peer.spawn(DENO, ["run", ...permissions, ...flags, BRIDGE_CLI, ...args], {
    env,
    label: `posttroll-bridge ${args[0]}`,
  });
  let exited = false;
  peer.status.then(() => (exited = true));
  const deadline = Date.now() + 60_000;
  while (true) {
    const err = peer.stderr;
    if (/ ready: /.test(err)) return peer;
    if (/CRITICAL/.test(err) || exited || Date.now() > deadline) {
      peer.kill("SIGKILL");
      throw new Error(`${peer.label} did not start:\n${err.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The counters a bridge logged when it stopped (`stopped: {...}`). */
function stoppedStats(peer: Peer): Record<string, number> | undefined {
  const m = /stopped: (\{.*\})/.exec(peer.stderr);
  return m ? JSON.parse(m[1]) : undefined;
}

/** Outcome of one bridged or raw run. */
export interface RunResult extends RunCounts {
  /** Bytes of one message. */
  bytes: number;
  /** Peak RSS (KiB) of the to-kafka bridge, or of the raw producer. */
  upHwmKb?: number;
  /** Peak RSS (KiB) of the from-kafka bridge, or of the raw consumer. */
  downHwmKb?: number;
  /** VmRSS (KiB) of the to-kafka bridge (raw: producer) when ready, before the run. */
  upIdleKb?: number;
  /** VmRSS (KiB) of the from-kafka bridge (raw: consumer) when ready, before the run. */
  downIdleKb?: number;
  upStats?: Record<string, number>;
  downStats?: Record<string, number>;
  /** CPU seconds (user + system) the to-kafka bridge (raw: producer) used while sending. */
  upCpu?: number;
  /** CPU seconds (user + system) the from-kafka bridge (raw: consumer) used while sending. */
  downCpu?: number;
}

/** What one run sends. */
export interface RunOptions {
  shape: BridgeShape | "latency";
  count: number;
  seconds: number;
  window?: number;
  rate?: number;
  warm?: number;
  /**
   * V8 flags of both bridges instead of the executable's runtime flags (cli/binaries.ts), e.g.
   * `--max-semi-space-size=2`; "" runs them with V8's defaults. Diagnostics: the raw client and
   * the posttroll peers keep theirs.
   */
  v8Flags?: string;
}

/**
 * One posttroll publisher -> to-kafka -> Kafka -> from-kafka -> posttroll subscriber run on a
 * fresh topic, with fresh bridges. `window: 0` sends unpaced (no credit window).
 */
export async function bridgedRun(
  kafka: KafkaBroker,
  listener: Listener,
  opts: RunOptions,
): Promise<RunResult> {
  const { creds, topic } = await newRun(kafka, listener, "run");
  const pubPort = freePort(), subPort = freePort();
  const common = [
    "--shape",
    opts.shape,
    ...runFlags(opts),
    ...(opts.rate || !opts.window
      ? []
      : ["--ack-port", String(freePort()), "--window", String(opts.window)]),
    "--idle",
    "15",
  ];
  // site B's from-kafka announces itself by multicast on 127.0.0.1 (a private group and ports)
  const env = testSetup({}).env;
  const stateDir = await Deno.makeTempDir({ prefix: "bench-bridge-state-" });
  const peers: Peer[] = [];
  try {
    // distinct times: see bench/e2e/ts/bridge_pub.ts
    const pub = Peer.deno("bridge_pub.ts", [
      "pub",
      "--port",
      String(pubPort),
      ...common,
    ]);
    peers.push(pub);
    await pub.next("bound", 60_000);
    const [up, down] = await Promise.all([
      startBridge(
        [
          "to-kafka",
          ...creds.bridgeArgs,
          "--site",
          "a",
          "--no-nameserver",
          "-a",
          `tcp://127.0.0.1:${pubPort}`,
          "--topic",
          topic,
          "--stats",
          "0",
        ],
        env,
        opts.v8Flags,
      ),
      startBridge(
        [
          "from-kafka",
          ...creds.bridgeArgs,
          "--site",
          "b",
          "--topic",
          topic,
          "--port",
          String(subPort),
          "--group-id",
          `bench-${topic}`,
          "--start",
          "earliest",
          "--state-dir",
          stateDir,
          "--stats",
          "0",
        ],
        env,
        opts.v8Flags,
      ),
    ]);
    peers.push(up, down);
    const sub = Peer.deno("posttroll_peer.ts", [
      "sub",
      "--impl",
      "posttroll",
      "--port",
      String(subPort),
      ...common,
    ]);
    peers.push(sub);
    await sub.next("connected", 60_000);
    await sub.next("warm", 90_000);
    const cpu0 = [cpuSeconds(up.pid), cpuSeconds(down.pid)];
    const upIdleKb = vmRssKb(up.pid), downIdleKb = vmRssKb(down.pid);
    const { done, result: res } = await runPhase(pub, sub, opts);
    const upHwmKb = vmHwmKb(up.pid), downHwmKb = vmHwmKb(down.pid);
    const upCpu = cpuSeconds(up.pid) - cpu0[0];
    const downCpu = cpuSeconds(down.pid) - cpu0[1];
    up.kill("SIGTERM");
    down.kill("SIGTERM");
    await Promise.all([up.close(15_000), down.close(15_000)]);
    return {
      ...runCounts(done, res),
      bytes: done.bytes as number,
      upHwmKb,
      downHwmKb,
      upIdleKb,
      downIdleKb,
      upStats: stoppedStats(up),
      downStats: stoppedStats(down),
      upCpu,
      downCpu,
    };
  } finally {
    await Promise.all(peers.map((p) => p.close(3000)));
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

/** Raw @platformatic/kafka producer -> Kafka -> raw consumer, the same records. */
export async function rawRun(
  kafka: KafkaBroker,
  listener: Listener,
  opts: RunOptions,
): Promise<RunResult> {
  const { creds, topic } = await newRun(kafka, listener, "raw");
  const args = [
    ...creds.rawArgs,
    "--topic",
    topic,
    "--shape",
    opts.shape === "latency" ? "file_event" : opts.shape,
    ...runFlags(opts),
  ];
  // the raw client with the permissions of the bridge executable
  const denoFlags = await binaryPermissions("posttroll-bridge");
  const sub = Peer.deno("bridge_raw.ts", ["listen", ...args], { denoFlags });
  const pub = Peer.deno("bridge_raw.ts", ["pub", ...args], { denoFlags });
  try {
    const { done, result: res, cpu, hwmKb, idleKb } = await driveRun(pub, sub, opts);
    return {
      ...runCounts(done, res),
      bytes: done.bytes as number,
      upHwmKb: hwmKb.pub,
      downHwmKb: hwmKb.receiver,
      upIdleKb: idleKb.pub,
      downIdleKb: idleKb.receiver,
      upCpu: cpu.pub,
      downCpu: cpu.receiver,
    };
  } finally {
    await Promise.all([pub.close(3000), sub.close(3000)]);
  }
}

function lossNote(r: RunResult, warm = 0): string | undefined {
  const lost = r.sent - warm - r.received;
  return lost !== 0 ? `lost ${lost} of ${r.sent - warm}` : undefined;
}

export function describe(r: RunResult): string {
  const s = (o?: Record<string, number>) => (o ? JSON.stringify(o) : "?");
  const cpu = (c?: number) => (c == null || !Number.isFinite(c) ? "?" : `${c.toFixed(1)} CPU-s`);
  return `${r.received}/${r.sent} msgs in ${r.seconds.toFixed(2)} s: ${Math.round(r.rate)} msg/s` +
    (r.upStats || r.downStats
      ? `; to-kafka ${cpu(r.upCpu)} ${s(r.upStats)}; from-kafka ${cpu(r.downCpu)} ${s(r.downStats)}`
      : `; producer ${cpu(r.upCpu)}, consumer ${cpu(r.downCpu)}`);
}

/** Runs the bridge group and returns its rows. */
export async function bridgeGroup(plan: BridgePlan, log: (s: string) => void): Promise<Row[]> {
  const group = "bridge";
  const noPython = missing("n/a (no Python bridge)");
  if (!bridgeBuilt()) {
    const nb = missing("n/a (not built)");
    return [{
      group,
      metric: "bridge",
      unit: "",
      higherIsBetter: true,
      ours: nb,
      py: noPython,
      raw: nb,
    }];
  }
  // BENCH_BRIDGE_WINDOW=<n> overrides the credit windows (diagnostics)
  const windowOverride = Deno.env.get("BENCH_BRIDGE_WINDOW");
  const rows: Row[] = [];
  const mem = peakMemories(["up", "down", "rawUp", "rawDown"]);
  // each process's peak (VmHWM) in "pub", its ready VmRSS in "pubIdle"
  const record = (r: RunResult, raw: boolean) => {
    recordMemory(raw ? mem.rawUp : mem.up, { pub: r.upHwmKb }, {
      pub: r.upIdleKb,
      receiver: undefined,
    });
    recordMemory(raw ? mem.rawDown : mem.down, { pub: r.downHwmKb }, {
      pub: r.downIdleKb,
      receiver: undefined,
    });
  };
  const path = "pub→to-kafka→Kafka→from-kafka→sub";
  rows.push(
    ...await withKafka(group, log, async (kafka) => {
      const rows: Row[] = [];
      const runs: Array<[BridgeShape, Listener]> = [["short", "plaintext"], [
        "file_event",
        "plaintext",
      ]];
      if (plan.saslSsl) runs.push(["short", "sasl_ssl"]);
      for (const [shape, listener] of runs) {
        const window = windowOverride ? Number(windowOverride) : plan.window[shape];
        const opts = { shape, count: plan.count[shape], seconds: plan.seconds, window };
        let ours: Cell, raw: Cell, direct: Cell = missing("–");
        let size = 0;
        log(`bridge throughput ${shape} ${listener} (window ${window})`);
        try {
          const r = await bridgedRun(kafka, listener, opts);
          size = r.bytes;
          ours = cell(r.rate, lossNote(r) ?? "lost 0");
          record(r, false);
          log(`  ${describe(r)}`);
        } catch (e) {
          ours = errCell(e);
        }
        log(`bridge raw @platformatic/kafka throughput ${shape} ${listener}`);
        try {
          const r = await rawRun(kafka, listener, opts);
          size ||= r.bytes;
          raw = cell(r.rate, lossNote(r));
          record(r, true);
          log(`  ${describe(r)}`);
        } catch (e) {
          raw = errCell(e);
        }
        if (listener === "plaintext") {
          log(`bridge comparison: direct posttroll pub→sub ${shape}`);
          try {
            const r = await pubSub("ours", opts);
            direct = cell(r.rate, r.sent > r.received ? `lost ${r.sent - r.received}` : undefined);
            log(
              `  ${r.received}/${r.sent} msgs in ${r.seconds.toFixed(2)} s: ${Math.round(r.rate)}`,
            );
          } catch (e) {
            direct = errCell(e);
          }
        }
        const via = listener === "plaintext" ? "PLAINTEXT" : "SASL_SSL (SCRAM-SHA-512)";
        const label = `${path}, ${SHAPE_LABEL[shape]}, ${size} B, ${via}`;
        rows.push({
          group,
          metric: `${label}: throughput (raw: @platformatic/kafka, same records)`,
          unit: "msg/s",
          higherIsBetter: true,
          ours,
          py: noPython,
          raw,
          target: shape === "short"
            ? {
              text: "≥ 5,000 msg/s",
              check: (row) => {
                const o = val(row.ours);
                return o === undefined ? undefined : o >= 5000;
              },
            }
            : undefined,
        });
        if (listener === "plaintext") {
          const b = val(ours), d = val(direct);
          rows.push({
            group,
            metric: `${SHAPE_LABEL[shape]}, ${size} B: direct pub→sub without the bridge ` +
              "(ours = direct; raw column = bridged, % of direct)",
            unit: "msg/s",
            higherIsBetter: true,
            ours: direct,
            py: missing("–"),
            raw: b === undefined ? missing("–") : cell(b, d ? `${(100 * b / d).toFixed(1)}%` : ""),
          });
        }
      }

      const impls = ["ours", "py", "raw"] as const;
      const lat = await latencyByImpl(impls, { py: noPython }, async (impl) => {
        log(`bridge latency ${impl} at ${plan.rate} msg/s`);
        const opts = {
          shape: "latency" as const,
          count: plan.latencyCount,
          warm: plan.latencyWarm,
          seconds: 0,
          rate: plan.rate,
        };
        const r = impl === "ours"
          ? await bridgedRun(kafka, "plaintext", opts)
          : await rawRun(kafka, "plaintext", opts);
        record(r, impl === "raw");
        return latencyCells(
          r.latenciesUs ?? [],
          lossNote(r, plan.latencyWarm),
          log,
          `; ${describe(r)}`,
        );
      });
      rows.push(
        ...latencyRows(
          group,
          (k) =>
            `${path}, latency at ${plan.rate} msg/s (file event, PLAINTEXT) ${k} ` +
            "(raw: @platformatic/kafka, one produce per message)",
          lat,
          { p50: 20, p99: 100 },
        ),
      );
      return rows;
    }),
  );
  const max = (v: number[] | undefined) => v?.length ? cell(Math.max(...v) / 1024) : missing("n/a");
  const kinds = [["idle", (m: PeakMemory) => m.pubIdle], [
    "peak",
    (m: PeakMemory) => m.pub,
  ]] as const;
  for (const [kind, pick] of kinds) {
    for (
      const [name, ours, raw, rawName] of [
        ["to-kafka", mem.up, mem.rawUp, "producer"],
        ["from-kafka", mem.down, mem.rawDown, "consumer"],
      ] as const
    ) {
      rows.push({
        group,
        metric: kind === "peak"
          ? `peak RSS (VmHWM) of ${name}, max over runs (raw: @platformatic/kafka ${rawName})`
          : `idle RSS (VmRSS) of ${name}, ready before a run, max over runs (raw: @platformatic/kafka ${rawName})`,
        unit: "MiB",
        higherIsBetter: false,
        ours: max(pick(ours)),
        py: noPython,
        raw: max(pick(raw)),
      });
    }
  }
  return rows;
}

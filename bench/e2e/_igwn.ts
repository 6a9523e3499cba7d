/**
 * igwn-alert publish -> listen through a real Kafka 4 broker (testing/kafka.ts, PLAINTEXT
 * listener): alerts per second for 1 KiB and 64 KiB alerts, and end-to-end latency at a fixed rate.
 *
 * @module
 */
import type { KafkaBroker } from "../../testing/kafka.ts";
import { createTopics } from "../../testing/kafka_records.ts";
import { withKafka } from "./_kafka.ts";
import { binaryPermissions, driveRun, Peer, ROOT, runCounts, runFlags } from "./_peer.ts";
import type { LatencyPlan, Plans, RunCounts } from "./_peer.ts";
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
export interface IgwnPlan extends LatencyPlan {
  /** Alert count cap per throughput run. */
  count: Record<Size, number>;
  /** Seconds cap of the publishing phase of a throughput run. */
  seconds: number;
  /** Seconds after the first measured alert at which a listener stops counting. */
  cutoff: number;
  /** Alerts of the publish()-per-call run (0 = skip). */
  perCallCount?: number;
}

/** The igwn-alert group's sizes. */
export const IGWN_PLANS: Plans<IgwnPlan> = {
  quick: {
    count: { "1k": 5_000, "64k": 500 },
    seconds: 5,
    cutoff: 8,
    latencyCount: 200,
    latencyWarm: 20,
    rate: 100,
    perCallCount: 20,
  },
  full: {
    count: { "1k": 30_000, "64k": 3_000 },
    seconds: 10,
    cutoff: 20,
    latencyCount: 1_000,
    latencyWarm: 50,
    rate: 100,
    perCallCount: 100,
  },
};

/** Alert sizes. */
export type Size = "1k" | "64k";
/** Implementations: ours (Deno), Python igwn-alert, raw @platformatic/kafka. */
export type Impl = "ours" | "py" | "raw";

const BYTES: Record<Size, number> = { "1k": 1024, "64k": 65536 };

/** True when our igwn-alert client has landed. */
export function oursBuilt(): boolean {
  for (const f of ["lib/igwn_alert/mod.ts", "lib/igwn_alert/client.ts"]) {
    try {
      Deno.statSync(`${ROOT}/${f}`);
      return true;
    } catch {
      // try the next
    }
  }
  return false;
}

interface RunResult extends RunCounts {
  /** The listener stopped at its cut-off before everything was delivered. */
  cut: boolean;
  pubHwmKb?: number;
  subHwmKb?: number;
  /** VmRSS (KiB) of the publisher and the listener when ready, before the run. */
  idleKb?: { pub: number | undefined; receiver: number | undefined };
  /** CPU seconds of the publisher and the listener from "go" to the listener's result. */
  cpu: { pub: number; receiver: number };
}

let topicSeq = 0;

async function spawn(impl: Impl, role: "pub" | "listen", args: string[]): Promise<Peer> {
  if (impl === "py") return Peer.python("igwn_peer.py", [role, ...args]);
  // ours and the raw client with the permissions of the igwn-alert executable
  const denoFlags = await binaryPermissions("igwn-alert");
  return Peer.deno("igwn_peer.ts", [role, "--impl", impl, ...args], { denoFlags });
}

/** One publisher process -> one listener process run (`impl` may name [publisher, listener]). */
export async function pubListen(
  kafka: KafkaBroker,
  impl: Impl | [Impl, Impl],
  opts: {
    size: number;
    count: number;
    seconds: number;
    rate?: number;
    warm?: number;
    perCall?: boolean;
    cutoff?: number;
  },
): Promise<RunResult> {
  const [pubImpl, subImpl] = Array.isArray(impl) ? impl : [impl, impl];
  const topic = `run${++topicSeq}_${pubImpl}_${subImpl}`;
  await createTopics(kafka, [`bench.${topic}`]);
  const args = [
    "--broker",
    kafka.plaintext,
    "--group",
    "bench",
    "--topic",
    topic,
    "--size",
    String(opts.size),
    ...runFlags(opts),
    ...(opts.perCall ? ["--per-call"] : []),
    "--cutoff",
    String(opts.cutoff ?? 0),
  ];
  const listener = await spawn(subImpl, "listen", args);
  const pub = await spawn(pubImpl, "pub", args);
  try {
    const { done, result: res, cpu, hwmKb, idleKb } = await driveRun(pub, listener, opts);
    return {
      ...runCounts(done, res),
      cpu,
      cut: res.cut === true,
      pubHwmKb: hwmKb.pub,
      subHwmKb: hwmKb.receiver,
      idleKb,
    };
  } finally {
    await Promise.all([pub.close(3000), listener.close(3000)]);
  }
}

/** CPU time per alert of each side (less sensitive to the machine's load than the rate). */
export function cpuPerAlert(
  r: { cpu: { pub: number; receiver: number }; received: number },
): string {
  const us = (s: number) => (r.received > 0 ? ((s * 1e6) / r.received).toFixed(0) : "?");
  return `CPU per alert: publisher ${us(r.cpu.pub)} µs, listener ${us(r.cpu.receiver)} µs`;
}

/** KiB as MiB for log lines. */
const mib = (kb?: number): string => (kb ? `${(kb / 1024).toFixed(1)} MiB` : "?");

/** Runs the igwn-alert group and returns its rows. */
export async function igwnGroup(plan: IgwnPlan, log: (s: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const built = oursBuilt();
  const impls: Impl[] = ["ours", "py", "raw"];
  const notBuilt = missing("n/a (not built)");
  const mem = peakMemories(impls);
  rows.push(
    ...await withKafka("igwn-alert", log, async (kafka) => {
      const rows: Row[] = [];
      for (const size of ["1k", "64k"] as Size[]) {
        const c: Record<Impl, Cell> = { ours: notBuilt, py: notBuilt, raw: notBuilt };
        for (const impl of impls) {
          if (impl === "ours" && !built) continue;
          log(`igwn-alert throughput ${size} ${impl}`);
          try {
            const r = await pubListen(kafka, impl, {
              size: BYTES[size],
              count: plan.count[size],
              seconds: plan.seconds,
              cutoff: plan.cutoff,
            });
            const lost = r.sent - r.received;
            c[impl] = cell(
              r.rate,
              r.cut
                ? `${r.received} of ${r.sent} delivered at the ${plan.cutoff} s cut-off`
                : lost > 0
                ? `lost ${lost} of ${r.sent}`
                : undefined,
            );
            recordMemory(mem[impl], { pub: r.pubHwmKb, sub: r.subHwmKb }, r.idleKb);
            log(
              `  ${r.received}/${r.sent} alerts in ${r.seconds.toFixed(2)} s: ${
                r.rate.toFixed(0)
              }/s; ${cpuPerAlert(r)}; peak RSS publisher ${mib(r.pubHwmKb)}`,
            );
          } catch (e) {
            c[impl] = errCell(e);
          }
        }
        rows.push({
          group: "igwn-alert",
          metric: `publish→listen ${size === "1k" ? "1 KiB" : "64 KiB"} alerts: throughput`,
          unit: "alerts/s",
          higherIsBetter: true,
          ours: c.ours,
          py: c.py,
          raw: c.raw,
          target: {
            text: "≥2× Python",
            check: (r) => {
              const o = val(r.ours), p = val(r.py);
              return o === undefined || p === undefined ? undefined : o >= 2 * p;
            },
          },
        });
      }

      const lat = await latencyByImpl(impls, built ? {} : { ours: notBuilt }, async (impl) => {
        log(`igwn-alert latency ${impl} at ${plan.rate}/s`);
        const r = await pubListen(kafka, impl, {
          size: 1024,
          count: plan.latencyCount,
          warm: plan.latencyWarm,
          seconds: 0,
          rate: plan.rate,
        });
        recordMemory(mem[impl], { pub: r.pubHwmKb, sub: r.subHwmKb }, r.idleKb);
        const lost = r.sent - plan.latencyWarm - r.received;
        return latencyCells(r.latenciesUs ?? [], lost > 0 ? `lost ${lost}` : undefined, log);
      });
      rows.push(
        ...latencyRows(
          "igwn-alert",
          (k) => `end-to-end latency at ${plan.rate} alerts/s (1 KiB) ${k}`,
          lat,
          { p50: 20 },
        ),
      );

      if (plan.perCallCount) {
        const c: Record<Impl, Cell> = { ours: notBuilt, py: notBuilt, raw: missing("–") };
        for (const impl of ["ours", "py"] as Impl[]) {
          if (impl === "ours" && !built) continue;
          log(`igwn-alert publish() per call ${impl}`);
          try {
            const r = await pubListen(kafka, impl, {
              size: 1024,
              count: plan.perCallCount,
              seconds: plan.seconds,
              perCall: true,
            });
            c[impl] = cell(r.rate, r.sent > r.received ? `lost ${r.sent - r.received}` : undefined);
            log(
              `  ${r.received}/${r.sent} alerts in ${r.seconds.toFixed(2)} s: ${
                r.rate.toFixed(1)
              }/s`,
            );
          } catch (e) {
            c[impl] = errCell(e);
          }
        }
        rows.push({
          group: "igwn-alert",
          metric: "client.publish() per alert (producer opened and closed each call), 1 KiB",
          unit: "alerts/s",
          higherIsBetter: true,
          ours: c.ours,
          py: c.py,
          raw: c.raw,
        });
      }
      return rows;
    }),
  );
  rows.push(
    ...peakRssRows("igwn-alert", "listener", mem, (impl) => impl !== "ours" || built, notBuilt),
  );
  return rows;
}

/**
 * Nameserver: get_pub_address lookups per second and latency, ours against Python's nameserver,
 * and time from spawn to the first answered request.
 *
 * @module
 */
import { binary } from "../../cli/binaries.ts";
import { freePort } from "../../testing/net.ts";
import {
  binaryPermissions,
  DENO,
  landed,
  Peer,
  procStatusKb,
  ROOT,
  vmHwmKb,
  vmRssKb,
} from "./_peer.ts";
import type { Plans } from "./_peer.ts";
import {
  type Cell,
  cell,
  median,
  MEMORY_TARGET,
  missing,
  percentile,
  type Row,
  val,
} from "./_table.ts";

/** Sizes of one bench run. */
export interface NameserverPlan {
  /** Lookups per client run (cap). */
  lookups: number;
  /** Seconds per client run (cap). */
  seconds: number;
}

/** The nameserver group's sizes. */
export const NAMESERVER_PLANS: Plans<NameserverPlan> = {
  quick: { lookups: 1_000, seconds: 3 },
  full: { lookups: 5_000, seconds: 10 },
};

/** True when our nameserver CLI has landed. */
export function oursServerBuilt(): boolean {
  return landed(["cli/nameserver.ts", "lib/posttroll/nameserver.ts"]);
}

/** True when our nameserver client has landed. */
export function oursClientBuilt(): boolean {
  return landed(["lib/posttroll/nameserver.ts"]);
}

/** The three ports of a nameserver without multicast. */
export interface Ports {
  ns: number;
  broadcast: number;
  addressPublish: number;
}

/** POSTTROLL_* settings naming `p`. */
export function nsEnv(p: Ports): Record<string, string> {
  return {
    POSTTROLL_NAMESERVER_PORT: String(p.ns),
    POSTTROLL_BROADCAST_PORT: String(p.broadcast),
    POSTTROLL_ADDRESS_PUBLISH_PORT: String(p.addressPublish),
  };
}

/** Command line of a nameserver without multicast. */
async function serverCmd(impl: "ours" | "py"): Promise<string[]> {
  if (impl === "py") return [`${ROOT}/.cache/venv/bin/nameserver`, "--no-multicast"];
  return [
    DENO,
    "run",
    ...await binaryPermissions("nameserver"),
    `${ROOT}/cli/nameserver.ts`,
    "--no-multicast",
  ];
}

/** Look-ups per second and latency of one client run. */
export interface LookupResult {
  rate: number;
  p50: number;
  p99: number;
  clientHwmKb?: number;
  /** VmRSS of the client after its first look-up, before the run. */
  clientIdleKb?: number;
}

/** Runs `client`'s sequential look-ups against the nameserver on `ports`. */
export async function lookups(
  client: "ours" | "py",
  ports: Ports,
  plan: NameserverPlan,
): Promise<LookupResult> {
  const args = ["lookups", "--count", String(plan.lookups), "--seconds", String(plan.seconds)];
  const env = nsEnv(ports);
  const peer = client === "py"
    ? Peer.python("ns_client.py", args, { env })
    // as `posttroll services` memory-wise (runtime flags), -A for reading its own /proc/self
    : Peer.deno("ns_client.ts", args, {
      env,
      denoFlags: ["-A", ...binary("posttroll").runtimeFlags ?? []],
    });
  try {
    const r = await peer.next("result", plan.seconds * 1000 + 60_000);
    if (r.error) throw new Error(String(r.error));
    const lat = [...(r.latencies_us as number[])].sort((a, b) => a - b);
    return {
      rate: (r.n as number) / (r.seconds as number),
      p50: percentile(lat, 50) / 1000,
      p99: percentile(lat, 99) / 1000,
      clientHwmKb: r.vmhwm_kb as number,
      clientIdleKb: r.idle_rss_kb as number,
    };
  } finally {
    await peer.close(2000);
  }
}

async function withServer<T>(
  impl: "ours" | "py",
  fn: (ports: Ports) => Promise<T>,
): Promise<{ result: T; serverHwmKb?: number; serverIdleKb?: number; serverIdleAnonKb?: number }> {
  const ports = { ns: freePort(), broadcast: freePort(), addressPublish: freePort() };
  const [cmd, ...args] = await serverCmd(impl);
  const server = Peer.spawn(cmd, args, { env: nsEnv(ports), label: `${impl} nameserver` });
  try {
    const reg = Peer.python("ns_client.py", ["register", "--port", String(ports.broadcast)], {
      env: nsEnv(ports),
    });
    try {
      const r = await reg.next("result", 30_000);
      if (r.reply !== "ok") throw new Error(`registration reply ${JSON.stringify(r.reply)}`);
    } catch (e) {
      throw new Error(`${impl} nameserver: registration failed: ${(e as Error).message}`, {
        cause: e,
      });
    } finally {
      await reg.close(2000);
    }
    // idle: one service registered, before any look-up
    const serverIdleKb = vmRssKb(server.pid),
      serverIdleAnonKb = procStatusKb(server.pid, "RssAnon");
    const result = await fn(ports);
    return { result, serverHwmKb: vmHwmKb(server.pid), serverIdleKb, serverIdleAnonKb };
  } finally {
    server.kill("SIGTERM");
    await server.close(3000);
  }
}

function errCell(e: unknown): Cell {
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  console.error(`  error: ${e instanceof Error ? e.message : e}`);
  return missing(`n/a (error: ${msg.slice(0, 60)})`);
}

/** Runs the nameserver group and returns its rows. */
export async function nameserverGroup(
  plan: NameserverPlan,
  log: (s: string) => void,
): Promise<Row[]> {
  const notBuilt = missing("n/a (not built)");
  // [server][client]
  const res: Record<string, LookupResult | Cell> = {};
  const serverMem: Record<"ours" | "py", Cell> = { ours: notBuilt, py: notBuilt };
  const serverIdle: Record<"ours" | "py", Cell> = { ours: notBuilt, py: notBuilt };
  const serverIdleAnon: Record<"ours" | "py", Cell> = { ours: notBuilt, py: notBuilt };
  const kbCell = (kb: number | undefined) => kb ? cell(kb / 1024) : missing("n/a");
  for (const server of ["ours", "py"] as const) {
    if (server === "ours" && !oursServerBuilt()) continue;
    const clients: Array<"ours" | "py"> = ["py"];
    if (oursClientBuilt()) clients.push("ours");
    try {
      const { result, serverHwmKb, serverIdleKb, serverIdleAnonKb } = await withServer(
        server,
        async (ports) => {
          const out: Record<string, LookupResult | Cell> = {};
          for (const client of clients) {
            log(`nameserver lookups: ${client} client -> ${server} nameserver`);
            try {
              const r = await lookups(client, ports, plan);
              log(
                `  ${Math.round(r.rate)} lookups/s p50 ${r.p50.toFixed(3)} ms p99 ${
                  r.p99.toFixed(3)
                } ms`,
              );
              out[client] = r;
            } catch (e) {
              out[client] = errCell(e);
            }
          }
          return out;
        },
      );
      for (const [client, r] of Object.entries(result)) res[`${server}/${client}`] = r;
      serverMem[server] = kbCell(serverHwmKb);
      serverIdle[server] = kbCell(serverIdleKb);
      serverIdleAnon[server] = kbCell(serverIdleAnonKb);
    } catch (e) {
      const c = errCell(e);
      for (const client of clients) res[`${server}/${client}`] = c;
      serverMem[server] = serverIdle[server] = serverIdleAnon[server] = c;
    }
  }
  const pick = (key: string, f: (r: LookupResult) => number): Cell => {
    const r = res[key];
    if (r === undefined) return notBuilt;
    if ("rate" in r) return cell(f(r));
    return r as Cell;
  };
  const rows: Row[] = [];
  const none = missing("–");
  const metrics: Array<[string, string, (r: LookupResult) => number, boolean]> = [
    ["lookups/s", "lookups/s", (r) => r.rate, true],
    ["lookup p50", "ms", (r) => r.p50, false],
    ["lookup p99", "ms", (r) => r.p99, false],
  ];
  for (const [name, unit, f, hib] of metrics) {
    rows.push({
      group: "nameserver",
      metric: `get_pub_address ${name}, Python client -> each nameserver`,
      unit,
      higherIsBetter: hib,
      ours: pick("ours/py", f),
      py: pick("py/py", f),
      raw: none,
    });
  }
  for (const [name, unit, f, hib] of metrics) {
    rows.push({
      group: "nameserver",
      metric: `get_pub_address ${name}, our client -> our nameserver (Python: Python -> Python)`,
      unit,
      higherIsBetter: hib,
      ours: pick("ours/ours", f),
      py: pick("py/py", f),
      raw: none,
    });
  }
  rows.push({
    group: "nameserver",
    metric:
      "idle RSS (VmRSS) of the lookup client after its first look-up (ours -> ours, Python -> Python)",
    unit: "MiB",
    higherIsBetter: false,
    ours: pick("ours/ours", (r) => (r.clientIdleKb ?? NaN) / 1024),
    py: pick("py/py", (r) => (r.clientIdleKb ?? NaN) / 1024),
    raw: none,
    target: MEMORY_TARGET,
  });
  rows.push({
    group: "nameserver",
    metric: "peak RSS (VmHWM) of the lookup client (ours -> ours, Python -> Python)",
    unit: "MiB",
    higherIsBetter: false,
    ours: pick("ours/ours", (r) => (r.clientHwmKb ?? NaN) / 1024),
    py: pick("py/py", (r) => (r.clientHwmKb ?? NaN) / 1024),
    raw: none,
    target: MEMORY_TARGET,
  });
  if (res["py/ours"] !== undefined) {
    rows.push({
      group: "nameserver",
      metric: "get_pub_address lookups/s, our client -> Python nameserver (Python: Python client)",
      unit: "lookups/s",
      higherIsBetter: true,
      ours: pick("py/ours", (r) => r.rate),
      py: pick("py/py", (r) => r.rate),
      raw: none,
    });
  }

  rows.push({
    group: "nameserver",
    metric: "idle RSS (VmRSS) of the nameserver, one service registered, before the look-ups",
    unit: "MiB",
    higherIsBetter: false,
    ours: serverIdle.ours,
    py: serverIdle.py,
    raw: none,
    target: MEMORY_TARGET,
  });
  rows.push({
    group: "nameserver",
    metric:
      "private memory (RssAnon: RSS without shared executable/library pages) of that idle nameserver",
    unit: "MiB",
    higherIsBetter: false,
    ours: serverIdleAnon.ours,
    py: serverIdleAnon.py,
    raw: none,
  });
  rows.push({
    group: "nameserver",
    metric: "peak RSS (VmHWM) of the nameserver after the lookup runs",
    unit: "MiB",
    higherIsBetter: false,
    ours: serverMem.ours,
    py: serverMem.py,
    raw: none,
    target: MEMORY_TARGET,
  });
  return rows;
}

/** Nameserver ready-to-serve time (spawn -> first answered request), ours and Python's. */
export async function nameserverReady(readyRuns: number, log: (s: string) => void): Promise<Row[]> {
  const notBuilt = missing("n/a (not built)");
  const none = missing("–");
  const rows: Row[] = [];
  const plan = { readyRuns };
  // ready-to-serve
  const ready: Record<"ours" | "py", { med: Cell; max: Cell; mem: Cell }> = {
    ours: { med: notBuilt, max: notBuilt, mem: notBuilt },
    py: { med: notBuilt, max: notBuilt, mem: notBuilt },
  };
  for (const impl of ["ours", "py"] as const) {
    if (impl === "ours" && !oursServerBuilt()) continue;
    log(`nameserver ready-to-serve: ${impl} x${plan.readyRuns}`);
    const ports = { ns: freePort(), broadcast: freePort(), addressPublish: freePort() };
    const peer = Peer.python(
      "ns_client.py",
      [
        "ready",
        "--port",
        String(ports.ns),
        "--runs",
        String(plan.readyRuns),
        "--",
        ...await serverCmd(impl),
      ],
      { env: nsEnv(ports) },
    );
    try {
      const r = await peer.next("result", plan.readyRuns * 30_000);
      if (r.error) throw new Error(String(r.error));
      const t = (r.ready_us as number[]).map((x) => x / 1000);
      log(`  ${t.map((x) => x.toFixed(0)).join(", ")} ms`);
      ready[impl] = {
        med: cell(median(t)),
        max: cell(Math.max(...t)),
        mem: cell((r.vmhwm_kb as number) / 1024),
      };
    } catch (e) {
      const c = errCell(e);
      ready[impl] = { med: c, max: c, mem: c };
    } finally {
      await peer.close(2000);
    }
  }
  rows.push({
    group: "start-up",
    metric: `ready to serve (spawn -> first answered request), median of ${plan.readyRuns}`,
    unit: "ms",
    higherIsBetter: false,
    ours: ready.ours.med,
    py: ready.py.med,
    raw: none,
    target: {
      text: "< 300 ms",
      check: (r) => {
        const o = val(r.ours);
        return o === undefined ? undefined : o < 300;
      },
    },
  });
  rows.push({
    group: "start-up",
    metric: `ready to serve, worst of ${plan.readyRuns}`,
    unit: "ms",
    higherIsBetter: false,
    ours: ready.ours.max,
    py: ready.py.max,
    raw: none,
  });
  rows.push({
    group: "start-up",
    metric: "peak RSS (VmHWM) of a freshly started nameserver",
    unit: "MiB",
    higherIsBetter: false,
    ours: ready.ours.mem,
    py: ready.py.mem,
    raw: none,
  });
  return rows;
}

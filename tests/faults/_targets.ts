// Targets of the attack tests, each in its own process so its memory can be read from /proc: our
// nameserver CLI and Python posttroll's `nameserver` (libzmq), our posttroll Publisher and Python's.
// A target is probed with real look-ups (answered within 2 s or not) and its RSS is sampled while
// an attack runs.
import { binary } from "../../cli/binaries.ts";
import { getPubAddress } from "../../lib/posttroll/nameserver.ts";
import { SubSocket } from "../../lib/zmq/mod.ts";
import { binaryArgs, Child } from "../../testing/child.ts";
import { REPO_ROOT } from "../../testing/python.ts";
import { until } from "../../testing/net.ts";
import { assert, assertEquals } from "@std/assert";
import { type AttackSide, recordFault } from "./_record.ts";
export { writeAll } from "./_zmtp.ts";
import { type TestSetup, testSetup as testSetupFor } from "../../testing/posttroll.ts";

/** Which implementation a target runs. */
export type Impl = "ours" | "python";

/** A process under attack. */
export interface Target {
  impl: Impl;
  child: Child;
  pid: number;
  /** Port of the socket under attack (publishers: their PUB port). */
  port: number;
  /** Current resident set (VmRSS) in bytes, 0 once the process is gone. */
  rss(): number;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGKILL and reap. */
  close(): Promise<void>;
}

function statusField(pid: number, field: string): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** VmRSS of a process in bytes (0 when it is gone). */
export function rssOf(pid: number): number {
  return statusField(pid, "VmRSS");
}

function target(impl: Impl, child: Child, port: number): Target {
  let exited = false;
  child.child.status.then(() => (exited = true));
  const pid = child.child.pid;
  return {
    impl,
    child,
    pid,
    port,
    rss: () => (exited ? 0 : rssOf(pid)),
    alive: () => !exited,
    close: async () => {
      await child.kill("SIGKILL");
    },
  };
}

function withLimit(cmd: string, args: string[], nofile?: number): [string, string[]] {
  if (nofile === undefined) return [cmd, args];
  return ["prlimit", [`--nofile=${nofile}:${nofile}`, "--", cmd, ...args]];
}

/** Options of {@linkcode startNameserver}. */
export interface NameserverTargetOptions {
  /** Extra command-line arguments (both implementations take `--no-multicast`, `-v`). */
  args?: string[];
  /** Extra environment (POSTTROLL_* settings). */
  env?: Record<string, string>;
  /** Limit the process's open files (soft and hard), to exhaust them. */
  nofile?: number;
}

/**
 * Starts a nameserver process (ours: the `nameserver` CLI with its binary's permissions; Python:
 * posttroll's `nameserver` script) on the setup's ports and waits until it answers a look-up.
 */
export async function startNameserver(
  impl: Impl,
  s: TestSetup,
  options: NameserverTargetOptions = {},
): Promise<Target> {
  const env = { ...s.env, ...options.env, NO_COLOR: "1", PYTHONUNBUFFERED: "1" };
  const args = options.args ?? ["--no-multicast"];
  let cmd: string, argv: string[];
  if (impl === "ours") {
    [cmd, argv] = withLimit(Deno.execPath(), binaryArgs("nameserver", args), options.nofile);
  } else {
    [cmd, argv] = withLimit(`${REPO_ROOT}/.cache/venv/bin/nameserver`, args, options.nofile);
  }
  const child = new Child(cmd, argv, env);
  const t = target(impl, child, s.nameserverPort);
  try {
    await until(async () => {
      if (!t.alive()) throw new Error(`nameserver (${impl}) exited:\n${child.lines.join("\n")}`);
      try {
        await getPubAddress("probe", { timeout: 0.5, config: s.config });
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000, intervalMs: 100, what: `${impl} nameserver answering` });
  } catch (e) {
    await t.close();
    throw e;
  }
  return t;
}

const PY_PUBLISHER = String.raw`
import sys, time
from posttroll.publisher import Publisher
from posttroll.message import Message
pub = Publisher("tcp://127.0.0.1:0", name="target")
pub.start()
print("port", pub.port_number, flush=True)
n = 0
while True:
    pub.send(Message("/target", "info", {"seq": n}).encode())
    n += 1
    time.sleep(0.05)
`;

const OUR_PUBLISHER = `${REPO_ROOT}/tests/faults/_publisher_target.ts`;

/**
 * Starts a publisher process that sends `/target info {"seq": n}` every 50 ms (ours: a posttroll
 * `Publisher` under the nameserver binary's permissions; Python: posttroll's `Publisher`).
 */
export async function startPublisher(impl: Impl, s: TestSetup, nofile?: number): Promise<Target> {
  const env = { ...s.env, NO_COLOR: "1", PYTHONUNBUFFERED: "1" };
  let cmd: string, argv: string[];
  if (impl === "ours") {
    const NS = binary("nameserver");
    [cmd, argv] = withLimit(
      Deno.execPath(),
      ["run", ...NS.permissions, "--no-prompt", OUR_PUBLISHER],
      nofile,
    );
  } else {
    [cmd, argv] = withLimit(`${REPO_ROOT}/.cache/venv/bin/python`, ["-c", PY_PUBLISHER], nofile);
  }
  const child = new Child(cmd, argv, env);
  let port = 0;
  try {
    const line = await child.line((l) => l.startsWith("port "), 30_000);
    port = Number(line.split(" ")[1]);
    // Deno 2.9.6 sets up its signal handling lazily within ~0.5 s of start-up, and panics if the
    // descriptors are exhausted at that moment (ext/signals); our CLIs register their signal
    // listeners at start-up, so an attack on a warm process is the realistic case
    await new Promise((r) => setTimeout(r, 1000));
  } catch (e) {
    await child.kill("SIGKILL");
    throw e;
  }
  return target(impl, child, port);
}

/** Samples a target's RSS every `everyMs` until stopped; keeps the maximum. */
export function sampleRss(t: Target, everyMs = 50): { stop(): number; readonly max: number } {
  let max = t.rss();
  const timer = setInterval(() => {
    max = Math.max(max, t.rss());
  }, everyMs);
  return {
    get max() {
      return max;
    },
    stop() {
      clearInterval(timer);
      max = Math.max(max, t.rss());
      return max;
    },
  };
}

/** Outcome of look-ups (or receives) made while (or after) an attack runs. */
export interface LookupStats {
  /** Look-ups answered within 2 s (subscriber probes: messages received). */
  answered: number;
  /** Look-ups not answered within 2 s (subscriber probes: silences longer than 2 s). */
  failed: number;
  /** Slowest answered look-up (subscriber probes: longest silence), ms. */
  worstMs: number;
  /** First failures (at most 3). */
  errors: string[];
}

/** A client checking that a target still serves while it is attacked. */
export interface Probe {
  readonly stats: LookupStats;
  stop(): Promise<LookupStats>;
}

/**
 * Looks `service` up again and again (each within 2 s, on a fresh connection as posttroll does)
 * until stopped; every look-up that does not answer in 2 s counts as failed.
 */
export function lookupLoop(s: TestSetup, service = "probe", pauseMs = 50): Probe {
  const stats: LookupStats = { answered: 0, failed: 0, worstMs: 0, errors: [] };
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      try {
        await getPubAddress(service, { timeout: 2, config: s.config });
        stats.answered++;
        stats.worstMs = Math.max(stats.worstMs, Date.now() - t0);
      } catch (e) {
        stats.failed++;
        if (stats.errors.length < 3) stats.errors.push(String(e));
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    stats,
    async stop() {
      stopped = true;
      await done;
      return stats;
    },
  };
}

/**
 * A subscriber of a publisher target (which sends every 50 ms): counts messages, and every
 * silence longer than 2 s as a failure.
 */
export function receiveLoop(port: number): Probe {
  const stats: LookupStats = { answered: 0, failed: 0, worstMs: 0, errors: [] };
  const sub = new SubSocket({ linger: 0 });
  sub.subscribe("pytroll://target");
  sub.connect(`tcp://127.0.0.1:${port}`);
  let last = Date.now();
  let stopped = false;
  const gap = () => {
    const g = Date.now() - last;
    stats.worstMs = Math.max(stats.worstMs, g);
    return g;
  };
  const done = (async () => {
    while (!stopped) {
      try {
        await sub.receive({ signal: AbortSignal.timeout(2000) });
        stats.answered++;
      } catch (e) {
        if (stopped) break;
        stats.failed++;
        if (stats.errors.length < 3) stats.errors.push(String(e));
      }
      gap();
      last = Date.now();
    }
  })();
  return {
    stats,
    async stop() {
      stopped = true;
      gap();
      await sub.close();
      await done;
      return stats;
    },
  };
}

/** Probes right after an attack until `n` results (answers or failures) are in. */
export async function probeAfter(make: () => Probe, n = 3): Promise<LookupStats> {
  const l = make();
  await until(() => l.stats.answered + l.stats.failed >= n, { timeoutMs: n * 2500 + 3000 });
  return await l.stop();
}

/** Look-ups right after an attack: `n` in a row, each within 2 s. */
export function lookupsAfter(s: TestSetup, n = 3, service = "probe"): Promise<LookupStats> {
  return probeAfter(() => lookupLoop(s, service, 0), n);
}

/** MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** What one attack on one target did and how the target fared. */
export interface AttackOutcome {
  impl: Impl;
  /** Inputs the attack sent (connections, datagrams, commands, bytes: see `sent`). */
  inputs: number;
  /** What was sent, in words, e.g. "50000 SUBSCRIBE (1.3 MiB)". */
  sent: string;
  /** RSS before the attack and its peak while it ran (bytes). */
  rssBefore: number;
  rssPeak: number;
  /** What the probe does ("look-ups", "messages"). */
  probe: string;
  /** Look-ups made while the attack ran and right after it. */
  during: LookupStats;
  after: LookupStats;
  /** The process survived. */
  alive: boolean;
  /** Anything else the attack measured. */
  extra: string;
}

/** What an attack function reports; `release` ends it (closes its connections). */
export interface AttackRun {
  inputs: number;
  sent: string;
  release?: () => void;
  extra?: string;
}

/**
 * Runs `attack` against a fresh target while a client keeps looking `service` up: RSS sampled
 * throughout, look-ups counted during the attack (which is held `holdMs` after it returns) and
 * right after it is released.
 */
export async function attackTarget(
  impl: Impl,
  start: (impl: Impl, s: TestSetup) => Promise<Target>,
  s: TestSetup,
  attack: (t: Target) => Promise<AttackRun>,
  options: {
    holdMs?: number;
    probe?: (t: Target) => Probe;
    /** What the probe counts. @default "look-ups" */
    probeName?: string;
    after?: (t: Target) => Promise<string>;
  } = {},
): Promise<AttackOutcome> {
  const t = await start(impl, s);
  try {
    await new Promise((r) => setTimeout(r, 200));
    const rssBefore = t.rss();
    const rss = sampleRss(t);
    const makeProbe = options.probe ?? (() => lookupLoop(s));
    const loop = makeProbe(t);
    let run: AttackRun;
    try {
      run = await attack(t);
      await new Promise((r) => setTimeout(r, options.holdMs ?? 1000));
    } finally {
      await loop.stop();
    }
    const during = loop.stats;
    run.release?.();
    const after = t.alive()
      ? await probeAfter(() => makeProbe(t))
      : { answered: 0, failed: 3, worstMs: 0, errors: ["process gone"] };
    const extra = [run.extra, options.after && t.alive() ? await options.after(t) : undefined]
      .filter(Boolean).join("; ");
    return {
      impl,
      inputs: run.inputs,
      sent: run.sent,
      rssBefore,
      rssPeak: rss.stop(),
      probe: options.probeName ?? "look-ups",
      during,
      after,
      alive: t.alive(),
      extra,
    };
  } finally {
    await t.close();
  }
}

/** One line about an outcome for the fault table. */
export function describe(o: AttackOutcome): string {
  const name = o.impl === "ours" ? "ours" : "Python/libzmq";
  const life = o.alive ? "alive" : "DIED";
  return `${name}: ${life}, RSS ${mib(o.rssBefore)} -> peak ${mib(o.rssPeak)} MiB (+${
    mib(Math.max(0, o.rssPeak - o.rssBefore))
  }), ${o.probe} during ${o.during.answered}/${o.during.answered + o.during.failed} within 2 s ` +
    `(worst ${o.during.worstMs} ms), after ${o.after.answered}/${
      o.after.answered + o.after.failed
    }` +
    (o.extra ? `, ${o.extra}` : "");
}

/** Starts a target of one implementation on a setup's ports. */
export type Start = (impl: Impl, s: TestSetup) => Promise<Target>;

/**
 * The RSS growth allowed for ours under 50,000 distinct SUBSCRIBE commands on one connection. A
 * PUB keeps at most `maxSubscriptions` (10,000) of them per subscriber and ignores the rest. Since
 * a SUBSCRIBE is read in place and the subscription tree holds no array or string per prefix
 * (1,425 -> 263 bytes allocated per SUBSCRIBE, 4.7 -> 1.1 MiB kept for 10,000), runs grew by
 * +13.8-16.1 MiB (publisher), +11-13 (nameserver), +10.5-12 (bridge), where they had grown by
 * +33-35 or, with the garbage collector's timing, +47-65 (2026-12-07, session 10; bench/README.md).
 * libzmq's publisher: +8.6 MiB.
 */
export const SUBSCRIPTION_FLOOD_GROWTH = 32 * 1024 * 1024;

/** The RSS growth allowed for ours: in all, or per input (`perInput`: per connection). */
export interface Bound {
  growth: number;
  perInput?: boolean;
}

/** Options of {@linkcode compareAttack}. */
export interface CompareOptions {
  /** ms the attack is held after it returned, while the probe goes on. @default 1000 */
  holdMs?: number;
  /** The client that checks the target serves. @default look-ups of "probe" */
  probe?: (t: Target, s: TestSetup) => Probe;
  /** What the probe counts. @default "look-ups" */
  probeName?: string;
  /** Measures something more after the attack (its text goes into the notes). */
  after?: (t: Target, s: TestSetup) => Promise<string>;
  /** Also run the attack on Python's implementation. @default COMPARE */
  compare?: boolean;
  /**
   * The attack makes serving impossible while it lasts (descriptors exhausted: no connection can
   * be accepted by anyone): probes during it are recorded, not required; after it they are.
   */
  outage?: boolean;
  /** The process and port attacked, for the attack table. @default the area */
  target?: string;
}

function side(o: AttackOutcome): AttackSide {
  return {
    alive: o.alive,
    rssBefore: o.rssBefore,
    rssPeak: o.rssPeak,
    during: [o.during.answered, o.during.answered + o.during.failed],
    after: [o.after.answered, o.after.answered + o.after.failed],
    worstMs: o.during.worstMs,
    ...(o.extra ? { extra: o.extra } : {}),
  };
}

/** Whether the Python/libzmq runs are made (FAULT_COMPARE=0 skips them). */
export const COMPARE: boolean = Deno.env.get("FAULT_COMPARE") !== "0";

/**
 * Runs an attack on ours and (unless FAULT_COMPARE=0) on Python's, each on fresh ports; checks
 * that ours stayed alive, served every probe within 2 s during and after, and kept its RSS growth
 * under `bound`; records both outcomes in the fault summary.
 */
export async function compareAttack(
  area: string,
  fault: string,
  start: Start,
  attack: (t: Target, s: TestSetup) => Promise<AttackRun>,
  bound: Bound,
  options: CompareOptions = {},
): Promise<AttackOutcome> {
  const run = (impl: Impl) => {
    const s = testSetupFor();
    return attackTarget(impl, start, s, (t) => attack(t, s), {
      holdMs: options.holdMs,
      probe: options.probe ? (t) => options.probe!(t, s) : undefined,
      probeName: options.probeName,
      after: options.after ? (t) => options.after!(t, s) : undefined,
    });
  };
  const ours = await run("ours");
  const py = (options.compare ?? true) && COMPARE ? await run("python") : undefined;
  const growth = Math.max(0, ours.rssPeak - ours.rssBefore);
  const limit = bound.perInput ? bound.growth * ours.inputs : bound.growth;
  await recordFault({
    area,
    fault: `${options.target ? `${options.target}: ` : ""}${fault}: ${ours.sent}`,
    inputs: ours.inputs,
    lost: (options.outage ? 0 : ours.during.failed) + ours.after.failed + (ours.alive ? 0 : 1),
    notes: `${describe(ours)}${py ? `; ${describe(py)}` : ""}; bound for ours +${mib(limit)} MiB`,
    attack: {
      target: options.target ?? area,
      attack: fault,
      sent: ours.sent,
      inputs: ours.inputs,
      probe: ours.probe,
      bound: bound.growth,
      ...(bound.perInput ? { perInput: true } : {}),
      duringRequired: !options.outage,
      ours: side(ours),
      ...(py ? { python: side(py) } : {}),
    },
  });
  const all = `${describe(ours)}\n${py ? describe(py) : ""}`;
  assert(ours.alive, `ours died:\n${all}`);
  if (!options.outage) {
    assertEquals(ours.during.failed, 0, `${ours.probe} failed during the attack:\n${all}`);
  }
  assertEquals(ours.after.failed, 0, `${ours.probe} failed after the attack:\n${all}`);
  assert(growth <= limit, `RSS grew by ${mib(growth)} MiB (bound ${mib(limit)}):\n${all}`);
  return ours;
}

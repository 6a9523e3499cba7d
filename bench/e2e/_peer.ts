/**
 * Child processes of the end-to-end bench: peers that print one JSON object per stdout line and
 * read command lines ("go", "quit") on stdin. Every spawned process is registered so that
 * {@linkcode killAll} can end it on any exit path.
 *
 * @module
 */

import { eachLine } from "../../testing/lines.ts";
import { cpuSeconds } from "./ts/_common.ts";

/** Absolute path of the repository root. */
export const ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** The Python interpreter that has posttroll 1.16 and igwn-alert 0.7 installed. */
export const PYTHON: string = Deno.env.get("PEERS_PYTHON") ?? `${ROOT}/.cache/venv/bin/python`;
/** The Deno executable running this bench. */
export const DENO: string = Deno.execPath();

const live = new Set<Peer>();

/** A JSON event printed by a peer. */
export type PeerEvent = Record<string, unknown> & { event: string };

/** Options for {@linkcode Peer.spawn}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Label used in error messages. */
  label?: string;
  /** Working directory. @default the repository root */
  cwd?: string;
  /**
   * `deno run` permission and runtime flags of a Deno peer (those of the executable it stands
   * for, {@linkcode binaryPermissions}: what the library can use depends on them, e.g. the Kafka
   * client's native CRC-32C needs `--allow-ffi`, which no executable has). @default ["-A"]
   */
  denoFlags?: string[];
}

/** A running peer process. */
export class Peer {
  readonly label: string;
  readonly #child: Deno.ChildProcess;
  readonly #events: PeerEvent[] = [];
  #waiters: Array<() => void> = [];
  #stderr = "";
  #ended = false;
  readonly #done: Promise<void>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess, label: string) {
    this.#child = child;
    this.label = label;
    this.#writer = child.stdin.getWriter();
    this.status = child.status;
    const out = eachLine(child.stdout, (line) => {
      const t = line.trim();
      if (!t.startsWith("{")) return;
      try {
        this.#events.push(JSON.parse(t) as PeerEvent);
      } catch {
        return; // not one of ours
      }
      this.#wake();
    });
    const err = eachLine(child.stderr, (line) => {
      if (this.#stderr.length < 20_000) this.#stderr += line + "\n";
    });
    this.#done = Promise.all([out, err]).then(() => {
      this.#ended = true;
      this.#wake();
    });
    live.add(this);
    child.status.finally(() => live.delete(this));
  }

  /** Starts `cmd args…` with piped stdio. */
  static spawn(cmd: string, args: string[], opts: SpawnOptions = {}): Peer {
    const child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd ?? ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONUNBUFFERED: "1", NO_COLOR: "1", ...opts.env },
    }).spawn();
    return new Peer(child, opts.label ?? `${cmd.split("/").pop()} ${args.slice(0, 3).join(" ")}`);
  }

  /** Starts a Python peer program from bench/e2e/py/. */
  static python(script: string, args: string[], opts: SpawnOptions = {}): Peer {
    // BENCH_PY_WRAP="strace -f -c -o /tmp/x" runs every Python peer under a wrapper (diagnostics)
    const wrap = Deno.env.get("BENCH_PY_WRAP")?.split(" ").filter(Boolean) ?? [];
    const [cmd, ...rest] = [...wrap, PYTHON, `${ROOT}/bench/e2e/py/${script}`, ...args];
    return Peer.spawn(cmd, rest, {
      label: `py ${script} ${args.slice(0, 3).join(" ")}`,
      ...opts,
    });
  }

  /** Starts a Deno peer program from bench/e2e/ts/. */
  static deno(script: string, args: string[], opts: SpawnOptions = {}): Peer {
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every Deno peer (diagnostics)
    const prof = Deno.env.get("BENCH_CPU_PROF");
    const flags = [...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), ...extraDenoFlags()];
    const argv = [
      "run",
      ...(opts.denoFlags ?? ["-A"]),
      ...flags,
      `${ROOT}/bench/e2e/ts/${script}`,
      ...args,
    ];
    // BENCH_DENO_WRAP="strace -f -c -o /tmp/x" runs every Deno peer under a wrapper (diagnostics)
    const wrap = Deno.env.get("BENCH_DENO_WRAP")?.split(" ").filter(Boolean) ?? [];
    const [cmd, ...rest] = [...wrap, DENO, ...argv];
    return Peer.spawn(cmd, rest, {
      label: `deno ${script} ${args.slice(0, 3).join(" ")}`,
      ...opts,
    });
  }

  /** Process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** stderr seen so far (first 20 kB). */
  get stderr(): string {
    return this.#stderr;
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits for the next event named `name` (earlier other events are dropped). */
  async next(name: string, timeoutMs: number): Promise<PeerEvent> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.#events.findIndex((e) => e.event === name);
      if (i >= 0) return this.#events.splice(0, i + 1)[i];
      if (this.#ended) {
        throw new Error(
          `${this.label}: ended before "${name}"\n--- stderr ---\n${this.#stderr.slice(-3000)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.label}: no "${name}" within ${timeoutMs} ms\n--- stderr ---\n${
            this.#stderr.slice(-3000)
          }`,
        );
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Writes a command line to the peer's stdin (ignored if it is gone). */
  async send(line: string): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode(line + "\n"));
    } catch {
      // peer gone
    }
  }

  /** Sends a signal (ignored if the peer is gone). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // gone
    }
  }

  /** Waits up to `graceMs` for the peer to exit by itself, then SIGTERM, then SIGKILL. */
  async close(graceMs = 5000): Promise<Deno.CommandStatus> {
    try {
      await this.#writer.close();
    } catch {
      // closed
    }
    const timer = setTimeout(() => this.kill("SIGTERM"), graceMs);
    const kill = setTimeout(() => this.kill("SIGKILL"), graceMs + 3000);
    try {
      const s = await this.status;
      await this.#done;
      return s;
    } finally {
      clearTimeout(timer);
      clearTimeout(kill);
    }
  }
}

/**
 * Extra `deno run` flags for every Deno peer and bridge (diagnostics, e.g.
 * `BENCH_DENO_FLAGS=--v8-flags=--max-semi-space-size=8`), split at spaces.
 */
export function extraDenoFlags(): string[] {
  return Deno.env.get("BENCH_DENO_FLAGS")?.split(" ").filter(Boolean) ?? [];
}

/** A memory figure of `/proc/PID/status` (KiB) of a live process, or undefined. */
export function procStatusKb(
  pid: number,
  field: "VmHWM" | "VmRSS" | "RssAnon",
): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident set size (VmHWM, KiB) of a live process, or undefined. */
export function vmHwmKb(pid: number): number | undefined {
  return procStatusKb(pid, "VmHWM");
}

/** Current resident set size (VmRSS, KiB) of a live process, or undefined. */
export function vmRssKb(pid: number): number | undefined {
  return procStatusKb(pid, "VmRSS");
}

/** The largest of some peak RSS readings (KiB); undefined when none is a positive number. */
function peakKb(...readings: unknown[]): number | undefined {
  const ok = readings.filter((r): r is number => typeof r === "number" && r > 0);
  return ok.length ? Math.max(...ok) : undefined;
}

/**
 * Fills the compile caches of every program the bench starts, before anything is measured: Deno's
 * module cache with the JavaScript of each TypeScript module (`deno cache` of the peers in
 * bench/e2e/ts/ and the executables' entry points in cli/), and the Python peers' bytecode
 * (`compileall` of bench/e2e/py/). In a fresh checkout the first Deno process to load a module
 * otherwise transpiles it, and its RSS keeps what that took: the first posttroll publisher of a
 * run idled at 63.2-63.8 MiB instead of 50.6-50.9 and peaked at 75.8-76.0 instead of 62.3-63.3
 * (a fresh clone, 2026-12-07), and the rows take the largest over runs. A compiled executable
 * carries its JavaScript and the Python packages their bytecode, so neither pays that at start.
 *
 * @param log progress
 * @param root the checkout whose programs to compile (bench/e2e/compare.ts: each tree's)
 * @returns when both caches are filled (a failure is logged, not thrown)
 */
export async function warmCompileCaches(
  log: (s: string) => void,
  root: string = ROOT,
): Promise<void> {
  const programs: string[] = [];
  for (const dir of ["bench/e2e/ts", "cli"]) {
    for (const e of Deno.readDirSync(`${root}/${dir}`)) {
      if (e.isFile && e.name.endsWith(".ts")) programs.push(`${dir}/${e.name}`);
    }
  }
  const t0 = performance.now();
  const runs: Array<[string, string[]]> = [
    [DENO, ["cache", ...programs.sort()]],
    [PYTHON, ["-m", "compileall", "-q", "bench/e2e/py"]],
  ];
  for (const [cmd, args] of runs) {
    const o = await new Deno.Command(cmd, { args, cwd: root, stdout: "null", stderr: "piped" })
      .output().catch((e: Error) => ({
        success: false,
        stderr: new TextEncoder().encode(e.message),
      }));
    if (!o.success) {
      log(
        `warming the compile caches: ${cmd} ${args[0]} failed: ${
          new TextDecoder().decode(o.stderr).slice(0, 300)
        }`,
      );
    }
  }
  log(
    `compile caches warm (${programs.length} Deno programs, bench/e2e/py) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}

const cleanups = new Set<() => Promise<void>>();

/** Registers `fn` to run in {@linkcode killAll} (e.g. stopping a broker); returns an unregister. */
export function onCleanup(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Kills every peer still running (SIGKILL), runs the registered clean-ups and waits for them. */
export async function killAll(): Promise<void> {
  const peers = [...live];
  for (const p of peers) p.kill("SIGKILL");
  const fns = [...cleanups];
  cleanups.clear();
  await Promise.allSettled([...peers.map((p) => p.status), ...fns.map((f) => f())]);
}

/** Wall-clock microseconds (same clock as Python's time.time_ns() // 1000). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** True when every path is committed in the repository (a component "has landed"). */
export function landed(paths: string[]): boolean {
  const out = new Deno.Command("git", {
    args: ["ls-files", "--error-unmatch", ...paths],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).outputSync();
  return out.success;
}

/**
 * Deno flags of one of our executables (cli/binaries.ts): permissions and runtime flags (only the
 * permissions when `runtime` is false).
 */
export async function binaryPermissions(name: string, runtime = true): Promise<string[]> {
  const mod = await import(`${ROOT}/cli/binaries.ts`) as typeof import("../../cli/binaries.ts");
  const b = mod.binary(name);
  return runtime ? mod.denoFlags(b) : [...b.permissions];
}

/** A group's sizes for `--quick` and for the full run (bench/e2e/run.ts picks one). */
export interface Plans<P> {
  /** Short runs (`--quick`). */
  quick: P;
  /** The full run. */
  full: P;
}

/** The latency run of a sender -> receiver group: a fixed rate, warm-up messages not counted. */
export interface LatencyPlan {
  /** Measured messages of the latency run (after `latencyWarm`). */
  latencyCount: number;
  /** Warm-up messages of the latency run, not counted. */
  latencyWarm: number;
  /** Messages per second of the latency run. */
  rate: number;
}

/** The sizes of a run as every peer takes them (ts/_common.ts `runArgs`, py/common.py). */
export interface RunSize {
  /** Messages to send (at most). */
  count: number;
  /** Seconds to send for (at most). */
  seconds: number;
  /** Messages per second; 0 or absent: as fast as the peer goes. */
  rate?: number;
  /** Messages sent before the measured ones. */
  warm?: number;
}

/**
 * The flags of a run's size for a peer's command line.
 *
 * @param opts count, seconds, rate, warm-up
 * @returns `--count N --seconds S --rate R --warm W`
 */
export function runFlags(opts: RunSize): string[] {
  return [
    "--count",
    String(opts.count),
    "--seconds",
    String(opts.seconds),
    "--rate",
    String(opts.rate ?? 0),
    "--warm",
    String(opts.warm ?? 0),
  ];
}

/** What a throughput or latency run measured, from the sender's and the receiver's events. */
export interface RunCounts {
  /** Messages sent. */
  sent: number;
  /** Messages received. */
  received: number;
  /** From the first send to the last receipt, in seconds. */
  seconds: number;
  /** received / seconds. */
  rate: number;
  /** One-way latencies, when the run measured them. */
  latenciesUs: number[] | undefined;
}

/**
 * Reads a run's counts from the sender's `done` event (`sent`, `t_start_us`) and the receiver's
 * `result` event (`received`, `t_last_us`, `latencies_us`).
 */
export function runCounts(done: PeerEvent, result: PeerEvent): RunCounts {
  const received = result.received as number;
  const seconds = ((result.t_last_us as number) - (done.t_start_us as number)) / 1e6;
  return {
    sent: done.sent as number,
    received,
    seconds,
    rate: received > 0 && seconds > 0 ? received / seconds : 0,
    latenciesUs: result.latencies_us as number[] | undefined,
  };
}

/** The events of one publisher -> listener run (see {@linkcode driveRun}). */
export interface RunEvents {
  /** The sender's `done` event. */
  done: PeerEvent;
  /** The receiver's `result` event. */
  result: PeerEvent;
  /** The sender's `exit` event, if it sent one in time. */
  exit: PeerEvent | undefined;
  /** CPU seconds the sender and the receiver used from `go` to the receiver's `result`. */
  cpu: { pub: number; receiver: number };
  /**
   * Peak RSS (VmHWM, KiB) of the sender and the receiver: the larger of what the driver reads in
   * `/proc/<pid>/status` once the receiver's result came and what the peer reported itself (a
   * peer run with an executable's permissions may not read `/proc/self`).
   */
  hwmKb: { pub?: number; receiver?: number };
  /** Resident memory (VmRSS, KiB) of the sender and the receiver when both were ready, before `go`. */
  idleKb: { pub: number | undefined; receiver: number | undefined };
}

/** The run's budgets: a rate-paced run gets its send time plus a minute, a timed run its seconds plus two. */
function sendBudgetMs(
  opts: { count: number; seconds: number; rate?: number; warm?: number },
): number {
  return opts.rate
    ? ((opts.count + (opts.warm ?? 0)) / opts.rate) * 1000 + 60_000
    : opts.seconds * 1000 + 120_000;
}

/**
 * The measured part of a run, once both peers are ready and warm: says `go`, waits for the
 * sender's `done` (within the time the run's count and rate, or seconds, allow) and the
 * receiver's `result`, then says `quit` and collects the sender's `exit` (undefined when it does
 * not come). Closing the peers is the caller's.
 */
export async function runPhase(
  pub: Peer,
  receiver: Peer,
  opts: { count: number; seconds: number; rate?: number; warm?: number },
): Promise<RunEvents> {
  const cpu0 = [cpuSeconds(pub.pid), cpuSeconds(receiver.pid)];
  const idleKb = { pub: vmRssKb(pub.pid), receiver: vmRssKb(receiver.pid) };
  await pub.send("go");
  const done = await pub.next("done", sendBudgetMs(opts));
  const result = await receiver.next("result", 180_000);
  const cpu = {
    pub: cpuSeconds(pub.pid) - cpu0[0],
    receiver: cpuSeconds(receiver.pid) - cpu0[1],
  };
  const seen = [vmHwmKb(pub.pid), vmHwmKb(receiver.pid)];
  await pub.send("quit");
  const exit = await pub.next("exit", 30_000).catch(() => undefined);
  const hwmKb = {
    pub: peakKb(seen[0], exit?.vmhwm_kb, vmHwmKb(pub.pid)),
    receiver: peakKb(seen[1], result.vmhwm_kb),
  };
  return { done, result, exit, cpu, hwmKb, idleKb };
}

/**
 * Drives a run of two peers speaking the Kafka peers' protocol: waits for the sender's `ready`
 * and the receiver's `connected` and `warm`, then {@linkcode runPhase}.
 */
export async function driveRun(
  pub: Peer,
  receiver: Peer,
  opts: { count: number; seconds: number; rate?: number; warm?: number },
): Promise<RunEvents> {
  await Promise.all([pub.next("ready", 60_000), receiver.next("connected", 60_000)]);
  await receiver.next("warm", 90_000);
  return await runPhase(pub, receiver, opts);
}

/**
 * Shared helpers of the Deno peers of the end-to-end bench (same protocol as bench/e2e/py/common.py):
 * JSON lines on stdout, "go" / "quit" command lines on stdin, wall-clock microseconds.
 *
 * @module
 */

import { lines } from "../../../testing/lines.ts";
// pytime.ts, not message.ts: message.ts loads node:os (about 4.5 MiB of RSS for Node compatibility),
// which the igwn-alert peers would count as theirs
import { PyDateTime } from "../../../lib/posttroll/pytime.ts";

/** Wall-clock microseconds (CLOCK_REALTIME, same clock as Python's time.time_ns() // 1000). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** A memory figure of /proc/self/status (VmHWM, VmRSS, ...) in KiB, -1 if unknown. */
export function statusKb(field: "VmHWM" | "VmRSS" | "RssAnon"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(
      Deno.readTextFileSync("/proc/self/status"),
    );
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/** Peak resident set size (VmHWM) of this process in KiB, -1 if unknown. */
export function vmHwmKb(): number {
  return statusKb("VmHWM");
}

const enc = new TextEncoder();

/** Writes one JSON line to stdout. */
export function emit(obj: Record<string, unknown>): void {
  const data = enc.encode(JSON.stringify(obj) + "\n");
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
}

/** What a receiver counted: measured messages and the arrival times (µs) of the first and last. */
export interface Received {
  received: number;
  first: number;
  last: number;
}

/**
 * Prints a receiver's `result` event: its counts, its peak RSS, `extra` fields, and the latencies
 * (µs) when the run measured them.
 */
export function emitResult(
  r: Received,
  latencies: number[] | undefined,
  extra: Record<string, unknown> = {},
): void {
  emit({
    event: "result",
    received: r.received,
    t_first_us: r.first,
    t_last_us: r.last,
    vmhwm_kb: vmHwmKb(),
    ...extra,
    ...(latencies ? { latencies_us: latencies } : {}),
  });
}

/** Commands read from stdin: `go` and `quit` resolve; stdin closing resolves both. */
export class Commands {
  goSeen = false;
  quitSeen = false;
  readonly go: Promise<void>;
  readonly quit: Promise<void>;
  #resolveGo!: () => void;
  #resolveQuit!: () => void;

  constructor() {
    this.go = new Promise((r) => (this.#resolveGo = r));
    this.quit = new Promise((r) => (this.#resolveQuit = r));
    this.#read();
  }

  async #read(): Promise<void> {
    for await (const line of lines(Deno.stdin.readable)) {
      const cmd = line.trim();
      if (cmd === "go") this.#setGo();
      if (cmd === "quit") this.#setQuit();
    }
    this.#setGo();
    this.#setQuit();
  }

  /** Calls `send` (the warm-up message) every `everyMs` until the driver says `go`. */
  async warmUntilGo(send: () => Promise<unknown>, everyMs: number): Promise<void> {
    while (!this.goSeen) {
      await send();
      await Promise.race([this.go, sleep(everyMs)]);
    }
  }

  #setGo() {
    this.goSeen = true;
    this.#resolveGo();
  }

  #setQuit() {
    this.quitSeen = true;
    this.#resolveQuit();
  }
}

/** Parses `--key value` pairs after the positional role argument. */
export function parseArgs(args: string[]): { role: string; opts: Record<string, string> } {
  const [role, ...rest] = args;
  const opts: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i];
    if (!k.startsWith("--")) continue;
    const next = rest[i + 1];
    if (next === undefined || next.startsWith("--")) opts[k.slice(2)] = "true";
    else {
      opts[k.slice(2)] = next;
      i++;
    }
  }
  return { role, opts };
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The 16-digit placeholder replaced by the send time in latency runs. */
export const SENT_PLACEHOLDER = "1000000000000000";

/** A GraceDB-like alert JSON text of `size` bytes (same text as bench/e2e/py/igwn_peer.py). */
export function alertText(kind: string, size: number): string {
  const head = `{"alert_type": "${kind}", "uid": "S261125bench", "sent_us": ${SENT_PLACEHOLDER}, ` +
    `"data": {"superevent_id": "S261125bench", "far": 1.2e-10, "t_0": 1448062923.25}, ` +
    `"object": {"padding": "`;
  const tail = `"}}`;
  const pad = Math.max(0, size - head.length - tail.length);
  const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < pad; i++) s += alpha[(i * 31 + (i >> 6) * 17) % 62];
  return head + s + tail;
}

/**
 * Publisher side of a credit window: the subscriber reports how many messages it has received
 * (a decimal count per line) over a side TCP connection; the publisher keeps at most `window`
 * messages unacknowledged. A report `N idle` (sent by a subscriber started with `--ack-idle`)
 * says that nothing has arrived for a while: what was sent and not received is lost (libzmq's PUB
 * drops at its high-water mark even under the window, because it learns of its reader's progress
 * only every HWM/2 messages and lazily), so the publisher stops waiting for it instead of
 * deadlocking; `stalls` counts these. The loss is remembered and added to every later count:
 * otherwise, once more than `window` minus the subscriber's report interval is lost, no count
 * can ever free the window again and every window ends in an idle wait.
 */
export class Credits {
  acked = 0;
  stalls = 0;
  /** Messages known lost (sent but not received when the subscriber reported idle). */
  lost = 0;
  readonly #window: number;
  #listener: Deno.Listener;
  #conn: Deno.Conn | undefined;
  #buf = "";
  #dec = new TextDecoder();
  #chunk = new Uint8Array(4096);
  constructor(listener: Deno.Listener, window: number) {
    this.#listener = listener;
    this.#window = window;
  }
  /** Credits over a listener on loopback `port`, or none when `port` is 0 (no credit window). */
  static listen(port: number, window: number): Credits | undefined {
    return port ? new Credits(Deno.listen({ hostname: "127.0.0.1", port }), window) : undefined;
  }
  async wait(sent: number): Promise<void> {
    if (!this.#conn) this.#conn = await this.#listener.accept();
    while (sent - this.acked >= this.#window) {
      const n = await this.#conn.read(this.#chunk);
      if (n === null) throw new Error("subscriber closed the credit connection");
      this.#buf += this.#dec.decode(this.#chunk.subarray(0, n));
      const lines = this.#buf.split("\n");
      this.#buf = lines.pop()!;
      if (!lines.length) continue;
      const [count, idle] = lines[lines.length - 1].split(" ");
      if (idle === "idle") {
        this.stalls++;
        this.lost = sent - Number(count);
        this.acked = sent;
      } else this.acked = Number(count) + this.lost;
    }
  }
  close() {
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    try {
      this.#listener.close();
    } catch { /* closed */ }
  }
}

/** The run arguments every peer takes (`--count --seconds --rate --warm --idle`), with its defaults. */
export interface RunArgs {
  count: number;
  seconds: number;
  rate: number;
  warmCount: number;
  idle: number;
}

/**
 * Reads the run arguments.
 *
 * @param opts the parsed options
 * @param defaults the peer's defaults of count, seconds and idle
 */
export function runArgs(
  opts: Record<string, string>,
  defaults: { count: number; seconds: number; idle: number },
): RunArgs {
  return {
    count: Number(opts.count ?? defaults.count),
    seconds: Number(opts.seconds ?? defaults.seconds),
    rate: Number(opts.rate ?? 0),
    warmCount: Number(opts.warm ?? 0),
    idle: Number(opts.idle ?? defaults.idle),
  };
}

/** One message shape of bench/e2e/shapes.json ("latency" is the file event). */
export interface Shape {
  subject: string;
  type: string;
  data: unknown;
  binary: boolean;
}

interface ShapeSpec {
  subject: string;
  type: string;
  data?: unknown;
  datetimes?: string[];
  binary?: boolean;
  size?: number;
  alphabet?: string;
}

/**
 * A message shape of bench/e2e/shapes.json with its datetimes as `PyDateTime`s (the binary shape's
 * data built from its alphabet, as bench/e2e/py/common.py does).
 */
export function shapeArgs(name: string): Shape {
  const shapes = JSON.parse(
    Deno.readTextFileSync(new URL("../shapes.json", import.meta.url)),
  ) as Record<string, ShapeSpec>;
  const s = shapes[name === "latency" ? "file_event" : name];
  if (s.binary) {
    const alpha = s.alphabet!;
    const parts: string[] = [];
    for (let i = 0; i < s.size!; i++) parts.push(alpha[(i * 31 + (i >> 6) * 17) % 64]);
    return { subject: s.subject, type: s.type, data: parts.join(""), binary: true };
  }
  let data = s.data;
  if (data && typeof data === "object" && !Array.isArray(data)) {
    const d: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const k of s.datetimes ?? []) d[k] = PyDateTime.fromisoformat(d[k] as string);
    data = d;
  }
  return { subject: s.subject, type: s.type, data, binary: false };
}

/** CPU seconds (user + system) a process has used (NaN when unknown). */
export function cpuSeconds(pid: number | "self" = "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The end of a sender's run: the `done` event, then the end marker every `everyMs` until the
 * driver says `quit` (at most `limitMs`), then the `exit` event with the peak RSS.
 */
export async function finishSending(
  cmds: Commands,
  done: Record<string, unknown>,
  sendEnd: () => Promise<unknown>,
  everyMs: number,
  limitMs: number,
): Promise<void> {
  emit({ event: "done", ...done });
  const limit = Date.now() + limitMs;
  while (!cmds.quitSeen && Date.now() < limit) {
    await sendEnd();
    await Promise.race([cmds.quit, sleep(everyMs)]);
  }
  emit({ event: "exit", vmhwm_kb: vmHwmKb() });
}

/** Waits until the `i`-th send of a schedule of `rate` per second that started at `p0`. */
export async function pace(p0: number, i: number, rate: number): Promise<void> {
  const delay = p0 + (i * 1000) / rate - performance.now();
  if (delay > 0) await sleep(delay);
}

/**
 * Sends `total` items in requests of `per`, with at most `inFlight` requests outstanding (how the
 * raw Kafka peers keep a broker busy); resolves when every request was answered.
 */
export async function pipelined<T>(
  total: number,
  per: number,
  inFlight: number,
  make: (n: number) => T[],
  send: (items: T[]) => Promise<unknown>,
  keepGoing: () => boolean = () => true,
): Promise<number> {
  const pending = new Set<Promise<unknown>>();
  let sent = 0;
  while (sent < total && keepGoing()) {
    const n = Math.min(per, total - sent);
    const p = send(make(n));
    pending.add(p);
    p.finally(() => pending.delete(p));
    sent += n;
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  return sent;
}

/** The client options of the raw `@platformatic/kafka` peers: PLAINTEXT, or SASL_SSL with SCRAM-SHA-512. */
export function rawKafkaOptions(
  opts: Record<string, string>,
  clientId: string,
): {
  bootstrapBrokers: string[];
  clientId: string;
  tls?: { ca: string[] };
  sasl?: { mechanism: "SCRAM-SHA-512"; username: string; password: string };
} {
  const cfg: ReturnType<typeof rawKafkaOptions> = { bootstrapBrokers: [opts.broker], clientId };
  if (opts["sasl-user"]) {
    cfg.tls = { ca: [Deno.readTextFileSync(opts.ca)] };
    cfg.sasl = {
      mechanism: "SCRAM-SHA-512",
      username: opts["sasl-user"],
      password: opts["sasl-password"],
    };
  }
  return cfg;
}

/**
 * Shared helpers of the Deno peers of the end-to-end bench (same protocol as bench/e2e/py/common.py):
 * JSON lines on stdout, "go" / "quit" command lines on stdin, wall-clock microseconds.
 *
 * @module
 */

/** Wall-clock microseconds (CLOCK_REALTIME, same clock as Python's time.time_ns() // 1000). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Peak resident set size (VmHWM) of this process in KiB, -1 if unknown. */
export function vmHwmKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

const enc = new TextEncoder();

/** Writes one JSON line to stdout. */
export function emit(obj: Record<string, unknown>): void {
  const data = enc.encode(JSON.stringify(obj) + "\n");
  let off = 0;
  while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
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
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of Deno.stdin.readable) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const cmd = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (cmd === "go") this.#setGo();
          if (cmd === "quit") this.#setQuit();
        }
      }
    } catch {
      // stdin gone
    }
    this.#setGo();
    this.#setQuit();
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
 * deadlocking; `stalls` counts these.
 */
export class Credits {
  acked = 0;
  stalls = 0;
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
        this.acked = sent;
      } else this.acked = Number(count);
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

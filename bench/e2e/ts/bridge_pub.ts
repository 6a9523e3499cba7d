/**
 * Publisher peer of the end-to-end bridge bench: our posttroll `Publisher` (lib/posttroll/) at
 * "site A", the same arguments and JSON-lines protocol as the `pub` role of
 * bench/e2e/ts/posttroll_peer.ts (whose `sub` role is the subscriber at site B), with one
 * difference: every message gets a strictly increasing time (`max(now, previous + 1 µs)`).
 *
 * Why: the bridge identifies a message by the SHA-256 of its bytes (so the two uplinks of an HA
 * pair give one identity, see lib/bridge/identity.ts) and the downlink drops repeated identities.
 * A publisher that sends the same subject, type and data twice within one microsecond produces
 * byte-identical messages, and the bridge delivers only the first; posttroll_peer.ts sends the
 * constant short shape that fast (~6 % of them collide), which would show as loss and starve its
 * credit window. With distinct times the shapes keep their sizes and every message is distinct.
 *
 * ```sh
 * deno run -A bench/e2e/ts/bridge_pub.ts pub --port 40000 --shape short --count 10000 \
 *   --ack-port 40001 --window 2000
 * ```
 *
 * @module
 */
import { Message, PyDateTime } from "../../../lib/posttroll/message.ts";
import { Publisher } from "../../../lib/posttroll/publisher.ts";
import { Commands, Credits, emit, nowUs, parseArgs, sleep, vmHwmKb } from "./_common.ts";

const { opts } = parseArgs(Deno.args);
const port = Number(opts.port);
const shape = opts.shape ?? "short";
const count = Number(opts.count ?? 10000);
const seconds = Number(opts.seconds ?? 5);
const rate = Number(opts.rate ?? 0);
const warmCount = Number(opts.warm ?? 0);
const ackPort = Number(opts["ack-port"] ?? 0);
const window = Number(opts.window ?? 2000);
const enc = new TextEncoder();

interface ShapeSpec {
  subject: string;
  type: string;
  data?: unknown;
  datetimes?: string[];
}

function shapeArgs(name: string): { subject: string; type: string; data: unknown } {
  const shapes = JSON.parse(
    Deno.readTextFileSync(new URL("../shapes.json", import.meta.url)),
  ) as Record<string, ShapeSpec>;
  const s = shapes[name === "latency" ? "file_event" : name];
  let data = s.data;
  if (data && typeof data === "object" && !Array.isArray(data)) {
    const d: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const k of s.datetimes ?? []) d[k] = PyDateTime.fromisoformat(d[k] as string);
    data = d;
  }
  return { subject: s.subject, type: s.type, data };
}

let lastUs = 0;
/** Now (aware UTC, like `PyDateTime.now()`), at least one microsecond after the previous call. */
function distinctNow(): PyDateTime {
  lastUs = Math.max(nowUs(), lastUs + 1);
  return PyDateTime.fromEpochMicroseconds(lastUs, 0);
}

const cmds = new Commands();
const pub = await new Publisher(`tcp://127.0.0.1:${port}`).start();
const credits = ackPort
  ? new Credits(Deno.listen({ hostname: "127.0.0.1", port: ackPort }), window)
  : undefined;
emit({ event: "bound" });
const warm = new Message("/bench/warmup", "info", "w").encode();
const end = new Message("/bench/end", "info", "e").encode();
while (!cmds.goSeen) {
  await pub.send(warm);
  await Promise.race([cmds.go, sleep(20)]);
}
const { subject, type, data } = shapeArgs(shape);
const size = enc.encode(new Message(subject, type, data).encode()).length;
let sent = 0;
let tStart: number;
if (rate > 0) {
  const total = warmCount + count;
  const period = 1000 / rate;
  const base = { ...(data as Record<string, unknown>) };
  tStart = nowUs();
  const p0 = performance.now();
  for (let i = 0; i < total; i++) {
    const delay = p0 + i * period - performance.now();
    if (delay > 0) await sleep(delay);
    const m = new Message(subject, type, { ...base, sent_us: nowUs() }, { time: distinctNow() });
    await pub.send(m.encode());
    sent++;
  }
} else {
  const deadline = performance.now() + seconds * 1000;
  tStart = nowUs();
  for (let i = 0; i < count; i++) {
    if (credits && sent - credits.acked >= window) await credits.wait(sent);
    await pub.send(new Message(subject, type, data, { time: distinctNow() }).encode());
    sent++;
    if ((i & 255) === 0 && performance.now() > deadline) break;
  }
}
emit({ event: "done", sent, t_start_us: tStart, t_end_us: nowUs(), bytes: size });
const limit = Date.now() + 30_000;
while (!cmds.quitSeen && Date.now() < limit) {
  await pub.send(end);
  await Promise.race([cmds.quit, sleep(50)]);
}
emit({ event: "exit", vmhwm_kb: vmHwmKb() });
credits?.close();
await pub.stop();
Deno.exit(0);

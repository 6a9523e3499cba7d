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
import {
  Commands,
  Credits,
  emit,
  finishSending,
  nowUs,
  pace,
  parseArgs,
  runArgs,
  shapeArgs,
} from "./_common.ts";

const { opts } = parseArgs(Deno.args);
const port = Number(opts.port);
const shape = opts.shape ?? "short";
const { count, seconds, rate, warmCount } = runArgs(opts, { count: 10000, seconds: 5, idle: 0 });
const ackPort = Number(opts["ack-port"] ?? 0);
const window = Number(opts.window ?? 2000);
const enc = new TextEncoder();

let lastUs = 0;
/** Now (aware UTC, like `PyDateTime.now()`), at least one microsecond after the previous call. */
function distinctNow(): PyDateTime {
  lastUs = Math.max(nowUs(), lastUs + 1);
  return PyDateTime.fromEpochMicroseconds(lastUs, 0);
}

const cmds = new Commands();
const pub = await new Publisher(`tcp://127.0.0.1:${port}`).start();
const credits = Credits.listen(ackPort, window);
emit({ event: "bound" });
const warm = new Message("/bench/warmup", "info", "w").encode();
const end = new Message("/bench/end", "info", "e").encode();
await cmds.warmUntilGo(() => pub.send(warm), 20);
const { subject, type, data } = shapeArgs(shape);
const size = enc.encode(new Message(subject, type, data).encode()).length;
let sent = 0;
let tStart: number;
if (rate > 0) {
  const base = { ...(data as Record<string, unknown>) };
  tStart = nowUs();
  const p0 = performance.now();
  for (let i = 0; i < warmCount + count; i++) {
    await pace(p0, i, rate);
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
const done = { sent, t_start_us: tStart, t_end_us: nowUs(), bytes: size };
await finishSending(cmds, done, () => pub.send(end), 50, 30_000);
credits?.close();
await pub.stop();
Deno.exit(0);

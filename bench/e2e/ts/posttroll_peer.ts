/**
 * Publisher / subscriber peer of the end-to-end posttroll bench (Deno side), same arguments and
 * protocol as bench/e2e/py/posttroll_peer.py.
 *
 * --impl posttroll: our Publisher / Subscriber (lib/posttroll/) with our codec; every message is a
 * fresh Message that the publisher encodes (`send(message)`) and the subscriber decodes.
 * --impl zmq: our ZeroMQ engine alone (lib/zmq PubSocket / SubSocket), same bytes, no codec.
 * --marks N (subscriber): the result also lists when every N-th counted message arrived
 * (`marks_us`), for rates over parts of a run (bench/e2e/posttroll_warmup.ts).
 *
 * @module
 */
import { Message } from "../../../lib/posttroll/message.ts";
import { Publisher } from "../../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../../lib/posttroll/subscriber.ts";
import { PubSocket, SubSocket } from "../../../lib/zmq/mod.ts";
import {
  Commands,
  Credits,
  emit,
  emitResult,
  finishSending,
  nowUs,
  pace,
  parseArgs,
  runArgs,
  shapeArgs,
} from "./_common.ts";

const SENT_PLACEHOLDER = "1000000000000000";
const { role, opts } = parseArgs(Deno.args);
const impl = opts.impl ?? "posttroll";
const port = Number(opts.port);
const shape = opts.shape ?? "short";
const { count, seconds, rate, warmCount, idle } = runArgs(opts, {
  count: 10000,
  seconds: 5,
  idle: 3,
});
const ackPort = Number(opts["ack-port"] ?? 0);
const window = Number(opts.window ?? 800);
const ackEvery = Number(opts["ack-every"] ?? 100);
const ackIdle = Number(opts["ack-idle"] ?? 0);
const marks = Number(opts.marks ?? 0);
const addr = `tcp://127.0.0.1:${port}`;
const enc = new TextEncoder();
let rawSend: ((b: Uint8Array) => Promise<void>) | undefined;

async function runPub(): Promise<void> {
  const cmds = new Commands();
  let sendText: (text: string) => Promise<void>;
  let sendMsg: (m: Message) => Promise<void> = (m) => sendText(m.encode());
  let close: () => Promise<void>;
  if (impl === "posttroll") {
    const pub = await new Publisher(addr).start();
    sendText = (t) => pub.send(t);
    sendMsg = (m) => pub.send(m);
    close = () => pub.stop();
  } else {
    const sock = new PubSocket();
    await sock.bind(addr);
    sendText = (t) => sock.send(enc.encode(t));
    rawSend = (b) => sock.send(b);
    close = () => sock.close();
  }
  const credits = Credits.listen(ackPort, window);
  emit({ event: "bound" });
  const warm = new Message("/bench/warmup", "info", "w").encode();
  const end = new Message("/bench/end", "info", "e").encode();
  await cmds.warmUntilGo(() => sendText(warm), 20);
  const { subject, type, data, binary } = shapeArgs(shape);
  const size = enc.encode(new Message(subject, type, data, { binary }).encode()).length;
  let sent = 0;
  let tStart: number;
  if (rate > 0) {
    const base = { ...(data as Record<string, unknown>) };
    let head = new Uint8Array(), tail = new Uint8Array();
    if (impl !== "posttroll") {
      const text = new Message(subject, type, { ...base, sent_us: Number(SENT_PLACEHOLDER) })
        .encode();
      const [h, t] = text.split(SENT_PLACEHOLDER);
      head = enc.encode(h);
      tail = enc.encode(t);
    }
    tStart = nowUs();
    const p0 = performance.now();
    for (let i = 0; i < warmCount + count; i++) {
      await pace(p0, i, rate);
      if (impl === "posttroll") {
        await sendMsg(new Message(subject, type, { ...base, sent_us: nowUs() }));
      } else {
        const ts = enc.encode(String(nowUs()));
        const buf = new Uint8Array(head.length + ts.length + tail.length);
        buf.set(head, 0);
        buf.set(ts, head.length);
        buf.set(tail, head.length + ts.length);
        await rawSend!(buf);
      }
      sent++;
    }
  } else {
    const deadline = performance.now() + seconds * 1000;
    if (impl === "posttroll") {
      tStart = nowUs();
      for (let i = 0; i < count; i++) {
        if (sent - credits!.acked >= window) await credits!.wait(sent);
        await sendMsg(new Message(subject, type, data, { binary }));
        sent++;
        if ((i & 255) === 0 && performance.now() > deadline) break;
      }
    } else {
      const payload = enc.encode(new Message(subject, type, data, { binary }).encode());
      tStart = nowUs();
      for (let i = 0; i < count; i++) {
        if (sent - credits!.acked >= window) await credits!.wait(sent);
        await rawSend!(payload);
        sent++;
        if ((i & 255) === 0 && performance.now() > deadline) break;
      }
    }
  }
  const done = { sent, t_start_us: tStart, t_end_us: nowUs(), bytes: size };
  await finishSending(
    cmds,
    { ...done, credit_stalls: credits?.stalls ?? 0 },
    () => sendText(end),
    50,
    30_000,
  );
  credits?.close();
  await close();
}

type Got = null | ["warm" | "end" | "msg", number | undefined];

async function runSub(): Promise<void> {
  const latency = rate > 0;
  let receive: () => Promise<Got>;
  let close: () => Promise<void>;
  if (impl === "posttroll") {
    const sub = new Subscriber([addr], { topics: "" });
    const stream = sub.recv(0.1);
    receive = async () => {
      const r = await stream.next();
      const msg = r.value;
      if (r.done || !msg) return null;
      if (msg.subject === "/bench/warmup") return ["warm", undefined];
      if (msg.subject === "/bench/end") return ["end", undefined];
      return ["msg", latency ? (msg.data as { sent_us: number }).sent_us : undefined];
    };
    close = () => sub.close();
  } else {
    const sock = new SubSocket();
    sock.subscribe("pytroll:/");
    sock.connect(addr);
    const warmPrefix = enc.encode("pytroll://bench/warmup ");
    const endPrefix = enc.encode("pytroll://bench/end ");
    const starts = (b: Uint8Array, p: Uint8Array) => {
      if (b.length < p.length) return false;
      for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
      return true;
    };
    const dec = new TextDecoder();
    const key = '"sent_us": ';
    // drain with tryReceive; one reused 100 ms wait when empty (as the pyzmq peer polls)
    const wait = sock.waiter(100);
    receive = async () => {
      let frames = sock.tryReceive();
      while (frames === undefined) {
        if (sock.closed || !(await wait.next())) return null;
        frames = sock.tryReceive();
      }
      const raw = frames[0];
      let got: Got = ["msg", undefined];
      if (starts(raw, warmPrefix)) got = ["warm", undefined];
      else if (starts(raw, endPrefix)) got = ["end", undefined];
      else if (latency) {
        const text = dec.decode(raw);
        const i = text.indexOf(key) + key.length;
        got = ["msg", Number(text.slice(i, i + 16))];
      }
      // done with the bytes (as pyzmq's peer drops its copy): a large array backs the next one
      sock.release(frames);
      return got;
    };
    close = () => {
      wait[Symbol.dispose]();
      return sock.close();
    };
  }
  let ack: Deno.TcpConn | undefined;
  if (ackPort && !latency) {
    ack = await Deno.connect({ hostname: "127.0.0.1", port: ackPort });
    ack.setNoDelay(true);
  }
  emit({ event: "connected" });
  let warmSeen = false;
  let received = 0, arrivals = 0, tFirst = 0, tLast = 0;
  const lat: number[] = [];
  const markUs: number[] = [];
  const started = performance.now();
  let lastActivity = started;
  let lastAck = started;
  while (true) {
    const got = await receive();
    const mono = performance.now();
    if (got === null) {
      if (warmSeen && mono - lastActivity > idle * 1000) break;
      if (!warmSeen && mono - started > 60_000) break;
      if (
        ack && ackIdle && warmSeen && mono - lastAck > ackIdle * 1000 &&
        mono - lastActivity > ackIdle * 1000
      ) {
        await ack.write(enc.encode(`${received} idle\n`));
        lastAck = mono;
      }
      continue;
    }
    lastActivity = mono;
    const [kind, sentUs] = got;
    if (kind === "warm") {
      if (!warmSeen) {
        warmSeen = true;
        emit({ event: "warm" });
      }
      continue;
    }
    if (kind === "end") break;
    const t = nowUs();
    arrivals++;
    if (latency && arrivals <= warmCount) continue;
    received++;
    if (ack && received % ackEvery === 0) await ack.write(enc.encode(`${received}\n`));
    if (tFirst === 0) tFirst = t;
    tLast = t;
    if (marks && received % marks === 0) markUs.push(t);
    if (latency) lat.push(t - sentUs!);
  }
  emitResult(
    { received, first: tFirst, last: tLast },
    latency ? lat : undefined,
    marks ? { marks_us: markUs } : {},
  );
  try {
    ack?.close();
  } catch { /* closed */ }
  await close();
}

if (role === "pub") await runPub();
else await runSub();
Deno.exit(0);

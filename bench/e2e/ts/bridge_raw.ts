/**
 * Raw @platformatic/kafka producer / consumer peer of the end-to-end bridge bench: the same
 * records the posttroll -> Kafka bridge writes (posttroll-encoded bytes of a bench/e2e/shapes.json
 * shape, keyed by subject, the bridge's hop headers from lib/bridge/record.ts), produced with the
 * client library used directly (up to 500 records per request, 4 requests in flight, acks -1) and
 * consumed with a plain stream loop, no posttroll on either side: the ceiling the bridge is
 * compared with.
 *
 * Same JSON-lines protocol as bench/e2e/ts/igwn_peer.ts (`ready` / `connected` / `warm` /
 * `done` / `result` / `exit`, stdin `go` / `quit`).
 *
 * ```sh
 * deno run -A bench/e2e/ts/bridge_raw.ts pub    --broker 127.0.0.1:9092 --topic t --shape short
 * deno run -A bench/e2e/ts/bridge_raw.ts listen --broker 127.0.0.1:9092 --topic t
 * ```
 * `--sasl-user U --sasl-password P --ca FILE` connect with SASL_SSL (SCRAM-SHA-512) instead.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  Consumer,
  type Message as KafkaMessage,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from "@platformatic/kafka";
import { Message } from "../../../lib/posttroll/message.ts";
import { buildRecord } from "../../../lib/bridge/record.ts";
import {
  Commands,
  cpuSeconds,
  emit,
  emitResult,
  finishSending,
  nowUs,
  pace,
  parseArgs,
  pipelined,
  rawKafkaOptions,
  runArgs,
  shapeArgs,
  sleep,
} from "./_common.ts";

const { role, opts } = parseArgs(Deno.args);
const topic = opts.topic;
const shape = opts.shape ?? "short";
const { count, seconds, rate, warmCount, idle } = runArgs(opts, {
  count: 10_000,
  seconds: 5,
  idle: 5,
});
const enc = new TextEncoder();
const dec = new TextDecoder();

function shapeMessage(name: string, extra?: Record<string, unknown>): Message {
  const s = shapeArgs(name);
  const data = s.data && typeof s.data === "object" && !Array.isArray(s.data)
    ? { ...(s.data as Record<string, unknown>), ...extra }
    : s.data;
  return new Message(s.subject, s.type, data);
}

type KafkaRecord = { topic: string; key: Buffer; value: Buffer; headers: Map<Buffer, Buffer> };

function record(m: Message): KafkaRecord {
  const raw = enc.encode(m.encode());
  const r = buildRecord(raw, m.subject, m.type, "a");
  const headers = new Map<Buffer, Buffer>();
  for (const [k, v] of r.headers) headers.set(Buffer.from(k), Buffer.from(v));
  return { topic, key: Buffer.from(r.key), value: Buffer.from(r.value), headers };
}

async function runPub(): Promise<void> {
  const cmds = new Commands();
  const producer = new Producer(rawKafkaOptions(opts, "bench-bridge-raw"));
  await producer.metadata({ topics: [topic] });
  const send = (messages: KafkaRecord[]) => producer.send({ acks: ProduceAcks.ALL, messages });
  const warm = record(new Message("/bench/warmup", "info", "w"));
  const end = record(new Message("/bench/end", "info", "e"));
  emit({ event: "ready" });
  await cmds.warmUntilGo(() => send([warm]), 100);
  const cpu0 = cpuSeconds();
  const latency = rate > 0;
  const lat = latency ? "file_event" : shape;
  let sent = 0;
  let tStart: number;
  const size = enc.encode(shapeMessage(lat).encode()).length;
  if (latency) {
    tStart = nowUs();
    const p0 = performance.now();
    for (let i = 0; i < warmCount + count; i++) {
      await pace(p0, i, rate);
      await send([record(shapeMessage(lat, { sent_us: nowUs() }))]);
      sent++;
    }
  } else {
    // a fresh record (message, identity, headers) for each, as the bridge builds them
    const m = shapeMessage(shape);
    const deadline = performance.now() + seconds * 1000;
    tStart = nowUs();
    sent = await pipelined(
      count,
      500,
      4,
      (n) => Array.from({ length: n }, () => record(m)),
      send,
      () => performance.now() < deadline,
    );
  }
  const done = { sent, t_start_us: tStart, t_end_us: nowUs(), bytes: size };
  await finishSending(
    cmds,
    { ...done, cpu_s: cpuSeconds() - cpu0 },
    () => send([end]),
    200,
    60_000,
  );
  await producer.close();
}

async function runListen(): Promise<void> {
  const latency = rate > 0;
  let warm = false, arrivals = 0, received = 0, first = 0, last = 0, done = false;
  let activity = performance.now();
  let cpu0 = NaN;
  const lat: number[] = [];
  const consumer = new Consumer({
    ...rawKafkaOptions(opts, "bench-bridge-raw"),
    groupId: `bench-raw-${crypto.randomUUID()}`,
    maxWaitTime: 100,
  });
  const finish = async () => {
    if (done) return;
    done = true;
    emitResult({ received, first, last }, latency ? lat : undefined, {
      cpu_s: cpuSeconds() - cpu0,
    });
    await Promise.race([consumer.close(true).catch(() => {}), sleep(3000)]);
    Deno.exit(0);
  };
  const warmPrefix = "pytroll://bench/warmup ";
  const endPrefix = "pytroll://bench/end ";
  const key = '"sent_us": ';
  const started = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (warm && now - activity > idle * 1000) finish();
    if (!warm && now - started > 120_000) finish();
  }, 200);
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.LATEST });
  emit({ event: "connected" });
  for await (const m of stream) {
    const t = nowUs();
    activity = performance.now();
    const v = (m as KafkaMessage).value as Buffer | undefined;
    if (!v) continue;
    // the record value is the posttroll message itself (hop's blob format)
    const head = dec.decode(v.subarray(0, 32));
    if (head.startsWith(warmPrefix)) {
      if (!warm) {
        warm = true;
        cpu0 = cpuSeconds();
        emit({ event: "warm" });
      }
      continue;
    }
    if (head.startsWith(endPrefix)) {
      await finish();
      return;
    }
    arrivals++;
    if (latency && arrivals <= warmCount) continue;
    received++;
    if (!first) first = t;
    last = t;
    if (latency) {
      const text = dec.decode(v);
      const i = text.indexOf(key) + key.length;
      lat.push(t - Number(text.slice(i, i + 16)));
    }
  }
}

if (role === "pub") await runPub();
else await runListen();

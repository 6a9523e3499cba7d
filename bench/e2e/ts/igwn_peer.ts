/**
 * igwn-alert publisher / listener peer of the end-to-end bench (Deno side), same protocol as
 * bench/e2e/py/igwn_peer.py.
 *
 * --impl raw: @platformatic/kafka's producer / consumer used directly, with the records hop writes
 * (value = JSON string literal of the alert text, headers `_id` 16 random bytes and
 * `_format: json`), no decoding: the ceiling.
 * --impl ours: our igwn-alert client (lib/igwn_alert/).
 *
 * @module
 */
// the client library (and node:buffer: ~4.5 MiB of RSS for Node compatibility) is imported by the
// raw peers only: our peers' memory is measured without them
import type { Buffer } from "node:buffer";
import type { Message } from "@platformatic/kafka";
import {
  alertText,
  Commands,
  emit,
  emitResult,
  finishSending,
  nowUs,
  pace,
  parseArgs,
  pipelined,
  rawKafkaOptions,
  runArgs,
  SENT_PLACEHOLDER,
} from "./_common.ts";
import { oursListen, oursPublisher } from "./_igwn_ours.ts";

const { role, opts } = parseArgs(Deno.args);
const broker = opts.broker;
const group = opts.group ?? "bench";
const topic = opts.topic;
const size = Number(opts.size ?? 1024);
const { count, seconds, rate, warmCount, idle } = runArgs(opts, {
  count: 1000,
  seconds: 10,
  idle: 5,
});
const impl = opts.impl ?? "raw";
const cutoff = Number(opts.cutoff ?? 0);
const kafkaTopic = `${group}.${topic}`;

/** What a publisher implementation offers the bench. */
export interface BenchPublisher {
  /** Publishes one alert text (resolves when queued or sent, as the implementation does). */
  publish(text: string): Promise<void>;
  /** Publishes many alert texts as fast as the implementation allows. */
  publishMany(texts: string[]): Promise<void>;
  /** Waits until everything published has been acknowledged. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

async function rawPublisher(): Promise<BenchPublisher> {
  const { Producer, ProduceAcks } = await import("@platformatic/kafka");
  const { Buffer } = await import("node:buffer");
  const producer = new Producer(rawKafkaOptions(opts, "bench-raw"));
  const record = (text: string) => ({
    topic: kafkaTopic,
    value: Buffer.from(JSON.stringify(text)),
    headers: new Map([
      [Buffer.from("_id"), Buffer.from(crypto.getRandomValues(new Uint8Array(16)))],
      [Buffer.from("_format"), Buffer.from("json")],
    ]),
  });
  const send = (texts: string[]) =>
    producer.send({ acks: ProduceAcks.ALL, messages: texts.map(record) });
  return await producer.metadata({ topics: [kafkaTopic] }).then(() => ({
    async publish(text: string) {
      await send([text]);
    },
    async publishMany(texts: string[]) {
      // one produce request per ~900 kB (the broker refuses record batches over ~1 MB)
      // and up to 4 requests in flight
      const per = Math.max(1, Math.min(500, Math.floor(900_000 / (texts[0]?.length || 1))));
      let at = 0;
      await pipelined(texts.length, per, 4, (n) => texts.slice(at, at += n), send);
    },
    async flush() {},
    async close() {
      await producer.close();
    },
  }));
}

async function runPub(): Promise<void> {
  const cmds = new Commands();
  const perCall = opts["per-call"] === "true";
  const pub = impl === "raw"
    ? await rawPublisher()
    : await oursPublisher(broker, group, topic, perCall);
  const warm = alertText("warmup", 200);
  const end = alertText("end", 200);
  emit({ event: "ready" });
  await cmds.warmUntilGo(async () => {
    await pub.publish(warm);
    await pub.flush();
  }, 100);
  const text = alertText("new", size);
  const [head, tail] = text.split(SENT_PLACEHOLDER);
  let sent = 0;
  let tStart: number;
  if (rate > 0) {
    tStart = nowUs();
    const p0 = performance.now();
    for (let i = 0; i < warmCount + count; i++) {
      await pace(p0, i, rate);
      await pub.publish(head + String(nowUs()) + tail);
      sent++;
    }
  } else {
    const deadline = performance.now() + seconds * 1000;
    tStart = nowUs();
    const chunk = 1000;
    while (sent < count && performance.now() < deadline) {
      const n = Math.min(chunk, count - sent);
      await pub.publishMany(Array.from({ length: n }, () => text));
      sent += n;
    }
  }
  await pub.flush();
  const done = {
    sent,
    t_start_us: tStart,
    t_end_us: nowUs(),
    bytes: new TextEncoder().encode(text).length,
  };
  await finishSending(
    cmds,
    done,
    async () => {
      await pub.publish(end);
      await pub.flush();
    },
    200,
    60_000,
  );
  await pub.close();
}

async function runListen(): Promise<void> {
  const latency = rate > 0;
  let warm = false, arrivals = 0, received = 0, first = 0, last = 0, firstMono = 0, cut = false;
  let activity = performance.now();
  const lat: number[] = [];
  let done = false;
  let stop: () => Promise<void> = async () => {};
  const finish = async () => {
    if (done) return;
    done = true;
    emitResult({ received, first, last }, latency ? lat : undefined, { cut });
    await Promise.race([stop().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
    Deno.exit(0);
  };
  // `text` is the alert text (ours) or the raw record value (raw: JSON string literal)
  const onAlert = (text: string, escaped: boolean) => {
    const t = nowUs();
    activity = performance.now();
    const prefix = escaped ? '"{\\"alert_type\\": \\"' : '{"alert_type": "';
    if (text.startsWith(prefix + "warmup")) {
      if (!warm) {
        warm = true;
        emit({ event: "warm" });
      }
      return;
    }
    if (text.startsWith(prefix + "end")) {
      finish();
      return;
    }
    arrivals++;
    if (latency && arrivals <= warmCount) return;
    received++;
    if (!first) {
      first = t;
      firstMono = performance.now();
    }
    last = t;
    if (latency) {
      const key = escaped ? 'sent_us\\": ' : '"sent_us": ';
      const i = text.indexOf(key) + key.length;
      lat.push(t - Number(text.slice(i, i + 16)));
    }
  };
  const started = performance.now();
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (warm && now - activity > idle * 1000) finish();
    if (!warm && now - started > 120_000) finish();
    if (cutoff && firstMono && now - firstMono > cutoff * 1000) {
      cut = true;
      finish();
    }
  }, 200);
  void watchdog;
  if (impl === "raw") {
    const { Consumer, MessagesStreamModes } = await import("@platformatic/kafka");
    const consumer = new Consumer({
      ...rawKafkaOptions(opts, "bench-raw"),
      groupId: `bench-raw-${crypto.randomUUID()}`,
      maxWaitTime: 200,
      maxBytesPerPartition: 8 * 1024 * 1024,
    });
    const stream = await consumer.consume({
      topics: [kafkaTopic],
      mode: MessagesStreamModes.LATEST,
    });
    stop = async () => {
      await stream.close();
      await consumer.close(true);
    };
    emit({ event: "connected" });
    for await (const m of stream) {
      const v = (m as Message).value as Buffer | undefined;
      onAlert(v ? v.toString() : "", true);
    }
  } else {
    stop = await oursListen(broker, group, topic, (text) => onAlert(text, false));
    emit({ event: "connected" });
  }
}

if (role === "pub") await runPub();
else await runListen();

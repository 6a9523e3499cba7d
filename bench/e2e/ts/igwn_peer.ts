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
import { Buffer } from "node:buffer";
import {
  Consumer,
  type Message,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from "@platformatic/kafka";
import {
  alertText,
  Commands,
  emit,
  nowUs,
  parseArgs,
  SENT_PLACEHOLDER,
  vmHwmKb,
} from "./_common.ts";
import { oursListen, oursPublisher } from "./_igwn_ours.ts";

const { role, opts } = parseArgs(Deno.args);
const broker = opts.broker;
const group = opts.group ?? "bench";
const topic = opts.topic;
const size = Number(opts.size ?? 1024);
const count = Number(opts.count ?? 1000);
const seconds = Number(opts.seconds ?? 10);
const rate = Number(opts.rate ?? 0);
const warmCount = Number(opts.warm ?? 0);
const idle = Number(opts.idle ?? 5);
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

function rawPublisher(): Promise<BenchPublisher> {
  const producer = new Producer({ clientId: "bench-raw", bootstrapBrokers: [broker] });
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
  return producer.metadata({ topics: [kafkaTopic] }).then(() => ({
    async publish(text: string) {
      await send([text]);
    },
    async publishMany(texts: string[]) {
      // one produce request per ~900 kB (the broker refuses record batches over ~1 MB)
      // and up to 4 requests in flight
      const per = Math.max(1, Math.min(500, Math.floor(900_000 / (texts[0]?.length || 1))));
      const inFlight = new Set<Promise<unknown>>();
      for (let i = 0; i < texts.length; i += per) {
        const p = send(texts.slice(i, i + per));
        inFlight.add(p);
        p.finally(() => inFlight.delete(p));
        if (inFlight.size >= 4) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
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
  while (!cmds.goSeen) {
    await pub.publish(warm);
    await pub.flush();
    await Promise.race([cmds.go, new Promise((r) => setTimeout(r, 100))]);
  }
  const text = alertText("new", size);
  const [head, tail] = text.split(SENT_PLACEHOLDER);
  let sent = 0;
  let tStart: number;
  if (rate > 0) {
    const total = warmCount + count;
    const period = 1000 / rate;
    tStart = nowUs();
    const p0 = performance.now();
    for (let i = 0; i < total; i++) {
      const delay = p0 + i * period - performance.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
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
  const tEnd = nowUs();
  emit({
    event: "done",
    sent,
    t_start_us: tStart,
    t_end_us: tEnd,
    bytes: new TextEncoder().encode(text).length,
  });
  const limit = Date.now() + 60_000;
  while (!cmds.quitSeen && Date.now() < limit) {
    await pub.publish(end);
    await pub.flush();
    await Promise.race([cmds.quit, new Promise((r) => setTimeout(r, 200))]);
  }
  emit({ event: "exit", vmhwm_kb: vmHwmKb() });
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
    const result: Record<string, unknown> = {
      event: "result",
      received,
      t_first_us: first,
      t_last_us: last,
      cut,
      vmhwm_kb: vmHwmKb(),
    };
    if (latency) result.latencies_us = lat;
    emit(result);
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
    const consumer = new Consumer({
      clientId: "bench-raw",
      bootstrapBrokers: [broker],
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

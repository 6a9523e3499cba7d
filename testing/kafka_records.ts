/**
 * Kafka-side helpers of the tests and benchmarks, on the project's own Kafka layer through the
 * harness broker's PLAINTEXT listener (no ACLs there): create topics, produce raw records, read a
 * topic back from its beginning, count records.
 *
 * @module
 */
import { type TopicSpec, withAdmin } from "../lib/kafka/admin.ts";
import { KafkaCluster } from "../lib/kafka/cluster.ts";
import { KafkaConsumer } from "../lib/kafka/consumer.ts";
import { KafkaProducer } from "../lib/kafka/producer.ts";
import type { KafkaBroker } from "./kafka.ts";

/** A record as read back from Kafka: key, value (null for a tombstone), headers in order. */
export interface RawRecord {
  partition: number;
  offset: string;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Array<[string, Uint8Array]>;
}

/** The broker's PLAINTEXT listener as a cluster of the Kafka layer (silent, unauthenticated). */
export function plainCluster(kafka: KafkaBroker | string, timeoutMs = 15_000): KafkaCluster {
  const address = typeof kafka === "string" ? kafka : kafka.plaintext;
  return new KafkaCluster({
    url: `kafka://${address}/`,
    noauth: true,
    clientId: "tests",
    timeoutMs,
  });
}

/** Creates topics (names, with `partitions` partitions, or full specs) and waits for leaders. */
export async function createTopics(
  kafka: KafkaBroker,
  topics: Array<string | TopicSpec>,
  partitions = 1,
): Promise<void> {
  await withAdmin(
    plainCluster(kafka),
    "create topics",
    (a) => a.createTopics(topics.map((t) => typeof t === "string" ? { topic: t, partitions } : t)),
  );
}

/** Every topic on the broker. */
export function listTopics(kafka: KafkaBroker): Promise<string[]> {
  return withAdmin(plainCluster(kafka), "list topics", (a) => a.listTopics());
}

/** Records in a topic (sum over its partitions of high - low watermark), per partition too. */
export async function recordCount(
  kafka: KafkaBroker,
  topic: string,
): Promise<{ total: number; partitions: number[] }> {
  return await withAdmin(plainCluster(kafka), "count", async (a) => {
    const high = await a.offsets([topic], "latest");
    const low = await a.offsets([topic], "earliest");
    const parts = (await a.partitions(topic)).map((p) =>
      Number(high.get(`${topic}:${p}`)! - low.get(`${topic}:${p}`)!)
    );
    return { total: parts.reduce((x, y) => x + y, 0), partitions: parts };
  });
}

/** The sum of a topic's high watermarks (offsets written so far). */
export async function highWatermark(kafka: KafkaBroker, topic: string): Promise<number> {
  const high = await withAdmin(plainCluster(kafka), "offsets", (a) => a.offsets([topic], "latest"));
  return [...high.values()].reduce((n, o) => n + Number(o), 0);
}

const enc = new TextEncoder();
const bytes = (v: string | Uint8Array | null | undefined): Uint8Array | null =>
  v === null || v === undefined ? null : typeof v === "string" ? enc.encode(v) : v;

/** Produces records as given (a null value is a tombstone) and waits for their acknowledgement. */
export async function produceRecords(
  kafka: KafkaBroker,
  topic: string,
  records: Array<{
    key?: string | Uint8Array | null;
    value: string | Uint8Array | null;
    headers?: Record<string, string>;
  }>,
): Promise<void> {
  await using producer = new KafkaProducer(plainCluster(kafka), { autocreateTopics: true });
  await Promise.all(records.map((r) =>
    producer.send({
      topic,
      key: bytes(r.key),
      value: bytes(r.value),
      headers: Object.entries(r.headers ?? {}).map(([k, v]) => [k, enc.encode(v)]),
    })
  ));
}

/** Reads the first `count` records of a topic from the beginning (all partitions), copied. */
export async function readRecords(
  kafka: KafkaBroker,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  if (count === 0) return out;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const copy = (b: Uint8Array | null) => (b === null ? null : new Uint8Array(b));
  try {
    await new KafkaConsumer(plainCluster(kafka), {
      groupId: `read-${crypto.randomUUID()}`,
      topics: [topic],
      start: "earliest",
      maxWaitMs: 100,
      dedupCapacity: 0,
      signal: stop.signal,
    }).run((r) => {
      out.push({
        partition: r.partition,
        offset: String(r.offset),
        key: copy(r.key),
        value: copy(r.value),
        headers: r.headers.map(([k, v]) => [k, new Uint8Array(v)]),
      });
      if (out.length >= count) stop.abort();
    });
  } finally {
    clearTimeout(timer);
  }
  if (out.length < count) throw new Error(`only ${out.length}/${count} records in ${topic}`);
  return out.slice(0, count);
}

// Idempotent delivery of the Kafka layer's producer (lib/kafka/producer.ts): with five batches in
// flight, a broker SIGKILLed and restarted mid-stream must end up holding every record exactly once
// and in the order sent (the records on the broker are read back, without any consumer-side
// duplicate suppression).
import { assert, assertEquals } from "@std/assert";
import { KafkaProducer } from "../../lib/kafka/producer.ts";
import { murmur2 } from "../../lib/kafka/produce_request.ts";
import { KafkaOptionError } from "../../lib/kafka/errors.ts";
import { startKafka } from "../../testing/kafka.ts";
import {
  createTopics,
  highWatermark,
  plainCluster,
  readRecords,
} from "../../testing/kafka_records.ts";
import { until } from "../../testing/net.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("idempotent producer: 5 batches in flight through a broker SIGKILL and restart, every record once and in order", async () => {
  await using kafka = await startKafka();
  const topic = `idem-${crypto.randomUUID()}`;
  await createTopics(kafka, [topic], 2);
  const COUNT = 3000;
  // a key for each of the two partitions (murmur2, as the producer places keyed records)
  const partitionOf = (k: Uint8Array) => (murmur2(k) & 0x7fffffff) % 2;
  const candidates = Array.from({ length: 8 }, (_, i) => enc.encode(`key-${i}`));
  const keys = [0, 1].map((p) => candidates.find((k) => partitionOf(k) === p)!);
  let retried = 0;
  const producer = new KafkaProducer(plainCluster(kafka, 4000), {
    maxInFlight: 5,
    // small batches: many requests in flight when the broker dies
    maxBatchBytes: 8_000,
    maxQueueBytes: 200_000,
    deliveryTimeoutMs: 120_000,
    onRetry: () => void retried++,
  });
  assert(producer.idempotent);
  await producer.connect([topic]);
  assert(producer.producerId !== undefined);
  const acked: number[] = [];
  const failures: unknown[] = [];
  const sends: Promise<void>[] = [];
  const sending = (async () => {
    for (let n = 0; n < COUNT; n++) {
      // two keys, one per partition: each partition's records must keep their order
      const key = keys[n % 2];
      const value = enc.encode(JSON.stringify({ n, pad: "x".repeat(500) }));
      sends.push(
        producer.send({ topic, key, value, headers: [] }).then(
          () => void acked.push(n),
          (e) => void failures.push(e),
        ),
      );
      // a steady stream, so that the crash finds requests in flight
      if (n % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await until(() => acked.length >= 500 || undefined, {
      timeoutMs: 30_000,
      what: "records before the crash",
    });
    await kafka.kill();
    await new Promise((r) => setTimeout(r, 300));
    await kafka.restart();
    await sending;
    await Promise.all(sends);
  } finally {
    await sending.catch(() => {});
    await producer.close();
  }
  assertEquals(failures, [], "no record failed (deadline 120 s)");
  assertEquals(acked.length, COUNT);
  assert(retried > 0, "the crash interrupted requests in flight");
  const written = await highWatermark(kafka, topic);
  assertEquals(written, COUNT, "each record written once (a resent batch is not written again)");
  const records = await readRecords(kafka, topic, written, 60_000);
  const byPartition = new Map<number, number[]>();
  for (const r of records) {
    const n = (JSON.parse(dec.decode(r.value!)) as { n: number }).n;
    const list = byPartition.get(r.partition) ?? [];
    list.push(n);
    byPartition.set(r.partition, list);
  }
  for (const [partition, ns] of byPartition) {
    const parity = ns[0] % 2;
    const want = Array.from({ length: COUNT / 2 }, (_, i) => 2 * i + parity);
    const dups = ns.filter((n, i) => ns.indexOf(n) !== i);
    const backwards = ns.filter((n, i) => i > 0 && n < ns[i - 1]);
    const missing = want.filter((n) => !ns.includes(n));
    assertEquals(
      { dups, backwards, missing, count: ns.length },
      { dups: [], backwards: [], missing: [], count: COUNT / 2 },
      `partition ${partition}: every record once, in the order sent`,
    );
    assertEquals(ns, want);
  }
  assertEquals(byPartition.size, 2);
});

Deno.test("idempotent producer: more than 5 batches in flight is refused at construction", () => {
  let error: unknown;
  try {
    new KafkaProducer(plainCluster("127.0.0.1:9"), { maxInFlight: 6 });
  } catch (e) {
    error = e;
  }
  assert(error instanceof KafkaOptionError, String(error));
  assert(String(error).includes("maxInFlight"), String(error));
  // without idempotence any bound is accepted (batches then go one at a time)
  new KafkaProducer(plainCluster("127.0.0.1:9"), { maxInFlight: 6, idempotent: false });
});

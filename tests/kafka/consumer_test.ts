// The Kafka layer's consumer (lib/kafka/consumer.ts) with a small read-ahead bound: records
// fetched while the handler is busy wait in the record stream (the library stops fetching at the
// bound and fetches again below it); every record must still reach the handler once, in order,
// one at a time, and the group's committed offset must end at the last record handled.
import { assert, assertEquals } from "@std/assert";
import { KafkaConsumer } from "../../lib/kafka/consumer.ts";
import { KafkaProducer } from "../../lib/kafka/producer.ts";
import { withAdmin } from "../../lib/kafka/admin.ts";
import { startKafka } from "../../testing/kafka.ts";
import { createTopics, plainCluster } from "../../testing/kafka_records.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("consumer: records beyond the read-ahead bound arrive once, in order, one at a time, committed", async () => {
  await using kafka = await startKafka();
  const cluster = plainCluster(kafka);
  const topic = `feed-${crypto.randomUUID()}`;
  await createTopics(kafka, [topic]);
  const COUNT = 600;
  {
    await using producer = await new KafkaProducer(cluster).connect([topic]);
    await Promise.all(
      Array.from(
        { length: COUNT },
        (_, n) => producer.send({ topic, value: enc.encode(String(n)), headers: [] }),
      ),
    );
  }
  const got: number[] = [];
  let busy = false;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 60_000);
  try {
    await new KafkaConsumer(cluster, {
      groupId: topic,
      topics: [topic],
      start: "earliest",
      maxWaitMs: 100,
      // a few records per fetch response already exceed it
      highWaterMark: 4,
      signal: stop.signal,
    }).run(async (r) => {
      assert(!busy, "the handler was called while it was still handling a record");
      busy = true;
      const n = Number(dec.decode(r.value!));
      // a slow handler now and then: the fetched records pile up behind it
      if (n % 50 === 0) await new Promise((res) => setTimeout(res, 20));
      else if (n % 7 === 0) await Promise.resolve();
      got.push(n);
      busy = false;
      // stopped once this handler returned (a record whose handler is cut short is not committed)
      if (got.length === COUNT) setTimeout(() => stop.abort(), 0);
    });
  } finally {
    clearTimeout(timer);
  }
  assertEquals(got, Array.from({ length: COUNT }, (_, n) => n));
  const committed = await withAdmin(
    cluster,
    "committed",
    (a) => a.committedOffsets(topic, [topic]),
  );
  assertEquals([...committed.values()], [BigInt(COUNT)]);
});

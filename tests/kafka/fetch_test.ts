// The consumer's own wire path (lib/kafka/wire/records.ts, consumer_apis.ts, lib/kafka/group.ts):
// record batches as the harness broker wrote them (uncompressed, gzip by the topic's
// compression.type, snappy by a Python producer: a typed error), transactions from a Python
// transactional producer (control batches and the aborted transaction skipped), the range and
// roundrobin assignors, and consumer groups: two of our consumers sharing partitions, ours beside a
// Python (librdkafka, as hop) consumer, and a rebalance while records flow without loss.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { withAdmin } from "../../lib/kafka/admin.ts";
import type { KafkaCluster } from "../../lib/kafka/cluster.ts";
import { type ConsumedRecord, KafkaConsumer } from "../../lib/kafka/consumer.ts";
import { KafkaProducer } from "../../lib/kafka/producer.ts";
import { ProducerWire } from "../../lib/kafka/wire/client.ts";
import {
  CONSUMER_API,
  encodeSubscription,
  fetchRequest,
  parseFetch,
  parseSubscription,
  rangeAssign,
  roundRobinAssign,
} from "../../lib/kafka/wire/consumer_apis.ts";
import {
  type DecodedRecords,
  decodeRecordBatches,
  UnsupportedCompressionError,
} from "../../lib/kafka/wire/records.ts";
import { type KafkaBroker, startKafka } from "../../testing/kafka.ts";
import { createTopics, plainCluster } from "../../testing/kafka_records.ts";
import { python, PythonProcess } from "../../testing/python.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The raw record set of partition 0 of a topic from offset 0 (one Fetch). */
async function fetchRaw(
  kafka: KafkaBroker,
  topic: string,
): Promise<{ records: Uint8Array; aborted: Array<{ producerId: bigint; firstOffset: bigint }> }> {
  const wire = new ProducerWire({
    brokers: [kafka.plaintext],
    clientId: "tests",
    connectTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
  });
  try {
    const leaders = await wire.metadata([topic], false, true);
    const conn = await wire.broker(leaders.get(topic)!.leaders[0]);
    const res = await wire.call(
      conn,
      CONSUMER_API.Fetch,
      "Fetch",
      (v) =>
        fetchRequest(v, {
          maxWaitMs: 100,
          maxBytes: 1 << 20,
          partitionMaxBytes: 1 << 20,
          parts: [{ topic, partition: 0, offset: 0n }],
        }),
      parseFetch,
    );
    const p = res.partitions[0];
    assertEquals(p.errorCode, 0);
    return { records: p.records, aborted: p.aborted };
  } finally {
    wire.close();
  }
}

/** Batch attributes (codec, control flag) of each batch in a record set. */
function batchAttributes(records: Uint8Array): number[] {
  const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const out: number[] = [];
  for (let at = 0; at + 61 <= records.length; at += 12 + v.getInt32(at + 8)) {
    out.push(v.getInt16(at + 21));
  }
  return out;
}

async function decoded(
  records: Uint8Array,
  aborted: Array<{ producerId: bigint; firstOffset: bigint }> = [],
  from = 0n,
): Promise<DecodedRecords> {
  return await decodeRecordBatches(records, from, aborted, { topic: "t", partition: 0 });
}

async function produce(cluster: KafkaCluster, topic: string, values: string[]): Promise<void> {
  await using producer = await new KafkaProducer(cluster).connect([topic]);
  await Promise.all(values.map((v, i) =>
    producer.send({
      topic,
      key: i % 2 ? enc.encode(`k${i}`) : null,
      value: enc.encode(v),
      headers: [["_id", enc.encode(`id-${v}`)], ["n", enc.encode(String(i))]],
    })
  ));
}

Deno.test("record batches as the broker wrote them: plain, gzip, snappy (typed error), transactions", async (t) => {
  await using kafka = await startKafka();
  const cluster = plainCluster(kafka);

  await t.step("uncompressed and gzip (the topic's compression.type) decode alike", async () => {
    const plain = `plain-${crypto.randomUUID()}`, gz = `gzip-${crypto.randomUUID()}`;
    await withAdmin(cluster, "create", (a) =>
      a.createTopics([
        { topic: plain, partitions: 1 },
        { topic: gz, partitions: 1, configs: { "compression.type": "gzip" } },
      ]));
    const values = Array.from({ length: 20 }, (_, i) => `value ${i} `.repeat(i + 1));
    await produce(cluster, plain, values);
    await produce(cluster, gz, values);
    for (const [topic, codec] of [[plain, 0], [gz, 1]] as const) {
      const raw = await fetchRaw(kafka, topic);
      const attrs = batchAttributes(raw.records);
      assert(attrs.length > 0 && attrs.every((a) => (a & 7) === codec), `${topic}: ${attrs}`);
      const got = await decoded(raw.records);
      assertEquals(got.records.map((r) => dec.decode(r.value!)), values);
      assertEquals(got.records.map((r) => r.offset), values.map((_, i) => BigInt(i)));
      assertEquals(got.nextOffset, BigInt(values.length));
      assertEquals(got.records[1].key, enc.encode("k1"));
      assertEquals(got.records[0].key, null);
      assertEquals(
        got.records[3].headers.map(([k, v]) => [dec.decode(k), dec.decode(v)]),
        [["_id", `id-${values[3]}`], ["n", "3"]],
      );
      assert(Math.abs(got.records[0].timestamp - Date.now()) < 120_000);
      // from a later offset inside the batch
      const later = await decoded(raw.records, [], 15n);
      assertEquals(later.records.map((r) => r.offset), [15n, 16n, 17n, 18n, 19n]);
      // a batch cut off at the end is left for the next fetch
      const cut = await decoded(raw.records.subarray(0, raw.records.length - 1));
      assert(cut.records.length < values.length);
      assertEquals(cut.nextOffset, BigInt(cut.records.length));
    }
    // the consumer reads the gzip topic too
    const got: string[] = [];
    const stop = new AbortController();
    await new KafkaConsumer(cluster, {
      groupId: gz,
      topics: [gz],
      start: "earliest",
      signal: stop.signal,
    }).run((r) => {
      got.push(dec.decode(r.value!));
      if (got.length === values.length) stop.abort();
    });
    assertEquals(got, values);
  });

  await t.step("snappy from librdkafka: UnsupportedCompressionError naming the codec", async () => {
    const topic = `snappy-${crypto.randomUUID()}`;
    await createTopics(kafka, [topic]);
    await python(`
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": "${kafka.plaintext}", "compression.type": "snappy"})
for i in range(5):
    p.produce("${topic}", b"snappy value %d" % i * 10)
assert p.flush(10) == 0
`);
    const raw = await fetchRaw(kafka, topic);
    assert(batchAttributes(raw.records).every((a) => (a & 7) === 2));
    const e = await assertRejects(() => decoded(raw.records), UnsupportedCompressionError);
    assertEquals(e.codec, "snappy");
    assert(e.message.includes("snappy"), e.message);
  });

  await t.step("transactions: control batches and the aborted transaction skipped", async () => {
    const topic = `txn-${crypto.randomUUID()}`;
    await createTopics(kafka, [topic]);
    await python(`
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": "${kafka.plaintext}", "transactional.id": "${topic}"})
p.init_transactions(20)
for values, commit in ((["c1", "c2"], True), (["a1", "a2"], False), (["c3"], True)):
    p.begin_transaction()
    for v in values:
        p.produce("${topic}", v.encode())
    p.flush(10)
    if commit:
        p.commit_transaction(20)
    else:
        p.abort_transaction(20)
`);
    const raw = await fetchRaw(kafka, topic);
    const attrs = batchAttributes(raw.records);
    assertEquals(attrs.filter((a) => a & 0x20).length, 3, `control batches in ${attrs}`);
    assertEquals(raw.aborted.length, 1);
    const got = await decoded(raw.records, raw.aborted);
    assertEquals(got.records.map((r) => dec.decode(r.value!)), ["c1", "c2", "c3"]);
    // c1 c2 | marker | a1 a2 | marker | c3 | marker: 8 offsets
    assertEquals(got.nextOffset, 8n);
    // without the aborted list (read_uncommitted) the aborted records are there
    const all = await decoded(raw.records, []);
    assertEquals(all.records.map((r) => dec.decode(r.value!)), ["c1", "c2", "a1", "a2", "c3"]);
    // and the consumer hands over only the committed ones
    const seen: string[] = [];
    const stop = new AbortController();
    await new KafkaConsumer(cluster, {
      groupId: topic,
      topics: [topic],
      start: "earliest",
      signal: stop.signal,
    }).run((r) => {
      seen.push(dec.decode(r.value!));
      if (seen.length === 3) stop.abort();
    });
    assertEquals(seen, ["c1", "c2", "c3"]);
  });
});

Deno.test("assignors: range and roundrobin as Kafka's, subscriptions round-trip", () => {
  assertEquals(parseSubscription(encodeSubscription(["a", "b"])), ["a", "b"]);
  const members = new Map([["m2", ["t", "u"]], ["m1", ["t"]]]);
  const counts = new Map([["t", 5], ["u", 2]]);
  const range = rangeAssign(members, counts);
  assertEquals(range.get("m1")!.get("t"), [0, 1, 2]);
  assertEquals(range.get("m2")!.get("t"), [3, 4]);
  assertEquals(range.get("m2")!.get("u"), [0, 1]);
  const rr = roundRobinAssign(members, counts);
  const all = [...rr.values()].flatMap((m) =>
    [...m].flatMap(([t, ps]) => ps.map((p) => `${t}${p}`))
  );
  assertEquals(all.sort(), ["t0", "t1", "t2", "t3", "t4", "u0", "u1"]);
  assertEquals(rr.get("m1")!.get("u"), undefined);
});

/** A consumer run in the background, its records and a way to stop it. */
function background(cluster: KafkaCluster, groupId: string, topic: string, name: string) {
  const stop = new AbortController();
  const got: Array<{ who: string; value: string; partition: number }> = [];
  let ready!: () => void;
  const joined = new Promise<void>((r) => (ready = r));
  const done = new KafkaConsumer(cluster, {
    groupId,
    topics: [topic],
    start: "earliest",
    maxWaitMs: 100,
    sessionTimeoutMs: 6000,
    signal: stop.signal,
    onContact: () => ready(),
  }).run((r: ConsumedRecord) => {
    got.push({ who: name, value: dec.decode(r.value!), partition: r.partition });
  });
  return { stop, got, done, joined };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("consumer groups: two of ours share partitions; a rebalance while records flow loses none", async () => {
  await using kafka = await startKafka();
  const cluster = plainCluster(kafka);
  const topic = `shared-${crypto.randomUUID()}`;
  await createTopics(kafka, [topic], 4);
  const a = background(cluster, topic, topic, "a");
  await a.joined;
  const values: string[] = [];
  await using producer = await new KafkaProducer(cluster).connect([topic]);
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const v = `r${values.length}`;
      values.push(v);
      await producer.send({ topic, value: enc.encode(v), headers: [["_id", enc.encode(v)]] });
    }
  };
  await send(100);
  await until(() => a.got.length >= 100, 20_000, "a reads the first 100");
  // b joins while records flow: a gives up half the partitions
  const b = background(cluster, topic, topic, "b");
  const flowing = send(300);
  await b.joined;
  await flowing;
  // under load the rebalance can end after a read all 300: b reads once more records come
  for (let i = 0; b.got.length === 0; i++) {
    if (i === 300) throw new Error(`b read nothing (a read ${a.got.length})`);
    await send(4);
    await new Promise((r) => setTimeout(r, 100));
  }
  await send(100);
  await until(() => a.got.length + b.got.length >= values.length, 30_000, "all 500 read");
  // a leaves: b takes its partitions
  a.stop.abort();
  await a.done;
  await send(100);
  await until(() => a.got.length + b.got.length >= values.length, 30_000, "all 600 read");
  b.stop.abort();
  await b.done;
  const all = [...a.got, ...b.got];
  assertEquals(new Set(all.map((r) => r.value)).size, values.length, "no loss");
  assertEquals(all.length, values.length, "no duplicates");
  // records 400-499 were sent once both were members: each read its own partitions
  const idx = (r: { value: string }) => Number(r.value.slice(1));
  const aParts = new Set(
    a.got.filter((r) => idx(r) >= 400 && idx(r) < 500).map((r) => r.partition),
  );
  const bParts = new Set(
    b.got.filter((r) => idx(r) >= 400 && idx(r) < 500).map((r) => r.partition),
  );
  assertEquals(aParts.size + bParts.size, 4, `a read ${[...aParts]}, b ${[...bParts]}`);
  assert([...aParts].every((p) => !bParts.has(p)), `a read ${[...aParts]}, b ${[...bParts]}`);
});

Deno.test("consumer groups: ours beside a Python (librdkafka, as hop) consumer in one group", async () => {
  await using kafka = await startKafka();
  const cluster = plainCluster(kafka);
  const topic = `mixed-${crypto.randomUUID()}`;
  await createTopics(kafka, [topic], 4);
  await using py = PythonProcess.spawn(`
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": "${kafka.plaintext}", "group.id": "${topic}",
              "auto.offset.reset": "earliest", "enable.auto.commit": True,
              "session.timeout.ms": 6000})
def assigned(consumer, parts):
    print("assigned", ",".join(str(p.partition) for p in parts), flush=True)
c.subscribe(["${topic}"], on_assign=assigned)
while True:
    m = c.poll(0.1)
    if m is not None and not m.error():
        print("got", m.value().decode(), flush=True)
        if m.value() == b"end":
            break
c.close()
`);
  const first = await py.waitForLine((l) => l.startsWith("assigned"), 30_000);
  assertEquals(first, "assigned 0,1,2,3");
  const ours = background(cluster, topic, topic, "ours");
  await ours.joined;
  // the group rebalances: Python gives up half
  const second = await py.waitForLine((l) => l.startsWith("assigned"), 30_000);
  const pyParts = second.slice("assigned ".length).split(",").filter(Boolean).map(Number);
  assertEquals(pyParts.length, 2, second);
  const values = Array.from({ length: 200 }, (_, i) => `v${i}`);
  await using producer = await new KafkaProducer(cluster).connect([topic]);
  await Promise.all(values.map((v) => producer.send({ topic, value: enc.encode(v), headers: [] })));
  await until(() => ours.got.length > 0, 20_000, "ours reads");
  const pyGot: string[] = [];
  const count = () => ours.got.length + pyGot.length;
  while (count() < values.length) {
    const l = await py.readLine(20_000);
    if (l.startsWith("got ")) pyGot.push(l.slice(4));
  }
  ours.stop.abort();
  await ours.done;
  assertEquals([...ours.got.map((r) => r.value), ...pyGot].sort(), [...values].sort());
  assert(ours.got.every((r) => !pyParts.includes(r.partition)), "ours read only its partitions");
  assert(pyGot.length > 0, "Python read its share");
});

// The Kafka layer's own Produce requests (lib/kafka/produce_request.ts): read back with the client
// library's protocol reader (no broker), then written to the harness broker at every version from
// 3 to 11 and read back with the library's consumer.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { Buffer } from "node:buffer";
import { crc32c, murmur2 as libraryMurmur2, Reader, readRecordsBatch } from "@platformatic/kafka";
import {
  type EncodableRecord,
  encodeProduceRequest,
  murmur2,
  type PartitionBatch,
} from "../../lib/kafka/produce_request.ts";
import { KafkaProducer } from "../../lib/kafka/producer.ts";
import { startKafka } from "../../testing/kafka.ts";
import { createTopics, plainCluster, readRecords } from "../../testing/kafka_records.ts";

const enc = new TextEncoder();
const crc = (b: Uint8Array) => crc32c(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function sampleRecords(n: number, seed: number): EncodableRecord[] {
  const out: EncodableRecord[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i + seed) % 5;
    out.push({
      key: k === 0 ? null : enc.encode(`key-${i}-${"k".repeat(k * 40)}`),
      value: k === 1
        ? null
        : k === 2
        ? new Uint8Array()
        : enc.encode(`value ${i} ` + "v".repeat(i * 37)),
      headers: k === 3 ? [] : [
        ["_id", crypto.getRandomValues(new Uint8Array(16))],
        ["_format", enc.encode("json")],
        ["é-name", new Uint8Array()],
        ["_format", enc.encode("blob")],
      ],
    });
  }
  return out;
}

const bytes = (b: Uint8Array | null | undefined) =>
  b === null || b === undefined ? null : new Uint8Array(b);

Deno.test("produce request: read back by the client library's protocol reader, versions 3-11", () => {
  const batches: PartitionBatch[] = [
    { topic: "alpha", partition: 0, records: sampleRecords(7, 0) },
    { topic: "beta", partition: 2, records: sampleRecords(1, 3) },
    { topic: "alpha", partition: 1, records: sampleRecords(300, 1) },
  ];
  for (let version = 3; version <= 11; version++) {
    const flexible = version >= 9;
    const body = encodeProduceRequest(batches, {
      version,
      acks: -1,
      timeoutMs: 12345,
      timestamp: 1700000000123,
      crc32c: crc,
    });
    const r = Reader.from(Buffer.from(body));
    assertEquals(r.readNullableString(flexible), null);
    assertEquals(r.readInt16(), -1);
    assertEquals(r.readInt32(), 12345);
    const seen: Array<[string, number, EncodableRecord[]]> = [];
    r.readArray(
      (t) => {
        const topic = t.readString(flexible);
        t.readArray(
          (p) => {
            const partition = p.readInt32();
            const size = flexible ? p.readUnsignedVarInt() - 1 : p.readInt32();
            const start = p.position;
            const batch = readRecordsBatch(p);
            assertEquals(p.position - start, size, `v${version} batch size`);
            assertEquals(batch.magic, 2);
            assertEquals(batch.attributes, 0);
            assertEquals(batch.firstTimestamp, 1700000000123n);
            assertEquals(batch.producerId, -1n);
            assertEquals(batch.lastOffsetDelta, batch.records.length - 1);
            // the CRC covers everything from the attributes on
            assertEquals(
              batch.crc,
              crc(body.subarray(start + 21, start + size)),
              `v${version} crc`,
            );
            const records = batch.records.map((rec, i) => {
              assertEquals(rec.offsetDelta, i);
              assertEquals(rec.timestampDelta, 0n);
              return {
                key: bytes(rec.key),
                value: bytes(rec.value),
                headers: rec.headers.map((
                  [k, v],
                ) => [new TextDecoder().decode(k!), bytes(v)!] as [string, Uint8Array]),
              } as EncodableRecord;
            });
            seen.push([topic, partition, records]);
          },
          flexible,
          flexible,
        );
      },
      flexible,
      flexible,
    );
    if (flexible) assertEquals(r.readUnsignedVarInt(), 0);
    assertEquals(r.remaining, 0, `v${version}: nothing after the request`);
    // topics grouped in the order they first appear
    assertEquals(seen.map(([t, p]) => `${t}:${p}`), ["alpha:0", "alpha:1", "beta:2"]);
    const want = [batches[0], batches[2], batches[1]].map((b) =>
      b.records.map((x) => ({
        key: bytes(x.key),
        value: bytes(x.value),
        headers: x.headers.map(([k, v]) => [k, new Uint8Array(v)] as [string, Uint8Array]),
      }))
    );
    assertEquals(seen.map(([, , recs]) => recs), want);
  }
  assertThrows(() => encodeProduceRequest([], { ...opts(), version: 2 }), RangeError);
  assertThrows(() => encodeProduceRequest([], { ...opts(), version: 12 }), RangeError);
});

function opts() {
  return { version: 11, acks: -1, timeoutMs: 1, timestamp: 0, crc32c: crc };
}

Deno.test("murmur2 equals the client library's (Java's) for keys of every length", () => {
  for (let len = 0; len < 70; len++) {
    for (let seed = 0; seed < 20; seed++) {
      const key = new Uint8Array(len);
      for (let i = 0; i < len; i++) key[i] = (i * 131 + seed * 71 + len) & 0xff;
      assertEquals(murmur2(key) & 0x7fffffff, libraryMurmur2(Buffer.from(key)) & 0x7fffffff);
    }
  }
  // a short key hashed as the library (and Java) does
  assertEquals(
    murmur2(enc.encode("21")) & 0x7fffffff,
    libraryMurmur2(Buffer.from("21")) & 0x7fffffff,
  );
});

Deno.test("KafkaProducer writes what the broker takes, at every Produce version from 3 to 11", async () => {
  await using kafka = await startKafka();
  for (let version = 3; version <= 11; version++) {
    const topic = `produce.v${version}`;
    await createTopics(kafka, [topic], 3);
    const records = sampleRecords(40, version).map((r, i) => ({ ...r, topic, i }));
    {
      await using producer = new KafkaProducer(plainCluster(kafka), {
        maxProduceVersion: version,
        maxBatchBytes: 4000,
      });
      await Promise.all(records.map((r) => producer.send(r)));
    }
    const back = await readRecords(kafka, topic, records.length);
    const key = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : "");
    // every record once; keyed ones on murmur2's partition; order kept within a partition
    for (let p = 0; p < 3; p++) {
      const got = back.filter((r) => r.partition === p);
      const sent = records.filter((r) =>
        r.key ? (libraryMurmur2(Buffer.from(r.key)) & 0x7fffffff) % 3 === p : true
      );
      for (const g of got) {
        const i = records.findIndex((r) =>
          bytes(r.value)?.join() === g.value?.join() &&
          key(r.key) === key(g.key) && !("seen" in r)
        );
        assert(i >= 0, `v${version}: unexpected record on partition ${p}`);
        assert(sent.includes(records[i]), `v${version}: record ${i} on the wrong partition ${p}`);
        assertEquals(g.headers, records[i].headers.map(([k, v]) => [k, new Uint8Array(v)]));
        Object.assign(records[i], { seen: p });
      }
      const order = records.filter((r) => (r as { seen?: number }).seen === p).map((r) => r.i);
      assertEquals(order, [...order].sort((a, b) => a - b), `v${version}: order on ${p}`);
    }
    assertEquals(records.filter((r) => !("seen" in r)).length, 0, `v${version}: all read back`);
  }
});

Deno.test("KafkaProducer refuses a Produce version it cannot write", () => {
  for (const v of [2, 12, 3.5, NaN]) {
    assertThrows(() => new KafkaProducer(plainCluster("127.0.0.1:1"), { maxProduceVersion: v }));
  }
});

Deno.test("produce request: written into a given (reused, dirty) buffer, the same bytes", () => {
  const batches: PartitionBatch[] = [
    { topic: "alpha", partition: 0, records: sampleRecords(40, 2) },
    { topic: "beta", partition: 1, records: sampleRecords(3, 4) },
  ];
  for (const version of [3, 9, 11]) {
    const o = { ...opts(), version, timestamp: 1700000000123 };
    const fresh = encodeProduceRequest(batches, o);
    // memory of an earlier request: larger than needed and full of other bytes
    const kept = new ArrayBuffer(fresh.length + 4096);
    new Uint8Array(kept).fill(0xa5);
    const reused = encodeProduceRequest(batches, {
      ...o,
      buffer: (size) => new Uint8Array(kept, 0, size),
    });
    assertEquals(reused.buffer, kept);
    assertEquals(reused, fresh);
    assertThrows(
      () => encodeProduceRequest(batches, { ...o, buffer: (size) => new Uint8Array(size + 1) }),
      RangeError,
    );
  }
});

/**
 * Partition offsets by position (ListOffsets to each partition's leader over the own wire
 * path): the end, the start, or the first record at or after a time (the end where there is
 * none).
 *
 * @module
 */
import { KafkaProtocolError } from "./errors.ts";
import type { ProducerWire } from "./wire/client.ts";
import {
  CONSUMER_API,
  listOffsetsRequest,
  parseListOffsets,
  type TopicPartitions,
} from "./wire/consumer_apis.ts";
import { errorName, retriableCode } from "./wire/error_codes.ts";

/** Where in a partition: its end, its start, or the first record at or after a time (ms). */
export type Position = "latest" | "earliest" | number;

/**
 * The offsets of a position in some partitions.
 *
 * @param wire the cluster's client
 * @param parts partitions by topic
 * @param at the position
 * @returns offsets by `topic:partition`
 * @throws KafkaProtocolError (retriable for leader changes), UnknownTopicError,
 *   BrokerConnectionError
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { listOffsets } from "./offsets.ts";
 * import { ProducerWire } from "./wire/client.ts";
 * import { withAdmin } from "./admin.ts";
 * import { KafkaCluster } from "./cluster.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const topic = `offsets-${crypto.randomUUID()}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "create", (a) => a.createTopics([{ topic, partitions: 1 }]));
 * const wire = new ProducerWire({
 *   brokers: [broker], clientId: "x", connectTimeoutMs: 5000, requestTimeoutMs: 5000,
 * });
 * try {
 *   const got = await listOffsets(wire, new Map([[topic, [0]]]), "latest");
 *   assertEquals(got.get(`${topic}:0`), 0n);
 * } finally {
 *   wire.close();
 * }
 * ```
 */
export async function listOffsets(
  wire: ProducerWire,
  parts: TopicPartitions,
  at: Position,
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (parts.size === 0) return out;
  const leaders = await wire.metadata([...parts.keys()], false, true);
  const byLeader = new Map<number, TopicPartitions>();
  for (const [t, ps] of parts) {
    for (const p of ps) {
      const node = leaders.get(t)?.leaders[p] ?? -1;
      const m = byLeader.get(node) ?? new Map<string, number[]>();
      m.set(t, [...(m.get(t) ?? []), p]);
      byLeader.set(node, m);
    }
  }
  const timestamp = at === "latest" ? -1n : at === "earliest" ? -2n : BigInt(Math.floor(at));
  const missing = new Map<string, number[]>();
  await Promise.all([...byLeader].map(async ([node, ask]) => {
    const conn = await wire.broker(node);
    const answer = await wire.call(
      conn,
      CONSUMER_API.ListOffsets,
      "ListOffsets",
      (v) => listOffsetsRequest(v, ask, timestamp),
      parseListOffsets,
    );
    for (const p of answer) {
      if (p.errorCode !== 0) {
        throw new KafkaProtocolError(
          p.errorCode,
          errorName(p.errorCode),
          retriableCode(p.errorCode),
          `ListOffsets of ${p.topic} partition ${p.partition}`,
          { topic: p.topic },
        );
      }
      if (p.offset < 0n) missing.set(p.topic, [...(missing.get(p.topic) ?? []), p.partition]);
      else out.set(`${p.topic}:${p.partition}`, p.offset);
    }
  }));
  if (missing.size > 0) {
    // no record at or after the time: the end
    for (const [k, off] of await listOffsets(wire, missing, "latest")) out.set(k, off);
  }
  return out;
}

/**
 * Administrative requests with a deadline: topics, their offsets, a consumer group's committed
 * offsets. {@linkcode withAdmin} connects, runs the requests (retrying what the broker calls
 * retriable, e.g. "coordinator is loading" right after a start), bounds the whole by the cluster's
 * `timeoutMs`, maps failures to typed errors and always disconnects. The {@linkcode KafkaAdmin}
 * it hands out speaks in plain values; the client library's objects stay inside.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import { kafkaLibrary } from "./_library.ts";
import { sleep, withTimeout } from "../_util/abort.ts";
import type { KafkaCluster } from "./cluster.ts";
import { BrokerConnectionError, errorTree, isRetriable } from "./errors.ts";

/** A topic to create. */
export interface TopicSpec {
  /** The name. */
  topic: string;
  /** Partitions (-1: the broker's default). @default -1 */
  partitions?: number;
  /** Replication factor (-1: the broker's default). @default -1 */
  replicas?: number;
  /** Topic configuration, e.g. `{ "max.message.bytes": "3000" }`. */
  configs?: Record<string, string>;
}

/** Where in a partition: its end, its start, or the first record at or after a time (ms). */
export type OffsetPosition = "latest" | "earliest" | number;

/** Offsets by `topic:partition`. */
export type PartitionOffsets = Map<string, bigint>;

/**
 * `topic:partition`, the key of {@linkcode PartitionOffsets}.
 *
 * @param topic the topic
 * @param partition the partition
 * @returns the key
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { partitionKey } from "./admin.ts";
 * assertEquals(partitionKey("t", 0), "t:0");
 * ```
 */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** Administrative requests on one connected cluster (see {@linkcode withAdmin}). */
export class KafkaAdmin {
  readonly #admin: Admin;

  /**
   * Wraps a connected admin client.
   *
   * @param admin the client library's admin
   * @ignore
   */
  constructor(admin: Admin) {
    this.#admin = admin;
  }

  /**
   * Names of the topics the credential may see (internal topics excluded).
   *
   * @returns topic names
   */
  listTopics(): Promise<string[]> {
    return this.#admin.listTopics();
  }

  /**
   * Creates topics and waits until they have leaders; topics that exist already are left alone.
   * A topic another client created in the meantime (the controller answers "already exists"
   * before the broker serves it) is waited for too, so producing to it right after works.
   *
   * @param specs the topics
   * @returns the names of the topics this call created
   */
  async createTopics(specs: TopicSpec[]): Promise<string[]> {
    const existing = new Set(await this.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    const created: string[] = [];
    const raced: string[] = [];
    for (const s of missing) {
      try {
        await this.#admin.createTopics({
          topics: [s.topic],
          partitions: s.partitions ?? -1,
          replicas: s.replicas ?? -1,
          configs: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
        created.push(s.topic);
      } catch (e) {
        if (!errorTree(e).some((x) => x.apiId === "TOPIC_ALREADY_EXISTS")) throw e;
        raced.push(s.topic);
      }
    }
    if (created.length + raced.length > 0) await this.#waitForLeaders([...created, ...raced]);
    return created;
  }

  async #waitForLeaders(topics: string[]): Promise<void> {
    for (let i = 0; i < 100; i++) {
      try {
        const md = await this.#admin.metadata({ topics, forceUpdate: true });
        if (topics.every((t) => md.topics.get(t)?.partitions.every((p) => p.leader >= 0))) return;
      } catch (e) {
        if (!isRetriable(e) && !errorTree(e).some((x) => /Unknown topic/.test(x.message ?? ""))) {
          throw e;
        }
      }
      await sleep(50);
    }
  }

  /**
   * The partitions of a topic.
   *
   * @param topic the topic
   * @returns partition numbers, ascending
   * @throws UnknownTopicError (once mapped) for a topic that does not exist
   */
  async partitions(topic: string): Promise<number[]> {
    const md = await this.#admin.metadata({ topics: [topic], forceUpdate: true });
    const count = md.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: count }, (_, i) => i);
  }

  /**
   * The offset of a position in every partition of the topics: the end (`"latest"`, the next
   * offset to be written), the start, or the first record at or after a time (the end when
   * there is none).
   *
   * @param topics the topics
   * @param at the position
   * @returns offsets by `topic:partition`
   */
  async offsets(topics: string[], at: OffsetPosition): Promise<PartitionOffsets> {
    const request = [];
    for (const topic of topics) {
      const timestamp = at === "latest" ? -1n : at === "earliest" ? -2n : BigInt(Math.floor(at));
      request.push({
        name: topic,
        partitions: (await this.partitions(topic)).map((partitionIndex) => ({
          partitionIndex,
          timestamp,
        })),
      });
    }
    const out: PartitionOffsets = new Map();
    if (request.length === 0) return out;
    const listed = await this.#admin.listOffsets({ topics: request });
    const missing: string[] = [];
    for (const t of listed) {
      for (const p of t.partitions) {
        if (p.offset < 0n) missing.push(partitionKey(t.name, p.partitionIndex));
        else out.set(partitionKey(t.name, p.partitionIndex), p.offset);
      }
    }
    if (missing.length > 0) {
      // no record at or after the time: start at the end
      const ends = await this.offsets([
        ...new Set(missing.map((k) => k.slice(0, k.lastIndexOf(":")))),
      ], "latest");
      for (const k of missing) out.set(k, ends.get(k) ?? 0n);
    }
    return out;
  }

  /**
   * A consumer group's committed offsets in the topics' partitions (-1 where none).
   *
   * @param groupId the group
   * @param topics the topics
   * @returns offsets by `topic:partition`
   */
  async committedOffsets(groupId: string, topics: string[]): Promise<PartitionOffsets> {
    const out: PartitionOffsets = new Map();
    const wanted = [];
    for (const name of topics) {
      const partitionIndexes = await this.partitions(name);
      for (const p of partitionIndexes) out.set(partitionKey(name, p), -1n);
      wanted.push({ name, partitionIndexes });
    }
    if (wanted.length === 0) return out;
    const [group] = await this.#admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: wanted }],
    });
    for (const t of group?.topics ?? []) {
      for (const p of t.partitions) {
        out.set(partitionKey(t.name, p.partitionIndex), p.committedOffset);
      }
    }
    return out;
  }

  /**
   * Commits offsets for a consumer group that has no active member (a new group's start
   * position).
   *
   * @param groupId the group
   * @param offsets offsets by `topic:partition`
   */
  async commitOffsets(groupId: string, offsets: PartitionOffsets): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const [key, offset] of offsets) {
      const i = key.lastIndexOf(":");
      const topic = key.slice(0, i);
      const list = byTopic.get(topic) ?? [];
      list.push({ partition: Number(key.slice(i + 1)), offset });
      byTopic.set(topic, list);
    }
    if (byTopic.size === 0) return;
    await this.#admin.alterConsumerGroupOffsets({
      groupId,
      topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
    });
  }
}

/** Whether the broker answered with an error it marks as transient. */
function brokerSaysRetry(e: unknown): boolean {
  const tree = errorTree(e);
  return tree.some((x) => x.apiId !== undefined && x.canRetry === true) &&
    !tree.some((x) => x.code === "PLT_KFK_AUTHENTICATION");
}

/**
 * Runs `fn` with an admin connection to the cluster: retriable failures are retried until the
 * deadline (`cluster.timeoutMs` for the whole), failures come out typed (`AuthError`,
 * `BrokerConnectionError`, `UnknownTopicError`), and the connection is always closed.
 *
 * @param cluster the cluster
 * @param what the operation's name, for errors and logs
 * @param fn the requests
 * @returns what `fn` returns
 * @throws AuthError, BrokerConnectionError, UnknownTopicError, or `fn`'s own error
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { KafkaCluster } from "./cluster.ts";
 * import { withAdmin } from "./admin.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * const topic = `admin-${crypto.randomUUID()}`;
 * await withAdmin(cluster, "create a topic", (a) => a.createTopics([{ topic, partitions: 2 }]));
 * const topics = await withAdmin(cluster, "list topics", (a) => a.listTopics());
 * assert(topics.includes(topic));
 * ```
 */
export async function withAdmin<T>(
  cluster: KafkaCluster,
  what: string,
  fn: (admin: KafkaAdmin) => Promise<T>,
): Promise<T> {
  const broker = cluster.broker;
  const ms = cluster.timeoutMs;
  const options = { ...cluster.clientOptions(cluster.credential()), timeout: ms };
  const { Admin } = await kafkaLibrary();
  const admin = new Admin(options);
  const deadline = performance.now() + ms;
  try {
    return await withTimeout(
      (async () => {
        const facade = new KafkaAdmin(admin);
        while (true) {
          try {
            return await fn(facade);
          } catch (e) {
            // only what the broker itself calls transient (coordinator loading, leader moving);
            // a refused or failed connection is reported at once
            if (!brokerSaysRetry(e) || performance.now() > deadline - 300) {
              throw cluster.mapError(e);
            }
            cluster.log("info", `${what}: retrying after ${(e as Error).message}`);
            await sleep(250);
          }
        }
      })(),
      ms,
      () =>
        new BrokerConnectionError(
          broker,
          `${what}: no answer from Kafka broker ${broker} within ${ms} ms`,
        ),
    );
  } finally {
    admin.close().catch(() => {});
  }
}

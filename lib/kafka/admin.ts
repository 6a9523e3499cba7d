/**
 * Administrative requests with a deadline: topics, their offsets, a consumer group's committed
 * offsets. {@linkcode withAdmin} connects, runs the requests (retrying what the broker calls
 * retriable, e.g. "coordinator is loading" right after a start), bounds the whole by the cluster's
 * `timeoutMs`, maps failures to typed errors and always disconnects. The {@linkcode KafkaAdmin}
 * it hands out speaks in plain values. Everything goes over the own wire path (`wire/`): the
 * client library (`@platformatic/kafka`) is never loaded.
 *
 * @module
 */
import { sleep, withTimeout } from "../_util/abort.ts";
import type { KafkaCluster } from "./cluster.ts";
import { BrokerConnectionError, errorTree, isRetriable, KafkaProtocolError } from "./errors.ts";
import { CONSUMER_API, createTopicsRequest, parseCreateTopics } from "./wire/consumer_apis.ts";
import { ErrorCode, errorName, retriableCode } from "./wire/error_codes.ts";
import { GroupMember } from "./group.ts";
import { listOffsets } from "./offsets.ts";
import type { ProducerWire } from "./wire/client.ts";

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
  readonly #wire: ProducerWire;
  readonly #timeoutMs: number;

  /**
   * Wraps a cluster's wire client.
   *
   * @param wire the client
   * @param timeoutMs how long the controller may take to create a topic
   * @ignore
   */
  constructor(wire: ProducerWire, timeoutMs: number) {
    this.#wire = wire;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Names of the topics the credential may see (internal topics excluded).
   *
   * @returns topic names
   */
  listTopics(): Promise<string[]> {
    return this.#wire.listTopics();
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
    if (missing.length > 0) {
      const answers = await this.#wire.call(
        await this.#wire.bootstrap(),
        CONSUMER_API.CreateTopics,
        "CreateTopics",
        () =>
          createTopicsRequest(
            missing.map((s) => ({
              name: s.topic,
              partitions: s.partitions ?? -1,
              replicas: s.replicas ?? -1,
              configs: Object.entries(s.configs ?? {}),
            })),
            this.#timeoutMs,
          ),
        parseCreateTopics,
      );
      for (const a of answers) {
        if (a.errorCode === 0) created.push(a.name);
        else if (a.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) raced.push(a.name);
        else {
          throw new KafkaProtocolError(
            a.errorCode,
            errorName(a.errorCode),
            retriableCode(a.errorCode),
            `CreateTopics of ${a.name}`,
            { topic: a.name, detail: a.errorMessage },
          );
        }
      }
    }
    if (created.length + raced.length > 0) await this.#waitForLeaders([...created, ...raced]);
    return created;
  }

  async #waitForLeaders(topics: string[]): Promise<void> {
    for (let i = 0; i < 100; i++) {
      try {
        await this.#wire.metadata(topics, false, true);
        return;
      } catch (e) {
        if (!isRetriable(e) && !errorTree(e).some((x) => /does not exist/.test(x.message ?? ""))) {
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
   * @throws UnknownTopicError for a topic that does not exist
   */
  async partitions(topic: string): Promise<number[]> {
    const md = await this.#wire.metadata([topic], false, true);
    const count = md.get(topic)?.leaders.length ?? 0;
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
    const parts = new Map<string, number[]>();
    for (const topic of topics) parts.set(topic, await this.partitions(topic));
    return await listOffsets(this.#wire, parts, at);
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
    const member = new GroupMember(this.#wire, { groupId, topics, sessionTimeoutMs: 0 });
    const parts = new Map(wanted.map((w) => [w.name, w.partitionIndexes]));
    for (const [k, off] of await member.committed(parts)) out.set(k, off);
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
    const list = [...offsets].map(([key, offset]) => {
      const i = key.lastIndexOf(":");
      return {
        topic: key.slice(0, i),
        partition: Number(key.slice(i + 1)),
        offset,
        leaderEpoch: -1,
      };
    });
    if (list.length === 0) return;
    const topics = [...new Set(list.map((c) => c.topic))];
    await new GroupMember(this.#wire, { groupId, topics, sessionTimeoutMs: 0 }).commit(list, true);
  }
}

/** Whether the broker answered with an error it marks as transient. */
function brokerSaysRetry(e: unknown): boolean {
  if (e instanceof KafkaProtocolError) return e.retriable;
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
  const wire = cluster.wire();
  const facade = new KafkaAdmin(wire, ms);
  const deadline = performance.now() + ms;
  try {
    return await withTimeout(
      (async () => {
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
    wire.close();
  }
}

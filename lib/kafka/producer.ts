/**
 * A Kafka producer with librdkafka-like batching (see {@linkcode PublishBatcher}): records sent
 * together share one produce request (acks -1, at most `maxBatchBytes`), `maxInFlight` requests
 * await their acknowledgement at once (1 keeps the order even across retries), each `send`
 * resolves when its own record is acknowledged, and at most `maxQueueBytes` of records are held
 * (later sends wait, in order, before their record is even built).
 *
 * Failures: a batch the broker refuses as too large is split (lowering the batch bound), so only
 * a record too large by itself fails ({@linkcode RecordTooLargeError}); connection loss and other
 * transient failures are retried, in order, until the record's `deliveryTimeoutMs` (counted from
 * its `send`) or {@linkcode KafkaProducer.close}'s deadline; authentication, TLS and unknown
 * topics fail at once. A retried request may have been written before its acknowledgement was
 * lost: the copy carries the same hop `_id`, by which the consumers of this layer drop it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Producer } from "@platformatic/kafka";
import { kafkaLibrary } from "./_library.ts";
import { sleep, withTimeout } from "../_util/abort.ts";
import { type BatchInfo, PublishBatcher, type PublishBatcherOptions } from "./batcher.ts";
import type { KafkaCluster } from "./cluster.ts";
import { BrokerConnectionError, isRetriable, isTooLarge, RecordTooLargeError } from "./errors.ts";

/** One record to produce. */
export interface ProducerRecord {
  /** The topic. */
  topic: string;
  /** The key (records with one key keep their order in one partition). @default null */
  key?: Uint8Array | null;
  /** The value. */
  value: Uint8Array | null;
  /** Headers, in order. */
  headers: Array<[string, Uint8Array]>;
}

/** Options of {@linkcode KafkaProducer}. */
export interface KafkaProducerOptions extends PublishBatcherOptions {
  /**
   * How long a record may take from `send` to its acknowledgement, retries included, in ms
   * (`Infinity`: until {@linkcode KafkaProducer.close}). @default the cluster's timeoutMs
   */
  deliveryTimeoutMs?: number;
  /** Let the broker create missing topics (if it is configured to). @default false */
  autocreateTopics?: boolean;
  /** Runs before each attempt with the batch's topics (e.g. to create them). */
  prepare?: (topics: string[]) => Promise<void>;
  /** Told about each failed attempt that will be retried. */
  onRetry?: (error: Error, attempt: number, records: number) => void;
}

/** A record as the batcher holds it. */
interface Held {
  record: ProducerRecord;
  bytes: number;
}

/** Kafka's acks -1: every in-sync replica (the library's `ProduceAcks.ALL`). */
const ACKS_ALL = -1;

const enc = new TextEncoder();
const headerNames = new Map<string, Buffer>();

function headerName(name: string): Buffer {
  let b = headerNames.get(name);
  if (!b) {
    b = Buffer.from(enc.encode(name));
    if (headerNames.size < 256) headerNames.set(name, b);
  }
  return b;
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Estimated size of a record in a produce request (value, key, headers, per-record overhead).
 *
 * @param r the record
 * @returns bytes
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { recordBytes } from "./producer.ts";
 * assertEquals(recordBytes({ topic: "t", value: new Uint8Array(100), headers: [] }), 132);
 * ```
 */
export function recordBytes(r: ProducerRecord): number {
  let bytes = (r.value?.byteLength ?? 0) + (r.key?.byteLength ?? 0) + 32;
  for (const [k, v] of r.headers) bytes += k.length + v.byteLength + 8;
  return bytes;
}

/**
 * Produces records to one cluster with batching, bounded memory and retries.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaCluster } from "./cluster.ts";
 * import { KafkaProducer } from "./producer.ts";
 * import { withAdmin } from "./admin.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * const topic = `events-${crypto.randomUUID()}`;
 * await withAdmin(cluster, "create the topic", (a) => a.createTopics([{ topic, partitions: 1 }]));
 * {
 *   await using producer = await new KafkaProducer(cluster).connect([topic]);
 *   await producer.send({ topic, value: new TextEncoder().encode("hi"), headers: [] }); // acked
 * }
 * const ends = await withAdmin(cluster, "offsets", (a) => a.offsets([topic], "latest"));
 * assertEquals(ends.get(`${topic}:0`), 1n); // one record in partition 0
 * ```
 */
export class KafkaProducer implements AsyncDisposable {
  readonly #cluster: KafkaCluster;
  readonly #opts: KafkaProducerOptions;
  readonly #batcher: PublishBatcher<Held>;
  readonly #deliveryMs: number;
  readonly #stop = new AbortController();
  #producer: Producer | undefined;
  #roundRobin = 0;
  #closing: Promise<void> | undefined;

  /**
   * Creates the producer; nothing connects until {@linkcode KafkaProducer.connect} or the first
   * {@linkcode KafkaProducer.send}.
   *
   * @param cluster where to produce
   * @param options batching, delivery deadline, hooks
   */
  constructor(cluster: KafkaCluster, options: KafkaProducerOptions = {}) {
    this.#cluster = cluster;
    this.#opts = options;
    this.#deliveryMs = options.deliveryTimeoutMs ?? cluster.timeoutMs;
    this.#batcher = new PublishBatcher<Held>(
      (items, info) => this.#sendBatch(items, info),
      options,
    );
  }

  /** The batcher's current batch bound in bytes (lowered after a batch was refused as too large). */
  get maxBatchBytes(): number {
    return this.#batcher.maxBatchBytes;
  }

  /** Bytes of records built and not yet acknowledged. */
  get heldBytes(): number {
    return this.#batcher.heldBytes;
  }

  /** Records sent and not yet settled. */
  get pending(): number {
    return this.#batcher.pending;
  }

  async #client(): Promise<Producer> {
    if (this.#producer) return this.#producer;
    const options = this.#cluster.clientOptions(this.#cluster.credential());
    const { compatibilityPartitioner, Producer } = await kafkaLibrary();
    this.#producer ??= new Producer({
      ...options,
      acks: ACKS_ALL,
      // keyed records go where Java clients (and kafkajs) put them (murmur2, made positive);
      // records without a key are spread round-robin
      partitioner: (message, key) =>
        key ? compatibilityPartitioner(message, key) : this.#roundRobin++ & 0x7fffffff,
      autocreateTopics: this.#opts.autocreateTopics ?? false,
      timeout: this.#cluster.timeoutMs,
    });
    return this.#producer;
  }

  /** Drops the client (its connections may be dead); closing it waits 2 s at most. */
  async #reset(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    if (p) await Promise.race([p.close(true).catch(() => {}), sleep(2000)]);
  }

  /**
   * Connects and checks the topics exist, so that wrong credentials, TLS problems, a dead broker
   * or a missing topic fail here, within the cluster's timeoutMs.
   *
   * @param topics topics to check
   * @returns this
   * @throws AuthError, BrokerConnectionError, UnknownTopicError
   */
  async connect(topics: string[] = []): Promise<this> {
    const broker = this.#cluster.broker;
    const ms = this.#cluster.timeoutMs;
    try {
      await withTimeout(
        this.#client().then((c) => c.metadata({ topics, forceUpdate: true })),
        ms,
        () =>
          new BrokerConnectionError(
            broker,
            `connect: no answer from Kafka broker ${broker} within ${ms} ms`,
          ),
      );
    } catch (e) {
      await this.#reset();
      throw this.#cluster.mapError(e);
    }
    return this;
  }

  /**
   * Queues one record; it leaves with the records queued at the same time.
   *
   * @param record the record, or a function building it once there is room in the queue
   * @returns resolves when the broker acknowledged the record
   * @throws BatcherClosedError after close; RecordTooLargeError; AuthError,
   *   BrokerConnectionError, UnknownTopicError when delivery failed
   */
  send(record: ProducerRecord | (() => ProducerRecord)): Promise<void> {
    return this.#batcher.push(() => {
      const r = typeof record === "function" ? record() : record;
      const bytes = recordBytes(r);
      return { item: { record: r, bytes }, bytes };
    });
  }

  /**
   * Sends what is queued without lingering and waits until every record sent so far settled.
   *
   * @returns when nothing is pending
   */
  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  /** The delivery deadline error of a batch. */
  #late(topics: string, ms: number): BrokerConnectionError {
    const broker = this.#cluster.broker;
    return new BrokerConnectionError(
      broker,
      `publish to ${topics}: not acknowledged by ${broker} within ${ms} ms`,
    );
  }

  #stopped(): BrokerConnectionError {
    const broker = this.#cluster.broker;
    return new BrokerConnectionError(
      broker,
      `not delivered to ${broker} before the shutdown deadline`,
    );
  }

  /** `p`, or a rejection once close()'s deadline passed. */
  #untilStopped<T>(p: Promise<T>): Promise<T> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.reject(this.#stopped());
    p.catch(() => {});
    let onAbort!: () => void;
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.#stopped());
      signal.addEventListener("abort", onAbort, { once: true });
    });
    return Promise.race([p, stopped]).finally(() => signal.removeEventListener("abort", onAbort));
  }

  /** One attempt: one produce request for the batch, within `ms`. */
  async #attempt(items: Held[], topics: string[], ms: number): Promise<void> {
    await this.#opts.prepare?.(topics);
    const messages = items.map(({ record: r }) => {
      const headers = new Map<Buffer, Buffer>();
      for (const [k, v] of r.headers) headers.set(headerName(k), toBuffer(v));
      return {
        topic: r.topic,
        key: r.key ? toBuffer(r.key) : undefined,
        value: r.value ? toBuffer(r.value) : undefined,
        headers,
      };
    });
    const client = await this.#client();
    await withTimeout(
      client.send({ messages, acks: ACKS_ALL }),
      ms,
      () => this.#late(topics.join(","), ms),
    );
  }

  /**
   * Sends a batch, retrying transient failures until the oldest record's deadline; a batch
   * refused as too large is split in halves (and the batch bound lowered) so only a record too
   * large by itself fails.
   */
  async #sendBatch(items: Held[], info: BatchInfo): Promise<void | unknown[]> {
    const topics = [...new Set(items.map((h) => h.record.topic))];
    const deadline = info.since + this.#deliveryMs;
    let attempt = 0;
    while (true) {
      const left = Math.min(deadline - performance.now(), this.#cluster.timeoutMs);
      if (left <= 0) throw this.#late(topics.join(","), this.#deliveryMs);
      try {
        await this.#untilStopped(this.#attempt(items, topics, left));
        return;
      } catch (e) {
        if (isTooLarge(e)) break;
        const err = this.#cluster.mapError(e);
        const transient = err instanceof BrokerConnectionError ? err.retriable : isRetriable(e);
        if (!transient || this.#stop.signal.aborted) throw err;
        const wait = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        if (performance.now() + wait >= deadline) throw err;
        attempt++;
        this.#opts.onRetry?.(err, attempt, items.length);
        await this.#reset();
        await sleep(wait, this.#stop.signal);
      }
    }
    if (items.length === 1) {
      throw new RecordTooLargeError(items[0].record.topic, items[0].bytes);
    }
    this.#batcher.maxBatchBytes = Math.max(
      1,
      Math.min(this.#batcher.maxBatchBytes, Math.floor(info.bytes / 2)),
    );
    this.#cluster.log(
      "info",
      `batch of ${items.length} records (${info.bytes} B) refused as too large by ` +
        `${topics.join(",")}; batches now up to ${this.#batcher.maxBatchBytes} B`,
    );
    const half = Math.ceil(items.length / 2);
    const outcomes: unknown[] = [];
    for (const part of [items.slice(0, half), items.slice(half)]) {
      // the batch's share of the refused size (what the bound is lowered from next)
      const bytes = Math.ceil((info.bytes * part.length) / items.length);
      try {
        const r = await this.#sendBatch(part, { bytes, since: info.since });
        outcomes.push(...(r ?? part.map(() => undefined)));
      } catch (e) {
        outcomes.push(...part.map(() => e));
      }
    }
    return outcomes;
  }

  /**
   * Refuses new records, keeps delivering what is queued for up to `timeoutMs` (then what is
   * left fails with a BrokerConnectionError), and disconnects. Idempotent.
   *
   * @param timeoutMs how long to keep delivering @default Infinity (each record's own deadline)
   * @returns when every record settled and the connections are closed
   */
  close(timeoutMs = Infinity): Promise<void> {
    this.#closing ??= (async () => {
      const timer = timeoutMs === Infinity
        ? undefined
        : setTimeout(() => this.#stop.abort(), timeoutMs);
      try {
        await this.#batcher.close();
      } finally {
        clearTimeout(timer);
        this.#stop.abort();
        await this.#reset();
      }
    })();
    return this.#closing;
  }

  /** Same as {@linkcode KafkaProducer.close} with each record's own deadline. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

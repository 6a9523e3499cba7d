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
import type { Connection, Producer } from "@platformatic/kafka";
import { type KafkaLibrary, kafkaLibrary } from "./_library.ts";
import { sleep, withTimeout } from "../_util/abort.ts";
import { type BatchInfo, PublishBatcher, type PublishBatcherOptions } from "./batcher.ts";
import type { KafkaCluster } from "./cluster.ts";
import {
  BrokerConnectionError,
  isRetriable,
  isTooLarge,
  KafkaOptionError,
  RecordTooLargeError,
} from "./errors.ts";
import {
  encodeProduceRequest,
  murmur2,
  type PartitionBatch,
  PRODUCE_VERSIONS,
} from "./produce_request.ts";

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
  /**
   * Highest Produce request version to use (3 to 11; the highest the broker also speaks is used).
   * @default 11
   */
  maxProduceVersion?: number;
}

/** A record as the batcher holds it. */
interface Held {
  record: ProducerRecord;
  bytes: number;
  /** Its partition, chosen at the first attempt and kept for the retries. */
  partition?: number;
  /** Acknowledged (by an attempt that failed for other partitions). */
  done?: boolean;
}

/** The records of one partition, for the encoder and with the batcher's entries. */
interface Destination {
  batch: PartitionBatch;
  held: Held[];
}

/** `topic\0partition` of the partitions a failed Produce response acknowledged anyway. */
function acknowledged(e: unknown): Set<string> {
  const out = new Set<string>();
  const responses = (e as {
    response?: { responses?: Array<{ name: string; partitionResponses?: PartitionResponse[] }> };
  })?.response?.responses;
  for (const t of responses ?? []) {
    for (const p of t.partitionResponses ?? []) {
      if (p.errorCode === 0) out.add(`${t.name}\0${p.index}`);
    }
  }
  return out;
}

interface PartitionResponse {
  index: number;
  errorCode: number;
}

/** Kafka's acks -1: every in-sync replica (the library's `ProduceAcks.ALL`). */
const ACKS_ALL = -1;

/** The topics of some records, for messages. */
function topicsOf(items: Held[]): string {
  return [...new Set(items.map((h) => h.record.topic))].join(",");
}

/** Kafka's Produce request. */
const PRODUCE_API_KEY = 0;

/** The library's producer and what this layer learnt about the cluster through it. */
interface Client {
  producer: Producer;
  library: KafkaLibrary;
  /** The Produce version both the broker and the encoder speak, once asked. */
  version?: number;
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
  #current: Client | undefined;
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
    const mv = options.maxProduceVersion;
    if (
      mv !== undefined &&
      (!Number.isInteger(mv) || mv < PRODUCE_VERSIONS.min || mv > PRODUCE_VERSIONS.max)
    ) {
      throw new KafkaOptionError(
        `maxProduceVersion must be an integer from ${PRODUCE_VERSIONS.min} to ` +
          `${PRODUCE_VERSIONS.max}, not ${mv}`,
      );
    }
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

  /**
   * The library's producer, for what it does well: connections (TLS, SASL), metadata and API
   * versions. The Produce requests themselves are written by this layer (`#produce`).
   */
  async #client(): Promise<Client> {
    if (this.#current) return this.#current;
    const options = this.#cluster.clientOptions(this.#cluster.credential());
    const library = await kafkaLibrary();
    this.#current ??= {
      library,
      producer: new library.Producer({
        ...options,
        acks: ACKS_ALL,
        autocreateTopics: this.#opts.autocreateTopics ?? false,
        timeout: this.#cluster.timeoutMs,
      }),
    };
    return this.#current;
  }

  /** Drops the client (its connections may be dead); closing it waits 2 s at most. */
  async #reset(): Promise<void> {
    const p = this.#current?.producer;
    this.#current = undefined;
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
        this.#client().then(async (c) => {
          await c.producer.metadata({ topics, forceUpdate: true });
          await this.#version(c);
        }),
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

  /**
   * One attempt: one Produce request per partition leader, within `ms`. The records of the
   * partitions acknowledged are marked `done` even when the attempt fails for others.
   */
  async #attempt(items: Held[], ms: number): Promise<void> {
    const topics = [...new Set(items.map((h) => h.record.topic))];
    await this.#opts.prepare?.(topics);
    await withTimeout(this.#produceAll(items, topics), ms, () => this.#late(topics.join(","), ms));
  }

  /** The Produce version to use: the highest the broker and the encoder both speak. */
  async #version(c: Client): Promise<number> {
    if (c.version !== undefined) return c.version;
    const apis = await c.producer.listApis();
    const produce = apis.find((a) => a.name === "Produce");
    const v = Math.min(
      produce?.maxVersion ?? -1,
      this.#opts.maxProduceVersion ?? PRODUCE_VERSIONS.max,
    );
    if (!produce || v < Math.max(produce.minVersion, PRODUCE_VERSIONS.min)) {
      throw new BrokerConnectionError(
        this.#cluster.broker,
        `the broker ${this.#cluster.broker} speaks Produce versions ` +
          `${produce?.minVersion}-${produce?.maxVersion}, this client ` +
          `${PRODUCE_VERSIONS.min}-${PRODUCE_VERSIONS.max}`,
        { retriable: false },
      );
    }
    c.version = v;
    return v;
  }

  /** Partitions the records (murmur2 of the key, else round-robin) and sends to each leader. */
  async #produceAll(items: Held[], topics: string[]): Promise<void> {
    const c = await this.#client();
    const version = await this.#version(c);
    const metadata = await c.producer.metadata({
      topics,
      autocreateTopics: this.#opts.autocreateTopics ?? false,
    });
    const byLeader = new Map<number, Map<string, Destination>>();
    for (const h of items) {
      const r = h.record;
      const t = metadata.topics.get(r.topic);
      if (!t || t.partitionsCount < 1) {
        throw new BrokerConnectionError(this.#cluster.broker, `no metadata for topic ${r.topic}`);
      }
      // keyed records go where Java clients (and kafkajs) put them (murmur2, made positive);
      // records without a key are spread round-robin; a retry keeps the partition
      let partition = h.partition;
      if (partition === undefined || partition >= t.partitionsCount) {
        partition =
          h.partition =
            (r.key ? murmur2(r.key) & 0x7fffffff : this.#roundRobin++ & 0x7fffffff) %
            t.partitionsCount;
      }
      const leader = t.partitions[partition]?.leader ?? -1;
      if (leader < 0) {
        throw new BrokerConnectionError(
          this.#cluster.broker,
          `partition ${partition} of ${r.topic} has no leader`,
        );
      }
      let parts = byLeader.get(leader);
      if (!parts) byLeader.set(leader, parts = new Map());
      const key = `${r.topic}\0${partition}`;
      const d = parts.get(key);
      if (d) {
        d.batch.records.push(r);
        d.held.push(h);
      } else parts.set(key, { batch: { topic: r.topic, partition, records: [r] }, held: [h] });
    }
    const leaders = [...byLeader.keys()];
    const connections = await c.producer.connectToBrokers(leaders);
    const outcomes = await Promise.allSettled(leaders.map((leader) => {
      const connection = connections.get(leader);
      if (!connection) {
        throw new BrokerConnectionError(this.#cluster.broker, `no connection to broker ${leader}`);
      }
      const ds = [...byLeader.get(leader)!.values()];
      return this.#produce(c, connection, version, ds.map((d) => d.batch));
    }));
    let failure: unknown;
    outcomes.forEach((o, i) => {
      const ok = o.status === "fulfilled" ? undefined : acknowledged(o.reason);
      if (o.status === "rejected") failure ??= o.reason;
      for (const [key, d] of byLeader.get(leaders[i])!) {
        if (!ok || ok.has(key)) { for (const h of d.held) h.done = true; }
      }
    });
    if (failure !== undefined) throw failure;
  }

  /** One Produce request on one connection; resolves with the broker's acknowledgement. */
  #produce(
    c: Client,
    connection: Connection,
    version: number,
    batches: PartitionBatch[],
  ): Promise<void> {
    const lib = c.library;
    const body = encodeProduceRequest(batches, {
      version,
      acks: ACKS_ALL,
      timeoutMs: this.#cluster.timeoutMs,
      timestamp: Date.now(),
      // a plain array: the library's native CRC copies a Buffer argument through its iterator
      crc32c: (b) => lib.crc32c(b as Buffer),
    });
    const payload = lib.Writer.create().append(
      Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    );
    const parser = (lib as unknown as Record<string, { parseResponse: unknown }>)[
      `produceV${version}`
    ].parseResponse as Parameters<Connection["send"]>[3];
    // versions 9 and later carry tagged fields in the request and response headers
    const flexible = version >= 9;
    return new Promise<void>((resolve, reject) => {
      connection.send(
        PRODUCE_API_KEY,
        version,
        () => payload,
        parser,
        flexible,
        flexible,
        (error: unknown) => (error ? reject(error) : resolve()),
      );
    });
  }

  /**
   * Sends a batch, retrying transient failures until the oldest record's deadline; a batch
   * refused as too large is split in halves (and the batch bound lowered) so only a record too
   * large by itself fails.
   */
  async #sendBatch(items: Held[], info: BatchInfo): Promise<void | unknown[]> {
    const deadline = info.since + this.#deliveryMs;
    let attempt = 0;
    let pending = items;
    while (true) {
      pending = pending.filter((h) => !h.done);
      if (pending.length === 0) return;
      const left = Math.min(deadline - performance.now(), this.#cluster.timeoutMs);
      if (left <= 0) throw this.#late(topicsOf(pending), this.#deliveryMs);
      try {
        await this.#untilStopped(this.#attempt(pending, left));
        return;
      } catch (e) {
        if (isTooLarge(e)) break;
        const err = this.#cluster.mapError(e);
        const transient = err instanceof BrokerConnectionError ? err.retriable : isRetriable(e);
        if (!transient || this.#stop.signal.aborted) throw err;
        const wait = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        if (performance.now() + wait >= deadline) throw err;
        attempt++;
        this.#opts.onRetry?.(err, attempt, pending.filter((h) => !h.done).length);
        await this.#reset();
        await sleep(wait, this.#stop.signal);
      }
    }
    // refused as too large: what is not acknowledged yet goes again in halves
    const rest = pending.filter((h) => !h.done);
    if (rest.length === 0) return;
    // the refused size, shared out by record count (what the bound is lowered from)
    const restBytes = Math.ceil((info.bytes * rest.length) / items.length);
    if (rest.length === 1) throw new RecordTooLargeError(rest[0].record.topic, rest[0].bytes);
    this.#batcher.maxBatchBytes = Math.max(
      1,
      Math.min(this.#batcher.maxBatchBytes, Math.floor(restBytes / 2)),
    );
    this.#cluster.log(
      "info",
      `batch of ${rest.length} records (${restBytes} B) refused as too large by ` +
        `${topicsOf(rest)}; batches now up to ${this.#batcher.maxBatchBytes} B`,
    );
    const half = Math.ceil(rest.length / 2);
    const outcome = new Map<Held, unknown>();
    for (const part of [rest.slice(0, half), rest.slice(half)]) {
      const bytes = Math.ceil((restBytes * part.length) / rest.length);
      try {
        const r = await this.#sendBatch(part, { bytes, since: info.since });
        part.forEach((h, i) => outcome.set(h, r?.[i]));
      } catch (e) {
        for (const h of part) outcome.set(h, e);
      }
    }
    return items.map((h) => outcome.get(h));
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

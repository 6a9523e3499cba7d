/**
 * A Kafka producer with librdkafka-like batching (see {@linkcode PublishBatcher}): records sent
 * together share one produce request (acks -1, at most `maxBatchBytes`), up to `maxInFlight`
 * batches await their acknowledgement at once, each `send` resolves when its own record is
 * acknowledged, and at most `maxQueueBytes` of records are held (later sends wait, in order,
 * before their record is even built).
 *
 * Order: with more than one batch in flight the producer is idempotent (KIP-98, as Java's
 * `enable.idempotence`): it takes a producer id (InitProducerId) and numbers each partition's
 * records, so the broker writes batches only in that order and a resent batch only once; up to 5
 * batches may be in flight. Without a producer id (`idempotent: false`, or a broker that refuses
 * one) batches go one at a time. Retries always go in the order the batches were sent.
 *
 * Failures: a batch the broker refuses as too large is split (lowering the batch bound), so only
 * a record too large by itself fails ({@linkcode RecordTooLargeError}); connection loss and other
 * transient failures are retried, in order, until the record's `deliveryTimeoutMs` (counted from
 * its `send`) or {@linkcode KafkaProducer.close}'s deadline; authentication, TLS and unknown
 * topics fail at once. A record that failed leaves a gap in its partition's numbering: the
 * producer then takes a new producer id once every earlier batch settled and nothing is in
 * flight. Without a producer id a retried request may have been written before its
 * acknowledgement was lost: the copy carries the same hop `_id`, by which the consumers of this
 * layer drop it.
 *
 * Wire: the producer speaks Kafka itself (`wire/`: connections, TLS, SASL, ApiVersions, Metadata,
 * InitProducerId, Produce; CRC-32C in WebAssembly), so a publishing process never loads the
 * client library (~55 MiB of RSS); the consumer and the admin helper use the library.
 *
 * @module
 */
import { sleep, withTimeout } from "../_util/abort.ts";
import { ByteArena, type ByteMemory } from "../_util/byte_arena.ts";
import { type BatchInfo, PublishBatcher, type PublishBatcherOptions } from "./batcher.ts";
import type { KafkaCluster } from "./cluster.ts";
import {
  BrokerConnectionError,
  errorTree,
  isRetriable,
  isTooLarge,
  KafkaOptionError,
  RecordTooLargeError,
} from "./errors.ts";
import { WakeList } from "../_util/wake.ts";
import { API } from "./wire/apis.ts";
import { ProduceError, type ProducerWire } from "./wire/client.ts";
import type { BrokerConnection } from "./wire/connection.ts";
import { crc32c } from "./wire/crc32c.ts";
import {
  encodeProduceRequest,
  murmur2,
  type PartitionBatch,
  PRODUCE_VERSIONS,
  type ProducerIdentity,
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
  /**
   * Idempotent delivery: a producer id and per-partition sequence numbers in every batch, so
   * that several batches may be in flight (`maxInFlight` 2 to 5) without reordering or writing a
   * resent batch twice. When false (or when the broker refuses a producer id: no permission)
   * batches go one at a time whatever `maxInFlight` says. @default maxInFlight > 1
   */
  idempotent?: boolean;
}

/** Most batches in flight an idempotent producer may have (the broker remembers 5 per partition). */
export const MAX_IDEMPOTENT_IN_FLIGHT = 5;

/** A producer id and the next sequence number of each partition (one InitProducerId). */
interface Identity {
  producerId: bigint;
  epoch: number;
  /** Next sequence number by `topic\0partition`. */
  next: Map<string, number>;
  /** A record numbered under it failed (its partition has a gap): take a new one. */
  broken: boolean;
}

/**
 * Told that a record given to {@linkcode KafkaProducer.offer} settled: `error` is undefined when
 * the broker acknowledged it, else the error {@linkcode KafkaProducer.send} would reject with.
 */
export type RecordSettled = (record: ProducerRecord, error: Error | undefined) => void;

/** A record as the batcher holds it. */
class Held {
  record: ProducerRecord;
  bytes: number;
  /** Its partition, chosen at the first attempt and kept for the retries. */
  partition: number | undefined = undefined;
  /** Acknowledged (by an attempt that failed for other partitions). */
  done = false;
  /** The producer id it was numbered under (idempotent delivery), and its sequence number. */
  identity: Identity | undefined = undefined;
  seq = 0;
  /** The callback of an offer. */
  notify: RecordSettled | undefined;

  constructor(record: ProducerRecord, bytes: number, notify?: RecordSettled) {
    this.record = record;
    this.bytes = bytes;
    this.notify = notify;
  }
}

/** The batcher's callback for offered records: tells the offer's own. */
function settleHeld(h: Held, error: unknown): void {
  h.notify!(h.record, error as Error | undefined);
}

/** The records of one partition, for the encoder and with the batcher's entries. */
interface Destination {
  batch: PartitionBatch;
  held: Held[];
}

/**
 * `topic\0partition` of the partitions a failed Produce response acknowledged anyway (including
 * those that had written the batch before).
 */
function acknowledged(e: unknown): Set<string> {
  return e instanceof ProduceError ? e.acknowledged : new Set();
}

/** Errors of a partition whose batch came after a gap in its numbering. */
const OUT_OF_ORDER = "OUT_OF_ORDER_SEQUENCE_NUMBER";
/** Errors saying the broker no longer knows (or no longer accepts) the producer id. */
const LOST_IDENTITY = new Set([
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "PRODUCER_FENCED",
]);

/** What a failed attempt says about idempotent delivery. */
function sequenceFailure(e: unknown): "gap" | "lost" | undefined {
  let gap = false;
  for (const x of errorTree(e)) {
    if (x.apiId && LOST_IDENTITY.has(x.apiId)) return "lost";
    if (x.apiId === OUT_OF_ORDER) gap = true;
  }
  return gap ? "gap" : undefined;
}

/** Whether the broker refused a producer id for lack of permission. */
function refusedIdentity(e: unknown): boolean {
  return errorTree(e).some((x) =>
    x.apiId === "CLUSTER_AUTHORIZATION_FAILED" ||
    x.apiId === "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
  );
}

/**
 * Bytes per block of the producer's value memory ({@linkcode KafkaProducer.memory}; values above
 * a quarter of it get an array of their own).
 */
const VALUE_BLOCK = 1024 * 1024;

/** Requests from this size on are written into kept memory (smaller ones cost little). */
const POOLED_MIN = 64 * 1024;
/** Room beyond the batch bound for the request's framing (the bound counts records only). */
const POOLED_SLACK = 64 * 1024;

/** Kafka's acks -1: every in-sync replica. */
const ACKS_ALL = -1;

/** The topics of some records, for messages. */
function topicsOf(items: Held[]): string {
  return [...new Set(items.map((h) => h.record.topic))].join(",");
}

/** What one attempt used, and whether its caller gave up on it (timed out). */
interface Attempt {
  client?: Client;
  gone?: boolean;
}

/** One generation of the producer's connections and what it learnt about the cluster. */
interface Client {
  wire: ProducerWire;
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
  const headers = r.headers;
  // indexed: runs for every record (no iterator objects)
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    bytes += h[0].length + h[1].byteLength + 8;
  }
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
  /** Idempotent delivery wanted (off for good once the broker refused a producer id). */
  #idempotent: boolean;
  #identity: Identity | undefined;
  #identityInit: Promise<Identity | undefined> | undefined;
  /** Numbers of the batches handed over by the batcher and not settled, oldest first. */
  readonly #unsettled: number[] = [];
  #nextBatch = 0;
  /** Woken when a batch settles or a request returns. */
  readonly #turns = new WakeList();
  /** Produce requests written and not answered. */
  #requests = 0;
  /** Memory of answered large requests, written into again (no zero-filled megabyte each). */
  readonly #buffers: ArrayBuffer[] = [];
  readonly #memory: ByteArena;

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
    const inFlight = options.maxInFlight ?? 1;
    this.#idempotent = options.idempotent ?? inFlight > 1;
    if (this.#idempotent && inFlight > MAX_IDEMPOTENT_IN_FLIGHT) {
      throw new KafkaOptionError(
        `maxInFlight must be at most ${MAX_IDEMPOTENT_IN_FLIGHT} with idempotent delivery, ` +
          `not ${inFlight}`,
      );
    }
    this.#batcher = new PublishBatcher<Held>((items, info) => this.#sendOrdered(items, info), {
      ...options,
      maxInFlight: inFlight,
    });
    // what a full queue holds, kept for reuse
    const blocks = Math.ceil(this.#batcher.maxQueueBytes / VALUE_BLOCK) + 1;
    this.#memory = new ByteArena(VALUE_BLOCK, Math.min(blocks, 64));
  }

  /**
   * Memory for record values: a record built by a function given to
   * {@linkcode KafkaProducer.send} may take its value from it, and the producer gives it back once
   * the record settled (acknowledged or failed). Values held until Kafka acknowledged them then
   * reuse a few shared blocks instead of leaving an array per record to the garbage collector
   * (which frees such memory late: 64 KiB alerts, bench/README.md "igwn-alert publisher memory").
   */
  get memory(): ByteMemory {
    return this.#memory;
  }

  /** Blocks of {@linkcode KafkaProducer.memory} in use (the current one included). */
  get memoryBlocks(): number {
    return this.#memory.blocksInUse;
  }

  /** Whether batches carry a producer id and sequence numbers (so several may be in flight). */
  get idempotent(): boolean {
    return this.#idempotent;
  }

  /** The producer id in use (idempotent delivery), once taken. */
  get producerId(): bigint | undefined {
    return this.#identity?.producerId;
  }

  /** Sends one batch from the batcher, numbered in the batcher's (push) order. */
  #sendOrdered(items: Held[], info: BatchInfo): Promise<void | unknown[]> {
    const n = this.#nextBatch++;
    this.#unsettled.push(n);
    const settled = () => {
      const i = this.#unsettled.indexOf(n);
      if (i >= 0) this.#unsettled.splice(i, 1);
      this.#turns.wakeAll();
    };
    const p = this.#sendBatch(items, info, n);
    p.then((outcomes) => {
      // a record that failed leaves a gap in its partition's numbering
      if (outcomes) this.#breakIdentity(items.filter((_, i) => outcomes[i] !== undefined));
      settled();
      this.#releaseValues(items);
    }, () => {
      this.#breakIdentity(items);
      settled();
      this.#releaseValues(items);
    });
    return p;
  }

  /**
   * Gives the values of a settled batch back to {@linkcode KafkaProducer.memory} (others are
   * ignored): nothing encodes them any more (an attempt given up stops before encoding).
   */
  #releaseValues(items: Held[]): void {
    for (let i = 0; i < items.length; i++) {
      const v = items[i].record.value;
      if (v !== null) this.#memory.release(v);
    }
  }

  /** Waits until batch `n` is the oldest not settled (and, if `quiet`, no request is out). */
  async #turn(n: number, quiet = false): Promise<void> {
    while (this.#unsettled[0] !== n || (quiet && this.#requests > 0)) {
      // batch n settled meanwhile: this is an attempt given up (timed out)
      if (!this.#unsettled.includes(n)) throw new Error("attempt given up");
      await this.#untilStopped(this.#turns.wait());
    }
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
   * The producer's connections (lib/kafka/wire/: connections, TLS, SASL, metadata, API versions;
   * the client library is never loaded by a producing process).
   */
  #client(): Client {
    if (this.#current) return this.#current;
    this.#current = { wire: this.#cluster.wire() };
    return this.#current;
  }

  /** Drops the client (its connections may be dead). */
  #reset(): Promise<void> {
    const c = this.#current;
    this.#current = undefined;
    c?.wire.close();
    return Promise.resolve();
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
        Promise.resolve().then(async () => {
          const c = this.#client();
          await c.wire.metadata(topics, this.#opts.autocreateTopics ?? false, true);
          await this.#version(c);
          if (this.#idempotent) await this.#takeIdentity(c);
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
   * @param record the record, or a function building it once there is room in the queue (given
   *   {@linkcode KafkaProducer.memory}, which the value may be taken from)
   * @returns resolves when the broker acknowledged the record
   * @throws BatcherClosedError after close; RecordTooLargeError; AuthError,
   *   BrokerConnectionError, UnknownTopicError when delivery failed
   */
  send(record: ProducerRecord | ((memory: ByteMemory) => ProducerRecord)): Promise<void> {
    return this.#batcher.push(() => {
      const r = typeof record === "function" ? record(this.#memory) : record;
      const bytes = recordBytes(r);
      return { item: new Held(r, bytes), bytes };
    });
  }

  /**
   * Queues one record without a promise: `done(record, error)` runs once it settled (`error`
   * undefined: acknowledged), as {@linkcode KafkaProducer.send}'s promise would settle. Records
   * keep their order with those of `send` and share its batches, retries and deadlines. For
   * callers forwarding many records that keep their own counts: one `done` serves all of them,
   * and nothing is allocated per record beyond the record and the producer's entries. The record
   * is built by the caller, so the caller bounds how many it builds ahead (it waits, built, while
   * `maxQueueBytes` are held). `done` runs later (never inside `offer`) and should not throw.
   *
   * @param record the record (kept until it settled; do not modify it meanwhile)
   * @param done told when it settled
   * @throws BatcherClosedError after close
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { KafkaCluster } from "./cluster.ts";
   * import { KafkaProducer, type ProducerRecord } from "./producer.ts";
   * import { withAdmin } from "./admin.ts";
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * const topic = `events-${crypto.randomUUID()}`;
   * await withAdmin(cluster, "create the topic", (a) => a.createTopics([{ topic, partitions: 1 }]));
   * let acked = 0;
   * const done = (_r: ProducerRecord, error: Error | undefined) => {
   *   if (error === undefined) acked++;
   * };
   * {
   *   await using producer = await new KafkaProducer(cluster).connect([topic]);
   *   for (const text of ["a", "b", "c"]) {
   *     producer.offer({ topic, value: new TextEncoder().encode(text), headers: [] }, done);
   *   }
   *   await producer.flush();
   * }
   * assertEquals(acked, 3);
   * ```
   */
  offer(record: ProducerRecord, done: RecordSettled): void {
    const bytes = recordBytes(record);
    this.#batcher.offer(new Held(record, bytes, done), bytes, settleHeld);
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
    // p runs on when the deadline wins (or has passed): its later failure is nobody's to handle
    p.catch(() => {});
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.reject(this.#stopped());
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
  async #attempt(items: Held[], ms: number, n: number, used: Attempt): Promise<void> {
    const topics = [...new Set(items.map((h) => h.record.topic))];
    await this.#opts.prepare?.(topics);
    await withTimeout(
      this.#produceAll(items, topics, n, used),
      ms,
      () => this.#late(topics.join(","), ms),
    );
  }

  /** Takes a producer id (InitProducerId); a broker refusing one (no permission) turns it off. */
  #takeIdentity(c: Client): Promise<Identity | undefined> {
    this.#identityInit ??= (async () => {
      try {
        // a new cluster's transaction coordinator (which hands out producer ids) first loads its
        // log: "coordinator loading / not available" are retried within the cluster's timeoutMs
        const until = performance.now() + this.#cluster.timeoutMs;
        let info;
        while (true) {
          try {
            info = await c.wire.initProducerId();
            break;
          } catch (e) {
            if (!isRetriable(e) || performance.now() + 100 > until) throw e;
            await sleep(100, this.#stop.signal);
          }
        }
        return this.#identity = {
          producerId: info.producerId,
          epoch: info.producerEpoch,
          next: new Map(),
          broken: false,
        };
      } catch (e) {
        if (!refusedIdentity(e)) throw e;
        this.#idempotent = false;
        this.#cluster.log(
          "warning",
          `the broker ${this.#cluster.broker} refused a producer id ` +
            `(${this.#cluster.mapError(e).message}): idempotent delivery is off, batches go ` +
            "one at a time",
        );
        return undefined;
      } finally {
        this.#identityInit = undefined;
      }
    })();
    return this.#identityInit;
  }

  /** The producer id for an attempt of batch `n`; undefined without idempotent delivery. */
  async #identityFor(n: number, c: Client): Promise<Identity | undefined> {
    if (!this.#idempotent) return undefined;
    const id = this.#identity;
    if (id && !id.broken) return id;
    if (id) {
      // a gap in some partition's numbering: number again under a new id only once nothing
      // numbered under the old one can still be written (earlier batches settled, no request out)
      await this.#turn(n, true);
      if (this.#identity === id) this.#identity = undefined;
      else if (this.#identity && !this.#identity.broken) return this.#identity;
    }
    return await this.#takeIdentity(c);
  }

  /** Marks the current producer id unusable when some of `items` were numbered under it. */
  #breakIdentity(items: Held[]): void {
    const id = this.#identity;
    if (id && items.some((h) => !h.done && h.identity === id)) id.broken = true;
  }

  /** The Produce version to use: the highest the broker and the encoder both speak. */
  async #version(c: Client): Promise<number> {
    if (c.version !== undefined) return c.version;
    await c.wire.ready();
    c.version = c.wire.version(
      API.Produce,
      "Produce",
      this.#opts.maxProduceVersion ?? PRODUCE_VERSIONS.max,
    );
    return c.version;
  }

  /** Partitions the records (murmur2 of the key, else round-robin) and sends to each leader. */
  async #produceAll(
    items: Held[],
    topics: string[],
    n: number,
    used: Attempt,
  ): Promise<void> {
    const c = used.client = this.#client();
    const version = await this.#version(c);
    const identity = await this.#identityFor(n, c);
    const metadata = await c.wire.metadata(topics, this.#opts.autocreateTopics ?? false);
    const byLeader = new Map<number, Map<string, Destination>>();
    const dests = new Map<string, Destination[]>();
    for (const h of items) {
      const r = h.record;
      const t = metadata.get(r.topic);
      if (!t || t.leaders.length < 1) {
        throw new BrokerConnectionError(this.#cluster.broker, `no metadata for topic ${r.topic}`);
      }
      // keyed records go where Java clients (and kafkajs) put them (murmur2, made positive);
      // records without a key are spread round-robin; a retry keeps the partition
      let partition = h.partition;
      if (partition === undefined || partition >= t.leaders.length) {
        partition =
          h.partition =
            (r.key ? murmur2(r.key) & 0x7fffffff : this.#roundRobin++ & 0x7fffffff) %
            t.leaders.length;
      }
      const leader = t.leaders[partition] ?? -1;
      if (leader < 0) {
        throw new BrokerConnectionError(
          this.#cluster.broker,
          `partition ${partition} of ${r.topic} has no leader`,
        );
      }
      // the partition's destination by topic and partition number (no key text per record)
      let byPartition = dests.get(r.topic);
      if (byPartition === undefined) dests.set(r.topic, byPartition = []);
      const d = byPartition[partition];
      if (d !== undefined) {
        d.batch.records.push(r);
        d.held.push(h);
      } else {
        byPartition[partition] = {
          batch: { topic: r.topic, partition, records: [r] },
          held: [h],
        };
        let parts = byLeader.get(leader);
        if (!parts) byLeader.set(leader, parts = new Map());
        parts.set(`${r.topic}\0${partition}`, byPartition[partition]);
      }
    }
    const bases = new Map<string, number>();
    if (identity) {
      // each partition's records numbered once per producer id: a retry under the same id sends
      // the same numbers (the broker acknowledges a batch it already wrote without writing it)
      for (const parts of byLeader.values()) {
        for (const [key, d] of parts) {
          const first = d.held[0];
          if (first.identity !== identity) {
            let next = identity.next.get(key) ?? 0;
            for (const h of d.held) {
              h.identity = identity;
              h.seq = next;
              next = next === 0x7fffffff ? 0 : next + 1;
            }
            identity.next.set(key, next);
          }
          bases.set(key, first.seq);
        }
      }
    }
    const producer: ProducerIdentity | undefined = identity && {
      producerId: identity.producerId,
      producerEpoch: identity.epoch,
      baseSequence: (topic, partition) => bases.get(`${topic}\0${partition}`)!,
    };
    const leaders = [...byLeader.keys()];
    const connections = await Promise.all(leaders.map((leader) => c.wire.broker(leader)));
    if (used.gone) throw new Error("attempt given up");
    const outcomes = await Promise.allSettled(leaders.map((leader, i) => {
      const ds = [...byLeader.get(leader)!.values()];
      return this.#produce(c, connections[i], version, ds.map((d) => d.batch), producer);
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

  /**
   * Memory for a request body of `size` bytes after `room` bytes (for the request header): a kept
   * one when large enough, else new.
   */
  #buffer(size: number, room: number): Uint8Array {
    if (size < POOLED_MIN) return new Uint8Array(room + size).subarray(room);
    const i = this.#buffers.findIndex((b) => b.byteLength >= room + size);
    const ab = i >= 0
      ? this.#buffers.splice(i, 1)[0]
      : new ArrayBuffer(Math.max(room + size, this.#batcher.maxBatchBytes + POOLED_SLACK));
    return new Uint8Array(ab, room, size);
  }

  /** Keeps an answered request's memory (one per request that may be in flight). */
  #release(body: Uint8Array): void {
    if (body.byteLength >= POOLED_MIN && this.#buffers.length < this.#batcher.maxInFlight) {
      this.#buffers.push(body.buffer as ArrayBuffer);
    }
  }

  /** One Produce request on one connection; resolves with the broker's acknowledgement. */
  async #produce(
    c: Client,
    connection: BrokerConnection,
    version: number,
    batches: PartitionBatch[],
    producer: ProducerIdentity | undefined,
  ): Promise<void> {
    const room = c.wire.produceHeadRoom(version);
    const body = encodeProduceRequest(batches, {
      version,
      acks: ACKS_ALL,
      timeoutMs: this.#cluster.timeoutMs,
      timestamp: Date.now(),
      producer,
      buffer: (size) => this.#buffer(size, room),
      crc32c,
    });
    this.#requests++;
    try {
      await c.wire.produce(connection, version, body);
      // answered: the request was written (on failure its write may still be under way)
      this.#release(body);
    } finally {
      this.#requests--;
      if (this.#turns.size > 0) this.#turns.wakeAll();
    }
  }

  /**
   * Sends batch `n`, retrying transient failures until the oldest record's deadline (retries in
   * the order the batches were sent); a batch refused as too large is split in halves (and the
   * batch bound lowered) so only a record too large by itself fails.
   */
  async #sendBatch(items: Held[], info: BatchInfo, n: number): Promise<void | unknown[]> {
    const deadline = info.since + this.#deliveryMs;
    let attempt = 0;
    let pending = items;
    while (true) {
      pending = pending.filter((h) => !h.done);
      if (pending.length === 0) return;
      // retries wait for every earlier batch to settle; without a producer id every batch does
      if ((attempt > 0 || !this.#idempotent) && this.#unsettled[0] !== n) await this.#turn(n);
      const left = Math.min(deadline - performance.now(), this.#cluster.timeoutMs);
      if (left <= 0) throw this.#late(topicsOf(pending), this.#deliveryMs);
      const oldest = this.#unsettled[0] === n;
      const used: Attempt = {};
      try {
        await this.#untilStopped(this.#attempt(pending, left, n, used));
        return;
      } catch (e) {
        // an attempt that timed out may still be waiting for a connection: it must not send now
        used.gone = true;
        if (isTooLarge(e)) break;
        const gap = sequenceFailure(e);
        if (gap !== undefined) {
          // after a gap in the numbering: an earlier batch is being retried (this one goes again
          // after it), or the broker lost the producer id, or nothing explains it (a new id)
          const renew = gap === "lost" || oldest;
          if (renew) this.#breakIdentity(pending);
          if (this.#stop.signal.aborted) throw this.#cluster.mapError(e);
          attempt++;
          this.#opts.onRetry?.(this.#cluster.mapError(e), attempt, pending.length);
          if (renew) await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)), this.#stop.signal);
          continue;
        }
        const err = this.#cluster.mapError(e);
        const transient = err instanceof BrokerConnectionError ? err.retriable : isRetriable(e);
        if (!transient || this.#stop.signal.aborted) throw err;
        const wait = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
        if (performance.now() + wait >= deadline) throw err;
        attempt++;
        this.#opts.onRetry?.(err, attempt, pending.filter((h) => !h.done).length);
        // the first of the batches failing together drops the client (the others find a new one)
        if (used.client === undefined || used.client === this.#current) await this.#reset();
        await sleep(wait, this.#stop.signal);
      }
    }
    // refused as too large: what is not acknowledged yet goes again in halves (with the same
    // sequence numbers, in order)
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
        const r = await this.#sendBatch(part, { bytes, since: info.since }, n);
        part.forEach((h, i) => outcome.set(h, r?.[i]));
        if (r) this.#breakIdentity(part.filter((_, i) => r[i] !== undefined));
      } catch (e) {
        this.#breakIdentity(part);
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

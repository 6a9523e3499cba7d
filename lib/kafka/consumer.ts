/**
 * A Kafka consumer for handlers that must not lose a record: one consumer group for its whole
 * life (across reconnections), a record's offset committed only after the handler returned for
 * it (commits pipelined: the latest offset per partition wins, the next record does not wait for
 * the broker's answer), a start position for partitions the group has never committed (fixed,
 * and committed, before `onReady`), duplicate suppression by hop's `_id` header (a retried
 * produce request, or records fetched again after a reconnection), and reconnection on
 * connection loss without skipping anything. Authentication, TLS and unknown-topic failures end
 * {@linkcode KafkaConsumer.run} with a typed error; the handler's own error ends it too (after
 * the offsets of the records handled before were committed).
 *
 * @module
 */
import type { Consumer, Message } from "@platformatic/kafka";
import { kafkaLibrary } from "./_library.ts";
import type { Buffer } from "node:buffer";
import { sleep, withTimeout } from "../_util/abort.ts";
import { byteString, RepeatedText } from "../_util/utf8.ts";
import { type OffsetPosition, partitionKey, withAdmin } from "./admin.ts";
import type { KafkaCluster } from "./cluster.ts";
import {
  BrokerConnectionError,
  isRetriable,
  KafkaOptionError,
  UnknownTopicError,
} from "./errors.ts";

/** A record as the handler gets it. */
export interface ConsumedRecord {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** The record's offset. */
  offset: bigint;
  /** The record's timestamp (ms since the epoch). */
  timestamp: number;
  /** The key (a view into the fetched data). */
  key: Uint8Array | null;
  /** The value (a view into the fetched data: copy what is kept beyond the handler). */
  value: Uint8Array | null;
  /** Headers, in order (names as text). */
  headers: Array<[string, Uint8Array]>;
}

/** Options of {@linkcode KafkaConsumer}. */
export interface KafkaConsumerOptions {
  /** The consumer group. */
  groupId: string;
  /** Topics to read. */
  topics: string[];
  /** Where partitions the group never committed start. @default "latest" */
  start?: OffsetPosition;
  /** Longest wait of one fetch for new records, in ms. @default 200 */
  maxWaitMs?: number;
  /** Bytes fetched per partition and request. @default 8388608 (8 MiB) */
  maxBytesPerPartition?: number;
  /**
   * Shortest time between two offset commits, in ms: the offsets of the records handled
   * meanwhile go in the next (a record is never committed before its handler returned; after a
   * crash, the records handled in the last interval come again to the group). Python igwn-alert
   * (hop, librdkafka) commits every 5 s. @default 0 (as soon as the previous commit is answered)
   */
  commitIntervalMs?: number;
  /** Records fetched ahead of the handler. @default 1024 */
  highWaterMark?: number;
  /**
   * Group session timeout in ms: after a crash, a restarted member waits up to this long for its
   * previous membership to expire. @default 10000
   */
  sessionTimeoutMs?: number;
  /** `_id`s remembered for duplicate suppression (0: none). @default 4096 */
  dedupCapacity?: number;
  /**
   * Runs before each offset commit (e.g. to make the handled records durable first); no record
   * is handed to the handler meanwhile.
   */
  beforeCommit?: () => Promise<void>;
  /** Called once the start offsets are fixed: records produced after this are delivered. */
  onReady?: (info: { groupId: string; topics: string[] }) => void;
  /** Told about a connection failure before each reconnection. */
  onReconnect?: (error: Error, waitMs: number) => void;
  /** Told about each successful round trip to the broker (records fetched, group heartbeat). */
  onContact?: () => void;
  /**
   * Records of different lanes are handled concurrently, those of one lane one after the other,
   * in order. A lane must hold whole partitions (e.g. `(r) => r.topic`), so that each
   * partition's offsets are still committed in order. @default one lane for everything
   */
  lane?: (record: { topic: string; partition: number }) => string;
  /**
   * Records of one lane handled at the same time (more than 1: a lane's records may finish out
   * of order; offsets are still committed only up to the first one not finished). @default 1
   */
  laneConcurrency?: (lane: string) => number;
  /** With lanes: records handed out and not yet handled before reading pauses. @default 256 */
  maxPending?: number;
  /** Stops the consumer. */
  signal?: AbortSignal;
}

/** What the handler is given; it returns (or resolves) when the record is handled. */
export type RecordHandler = (record: ConsumedRecord) => void | Promise<void>;

/** The ids of the last `max` records, for duplicate suppression (oldest forgotten first). */
class RecentIds {
  readonly #set = new Set<string>();
  readonly #ring: string[];
  #next = 0;
  constructor(max: number) {
    this.#ring = new Array<string>(Math.max(0, max));
  }
  /** Ids remembered at most (0: none, nothing is suppressed). */
  get capacity(): number {
    return this.#ring.length;
  }
  seen(id: string): boolean {
    if (this.#set.has(id)) return true;
    const n = this.#ring.length;
    if (n === 0) return false;
    const old = this.#ring[this.#next];
    if (old !== undefined) this.#set.delete(old);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % n;
    this.#set.add(id);
    return false;
  }
}

/** The `_id` header's bytes as a key (one character per byte: distinct bytes, distinct keys). */
function idOf(headers: Array<[string, Uint8Array]>): string | undefined {
  for (const [k, v] of headers) if (k === "_id") return byteString(v);
  return undefined;
}

function view(b: Buffer | undefined | null): Uint8Array | null {
  return b ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
}

interface Pending {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
}

const ABORTED = Symbol("aborted");

/**
 * Waits that end early when a session stops. Unlike `Promise.race` with one long-lived promise,
 * a finished wait leaves nothing behind (a race adds a reaction to the long-lived promise each
 * time, and those reactions keep every record read so far reachable until the session ends).
 */
class Stopper {
  readonly #waiters = new Set<(v: typeof ABORTED) => void>();
  #stopped = false;

  /** Ends every wait, now and later, with ABORTED. */
  stop(): void {
    this.#stopped = true;
    for (const w of this.#waiters) w(ABORTED);
    this.#waiters.clear();
  }

  /** `p`'s outcome, or ABORTED if the session stops first. */
  wait<T>(p: Promise<T>): Promise<T | typeof ABORTED> {
    if (this.#stopped) {
      p.catch(() => {});
      return Promise.resolve(ABORTED);
    }
    return new Promise<T | typeof ABORTED>((resolve, reject) => {
      this.#waiters.add(resolve);
      p.then((v) => {
        this.#waiters.delete(resolve);
        resolve(v);
      }, (e) => {
        this.#waiters.delete(resolve);
        reject(e);
      });
    });
  }
}

/** How long each shutdown step (last commit, leaving the group) may take once stopped, in ms. */
const SHUTDOWN_STEP_MS = 2000;

/**
 * Reads records of a consumer group and hands them to a handler, at least once.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaCluster } from "./cluster.ts";
 * import { KafkaConsumer } from "./consumer.ts";
 * import { KafkaProducer } from "./producer.ts";
 * import { withAdmin } from "./admin.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * const topic = `events-${crypto.randomUUID()}`;
 * await withAdmin(cluster, "create the topic", (a) => a.createTopics([{ topic, partitions: 1 }]));
 * {
 *   await using producer = await new KafkaProducer(cluster).connect([topic]);
 *   for (const text of ["a", "b"]) {
 *     await producer.send({ topic, value: new TextEncoder().encode(text), headers: [] });
 *   }
 * }
 * const ctl = new AbortController();
 * const got: string[] = [];
 * await new KafkaConsumer(cluster, { groupId: topic, topics: [topic], start: "earliest", signal: ctl.signal })
 *   .run((r) => {
 *     got.push(new TextDecoder().decode(r.value!)); // committed once this returns
 *     if (got.length === 2) ctl.abort(); // run() returns
 *   });
 * assertEquals(got, ["a", "b"]);
 * ```
 */
export class KafkaConsumer {
  readonly #cluster: KafkaCluster;
  readonly #opts: KafkaConsumerOptions;
  readonly #stop = new AbortController();
  /** Header names (the same few on every record) without a new string each. */
  readonly #headerNames = new RepeatedText();
  readonly #signal: AbortSignal;
  #client: Consumer | undefined;
  #lastContact = 0;
  #running = false;
  /** Highest offset handled per partition, not yet committed. */
  readonly #toCommit = new Map<string, Pending>();
  /** Highest offset committed per partition. */
  readonly #committed = new Map<string, bigint>();
  /** Offsets handed to the handler and not finished, per partition, in offset order. */
  readonly #inProgress = new Map<string, Set<bigint>>();
  /** Highest finished offset + 1 per partition. */
  readonly #finished = new Map<string, bigint>();
  #committing: Promise<void> | undefined;
  /** A commit waiting for `commitIntervalMs` to pass since the last one. */
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  /** performance.now() when the last commit started. */
  #lastCommit = -Infinity;
  readonly #commitIntervalMs: number;
  /** A running `beforeCommit`: records wait for it before they are handed out. */
  #barrier: Promise<void> | undefined;

  /**
   * Creates the consumer; nothing connects until {@linkcode KafkaConsumer.run}.
   *
   * @param cluster where to read
   * @param options group, topics, start position, hooks
   */
  constructor(cluster: KafkaCluster, options: KafkaConsumerOptions) {
    this.#cluster = cluster;
    this.#opts = options;
    const interval = options.commitIntervalMs ?? 0;
    if (!(interval >= 0 && interval <= 60_000)) {
      throw new KafkaOptionError(
        `commitIntervalMs must be a number of ms from 0 to 60000, not ${interval}`,
      );
    }
    this.#commitIntervalMs = interval;
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#stop.signal])
      : this.#stop.signal;
  }

  /** When the broker last answered (a record, a group heartbeat), ms since the epoch; 0: never. */
  get lastContact(): number {
    return this.#lastContact;
  }

  /**
   * Records not yet handled (and committed) per partition: the end of each partition minus the
   * group's committed offset. Empty while not connected.
   *
   * @returns lag by `topic:partition`
   */
  async lag(): Promise<Map<string, bigint>> {
    const client = this.#client;
    const out = new Map<string, bigint>();
    if (!client) return out;
    const ends = await withTimeout(
      client.listOffsets({ topics: [...this.#opts.topics] }),
      this.#cluster.timeoutMs,
      () => new Error(`no answer within ${this.#cluster.timeoutMs} ms`),
    );
    for (const [topic, partitions] of ends) {
      partitions.forEach((end, partition) => {
        const key = partitionKey(topic, partition);
        const committed = this.#committed.get(key);
        if (committed !== undefined) out.set(key, end > committed ? end - committed : 0n);
      });
    }
    return out;
  }

  /** Stops a running {@linkcode KafkaConsumer.run} (the record in hand is finished first). */
  stop(): void {
    this.#stop.abort();
  }

  /**
   * Fixes the start offsets, then reads until stopped, handing each record to `handler` and
   * committing its offset once the handler returned.
   *
   * @param handler called for each record, one at a time, in order per partition
   * @returns when stopped
   * @throws AuthError, BrokerConnectionError (not retriable: TLS), UnknownTopicError, or the
   *   handler's error
   */
  async run(handler: RecordHandler): Promise<void> {
    if (this.#running) throw new TypeError("KafkaConsumer.run is already running");
    this.#running = true;
    const o = this.#opts;
    try {
      if (this.#signal.aborted) return;
      await this.#fixStart();
      o.onReady?.({ groupId: o.groupId, topics: [...o.topics] });
      const recent = new RecentIds(o.dedupCapacity ?? 4096);
      let failures = 0;
      while (!this.#signal.aborted) {
        const outcome = await this.#session(handler, recent, () => (failures = 0));
        if (outcome === undefined || this.#signal.aborted) break;
        const err = this.#cluster.mapError(outcome);
        const transient = err instanceof BrokerConnectionError
          ? err.retriable
          : isRetriable(outcome);
        if (!transient) throw err;
        failures++;
        const wait = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
        o.onReconnect?.(err, wait);
        await sleep(wait, this.#signal);
      }
    } finally {
      await this.#finalCommit();
      this.#running = false;
    }
  }

  /** Start offsets for the partitions the group never committed, committed before reading. */
  async #fixStart(): Promise<void> {
    const o = this.#opts;
    const start = await withAdmin(this.#cluster, "listen", async (admin) => {
      const existing = new Set(await admin.listTopics());
      for (const t of o.topics) {
        if (!existing.has(t)) {
          throw new UnknownTopicError(t, `topic ${t} does not exist on the broker`);
        }
      }
      const committed = await admin.committedOffsets(o.groupId, o.topics);
      for (const [k, off] of committed) if (off >= 0n) this.#committed.set(k, off);
      const fresh = [...committed].filter(([, off]) => off < 0n).map(([k]) => k);
      if (fresh.length === 0) return new Map<string, bigint>();
      const topics = [...new Set(fresh.map((k) => k.slice(0, k.lastIndexOf(":"))))];
      const at = await admin.offsets(topics, o.start ?? "latest");
      return new Map(fresh.map((k) => [k, at.get(k) ?? 0n]));
    });
    if (start.size === 0) return;
    try {
      await withAdmin(this.#cluster, "listen", (admin) => admin.commitOffsets(o.groupId, start));
      for (const [k, off] of start) this.#committed.set(k, off);
    } catch (e) {
      // a group with active members refuses commits from outside: they own its positions
      this.#cluster.log(
        "info",
        `start position of group ${o.groupId} not committed (${(e as Error).message})`,
      );
    }
  }

  /**
   * One connection of the group: reads until stopped (undefined) or a failure (returned).
   * The handler's error is thrown.
   */
  async #session(
    handler: RecordHandler,
    recent: RecentIds,
    healthy: () => void,
  ): Promise<unknown> {
    const o = this.#opts;
    const session = o.sessionTimeoutMs ?? 10_000;
    const base = this.#cluster.clientOptions(this.#cluster.credential());
    const { Consumer, MessagesStreamFallbackModes, MessagesStreamModes } = await kafkaLibrary();
    const client: Consumer = new Consumer({
      ...base,
      retries: 2,
      retryDelay: 250,
      groupId: o.groupId,
      autocommit: false,
      sessionTimeout: session,
      rebalanceTimeout: session,
      heartbeatInterval: Math.min(3000, Math.max(100, Math.floor(session / 6))),
      maxWaitTime: o.maxWaitMs ?? 200,
      maxBytes: 4 * (o.maxBytesPerPartition ?? 8 * 1024 * 1024),
      maxBytesPerPartition: o.maxBytesPerPartition ?? 8 * 1024 * 1024,
      highWaterMark: o.highWaterMark ?? 1024,
      // the requests of a fetch wait up to maxWaitTime on the broker
      requestTimeout: Math.max(base.requestTimeout ?? 15_000, (o.maxWaitMs ?? 200) + 5000),
    });
    this.#client = client;
    const contact = () => {
      this.#lastContact = Date.now();
      o.onContact?.();
    };
    client.on("consumer:heartbeat:end", contact);
    let failure: unknown;
    let handlerError: HandlerError | undefined;
    const stopper = new Stopper();
    const aborted = () => stopper.stop();
    if (this.#signal.aborted) aborted();
    else this.#signal.addEventListener("abort", aborted, { once: true });
    try {
      const consuming = client.consume({
        topics: [...o.topics],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: o.start === "earliest"
          ? MessagesStreamFallbackModes.EARLIEST
          : MessagesStreamFallbackModes.LATEST,
      });
      const stream = await stopper.wait(consuming);
      if (stream === ABORTED) {
        consuming.then((s) => s.close(), () => {}).catch(() => {});
        return undefined;
      }
      contact();
      healthy();
      const it = stream[Symbol.asyncIterator]();
      const lanes = o.lane
        ? new Lanes(o.lane, o.laneConcurrency ?? (() => 1), o.maxPending ?? 256, stopper)
        : undefined;
      try {
        while (true) {
          if (lanes && !(await lanes.room())) break;
          const step = await stopper.wait(it.next());
          if (step === ABORTED || step.done) break;
          const m = step.value as Message;
          contact();
          if (lanes) lanes.push(m, (r) => this.#handle(r, handler, recent));
          else await this.#handle(m, handler, recent);
          if (this.#signal.aborted) break;
        }
      } catch (e) {
        if (e instanceof HandlerError) handlerError = e;
        else if (!this.#signal.aborted) failure = e;
      } finally {
        // the records in hand are finished (queued ones come again from the committed offsets)
        if (lanes) {
          const e = await lanes.drain();
          if (e instanceof HandlerError) handlerError ??= e;
        }
        await Promise.race([stream.close().catch(() => {}), sleep(SHUTDOWN_STEP_MS)]);
      }
    } catch (e) {
      if (!this.#signal.aborted) failure ??= e;
    } finally {
      this.#signal.removeEventListener("abort", aborted);
      this.#cancelScheduledCommit();
      await this.#flushCommits(true);
      this.#client = undefined;
      // leaving the group lets a restarted member take over at once; bounded for dead brokers
      await Promise.race([client.close(true).catch(() => {}), sleep(SHUTDOWN_STEP_MS)]);
    }
    if (handlerError) throw handlerError.cause;
    return failure;
  }

  async #handle(m: Message, handler: RecordHandler, recent: RecentIds): Promise<void> {
    const key = partitionKey(m.topic, m.partition);
    const headers: Array<[string, Uint8Array]> = [];
    for (const [k, v] of m.headerEntries ?? m.headers) {
      headers.push([this.#headerNames.text(k as Buffer), view(v as Buffer) ?? new Uint8Array()]);
    }
    const id = recent.capacity > 0 ? idOf(headers) : undefined;
    if (this.#barrier) await this.#barrier.catch(() => {});
    if (id === undefined || !recent.seen(id)) {
      let running = this.#inProgress.get(key);
      if (!running) this.#inProgress.set(key, running = new Set());
      running.add(m.offset);
      try {
        await handler({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          timestamp: Number(m.timestamp),
          key: view(m.key as Buffer | undefined),
          value: view(m.value as Buffer | undefined),
          headers,
        });
      } catch (e) {
        running.delete(m.offset);
        throw new HandlerError(e);
      }
      running.delete(m.offset);
      // stopped while the handler ran: its outcome is unknown, the record comes again
      if (this.#signal.aborted) return;
    }
    this.#done(key, m.topic, m.partition, m.offset, m.leaderEpoch);
  }

  /**
   * Marks a record handled and schedules the commit of its partition up to the first record not
   * finished (offsets only move forward).
   */
  #done(key: string, topic: string, partition: number, offset: bigint, leaderEpoch: number): void {
    const fin = this.#finished.get(key);
    if (fin === undefined || offset + 1n > fin) this.#finished.set(key, offset + 1n);
    const running = this.#inProgress.get(key);
    const first = running?.values().next();
    const upTo = first && !first.done ? first.value : this.#finished.get(key)!;
    const done = this.#toCommit.get(key)?.offset ?? this.#committed.get(key) ?? -1n;
    if (upTo > done) {
      this.#toCommit.set(key, { topic, partition, offset: upTo, leaderEpoch });
      this.#scheduleCommit();
    }
  }

  /**
   * Starts a commit of what was handled, at most one per `commitIntervalMs` (while one runs, the
   * offsets of records handled meanwhile wait for the next).
   */
  #scheduleCommit(): void {
    if (this.#committing || this.#commitTimer !== undefined || this.#toCommit.size === 0) return;
    const wait = this.#lastCommit + this.#commitIntervalMs - performance.now();
    if (wait > 0) {
      this.#commitTimer = setTimeout(() => {
        this.#commitTimer = undefined;
        this.#scheduleCommit();
      }, wait);
      return;
    }
    this.#lastCommit = performance.now();
    this.#committing = this.#flushCommits(false).then((committed) => {
      this.#committing = undefined;
      // after a failure the next record handled (or the session's last flush) tries again
      if (committed) this.#scheduleCommit();
    }, () => {
      this.#committing = undefined;
    });
  }

  /** Cancels a scheduled commit (the final flush commits what is left). */
  #cancelScheduledCommit(): void {
    clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
  }

  /**
   * Commits what was handled, retrying failures (a rebalance, a broker restart): once unless
   * `final` (then until nothing is left).
   *
   * @returns whether a commit succeeded
   */
  async #flushCommits(final: boolean): Promise<boolean> {
    if (final && this.#committing) {
      await withTimeout(this.#committing, SHUTDOWN_STEP_MS, () => new Error("commit")).catch(
        () => {},
      );
    }
    let failures = 0;
    let committed = false;
    while (this.#toCommit.size > 0) {
      const client = this.#client;
      if (!client) return committed;
      const batch = [...this.#toCommit.values()];
      this.#toCommit.clear();
      try {
        // no record is handed out while it runs, so that what it waits for (e.g. the writes of
        // the records handled so far) can finish
        const barrier = this.#opts.beforeCommit?.();
        if (barrier) {
          this.#barrier = barrier;
          try {
            await barrier;
          } finally {
            this.#barrier = undefined;
          }
        }
        // once stopped, a broker that does not answer must not hold the shutdown
        const ms = this.#signal.aborted ? SHUTDOWN_STEP_MS : this.#cluster.timeoutMs;
        await withTimeout(
          client.commit({ offsets: batch }),
          ms,
          () => new Error(`no answer within ${ms} ms`),
        );
        for (const c of batch) {
          const key = partitionKey(c.topic, c.partition);
          if ((this.#committed.get(key) ?? -1n) < c.offset) this.#committed.set(key, c.offset);
        }
        failures = 0;
        committed = true;
        // the offsets handled meanwhile wait for the next scheduled commit
        if (!final) return true;
      } catch (e) {
        // keep what no newer offset superseded, and try again
        for (const c of batch) {
          const key = partitionKey(c.topic, c.partition);
          if (!this.#toCommit.has(key)) this.#toCommit.set(key, c);
        }
        failures++;
        this.#cluster.log(
          "warning",
          `offset commit failed (records may be delivered again): ${(e as Error).message}`,
        );
        if (final || failures > 20 || this.#client !== client) return committed;
        await sleep(Math.min(2000, 100 * 2 ** failures), this.#signal);
        if (this.#signal.aborted) return committed;
      }
    }
    return committed;
  }

  /** After the last session: what is still uncommitted is committed by a short-lived member. */
  async #finalCommit(): Promise<void> {
    if (this.#toCommit.size === 0) return;
    const offsets = new Map<string, bigint>();
    for (const [k, c] of this.#toCommit) offsets.set(k, c.offset);
    try {
      await withTimeout(
        withAdmin(this.#cluster, "commit", (a) => a.commitOffsets(this.#opts.groupId, offsets)),
        SHUTDOWN_STEP_MS,
        () => new Error(`no answer within ${SHUTDOWN_STEP_MS} ms`),
      );
      this.#toCommit.clear();
    } catch (e) {
      this.#cluster.log(
        "warning",
        `offset commit failed (records may be delivered again): ${(e as Error).message}`,
      );
    }
  }
}

/** One lane: its queue and the workers handling it. */
interface Lane {
  queue: Message[];
  workers: Set<Promise<void>>;
  width: number;
}

/** Records handed out per lane, each lane handled in order, lanes concurrently. */
class Lanes {
  readonly #key: (record: { topic: string; partition: number }) => string;
  readonly #concurrency: (lane: string) => number;
  readonly #max: number;
  readonly #stopper: Stopper;
  readonly #lanes = new Map<string, Lane>();
  #pending = 0;
  #wake: (() => void) | undefined;
  #error: unknown;
  #done = false;

  constructor(
    key: (record: { topic: string; partition: number }) => string,
    concurrency: (lane: string) => number,
    max: number,
    stopper: Stopper,
  ) {
    this.#key = key;
    this.#concurrency = concurrency;
    this.#max = Math.max(1, max);
    this.#stopper = stopper;
  }

  /** Waits until fewer than `max` records are pending; false once a handler failed. */
  async room(): Promise<boolean> {
    while (this.#pending >= this.#max && this.#error === undefined) {
      const woken = new Promise<void>((r) => (this.#wake = r));
      if ((await this.#stopper.wait(woken)) === ABORTED) return false;
    }
    if (this.#error !== undefined) throw this.#error;
    return true;
  }

  push(m: Message, handle: (m: Message) => Promise<void>): void {
    const key = this.#key(m);
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { queue: [], workers: new Set(), width: Math.max(1, this.#concurrency(key)) };
      this.#lanes.set(key, lane);
    }
    lane.queue.push(m);
    this.#pending++;
    if (lane.workers.size < lane.width) {
      const worker: Promise<void> = this.#run(lane, handle).finally(() =>
        lane.workers.delete(worker)
      );
      lane.workers.add(worker);
    }
  }

  async #run(lane: Lane, handle: (m: Message) => Promise<void>): Promise<void> {
    while (lane.queue.length > 0 && !this.#done && this.#error === undefined) {
      const m = lane.queue.shift()!;
      try {
        await handle(m);
      } catch (e) {
        this.#error ??= e;
      }
      this.#pending--;
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    }
  }

  /** Stops handing out queued records and waits for the ones being handled; the first error. */
  async drain(): Promise<unknown> {
    this.#done = true;
    await Promise.all([...this.#lanes.values()].flatMap((l) => [...l.workers]));
    return this.#error;
  }
}

/** The handler's own error, carried through the stream loop. */
class HandlerError {
  constructor(readonly cause: unknown) {}
}

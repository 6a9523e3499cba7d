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
 * It speaks Kafka itself (`wire/`, shared with the producer; the client library is never loaded):
 * the classic group protocol through {@linkcode GroupMember} (a rebalance commits what was handled,
 * then rejoins), Fetch to each partition's leader with the next Fetch sent as soon as an answer is
 * parsed and before its records are handed over (one answer in hand and one on the way per
 * leader, each at most `maxBytesPerPartition`), record values handed over as views into the
 * fetched bytes in the same tick the answer arrives.
 *
 * @module
 */
import { sleep, withTimeout } from "../_util/abort.ts";
import { byteString, RepeatedText } from "../_util/utf8.ts";
import { type OffsetPosition, partitionKey, withAdmin } from "./admin.ts";
import type { KafkaCluster } from "./cluster.ts";
import {
  BrokerConnectionError,
  isRetriable,
  KafkaOptionError,
  KafkaProtocolError,
  UnknownTopicError,
} from "./errors.ts";
import { GroupMember } from "./group.ts";
import { listOffsets } from "./offsets.ts";
import type { ProducerWire } from "./wire/client.ts";
import {
  CONSUMER_API,
  type FetchPartition,
  fetchRequest,
  parseFetch,
  type TopicPartitions,
} from "./wire/consumer_apis.ts";
import { ErrorCode, errorName, retriableCode } from "./wire/error_codes.ts";
import { type BatchRecord, decodeRecordBatches } from "./wire/records.ts";

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

interface Pending {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
}

const ABORTED = Symbol("aborted");

/**
 * Bytes of one Fetch answer at most. 64 KiB alerts read from a backlog by a listener: 2 MiB
 * answers peaked at 91-94 MiB RSS, 8 MiB ones at 111-122 MiB, at the same rate (bench/README.md,
 * session 7 kcons).
 */
const FETCH_MAX_BYTES = 2 * 1024 * 1024;

/** A record read (the handler's view of it). */
type Fetched = ConsumedRecord;

/** The outcome of one Fetch request. */
interface FetchOutcome {
  node: number;
  asked: FetchPartition[];
  res?: ReturnType<typeof parseFetch>;
  error?: unknown;
}

function fetchError(code: number, what: string, topic?: string): KafkaProtocolError {
  return new KafkaProtocolError(code, errorName(code), retriableCode(code), what, { topic });
}

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
  /** The running session's group membership and its client. */
  #member: GroupMember | undefined;
  #wire: ProducerWire | undefined;
  /** The member id kept across sessions (a reconnected member rejoins as itself). */
  #memberId = "";
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
    const wire = this.#wire;
    const out = new Map<string, bigint>();
    if (!wire) return out;
    const ends = await withTimeout(
      (async () => {
        const leaders = await wire.metadata([...this.#opts.topics], false, true);
        const parts = new Map(
          [...leaders].map(([t, l]) => [t, Array.from({ length: l.leaders.length }, (_, i) => i)]),
        );
        return await listOffsets(wire, parts, "latest");
      })(),
      this.#cluster.timeoutMs,
      () => new Error(`no answer within ${this.#cluster.timeoutMs} ms`),
    );
    for (const [key, end] of ends) {
      const committed = this.#committed.get(key);
      if (committed !== undefined) out.set(key, end > committed ? end - committed : 0n);
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
   * One connection of the group: joins, reads until stopped (undefined) or a failure
   * (returned), rejoins in place when the group rebalances. The handler's error is thrown.
   */
  async #session(
    handler: RecordHandler,
    recent: RecentIds,
    healthy: () => void,
  ): Promise<unknown> {
    const o = this.#opts;
    const session = o.sessionTimeoutMs ?? 10_000;
    const maxWait = o.maxWaitMs ?? 200;
    // JoinGroup waits up to the rebalance timeout; a fetch up to maxWaitMs on the broker
    const wire = this.#cluster.wire(Math.max(this.#cluster.timeoutMs, session + 5000));
    const fetchWire = this.#cluster.wire(Math.max(this.#cluster.timeoutMs, maxWait + 5000));
    const contact = () => {
      this.#lastContact = Date.now();
      o.onContact?.();
    };
    let interrupt: () => void = () => {};
    const member = new GroupMember(wire, {
      groupId: o.groupId,
      topics: [...o.topics],
      sessionTimeoutMs: session,
      memberId: this.#memberId,
      onContact: contact,
      onRebalance: () => interrupt(),
    });
    this.#member = member;
    this.#wire = wire;
    let failure: unknown;
    let handlerError: HandlerError | undefined;
    const stopper = new Stopper();
    const aborted = () => stopper.stop();
    if (this.#signal.aborted) aborted();
    else this.#signal.addEventListener("abort", aborted, { once: true });
    const lanes = () =>
      o.lane
        ? new Lanes(o.lane, o.laneConcurrency ?? (() => 1), o.maxPending ?? 256, stopper)
        : undefined;
    try {
      while (!this.#signal.aborted) {
        const assigned = await stopper.wait(member.join());
        if (assigned === ABORTED) break;
        this.#memberId = member.memberId;
        contact();
        healthy();
        // a Stopper, not a long-lived promise raced each time (see Stopper)
        const interrupted = new Stopper();
        interrupt = () => interrupted.stop();
        if (member.rebalancing || member.failure) interrupt();
        const laneSet = lanes();
        try {
          await this.#fetchLoop(
            fetchWire,
            member,
            assigned,
            interrupted,
            stopper,
            laneSet,
            (r) => this.#handle(r, handler, recent),
            contact,
          );
        } catch (e) {
          if (e instanceof HandlerError) handlerError = e;
          else if (!this.#signal.aborted) failure = e;
        } finally {
          // the records in hand are finished (the rest come again from the committed offsets)
          if (laneSet) {
            const e = await laneSet.drain();
            if (e instanceof HandlerError) handlerError ??= e;
          }
        }
        if (handlerError || failure !== undefined) break;
        if (member.failure) {
          failure = member.failure;
          break;
        }
        if (!member.rebalancing) break;
        // commit what was handled before the partitions are given up, then join again
        this.#cancelScheduledCommit();
        await this.#flushCommits(true);
      }
    } catch (e) {
      if (!this.#signal.aborted) failure ??= e;
    } finally {
      this.#signal.removeEventListener("abort", aborted);
      this.#cancelScheduledCommit();
      await this.#flushCommits(true);
      this.#member = undefined;
      this.#wire = undefined;
      member.close();
      // leaving the group lets a restarted member take over at once (a member that reconnects
      // keeps its membership); bounded for dead brokers
      const leaving = failure === undefined || handlerError !== undefined ||
        !isRetriable(failure);
      if (leaving) {
        this.#memberId = "";
        await Promise.race([member.leave(), sleep(SHUTDOWN_STEP_MS)]);
      }
      fetchWire.close();
      wire.close();
    }
    if (handlerError) throw handlerError.cause;
    return failure;
  }

  /** Start positions of newly assigned partitions: the group's committed offsets, or `start`. */
  async #positions(
    wire: ProducerWire,
    member: GroupMember,
    assigned: TopicPartitions,
  ): Promise<Map<string, FetchPartition>> {
    const out = new Map<string, FetchPartition>();
    if (assigned.size === 0) return out;
    const committed = await member.committed(assigned);
    const fresh = new Map<string, number[]>();
    for (const [topic, parts] of assigned) {
      for (const partition of parts) {
        const key = partitionKey(topic, partition);
        const off = committed.get(key) ?? -1n;
        this.#finished.delete(key);
        if (off >= 0n) {
          this.#committed.set(key, off);
          out.set(key, { topic, partition, offset: off });
        } else fresh.set(topic, [...(fresh.get(topic) ?? []), partition]);
      }
    }
    if (fresh.size > 0) {
      for (const [key, offset] of await listOffsets(wire, fresh, this.#opts.start ?? "latest")) {
        const i = key.lastIndexOf(":");
        out.set(key, { topic: key.slice(0, i), partition: Number(key.slice(i + 1)), offset });
      }
    }
    return out;
  }

  /**
   * Fetches the assigned partitions from their leaders, one Fetch ahead per leader, and hands
   * the records over as each answer is parsed. Returns when stopped, interrupted (a rebalance)
   * or the handler failed; throws connection and protocol failures.
   */
  async #fetchLoop(
    wire: ProducerWire,
    member: GroupMember,
    assigned: TopicPartitions,
    interrupted: Stopper,
    stopper: Stopper,
    lanes: Lanes | undefined,
    handle: (r: Fetched) => Promise<void>,
    contact: () => void,
  ): Promise<void> {
    const o = this.#opts;
    const maxWaitMs = o.maxWaitMs ?? 200;
    const partitionMaxBytes = o.maxBytesPerPartition ?? 8 * 1024 * 1024;
    // at most FETCH_MAX_BYTES per answer (a larger batch still comes whole; the order of the
    // partitions rotates so none starves): with one answer in hand and one on the way per
    // leader, about twice this is held
    const maxBytes = Math.min(partitionMaxBytes, FETCH_MAX_BYTES);
    let rotation = 0;
    const hwm = Math.max(1, o.highWaterMark ?? 1024);
    const positions = await this.#positions(wire, member, assigned);
    while (!this.#signal.aborted && !member.rebalancing && !member.failure) {
      // partitions by leader
      const leaders = await wire.metadata([...assigned.keys()], false, true);
      const byNode = new Map<number, FetchPartition[]>();
      for (const p of positions.values()) {
        const node = leaders.get(p.topic)?.leaders[p.partition] ?? -1;
        byNode.set(node, [...(byNode.get(node) ?? []), p]);
      }
      const inflight = new Map<number, Promise<FetchOutcome>>();
      const send = (node: number) => {
        const parts = byNode.get(node)!;
        const k = rotation++ % parts.length;
        const asked = [...parts.slice(k), ...parts.slice(0, k)].map((p) => ({ ...p }));
        inflight.set(
          node,
          wire.broker(node).then((conn) =>
            wire.call(
              conn,
              CONSUMER_API.Fetch,
              "Fetch",
              (v) => fetchRequest(v, { maxWaitMs, maxBytes, partitionMaxBytes, parts: asked }),
              parseFetch,
            )
          ).then((res) => ({ node, asked, res }), (error) => ({ node, asked, error })),
        );
      };
      for (const node of byNode.keys()) send(node);
      if (byNode.size === 0) {
        // nothing assigned: wait for a rebalance
        await interrupted.wait(stopper.wait(new Promise<void>(() => {})));
        return;
      }
      let refresh = false;
      while (!refresh) {
        const next = await interrupted.wait(stopper.wait(Promise.race(inflight.values())));
        if (next === ABORTED) return;
        inflight.delete(next.node);
        if (next.error !== undefined) throw next.error;
        const res = next.res!;
        contact();
        if (res.errorCode !== 0) throw fetchError(res.errorCode, "Fetch");
        const batches: Array<{ topic: string; partition: number; records: BatchRecord[] }> = [];
        let total = 0;
        for (const p of res.partitions) {
          const key = partitionKey(p.topic, p.partition);
          const pos = positions.get(key);
          if (!pos) continue;
          const asked = next.asked.find((a) => a.topic === p.topic && a.partition === p.partition);
          if (!asked || asked.offset !== pos.offset) continue; // moved meanwhile
          if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
            const at = await listOffsets(
              wire,
              new Map([[p.topic, [p.partition]]]),
              o.start ?? "latest",
            );
            pos.offset = at.get(key) ?? pos.offset;
            continue;
          }
          if (p.errorCode !== 0) {
            if (!retriableCode(p.errorCode)) {
              throw fetchError(p.errorCode, `Fetch of ${key}`, p.topic);
            }
            refresh = true; // a leader moved: fetch from the new one
            continue;
          }
          let decoded = decodeRecordBatches(p.records, pos.offset, p.aborted, p);
          if (decoded instanceof Promise) decoded = await decoded;
          pos.offset = decoded.nextOffset;
          if (decoded.records.length > 0) {
            batches.push({ topic: p.topic, partition: p.partition, records: decoded.records });
            total += decoded.records.length;
          }
        }
        if (refresh) break;
        // the next fetch leaves now (or once no more than highWaterMark records are ahead)
        let sendAfter = Math.max(0, total - hwm);
        if (sendAfter === 0) send(next.node);
        let handed = 0;
        for (const b of batches) {
          for (const r of b.records) {
            if (lanes && !(await lanes.room())) return;
            const record = this.#record(b.topic, b.partition, r);
            if (lanes) lanes.push(record, handle);
            else await handle(record);
            if (this.#signal.aborted || member.rebalancing) return;
            if (++handed === sendAfter) {
              sendAfter = 0;
              send(next.node);
            }
          }
        }
        if (!inflight.has(next.node)) send(next.node);
      }
      for (const p of inflight.values()) p.catch(() => {});
    }
  }

  #record(topic: string, partition: number, r: BatchRecord): Fetched {
    const headers: Array<[string, Uint8Array]> = new Array(r.headers.length);
    for (let i = 0; i < r.headers.length; i++) {
      const [k, v] = r.headers[i];
      headers[i] = [this.#headerNames.text(k), v];
    }
    return {
      topic,
      partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key,
      value: r.value,
      headers,
    };
  }

  async #handle(m: Fetched, handler: RecordHandler, recent: RecentIds): Promise<void> {
    const key = partitionKey(m.topic, m.partition);
    const id = recent.capacity > 0 ? idOf(m.headers) : undefined;
    if (this.#barrier) await this.#barrier.catch(() => {});
    if (id === undefined || !recent.seen(id)) {
      let running = this.#inProgress.get(key);
      if (!running) this.#inProgress.set(key, running = new Set());
      running.add(m.offset);
      try {
        await handler(m);
      } catch (e) {
        running.delete(m.offset);
        throw new HandlerError(e);
      }
      running.delete(m.offset);
      // stopped while the handler ran: its outcome is unknown, the record comes again
      if (this.#signal.aborted) return;
    }
    this.#done(key, m.topic, m.partition, m.offset, -1);
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
      const member = this.#member;
      if (!member) return committed;
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
          member.commit(batch),
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
        if (final || failures > 20 || this.#member !== member) return committed;
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
  queue: Fetched[];
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

  push(m: Fetched, handle: (m: Fetched) => Promise<void>): void {
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

  async #run(lane: Lane, handle: (m: Fetched) => Promise<void>): Promise<void> {
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

/**
 * posttroll -> Kafka: subscribes to posttroll publishers (found through the nameserver, or given
 * by address) and produces every message, unchanged, to the Kafka topic of its subject (see
 * {@linkcode subjectToTopic}), keyed by subject, with hop's headers (see {@linkcode recordHeaders}).
 *
 * Delivery: records are acknowledged by all in-sync replicas (acks -1). While Kafka is
 * unreachable, messages are held in memory (up to `maxBufferBytes`, then new ones are dropped and
 * counted) and retried, in order, until the broker is back. `close()` stops receiving and keeps
 * retrying what is held for up to its deadline. posttroll itself keeps no history: messages
 * published while no uplink runs are not seen by it; run two uplinks (on different hosts) for a
 * restart without gaps: their copies share one identity, and the Kafka -> posttroll side drops
 * the second.
 *
 * @module
 */
import { type AddressInfo, NSSubscriber, Subscriber } from "../posttroll/subscriber.ts";
import type { Message } from "../posttroll/message.ts";
import { withAdmin } from "../kafka/admin.ts";
import type { KafkaCluster } from "../kafka/cluster.ts";
import { KafkaProducer, type ProducerRecord } from "../kafka/producer.ts";
import { bridgeCluster } from "./kafka_link.ts";
import { limitedLog } from "../_util/log_limit.ts";
import { ByteArena } from "../_util/byte_arena.ts";
import {
  DEFAULT_BRIDGE_SERVICE,
  type ParsedToKafkaOptions,
  parseToKafkaOptions,
  type ToKafkaOptions,
} from "./options.ts";
import { OccurrenceCounter } from "./identity.ts";
import { ID_HEADER_INDEX, recordHeaders } from "./record.ts";
import { subjectToTopic, type TopicMapping } from "./topics.ts";

/**
 * Bytes a held message costs besides its own (its record, headers, `_id` and the producer's and
 * batcher's entries: ~640 measured in a heap snapshot of to-kafka, bench/README.md "Session 6
 * (brss, #17)"), counted against `maxBufferBytes` so that the limit bounds memory, not only
 * payload: 256 MiB of 132-byte messages would otherwise hold ~1.2 GB of heap besides.
 */
export const HELD_MESSAGE_OVERHEAD = 640;

/** Services a posttroll nameserver's own address publisher announces. */
const NAMESERVER_SERVICES = ["address_receiver", "addresses"];

export { DEFAULT_BRIDGE_SERVICE, type ToKafkaOptions } from "./options.ts";

/** Counters of a {@linkcode PosttrollToKafka}. */
export interface ToKafkaStats {
  /** Messages received from posttroll. */
  received: number;
  /** Messages acknowledged by Kafka. */
  produced: number;
  /** Messages dropped because `maxBufferBytes` were held. */
  dropped: number;
  /** Messages Kafka refused for good (too large for the topic). */
  failed: number;
  /** Messages held (received, not yet acknowledged). */
  pending: number;
  /** Bytes held. */
  pendingBytes: number;
  /** Produce attempts that failed and were retried. */
  retries: number;
}

function toList(v: string | string[] | undefined, dflt: string[]): string[] {
  if (v === undefined) return dflt;
  return typeof v === "string" ? [v] : v;
}

/**
 * Forwards posttroll messages to Kafka.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PosttrollToKafka } from "./to_kafka.ts";
 * import { Publisher } from "../posttroll/publisher.ts";
 * import { Message } from "../posttroll/message.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092"; // stands for kafka.example.org:9092
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * const prefix = `example-${crypto.randomUUID().slice(0, 8)}`;
 * await using up = await new PosttrollToKafka({
 *   url: `kafka://${broker}/`,
 *   noauth: true,
 *   // with a nameserver: `services: "polar_direct_readout"`; here one publisher, directly
 *   addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
 *   nameserver: false,
 *   site: "norrkoping",
 *   prefix,
 * }).start();
 * while (up.stats.produced === 0) { // a SUB socket joins a little after it connects
 *   await pub.send(new Message("/oper/polar/direct_readout", "file", { uri: "/data/a.l1b" }));
 *   await new Promise((r) => setTimeout(r, 100));
 * }
 * assertEquals(up.stats.failed, 0); // acknowledged by the broker, in topic `${prefix}.oper.polar...`
 * ```
 */
export class PosttrollToKafka implements AsyncDisposable {
  /** This site's name (`posttroll_origin`). */
  readonly site: string;
  readonly #cluster: KafkaCluster;
  readonly #opts: ParsedToKafkaOptions;
  readonly #mapping: TopicMapping;
  readonly #stats: ToKafkaStats = {
    received: 0,
    produced: 0,
    dropped: 0,
    failed: 0,
    pending: 0,
    pendingBytes: 0,
    retries: 0,
  };
  readonly #producer: KafkaProducer;
  readonly #known = new Set<string>();
  readonly #topics = new Map<string, string>();
  readonly #occurrences = new OccurrenceCounter();
  /** Memory of the records' values and ids until Kafka acknowledged them. */
  readonly #arena = new ByteArena();
  #sender: string | undefined;
  #sub: Subscriber | undefined;
  #ns: NSSubscriber | undefined;
  #started = false;
  #closing: Promise<void> | undefined;
  /** Lines about messages dropped for a full buffer: one per 5 s. */
  readonly #dropLog: ReturnType<typeof limitedLog<"error">>;
  #lastRetryLog = 0;
  #lastFailLog = 0;

  /**
   * Checks the options and resolves the credential; nothing connects until
   * {@linkcode PosttrollToKafka.start}.
   *
   * @param options Kafka URL and credential, posttroll services and subjects, topic mapping
   * @throws BridgeOptionError for bad options; CredentialFileError for a bad auth file
   */
  constructor(options: ToKafkaOptions) {
    const o = parseToKafkaOptions(options);
    this.#opts = o;
    this.#dropLog = limitedLog(o.logger, { windowMs: 5000, quiet: true });
    this.#mapping = { prefix: o.prefix, depth: o.depth, topic: o.topic };
    this.site = o.site;
    this.#cluster = bridgeCluster(o, "posttroll-bridge-up");
    // records are retried, in order, until they are acknowledged or close()'s deadline passes
    this.#producer = new KafkaProducer(this.#cluster, {
      lingerMs: o.lingerMs,
      maxBatchBytes: 900_000,
      maxInFlight: 1,
      // records queued for the next requests: four requests' worth (the rest wait in the
      // producer's order, within maxBufferBytes)
      maxQueueBytes: 4 * 1024 * 1024,
      deliveryTimeoutMs: Infinity,
      autocreateTopics: true,
      prepare: (topics) => this.#ensureTopics(topics),
      onRetry: (err, attempt, records) => this.#retrying(err, attempt, records),
    });
  }

  /** `host:port` of the first bootstrap broker. */
  get broker(): string {
    return this.#cluster.broker;
  }

  /** A snapshot of the counters. */
  get stats(): ToKafkaStats {
    return { ...this.#stats };
  }

  /** URIs of the posttroll publishers subscribed to now. */
  get publishers(): string[] {
    return this.#sub?.addresses.map((a) => a.URI) ?? [];
  }

  /**
   * Connects to Kafka (failing fast on wrong credentials, TLS problems or a dead broker), then
   * subscribes to posttroll and starts forwarding.
   *
   * @returns this
   * @throws AuthError, BrokerConnectionError
   */
  async start(): Promise<this> {
    if (this.#started) return this;
    const topics = await withAdmin(this.#cluster, "connect", (a) => a.listTopics());
    for (const t of topics) this.#known.add(t);
    this.#sender = this.#cluster.credential()?.username;
    await this.#producer.connect();
    const o = this.#opts;
    const exclude = new Set(o.excludeServices ?? [DEFAULT_BRIDGE_SERVICE]);
    // the nameserver's own publisher (address announcements, its heartbeat) is site-local
    // infrastructure: its URIs mean nothing elsewhere, so it is never forwarded unless asked for
    const wanted = toList(o.services, [""]);
    for (const svc of NAMESERVER_SERVICES) if (!wanted.includes(svc)) exclude.add(svc);
    const accept = (a: AddressInfo) => {
      const svc = a.service;
      const list = Array.isArray(svc) ? svc : typeof svc === "string" ? [svc] : [];
      const excluded = list.some((s) => exclude.has(String(s)));
      if (excluded) {
        this.#opts.logger("info", `not forwarding ${a.URI}: it publishes ${list.join(",")}`);
      }
      return !excluded;
    };
    const subjects = toList(o.subjects, [""]);
    const logger = (level: "debug" | "info" | "warning", m: string) => this.#opts.logger(level, m);
    if (o.nameserver === false) {
      this.#sub = new Subscriber(o.addresses ?? [], {
        topics: subjects,
        config: o.config,
        logger,
        onMessage: this.#forward,
      });
    } else {
      this.#ns = new NSSubscriber({
        services: wanted,
        topics: subjects,
        addrListener: true,
        addresses: o.addresses ?? null,
        nameserver: o.nameserver ?? "localhost",
        timeout: 3,
        config: o.config,
        logger,
        onMessage: this.#forward,
        addressFilter: accept,
      });
      this.#sub = await this.#ns.start();
    }
    this.#started = true;
    this.#opts.logger(
      "info",
      `forwarding posttroll ${subjects.join(",") || "(all)"} to ${this.#cluster.broker}`,
    );
    return this;
  }

  #retrying(err: Error, attempt: number, records: number): void {
    this.#stats.retries++;
    const now = Date.now();
    if (attempt === 1 || now - this.#lastRetryLog > 10_000) {
      this.#lastRetryLog = now;
      this.#opts.logger(
        "warning",
        `Kafka did not take ${records} records (${err.message}); holding ` +
          `${this.#stats.pending} messages, retrying`,
      );
    }
  }

  /**
   * Forwards one message, in the read loop of the connection that read it (the subscriber's
   * `onMessage`): the decoded message dies young, with no queue between the socket and Kafka's
   * batcher and no promise per message.
   */
  readonly #forward = (msg: Message, raw: Uint8Array): void => {
    const s = this.#stats;
    s.received++;
    const held = s.pendingBytes + (s.pending + 1) * HELD_MESSAGE_OVERHEAD + raw.length;
    if (held > this.#opts.maxBufferBytes) {
      s.dropped++;
      this.#dropLog(
        "buffer full",
        "error",
        () =>
          `holding ${s.pending} messages of ${s.pendingBytes} bytes for Kafka (limit ` +
          `${this.#opts.maxBufferBytes} bytes, ${HELD_MESSAGE_OVERHEAD} more per message): ` +
          `dropping new messages (${s.dropped} so far)`,
      );
      return;
    }
    const topic = this.#topicOf(msg.subject);
    // the bytes (valid during this call only) and the id are held until Kafka acknowledged
    // them, in blocks reused once everything in them was acknowledged (#settled releases them)
    const value = this.#arena.copy(raw);
    const id = this.#occurrences.identity(value, this.#arena.take(16));
    s.pending++;
    s.pendingBytes += raw.length;
    // no promise or closure per message: one callback counts them all
    const headers = recordHeaders(msg.subject, msg.type, this.site, this.#sender, id);
    this.#producer.offer({ topic, key: headers[0][1], value, headers }, this.#settled);
  };

  /** Counts a record that settled (and logs a failure). */
  readonly #settled = (r: ProducerRecord, e: Error | undefined): void => {
    const s = this.#stats;
    s.pending--;
    s.pendingBytes -= r.value!.length;
    // nothing reads the record any more (its request was written or given up)
    this.#arena.release(r.value!);
    this.#arena.release(r.headers[ID_HEADER_INDEX][1]);
    if (e === undefined) {
      s.produced++;
      return;
    }
    s.failed++;
    // a few lines, then one summary every 10 s (a shutdown with a large backlog and no broker
    // would otherwise write a line per message)
    const now = Date.now();
    if (s.failed <= 3 || now - this.#lastFailLog > 10_000) {
      this.#lastFailLog = now;
      const subject = new TextDecoder().decode(r.key!);
      this.#opts.logger(
        "error",
        `not delivered to Kafka (${r.topic}, ${subject}): ${e.message}` +
          (s.failed > 3 ? ` (${s.failed} so far)` : ""),
      );
    }
  };

  /** subjectToTopic, remembered for the subjects seen lately (a pipeline has few). */
  #topicOf(subject: string): string {
    let t = this.#topics.get(subject);
    if (t === undefined) {
      if (this.#topics.size >= 10_000) this.#topics.clear();
      t = subjectToTopic(subject, this.#mapping);
      this.#topics.set(subject, t);
    }
    return t;
  }

  async #ensureTopics(topics: Iterable<string>): Promise<void> {
    if (this.#opts.createTopics === false) return;
    const missing = [...topics].filter((t) => !this.#known.has(t));
    if (missing.length === 0) return;
    try {
      const created = await withAdmin(
        this.#cluster,
        "create topics",
        (a) =>
          a.createTopics(missing.map((topic) => ({
            topic,
            partitions: this.#opts.partitions ?? -1,
            replicas: this.#opts.replicationFactor ?? -1,
          }))),
      );
      if (created.length) this.#opts.logger("info", `created Kafka topics ${created.join(", ")}`);
    } catch (e) {
      this.#opts.logger(
        "warning",
        `cannot create ${missing.join(", ")} (${(e as Error).message}); relying on the broker's ` +
          "auto-creation",
      );
    }
    for (const t of missing) this.#known.add(t);
  }

  /**
   * Runs until `signal` aborts, then closes (see {@linkcode close}).
   *
   * @param signal stops the bridge
   * @param closeTimeoutMs see {@linkcode close}
   * @returns the final counters
   */
  async run(signal: AbortSignal, closeTimeoutMs?: number): Promise<ToKafkaStats> {
    await this.start();
    if (!signal.aborted) {
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    }
    return await this.close(closeTimeoutMs);
  }

  /**
   * Stops receiving, then keeps delivering what is held for up to `timeoutMs` (what is still
   * undelivered then is counted as `failed` and logged), and disconnects.
   *
   * @param timeoutMs how long to keep trying @default 10000
   * @returns the final counters
   */
  async close(timeoutMs = 10_000): Promise<ToKafkaStats> {
    this.#closing ??= (async () => {
      // no message is handed over once the subscriber is closed
      await (this.#ns ?? this.#sub)?.close();
      await this.#producer.close(timeoutMs);
      if (this.#stats.failed > 0) {
        this.#opts.logger(
          "error",
          `${this.#stats.failed} messages could not be delivered to Kafka`,
        );
      }
    })();
    await this.#closing;
    return this.stats;
  }

  /** Same as {@linkcode close} with the default deadline. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

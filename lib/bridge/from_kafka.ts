/**
 * Kafka -> posttroll: consumes the bridge's Kafka topics and republishes each message, byte for
 * byte, from a {@linkcode NoisyPublisher} announced under a service name, so posttroll
 * subscribers at this site find it through their nameserver like any publisher.
 *
 * Delivery is at least once, with duplicates suppressed by message identity:
 * - offsets are committed only after the batch's messages were written to the subscribers'
 *   connections and their identities synced to the state file ({@linkcode DedupStore});
 * - a record whose identity (its hop `_id`, else the SHA-256 of its bytes) is known — a copy
 *   from a second uplink, or a redelivery after a restart — is skipped, across restarts too;
 * - while fewer than `minSubscribers` subscribers are connected, consumption pauses: Kafka keeps
 *   the messages, instead of the publisher dropping them (posttroll's PUB socket drops messages
 *   nobody subscribes to). After a restart the bridge therefore waits for its subscribers to
 *   reconnect before it republishes. A subscriber counts whatever its topics: records that no
 *   connected subscriber's topics match are dropped by the PUB socket, as in posttroll (holding
 *   them instead would stop the whole partition behind one subject nobody reads). With several
 *   subscribers at a site, set `minSubscribers` to their number, so a restart waits for all;
 * - records produced by this site's own uplink (`posttroll_origin` = `site`) are skipped (its
 *   subscribers had them first-hand), as are records that are not posttroll messages (logged).
 *
 * The consumer group (default `posttroll-bridge.<service>.<site>`) keeps the position across
 * restarts; a brand-new group starts at the end of the topics (`start: "latest"`) or at their
 * beginning (`"earliest"`); topics that appear later under the prefix are read from their
 * beginning.
 *
 * @module
 */
import { Message } from "../posttroll/message.ts";
import { NoisyPublisher } from "../posttroll/publisher.ts";
import { AuthError } from "../hop/errors.ts";
import { sleep } from "../_util/abort.ts";
import { limitedLog } from "../_util/log_limit.ts";
import { withAdmin } from "../kafka/admin.ts";
import type { KafkaCluster } from "../kafka/cluster.ts";
import { type ConsumedRecord, KafkaConsumer } from "../kafka/consumer.ts";
import { DedupStore } from "./dedup.ts";
import type { DedupStoreError } from "./errors.ts";
import { messageIdentity } from "./identity.ts";
import { bridgeCluster } from "./kafka_link.ts";
import { headerId, headerText, ORIGIN_HEADER } from "./record.ts";
import {
  type FromKafkaOptions,
  type ParsedFromKafkaOptions,
  parseFromKafkaOptions,
} from "./options.ts";
import { topicHasPrefix } from "./topics.ts";

export type { FromKafkaOptions } from "./options.ts";

/** Counters of a {@linkcode KafkaToPosttroll}. */
export interface FromKafkaStats {
  /** Records read from Kafka. */
  consumed: number;
  /** Messages republished to posttroll. */
  published: number;
  /** Records skipped as already republished (same identity). */
  duplicates: number;
  /** Records skipped because this site's uplink produced them. */
  ownSite: number;
  /** Records skipped because they are not posttroll messages. */
  invalid: number;
  /** Offset commits. */
  commits: number;
  /** Times consumption paused for want of subscribers. */
  holds: number;
  /** Consumer restarts after errors or new topics. */
  restarts: number;
  /** Delay of the last record read: when it was read minus its Kafka timestamp (ms; 0 before any). */
  lagMs: number;
}

/**
 * Republishes Kafka records to posttroll.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaToPosttroll } from "./from_kafka.ts";
 * import { buildRecord } from "./record.ts";
 * import { KafkaCluster } from "../kafka/cluster.ts";
 * import { withAdmin } from "../kafka/admin.ts";
 * import { KafkaProducer } from "../kafka/producer.ts";
 * import { Message } from "../posttroll/message.ts";
 * import { Subscriber } from "../posttroll/subscriber.ts";
 * import { PosttrollConfig } from "../posttroll/config.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092"; // stands for kafka.example.org:9092
 * const url = `kafka://${broker}/`;
 * // a record another site's uplink wrote to topic <prefix>.oper
 * const prefix = `example-${crypto.randomUUID().slice(0, 8)}`;
 * const cluster = new KafkaCluster({ url, noauth: true });
 * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${prefix}.oper` }]));
 * const raw = new TextEncoder().encode(new Message("/oper", "info", "from site a").encode());
 * const { key, value, headers } = buildRecord(raw, "/oper", "info", "site-a");
 * {
 *   await using producer = await new KafkaProducer(cluster).connect([`${prefix}.oper`]);
 *   await producer.send({ topic: `${prefix}.oper`, key, value, headers });
 * }
 * // announced by multicast on loopback to a free port (a site: its nameserver's settings)
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * l.close();
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: { multicast_interface: "127.0.0.1", broadcast_port: (l.addr as Deno.NetAddr).port },
 * });
 * const dir = await Deno.makeTempDir(); // stands for /var/lib/posttroll-bridge
 * await using down = await new KafkaToPosttroll({
 *   url,
 *   noauth: true,
 *   prefix,
 *   start: "earliest",
 *   service: "kafka_bridge",
 *   site: "site-b",
 *   dedupPath: `${dir}/site-b.dedup`,
 *   config,
 * }).start();
 * await using sub = new Subscriber([`tcp://127.0.0.1:${down.port}`]); // consumption starts now
 * for await (const msg of sub) {
 *   assertEquals([msg.subject, msg.data], ["/oper", "from site a"]);
 *   break;
 * }
 * await down.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class KafkaToPosttroll implements AsyncDisposable {
  /** This site's name. */
  readonly site: string;
  /** The consumer group. */
  readonly groupId: string;
  /** The service name published under. */
  readonly service: string;
  readonly #cluster: KafkaCluster;
  readonly #opts: ParsedFromKafkaOptions;
  readonly #stats: FromKafkaStats = {
    consumed: 0,
    published: 0,
    duplicates: 0,
    ownSite: 0,
    invalid: 0,
    commits: 0,
    holds: 0,
    restarts: 0,
    lagMs: 0,
  };
  readonly #stop = new AbortController();
  #topics: string[] = [];
  /** Where the first run's fresh partitions start (later topics: their beginning). */
  #firstStart: "latest" | "earliest" = "earliest";
  #store: DedupStore | undefined;
  #pub: NoisyPublisher | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Lines about records that are not posttroll messages: one per 5 s. */
  readonly #invalidLog: ReturnType<typeof limitedLog<"warning">>;
  #lastStoreLog = 0;

  /**
   * Checks the options and resolves the credential; nothing connects until
   * {@linkcode KafkaToPosttroll.start}.
   *
   * @param options Kafka URL and credential, topics, service name, state file
   * @throws BridgeOptionError for bad options; CredentialFileError for a bad auth file
   */
  constructor(options: FromKafkaOptions) {
    const o = parseFromKafkaOptions(options);
    this.#opts = o;
    this.#invalidLog = limitedLog(o.logger, { windowMs: 5000, quiet: true });
    this.site = o.site;
    this.service = o.service;
    this.groupId = o.groupId;
    this.#cluster = bridgeCluster(options, "posttroll-bridge-down");
  }

  /** `host:port` of the first bootstrap broker. */
  get broker(): string {
    return this.#cluster.broker;
  }

  /** A snapshot of the counters. */
  get stats(): FromKafkaStats {
    return { ...this.#stats };
  }

  /** Topics consumed now. */
  get topics(): string[] {
    return [...this.#topics];
  }

  /** The port the posttroll publisher is bound to (after start). */
  get port(): number | undefined {
    return this.#pub?.portNumber;
  }

  /** posttroll subscribers connected now. */
  get subscriberCount(): number {
    return this.#pub?.subscriberCount() ?? 0;
  }

  /**
   * Opens the state file, checks Kafka (failing fast on wrong credentials, TLS problems or a
   * dead broker), fixes a new group's start position, starts the posttroll publisher and
   * starts consuming.
   *
   * @returns this
   * @throws AuthError, BrokerConnectionError, DedupStoreError
   */
  async start(): Promise<this> {
    if (this.#loop) return this;
    const o = this.#opts;
    this.#store = await DedupStore.open(o.dedupPath ?? null, { capacity: o.dedupCapacity });
    try {
      await withAdmin(this.#cluster, "connect", async (admin) => {
        this.#topics = this.#match(await admin.listTopics());
        if ((o.start ?? "latest") === "latest" && this.#topics.length > 0) {
          // a brand-new group starts at the end; a known group's new partitions at their start
          const committed = await admin.committedOffsets(this.groupId, this.#topics);
          if ([...committed.values()].every((off) => off < 0n)) this.#firstStart = "latest";
        }
      });
      this.#pub = await new NoisyPublisher(this.service, {
        aliases: o.aliases,
        port: o.port ?? 0,
        nameservers: o.nameservers?.length ? o.nameservers : undefined,
        broadcastInterval: o.broadcastInterval ?? 2,
        announceHost: o.announceHost,
        config: o.config,
        onError: (e) =>
          this.#opts.logger("warning", `announcement failed: ${(e as Error).message ?? e}`),
      }).start();
    } catch (e) {
      await this.#store.close().catch(() => {});
      throw e;
    }
    this.#opts.logger(
      "info",
      `republishing ${
        this.#topics.length ? this.#topics.join(",") : `(no topics under ${this.#opts.prefix} yet)`
      } ` +
        `as ${this.service} on port ${this.#pub.portNumber}, group ${this.groupId}`,
    );
    this.#loop = this.#run();
    return this;
  }

  /** The broker's topics this bridge consumes, sorted. */
  #listTopics(): Promise<string[]> {
    return withAdmin(this.#cluster, "list topics", async (a) => this.#match(await a.listTopics()));
  }

  #match(all: string[]): string[] {
    const want = this.#opts.topics;
    const list = want?.length
      ? all.filter((t) => want.includes(t))
      : all.filter((t) => topicHasPrefix(t, this.#opts.prefix));
    return list.sort();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    let failures = 0;
    let start = this.#firstStart;
    while (!signal.aborted) {
      if (this.#topics.length === 0) {
        await sleep(this.#opts.refreshIntervalMs, signal);
        if (signal.aborted) break;
        try {
          this.#topics = await this.#listTopics();
        } catch (e) {
          this.#opts.logger("warning", `cannot list topics: ${(e as Error).message}`);
        }
        continue;
      }
      const error = await this.#consumeOnce(start);
      start = "earliest";
      if (signal.aborted) break;
      this.#stats.restarts++;
      if (error === undefined) {
        failures = 0; // new topics: resubscribe
        continue;
      }
      failures++;
      const err = this.#cluster.mapError(error);
      const wait = err instanceof AuthError
        ? 30_000
        : Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
      this.#opts.logger(
        err instanceof AuthError ? "error" : "warning",
        `Kafka consumer stopped (${err.message}); reconnecting in ${wait} ms`,
      );
      await sleep(wait, signal);
    }
  }

  /**
   * Consumes the current topics until close() (undefined, no restart), new topics appear
   * (undefined) or a failure the consumer does not recover from itself (returned).
   */
  async #consumeOnce(start: "latest" | "earliest"): Promise<unknown> {
    const ctl = new AbortController();
    const signal = AbortSignal.any([this.#stop.signal, ctl.signal]);
    const refresh = setInterval(async () => {
      try {
        const now = await this.#listTopics();
        const added = now.filter((t) => !this.#topics.includes(t));
        if (added.length) {
          this.#opts.logger("info", `new topics ${added.join(", ")}: resubscribing`);
          this.#topics = [...new Set([...this.#topics, ...now])].sort();
          ctl.abort();
        }
      } catch (e) {
        this.#opts.logger("debug", `topic refresh failed: ${(e as Error).message}`);
      }
    }, this.#opts.refreshIntervalMs);
    const consumer = new KafkaConsumer(this.#cluster, {
      groupId: this.groupId,
      topics: [...this.#topics],
      start,
      maxWaitMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
      sessionTimeoutMs: this.#opts.sessionTimeoutMs ?? 10_000,
      // duplicates are this bridge's own business (the state file, by identity)
      dedupCapacity: 0,
      signal,
      beforeCommit: () => this.#durable(),
      onReconnect: (err, wait) => {
        this.#stats.restarts++;
        this.#opts.logger(
          "warning",
          `Kafka consumer restarting after: ${err.message} (in ${wait} ms)`,
        );
      },
    });
    try {
      await consumer.run((r) => this.#handle(r, signal));
      return undefined;
    } catch (e) {
      return e;
    } finally {
      clearInterval(refresh);
    }
  }

  /**
   * Before a commit: the republished messages are written to the subscribers' connections and
   * their identities synced to the state file.
   */
  async #durable(): Promise<void> {
    await this.#pub!.flushed();
    try {
      await this.#store!.flush();
    } catch (e) {
      const now = Date.now();
      if (now - this.#lastStoreLog > 10_000) {
        this.#lastStoreLog = now;
        this.#opts.logger(
          "error",
          `${(e as DedupStoreError).name}: ${
            (e as DedupStoreError).message
          }; forwarding goes on, but after a restart ` +
            "duplicates are possible",
        );
      }
    }
    this.#stats.commits++;
  }

  async #handle(m: ConsumedRecord, signal: AbortSignal): Promise<void> {
    const pub = this.#pub!;
    if (pub.subscriberCount() < this.#opts.minSubscribers) {
      this.#stats.holds++;
      this.#opts.logger(
        "info",
        `fewer than ${this.#opts.minSubscribers} subscribers on ${this.service}: holding ${m.topic} ` +
          `at offset ${m.offset} until one connects`,
      );
      while (pub.subscriberCount() < this.#opts.minSubscribers && !signal.aborted) {
        await sleep(100, signal);
      }
      if (signal.aborted) return;
      this.#opts.logger("info", `subscribers connected: resuming ${m.topic}`);
    }
    const s = this.#stats;
    s.consumed++;
    s.lagMs = Math.max(0, Date.now() - m.timestamp);
    const headers = m.headers;
    if (!this.#opts.republishOwnSite && headerText(headers, ORIGIN_HEADER) === this.site) {
      s.ownSite++;
      return;
    }
    const bytes = m.value ?? new Uint8Array();
    try {
      Message.decode(bytes);
      if (bytes.length === 0) throw new Error("empty record");
    } catch (e) {
      s.invalid++;
      this.#invalidLog(
        "invalid record",
        "warning",
        () =>
          `skipping a record that is not a posttroll message (offset ${m.offset}): ` +
          `${(e as Error).message} (${s.invalid} so far)`,
      );
      return;
    }
    // the producer's id (to-kafka numbers repeats of identical bytes; hop gives each record its
    // own); the content's identity for records without one
    const id = headerId(headers) ?? messageIdentity(bytes);
    if (this.#store!.has(id)) {
      s.duplicates++;
      return;
    }
    await pub.send(bytes);
    this.#store!.add(id);
    s.published++;
  }

  /**
   * Runs until `signal` aborts, then closes.
   *
   * @param signal stops the bridge
   * @returns the final counters
   */
  async run(signal: AbortSignal): Promise<FromKafkaStats> {
    await this.start();
    if (!signal.aborted) {
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    }
    return await this.close();
  }

  /**
   * Stops consuming (the batch in hand is republished, synced and committed first), then closes
   * the publisher and the state file.
   *
   * @returns the final counters
   */
  async close(): Promise<FromKafkaStats> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      await this.#loop;
      await this.#pub?.flushed();
      await this.#pub?.stop();
      try {
        await this.#store?.close();
      } catch (e) {
        this.#opts.logger("error", `${(e as Error).message}`);
      }
    })();
    await this.#closing;
    return this.stats;
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

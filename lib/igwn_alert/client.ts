/**
 * The igwn-alert client (Python `igwn_alert.client` 0.7.0) on the Kafka layer (`lib/kafka/`), speaking hop-client's wire
 * format: listen to GraceDB alert topics `<group>.<topic>`, publish alerts, list a group's topics.
 *
 * Beyond the Python client: one consumer group for the whole life of a listener (no skipped
 * messages across reconnects), offsets committed only after the callback returns (at-least-once),
 * duplicate suppression by hop's `_id` header, a start position (latest, earliest or a time),
 * `alerts()` as an async iterator, AbortSignal support, bounded connection time.
 *
 * Publishing sessions batch like librdkafka (see `lib/kafka/producer.ts`): alerts published
 * together share one produce request (acks -1, at most `maxBatchBytes`), up to 5 requests per
 * session await their acknowledgement at once (`maxInFlight`; the session's producer is then
 * idempotent, so the broker keeps the order even across retries), each `publishToTopic`
 * resolves when its own alert is acknowledged, and at most `maxQueueBytes` of serialized alerts
 * are held (later calls wait for room). A batch refused as too large for the topic is split.
 *
 * Other differences from Python 0.7.0:
 * - a listener is a member of a Kafka consumer group: a random group
 *   per listener reproduces Python's fan-out; a shared `consumerGroup` load-balances between
 *   listeners (librdkafka's manual assignment in Python gives every process every message);
 * - `getTopics` keeps topics whose name starts with `<group>.` (Python: substring `group + '.'`)
 *   and returns everything after the prefix (Python: `split('.')[1]`);
 * - the server URL's port is used (`kafka://host:9093/`), unless `port` is given (Python 0.7
 *   goes to 9092 or `port` in `listen` and `publish`, and to the URL's port in `get_topics`);
 * - `publish` accepts several topics (Python's fails with more than one);
 * - connection loss and retriable errors reopen the listener with the same group without counting
 *   against `listenRetries`; non-retriable ones (authentication) count, as Python's fatal errors;
 * - a record labelled `json` that is not JSON gives a warning and a Blob (hop raises);
 * - OAUTHBEARER (`token_endpoint`) credentials get their token from the endpoint as librdkafka
 *   does for hop (client credentials grant).
 *
 * The client is a thin front: options and their validation in `options.ts`, listening and
 * offsets in `listen.ts` (on `lib/kafka/consumer.ts`), publishing sessions in `publish.ts` (on
 * `lib/kafka/producer.ts`).
 *
 * @module
 */
import type { Auth } from "../hop/auth.ts";
import { IgwnAlertError } from "./errors.ts";
import {
  type Alert,
  type AlertCallback,
  alertIterator,
  consumeAlerts,
  groupTopics,
  type ListenOptions,
  printedAlert,
} from "./listen.ts";
import { type ClientSettings, type IgwnAlertClientOptions, parseClientOptions } from "./options.ts";
import { Publisher, type PublishSession } from "./publish.ts";

export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_BATCH_TIMEOUT,
  DEFAULT_GROUP,
  DEFAULT_LISTEN_RETRIES,
  DEFAULT_PORT,
  DEFAULT_RETRY_WAIT,
  DEFAULT_SERVER,
  type IgwnAlertClientOptions,
  type IgwnAlertWarning,
  type StartPosition,
} from "./options.ts";
export {
  type Alert,
  type AlertCallback,
  generateGroupId,
  type HandlingReport,
  type ListenOptions,
} from "./listen.ts";
export type { PublishSession } from "./publish.ts";

/**
 * A client for GraceDB alerts over Kafka (Python `igwn_alert.client`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { IgwnAlertClient } from "./client.ts";
 * import { KafkaCluster } from "../kafka/cluster.ts";
 * import { withAdmin } from "../kafka/admin.ts";
 * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
 * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
 * await client.publish("superevent", JSON.stringify({ uid: "S1", alert_type: "new" }));
 * await client.listen((topic, payload) => {
 *   const alert = JSON.parse(payload as string);
 *   assertEquals([topic, alert.uid, alert.alert_type], ["superevent", "S1", "new"]);
 *   client.stop(); // listen() returns
 * }, { topics: ["superevent"], start: "earliest" });
 * ```
 */
export class IgwnAlertClient implements AsyncDisposable {
  /** Server URL. */
  readonly server: string;
  /** Broker port (the `port` option, else the server URL's, else 9092). */
  readonly port: number;
  /** Group prefix of topics. */
  readonly group: string;
  /** Consumer group id given at construction, if any. */
  readonly consumerGroup?: string;
  /** Messages per batch. */
  readonly batchSize: number;
  /** Batch wait in seconds. */
  readonly batchTimeout: number;
  /** Reopen after fatal errors. */
  readonly retryOnFatal: boolean;
  /** Fatal-error reopen attempts. */
  readonly listenRetries: number;
  /** Seconds between reopen attempts. */
  readonly retryWait: number;
  /** Pretty-print without callback. */
  readonly jsonpp: boolean;
  /** Publishing sessions by short topic name (Python's `sessions`). */
  readonly sessions: Map<string, PublishSession>;
  /** The credentials found at construction: a list (hop selects by host at connect), or null. */
  readonly authCandidates: Auth[] | null;

  readonly #s: ClientSettings;
  readonly #publisher: Publisher;
  readonly #listeners = new Set<AbortController>();
  #closed = false;

  /**
   * Validates the options and finds the credential in igwn-alert's order: `auth`; `noauth`;
   * `username`+`password`; `authfile`; the default hop auth.toml; netrc (whole server string as
   * machine; no netrc file -> warning and no authentication).
   *
   * @param options client options
   * @throws IgwnAlertOptionError for invalid options; CredentialFileError for a bad `authfile`
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * const c = new IgwnAlertClient({ noauth: true, server: "kafka://localhost/", port: 9092 });
   * assertEquals(c.group, "gracedb");
   * ```
   */
  constructor(options: IgwnAlertClientOptions = {}) {
    const s = parseClientOptions(options);
    this.#s = s;
    this.server = s.server;
    this.port = s.port;
    this.group = s.group;
    this.consumerGroup = s.consumerGroup;
    this.batchSize = s.batchSize;
    this.batchTimeout = s.batchTimeout;
    this.retryOnFatal = s.retryOnFatal;
    this.listenRetries = s.listenRetries;
    this.retryWait = s.retryWait;
    this.jsonpp = s.jsonpp;
    this.authCandidates = s.cluster.authCandidates;
    this.#publisher = new Publisher(s);
    this.sessions = this.#publisher.sessions;
  }

  /** `host:port` of the (first) broker. @returns the bootstrap address */
  get broker(): string {
    return this.#s.cluster.broker;
  }

  /** Python's `_construct_base_url`: `kafka://host:port/<group>`. @returns the URL */
  get baseUrl(): string {
    return `kafka://${this.broker}/${this.group}`;
  }

  /**
   * Python's `_construct_topic_url`: `kafka://host:port/<g>.<t1>,<g>.<t2>`.
   *
   * @param topics one topic or several, without the group prefix
   * @returns the hop URL
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * assertEquals(new IgwnAlertClient({ noauth: true, group: "g" }).topicUrl(["a", "b"]), "kafka://kafka.scimma.org:9092/g.a,g.b");
   * ```
   */
  topicUrl(topics: string | string[]): string {
    const list = typeof topics === "string" ? [topics] : topics;
    return `kafka://${this.broker}/${list.map((t) => `${this.group}.${t}`).join(",")}`;
  }

  /**
   * The credential used for this broker (hop's `select_matching_auth` over the candidates, with
   * the `kafka://user@host/` username hint), or null without authentication.
   *
   * @returns the credential
   * @throws AuthError when none or several match
   */
  credential(): Auth | null {
    return this.#s.cluster.credential();
  }

  /**
   * Topics of a group, from broker metadata, filtered to the exact prefix `<group>.` (not a
   * substring test as in Python) and returned without the prefix, sorted.
   *
   * @param group the group; this client's when absent
   * @returns short topic names
   * @throws AuthError, BrokerConnectionError (bounded by `timeoutMs`)
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * import { KafkaCluster } from "../kafka/cluster.ts";
   * import { withAdmin } from "../kafka/admin.ts";
   * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
   * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
   * const topics = await client.getTopics(); // GraceDB's: ["cbc_gstlal", ..., "superevent", ...]
   * assertEquals(topics, ["superevent"]);
   * ```
   */
  getTopics(group?: string): Promise<string[]> {
    return groupTopics(this.#s, group || this.group);
  }

  // ---------------------------------------------------------------- listening

  /**
   * Listens for alerts until {@linkcode stop}, the signal, or an error. With a callback, calls
   * `callback(topic, payload)` (topic without the group prefix; payload as Python gives it: the
   * alert's JSON text for GraceDB alerts) and commits each message's offset only after the
   * callback returns. Without a callback prints `New message from topic <kafka topic>:\n<payload>`
   * (pretty-printed with indent 4 when `jsonpp`).
   *
   * @param callback per-alert handler; print when absent
   * @param options topics, signal, start position, readiness hook (or just the topics, like
   *   Python's `listen(callback, topic)`)
   * @returns when listening stops
   * @throws AuthError, BrokerConnectionError, UnknownTopicError, or the callback's error
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * import { KafkaCluster } from "../kafka/cluster.ts";
   * import { withAdmin } from "../kafka/admin.ts";
   * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
   * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
   * await client.publish("superevent", JSON.stringify({ uid: "S2" }));
   * const ctl = new AbortController();
   * const seen: string[] = [];
   * await client.listen((topic, payload) => {
   *   seen.push(`${topic} ${payload}`);
   *   ctl.abort(); // committed, then listen() returns
   * }, { topics: "superevent", signal: ctl.signal, start: "earliest" });
   * assertEquals(seen, ['superevent {"uid":"S2"}']); // the text as published
   * ```
   */
  async listen(
    callback?: AlertCallback,
    options: ListenOptions | string | string[] = {},
  ): Promise<void> {
    if (typeof options === "string" || Array.isArray(options)) options = { topics: options };
    await this.#consume(async (alert) => {
      if (callback) await callback(alert.topic, alert.payload, alert);
      else this.#s.print(printedAlert(alert, this.jsonpp));
    }, options);
  }

  /**
   * Alerts as an async iterator. Each alert's offset is committed when the next one is requested
   * (at-least-once: an alert being handled when the loop ends is delivered again to the same
   * consumer group). `break` or the signal stops the listener.
   *
   * @param options topics, signal, start position
   * @returns the alerts
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * import { KafkaCluster } from "../kafka/cluster.ts";
   * import { withAdmin } from "../kafka/admin.ts";
   * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
   * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
   * await client.publish("superevent", JSON.stringify({ uid: "S3" }));
   * for await (const alert of client.alerts({ topics: ["superevent"], start: "earliest" })) {
   *   assertEquals([alert.topic, JSON.parse(alert.payload as string).uid], ["superevent", "S3"]);
   *   break; // stops the listener
   * }
   * ```
   */
  alerts(options: ListenOptions = {}): AsyncIterableIterator<Alert> {
    return alertIterator(
      (handler, signal) => this.#consume(handler, { ...options, signal }),
      options.signal,
    );
  }

  /**
   * Stops every listener of this client (Python's `stop()`); safe to call from callbacks.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * import { KafkaCluster } from "../kafka/cluster.ts";
   * import { withAdmin } from "../kafka/admin.ts";
   * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
   * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
   * const printed: string[] = [];
   * await using quiet = new IgwnAlertClient({
   *   server: `kafka://${broker}/`,
   *   noauth: true,
   *   group,
   *   print: (text: string) => printed.push(text),
   * });
   * await quiet.publish("superevent", JSON.stringify({ uid: "S4" }));
   * setTimeout(() => quiet.stop(), 1000); // from a timer, a callback or a signal handler
   * await quiet.listen(undefined, { start: "earliest" }); // no callback: prints each alert
   * assertEquals(printed[0].split("\n")[0], `New message from topic ${group}.superevent:`);
   * ```
   */
  stop(): void {
    for (const c of this.#listeners) c.abort();
  }

  async #consume(handler: (alert: Alert) => Promise<void>, options: ListenOptions): Promise<void> {
    if (this.#closed) throw new IgwnAlertError("client is closed");
    const ctl = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ctl.signal]) : ctl.signal;
    this.#listeners.add(ctl);
    try {
      await consumeAlerts(this.#s, handler, { ...options, signal });
    } finally {
      this.#listeners.delete(ctl);
    }
  }

  // ---------------------------------------------------------------- publishing

  /**
   * Opens a publishing session per topic (Python's `connect`). Topics must exist.
   *
   * @param topics one topic or several, without the group prefix
   * @throws UnknownTopicError, AuthError, BrokerConnectionError
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * import { KafkaCluster } from "../kafka/cluster.ts";
   * import { withAdmin } from "../kafka/admin.ts";
   * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
   * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
   * await client.connect(["superevent"]);
   * await client.publishToTopic("superevent", JSON.stringify({ uid: "S5" })); // acked by the broker
   * await client.disconnect();
   * for await (const alert of client.alerts({ topics: "superevent", start: "earliest" })) {
   *   assertEquals(JSON.parse(alert.payload as string).uid, "S5");
   *   break;
   * }
   * ```
   */
  connect(topics: string | string[]): Promise<void> {
    return this.#publisher.connect(typeof topics === "string" ? [topics] : topics);
  }

  /**
   * Publishes on a session opened by {@linkcode connect} (Python's `publish_to_topic`); resolves
   * when the broker acknowledged the message.
   *
   * @param topic topic without the group prefix
   * @param msg the alert (a string is sent as hop JSON like Python's str), a model, or bytes
   * @param options `test` marks a hop test message
   * @throws SessionError with Python's messages when not connected
   */
  publishToTopic(topic: string, msg: unknown, options: { test?: boolean } = {}): Promise<void> {
    return this.#publisher.publishToTopic(topic, msg, options.test ?? false);
  }

  /**
   * Waits for everything published on a session (Python's `flush_by_topic`).
   *
   * @param topic topic without the group prefix
   * @throws SessionError with Python's messages when not connected
   */
  flushByTopic(topic: string): Promise<void> {
    return this.#publisher.flushByTopic(topic);
  }

  /**
   * Closes sessions (Python's `disconnect`): all when no topic is given (the session map is
   * kept, as in Python), else each named one (removed); an unknown name gives Python's warning
   * "Not currently connected to topic X".
   *
   * @param topics topics without the group prefix
   */
  async disconnect(topics?: string | string[]): Promise<void> {
    const list = topics === undefined ? [] : typeof topics === "string" ? [topics] : topics;
    await this.#publisher.disconnect(list);
    this.#s.log("info", `Disconnected from topics ${JSON.stringify(topics ?? null)}`);
  }

  /**
   * Sends one alert without a session (Python's `publish`): opens a producer, sends to each
   * topic, waits for the broker's acknowledgement, closes.
   *
   * @param topic one topic or several (Python 0.7 fails with several), without the group prefix
   * @param msg the alert (a string goes out as hop JSON, like Python's str)
   * @param options `test` marks a hop test message
   * @throws UnknownTopicError, AuthError, BrokerConnectionError
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { IgwnAlertClient } from "./client.ts";
   * import { KafkaCluster } from "../kafka/cluster.ts";
   * import { withAdmin } from "../kafka/admin.ts";
   * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
   * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
   * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
   * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
   * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
   * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
   * await client.publish("superevent", JSON.stringify({ uid: "S6", alert_type: "new" }));
   * for await (const alert of client.alerts({ topics: "superevent", start: "earliest" })) {
   *   assertEquals(JSON.parse(alert.payload as string).alert_type, "new");
   *   break;
   * }
   * ```
   */
  publish(
    topic: string | string[],
    msg: unknown,
    options: { test?: boolean } = {},
  ): Promise<void> {
    return this.#publisher.publish(
      typeof topic === "string" ? [topic] : topic,
      msg,
      options.test ?? false,
    );
  }

  // ---------------------------------------------------------------- deprecated

  /** Deprecated in Python 0.7: only warns. */
  getSubscriptions(): void {
    this.#s.warn({
      category: "DeprecationWarning",
      message: "This feature is deprecated. Please refer to the client.listen() method",
    });
  }

  /** Deprecated in Python 0.7: only warns. @param _topics ignored */
  subscribe(..._topics: string[]): void {
    this.#s.warn({
      category: "DeprecationWarning",
      message: "This feature is deprecated. Please supplylist of topics to client.listen(), " +
        "and ensure you have permission to read from topics.",
    });
  }

  /** Deprecated in Python 0.7: only warns. @param _topics ignored */
  unsubscribe(..._topics: string[]): void {
    this.#s.warn({ category: "DeprecationWarning", message: "This feature is deprecated." });
  }

  /** Deprecated in Python 0.7: only warns. */
  delete(): void {
    this.#s.warn({ category: "DeprecationWarning", message: "This feature is deprecated." });
  }

  /** Stops listeners and closes every session. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.stop();
    await this.disconnect();
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

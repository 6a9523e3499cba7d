/**
 * The igwn-alert client (Python `igwn_alert.client` 0.7.0) on kafkajs, speaking hop-client's wire
 * format: listen to GraceDB alert topics `<group>.<topic>`, publish alerts, list a group's topics.
 *
 * Beyond the Python client: one consumer group for the whole life of a listener (no skipped
 * messages across reconnects), offsets committed only after the callback returns (at-least-once),
 * duplicate suppression by hop's `_id` header, a start position (latest, earliest or a time),
 * `alerts()` as an async iterator, AbortSignal support, bounded connection time.
 *
 * Publishing sessions batch like librdkafka (see `lib/igwn_alert/batcher.ts`): alerts published
 * together share one produce request (acks -1, at most `maxBatchBytes`), one request per session
 * awaits its acknowledgement at a time (`maxInFlight`, so order is kept), each `publishToTopic`
 * resolves when its own alert is acknowledged, and at most `maxQueueBytes` of serialized alerts
 * are held (later calls wait for room). A batch refused as too large for the topic is split.
 *
 * Other differences from Python 0.7.0:
 * - a listener is a member of a Kafka consumer group (kafkajs always joins one): a random group
 *   per listener reproduces Python's fan-out; a shared `consumerGroup` load-balances between
 *   listeners (librdkafka's manual assignment in Python gives every process every message);
 * - `getTopics` keeps topics whose name starts with `<group>.` (Python: substring `group + '.'`)
 *   and returns everything after the prefix (Python: `split('.')[1]`); it asks the configured
 *   port (Python's `get_topics` uses the server URL without the port, i.e. 9092);
 * - `publish` accepts several topics (Python's fails with more than one);
 * - connection loss and retriable errors reopen the listener with the same group without counting
 *   against `listenRetries`; non-retriable ones (authentication) count, as Python's fatal errors;
 * - a record labelled `json` that is not JSON gives a warning and a Blob (hop raises);
 * - OAUTHBEARER (`token_endpoint`) credentials are refused with an AuthError.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { type Admin, type Consumer, type Kafka, Partitioners, type Producer } from "kafkajs";
import { type Auth, type EnvLike, selectMatchingAuth } from "../hop/auth.ts";
import { findCredentials } from "./credentials.ts";
import {
  type AnyHopModel,
  type HopHeaderInfo,
  hopHeaders,
  isTest,
  JSONBlob,
  pack,
  unpack,
} from "../hop/models.ts";
import { pyJsonDumps, pyJsonParse } from "../hop/pyjson.ts";
import { type BatchInfo, PublishBatcher } from "./batcher.ts";
import {
  BrokerConnectionError,
  IgwnAlertError,
  IgwnAlertOptionError,
  SessionError,
  UnknownTopicError,
} from "./errors.ts";
import {
  isRetriable,
  isTooLarge,
  kafkaClient,
  type LogLevel,
  type LogSink,
  mapKafkaError,
  quietKafkajsTimeoutWarning,
  stderrLogSink,
  toBuffer,
  withKafkaAdmin,
  withTimeout,
} from "./kafka.ts";
import { sleep } from "../_util/abort.ts";

/**
 * The broker used when none is given: `kafka://kafka.scimma.org/` (as in igwn-alert).
 *
 * @example
 * ```ts
 * import { DEFAULT_SERVER } from "./client.ts";
 * new URL(DEFAULT_SERVER).hostname; // "kafka.scimma.org"
 * ```
 */
export const DEFAULT_SERVER = "kafka://kafka.scimma.org/";
/**
 * The broker port used when none is given (the `port` option): 9092.
 *
 * @example
 * ```ts
 * import { DEFAULT_PORT } from "./client.ts";
 * `kafka.example.org:${DEFAULT_PORT}`; // "kafka.example.org:9092"
 * ```
 */
export const DEFAULT_PORT = 9092;
/**
 * The topic group used when none is given: `gracedb` (topics are `gracedb.<name>`).
 *
 * @example
 * ```ts
 * import { DEFAULT_GROUP } from "./client.ts";
 * `${DEFAULT_GROUP}.superevent`; // "gracedb.superevent"
 * ```
 */
export const DEFAULT_GROUP = "gracedb";
/**
 * Default of the `batchSize` option (messages per fetch batch): 1, as in igwn-alert.
 *
 * @example
 * ```ts
 * import { DEFAULT_BATCH_SIZE } from "./client.ts";
 * DEFAULT_BATCH_SIZE; // 1
 * ```
 */
export const DEFAULT_BATCH_SIZE = 1;
/**
 * Default of the `batchTimeout` option (seconds to wait for a full batch): 0.2.
 *
 * @example
 * ```ts
 * import { DEFAULT_BATCH_TIMEOUT } from "./client.ts";
 * DEFAULT_BATCH_TIMEOUT * 1000; // 200 (ms)
 * ```
 */
export const DEFAULT_BATCH_TIMEOUT = 0.2;
/**
 * Default of the `listenRetries` option (reopen attempts after fatal errors): 3.
 *
 * @example
 * ```ts
 * import { DEFAULT_LISTEN_RETRIES } from "./client.ts";
 * DEFAULT_LISTEN_RETRIES; // 3
 * ```
 */
export const DEFAULT_LISTEN_RETRIES = 3;
/**
 * Default of the `retryWait` option (seconds before reopening the listener): 0.1.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY_WAIT } from "./client.ts";
 * DEFAULT_RETRY_WAIT * 1000; // 100 (ms)
 * ```
 */
export const DEFAULT_RETRY_WAIT = 0.1;

/** A Python-style warning (`warnings.warn`), delivered to {@linkcode IgwnAlertClientOptions.onWarning}. */
export interface IgwnAlertWarning {
  /** Python's warning category. */
  category: "UserWarning" | "DeprecationWarning";
  /** The message, as Python's client words it. */
  message: string;
}

/** Where a new listener starts reading. */
export type StartPosition = "latest" | "earliest" | Date | number;

/** Options of {@linkcode IgwnAlertClient}, with the Python client's defaults. */
export interface IgwnAlertClientOptions {
  /** SCRAM username (with `password`). */
  username?: string;
  /** SCRAM password (with `username`). */
  password?: string;
  /** A credential, a list to choose from by host (hop's rules), or false for none. */
  auth?: Auth | Auth[] | false;
  /** Path of a hop `auth.toml`. */
  authfile?: string;
  /** Unauthenticated PLAINTEXT session. @default false */
  noauth?: boolean;
  /** GraceDB group (topic prefix). @default "gracedb" */
  group?: string;
  /** Consumer group id for listeners; random per listener when absent. */
  consumerGroup?: string;
  /** Server URL (`kafka://host/`; `kafka://user@host/` gives a username hint). @default "kafka://kafka.scimma.org/" */
  server?: string;
  /** Broker port. @default 9092 */
  port?: number;
  /** Messages per fetch batch (kept for parity; kafkajs batches itself). @default 1 */
  batchSize?: number;
  /** Seconds to wait for a full batch (kafkajs `maxWaitTimeInMs`). @default 0.2 */
  batchTimeout?: number;
  /** Reopen the listener after fatal errors (up to `listenRetries`). @default false */
  retryOnFatal?: boolean;
  /** Fatal-error reopen attempts. @default 3 */
  listenRetries?: number;
  /** Seconds to wait before reopening. @default 0.1 */
  retryWait?: number;
  /** Pretty-print JSON when listening without a callback. @default false */
  jsonpp?: boolean;
  /** netrc file for the credential fallback. @default $NETRC or ~/.netrc */
  netrc?: string;
  /** Environment used to find auth.toml and .netrc. @default Deno.env */
  env?: EnvLike;
  /** Log sink. @default Python-like lines on stderr at `logLevel` */
  logger?: LogSink;
  /** Threshold of the default logger. @default "warning" */
  logLevel?: LogLevel;
  /** Receives Python-style warnings. @default logged at "warning" */
  onWarning?: (warning: IgwnAlertWarning) => void;
  /** Output of listen() without a callback. @default console.log */
  print?: (text: string) => void;
  /** Bound on connecting / metadata / publishing, in ms. @default 15000 */
  timeoutMs?: number;
  /**
   * Consumer group session timeout in ms: after a broker restart a listener waits up to this long
   * for its previous membership to expire. @default 10000
   */
  sessionTimeoutMs?: number;
  /**
   * How long a published alert may wait for others to share its produce request, in ms
   * (librdkafka's `linger.ms`, 5 ms in Python). 0 sends the alerts published by the running task
   * together (and, while a request awaits its acknowledgement, everything published meanwhile in
   * the next one), which keeps a lone alert's latency low. @default 0
   */
  lingerMs?: number;
  /** Upper bound of one produce request's records, in bytes (Kafka's default
   * `message.max.bytes` is 1048588; a larger single alert goes alone). @default 1000000 */
  maxBatchBytes?: number;
  /**
   * Produce requests per session awaiting acknowledgement at once. 1 keeps the order of alerts
   * even when kafkajs retries a request. @default 1
   */
  maxInFlight?: number;
  /**
   * Bytes of serialized alerts per session queued or awaiting acknowledgement; beyond it,
   * `publishToTopic` calls wait (in order) for room before their alert is serialized.
   * @default 16777216 (16 MiB)
   */
  maxQueueBytes?: number;
}

/** An alert received by a listener. */
export interface Alert {
  /** Topic without the group prefix (what Python's callback gets). */
  topic: string;
  /** Full Kafka topic (`gracedb.superevent`). */
  kafkaTopic: string;
  /**
   * The payload as Python hands it to callbacks: for a JSON message its content (GraceDB's alert
   * JSON **text** for igwn-alert messages), otherwise the decoded model.
   */
  payload: unknown;
  /** The decoded hop model. */
  model: AnyHopModel;
  /** hop headers (`_id`, `_sender`, `_format`). */
  hop: HopHeaderInfo;
  /** Kafka partition. */
  partition: number;
  /** Kafka offset (decimal string). */
  offset: string;
  /** Broker timestamp (ms since epoch). */
  timestamp: number;
}

/** Options of {@linkcode IgwnAlertClient.listen} and {@linkcode IgwnAlertClient.alerts}. */
export interface ListenOptions {
  /** Topics without the group prefix; all topics of the group when absent or empty. */
  topics?: string | string[];
  /** Stops listening when aborted. */
  signal?: AbortSignal;
  /** Where a new consumer group starts. @default "latest" */
  start?: StartPosition;
  /** Called once the start offsets are fixed: alerts published after this are delivered. */
  onReady?: (info: { groupId: string; topics: string[] }) => void;
  /** Deliver hop test messages (`_test` header) too. @default false */
  includeTest?: boolean;
  /** Consumer group id for this listener (overrides the client's). */
  consumerGroup?: string;
}

/** Callback of {@linkcode IgwnAlertClient.listen}: `(topic, payload)` like Python's. */
export type AlertCallback = (
  topic: string,
  payload: unknown,
  alert: Alert,
) => void | Promise<void>;

/** A publishing session opened by {@linkcode IgwnAlertClient.connect} (one producer per topic). */
export interface PublishSession {
  /**
   * The kafkajs producer (kafkajs's own type, outside this package's documented API).
   *
   * @ignore
   */
  producer: Producer;
  /** Sends not yet acknowledged. */
  pending: Set<Promise<unknown>>;
  /** Closed by disconnect(). */
  closed: boolean;
  /** The credential the producer uses (its username is the `_sender` header). */
  auth: Auth | null;
  /**
   * Coalesces the session's alerts into produce requests (an implementation detail).
   *
   * @ignore
   */
  batcher: PublishBatcher<PublishRecord>;
}

/** One serialized alert as a session hands it to kafkajs (hop's value and headers). */
export type PublishRecord = {
  /** hop's value (`json.dumps` of the alert for JSON). */
  value: Buffer;
  /** hop's headers (`_id`, `_sender`, `_test`, `_format`). */
  headers: Record<string, Buffer>;
};

/** Fetch size per partition of a listener (kafkajs's default is 1 MiB). */
const FETCH_BYTES_PER_PARTITION = 8 * 1024 * 1024;

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * hop's random consumer group id: `<username>-<10 of A-Z0-9>`, or the 10 characters alone.
 *
 * @param username the credential's username, if any
 * @returns the group id
 * @example
 * ```ts
 * import { generateGroupId } from "./client.ts";
 * /^alice-[A-Z0-9]{10}$/.test(generateGroupId("alice")); // true
 * ```
 */
export function generateGroupId(username?: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const s = Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join("");
  return username ? `${username}-${s}` : s;
}

/** Small LRU set of message ids for duplicate suppression. */
class RecentIds {
  readonly #max: number;
  readonly #set = new Set<string>();
  constructor(max: number) {
    this.#max = max;
  }
  seen(id: string): boolean {
    if (this.#set.has(id)) return true;
    this.#set.add(id);
    if (this.#set.size > this.#max) this.#set.delete(this.#set.values().next().value!);
    return false;
  }
}

/**
 * A client for GraceDB alerts over Kafka (Python `igwn_alert.client`).
 *
 * @example
 * ```ts ignore
 * import { IgwnAlertClient } from "./client.ts";
 * await using client = new IgwnAlertClient({ group: "gracedb-playground" });
 * await client.listen((topic, payload) => {
 *   const alert = JSON.parse(payload as string);
 *   console.log(topic, alert.uid, alert.alert_type);
 * }, { topics: ["superevent"] });
 * ```
 */
export class IgwnAlertClient implements AsyncDisposable {
  /** Server URL. */
  readonly server: string;
  /** Broker port. */
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
  readonly sessions: Map<string, PublishSession> = new Map();
  /** The credentials found at construction: a list (hop selects by host at connect), or null. */
  readonly authCandidates: Auth[] | null;

  readonly #host: string;
  readonly #urlUser?: string;
  readonly #log: LogSink;
  readonly #warn: (w: IgwnAlertWarning) => void;
  readonly #print: (text: string) => void;
  readonly #timeoutMs: number;
  readonly #sessionTimeoutMs: number;
  readonly #batching: {
    lingerMs: number;
    maxBatchBytes: number;
    maxInFlight: number;
    maxQueueBytes: number;
  };
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
   * import { IgwnAlertClient } from "./client.ts";
   * const c = new IgwnAlertClient({ noauth: true, server: "kafka://localhost/", port: 9092 });
   * c.group; // "gracedb"
   * ```
   */
  constructor(options: IgwnAlertClientOptions = {}) {
    const o = options;
    const server = o.server ?? DEFAULT_SERVER;
    const port = o.port ?? DEFAULT_PORT;
    const group = o.group ?? DEFAULT_GROUP;
    if (typeof server !== "string") {
      throw new IgwnAlertOptionError(`"server" must be str, not ${typeof server}`);
    }
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new IgwnAlertOptionError(`"port" must be an integer 1..65535, not ${String(port)}`);
    }
    if (typeof group !== "string" || group.length === 0 || group.includes(".")) {
      throw new IgwnAlertOptionError(`"group" must be a non-empty str without '.', not ${group}`);
    }
    const numbers: Array<[string, unknown, number]> = [
      ["batchSize", o.batchSize, 1],
      ["batchTimeout", o.batchTimeout, 0],
      ["listenRetries", o.listenRetries, 0],
      ["retryWait", o.retryWait, 0],
      ["timeoutMs", o.timeoutMs, 1],
      ["sessionTimeoutMs", o.sessionTimeoutMs, 1000],
      ["lingerMs", o.lingerMs, 0],
      ["maxBatchBytes", o.maxBatchBytes, 1],
      ["maxInFlight", o.maxInFlight, 1],
      ["maxQueueBytes", o.maxQueueBytes, 1],
    ];
    for (const [name, v, min] of numbers) {
      if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < min)) {
        throw new IgwnAlertOptionError(`"${name}" must be a number >= ${min}, not ${String(v)}`);
      }
    }
    let url: URL;
    try {
      url = new URL(server);
    } catch (e) {
      throw new IgwnAlertOptionError(`"server" is not a URL: ${server} (${(e as Error).message})`);
    }
    if (url.protocol !== "kafka:" || !url.hostname) {
      throw new IgwnAlertOptionError(
        `"server" must look like kafka://host/, not ${server}`,
      );
    }
    this.server = server;
    this.port = port;
    this.group = group;
    this.#host = url.hostname;
    this.#urlUser = url.username ? decodeURIComponent(url.username) : undefined;
    this.consumerGroup = o.consumerGroup;
    this.batchSize = o.batchSize ?? DEFAULT_BATCH_SIZE;
    this.batchTimeout = o.batchTimeout ?? DEFAULT_BATCH_TIMEOUT;
    this.retryOnFatal = o.retryOnFatal ?? false;
    this.listenRetries = o.listenRetries ?? DEFAULT_LISTEN_RETRIES;
    this.retryWait = o.retryWait ?? DEFAULT_RETRY_WAIT;
    this.jsonpp = o.jsonpp ?? false;
    this.#timeoutMs = o.timeoutMs ?? 15_000;
    this.#sessionTimeoutMs = o.sessionTimeoutMs ?? 10_000;
    this.#batching = {
      lingerMs: o.lingerMs ?? 0,
      maxBatchBytes: o.maxBatchBytes ?? 1_000_000,
      maxInFlight: Math.floor(o.maxInFlight ?? 1),
      maxQueueBytes: o.maxQueueBytes ?? 16 * 1024 * 1024,
    };
    this.#log = o.logger ?? stderrLogSink(o.logLevel ?? "warning");
    this.#warn = o.onWarning ??
      ((w) => this.#log("warning", `${w.category}: ${w.message}`));
    this.#print = o.print ?? ((t) => console.log(t));
    quietKafkajsTimeoutWarning(this.#log);

    this.authCandidates = findCredentials({
      ...o,
      netrcMachine: server,
      onNoAuth: () =>
        this.#warn({
          category: "UserWarning",
          message: "No authentication found. Proceeding with unathenticated session",
        }),
    });
  }

  /** `host:port` of the broker. @returns the bootstrap address */
  get broker(): string {
    return `${this.#host}:${this.port}`;
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
   * import { IgwnAlertClient } from "./client.ts";
   * new IgwnAlertClient({ noauth: true, group: "g" }).topicUrl(["a", "b"]); // "kafka://kafka.scimma.org:9092/g.a,g.b"
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
    if (!this.authCandidates) return null;
    return selectMatchingAuth(this.authCandidates, this.broker, this.#urlUser);
  }

  #kafka(): { kafka: Kafka; auth: Auth | null; tlsFailure: Promise<never> } {
    const auth = this.credential();
    return { ...kafkaClient({ brokers: [this.broker], auth, sink: this.#log }), auth };
  }

  #withAdmin<T>(what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    return withKafkaAdmin({
      brokers: [this.broker],
      auth: this.credential(),
      sink: this.#log,
      what,
      timeoutMs: this.#timeoutMs,
    }, fn);
  }

  /**
   * Topics of a group, from broker metadata, filtered to the exact prefix `<group>.` (not a
   * substring test as in Python) and returned without the prefix, sorted.
   *
   * @param group the group; this client's when absent
   * @returns short topic names
   * @throws AuthError, BrokerConnectionError (bounded by `timeoutMs`)
   * @example
   * ```ts ignore
   * const topics = await client.getTopics(); // ["superevent", "cbc_gstlal", ...]
   * ```
   */
  async getTopics(group?: string): Promise<string[]> {
    const g = group || this.group;
    const all = await this.#withAdmin("get_topics", (a) => a.listTopics());
    return all.filter((t) => t.startsWith(`${g}.`)).map((t) => t.slice(g.length + 1)).sort();
  }

  async #checkTopics(admin: Admin, full: string[]): Promise<void> {
    const existing = new Set(await admin.listTopics());
    for (const t of full) {
      if (!existing.has(t)) {
        throw new UnknownTopicError(t, `topic ${t} does not exist on the broker`);
      }
    }
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
   * ```ts ignore
   * const ctl = new AbortController();
   * await client.listen((topic, payload) => console.log(topic, payload), {
   *   topics: "superevent",
   *   signal: ctl.signal,
   * });
   * ```
   */
  async listen(
    callback?: AlertCallback,
    options: ListenOptions | string | string[] = {},
  ): Promise<void> {
    if (typeof options === "string" || Array.isArray(options)) options = { topics: options };
    await this.#consume(async (alert) => {
      if (callback) {
        await callback(alert.topic, alert.payload, alert);
        return;
      }
      let text: string;
      if (this.jsonpp) {
        text = typeof alert.payload === "string"
          ? pyJsonDumps(pyJsonParse(alert.payload), { indent: 4 })
          : pyJsonDumps(alert.payload, { indent: 4 });
      } else {
        text = typeof alert.payload === "string"
          ? alert.payload
          : alert.payload instanceof JSONBlob || typeof alert.payload !== "object"
          ? String(alert.payload)
          : pyJsonDumps(alert.payload);
      }
      this.#print(`New message from topic ${alert.kafkaTopic}:\n${text}`);
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
   * ```ts ignore
   * for await (const alert of client.alerts({ topics: ["superevent"] })) {
   *   console.log(alert.topic, JSON.parse(alert.payload as string).uid);
   * }
   * ```
   */
  alerts(options: ListenOptions = {}): AsyncIterableIterator<Alert> {
    const ctl = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ctl.signal]) : ctl.signal;
    type Item = { alert: Alert; ack: () => void };
    const items: Item[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    let lastAck: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const run = this.#consume(
      (alert) =>
        new Promise<void>((ack) => {
          items.push({ alert, ack });
          notify();
          signal.addEventListener("abort", () => ack(), { once: true });
        }),
      { ...options, signal },
    ).then(
      () => {
        finished = true;
        notify();
      },
      (e) => {
        failure = e;
        finished = true;
        notify();
      },
    );
    const iterator: AsyncIterableIterator<Alert> = {
      next: async (): Promise<IteratorResult<Alert>> => {
        lastAck?.();
        lastAck = undefined;
        while (items.length === 0 && !finished) {
          await new Promise<void>((r) => (wake = r));
        }
        const item = items.shift();
        if (item) {
          lastAck = item.ack;
          return { value: item.alert, done: false };
        }
        if (failure) throw failure;
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<Alert>> => {
        ctl.abort();
        await run;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Stops every listener of this client (Python's `stop()`); safe to call from callbacks.
   *
   * @example
   * ```ts ignore
   * setTimeout(() => client.stop(), 1000);
   * await client.listen();
   * ```
   */
  stop(): void {
    for (const c of this.#listeners) c.abort();
  }

  /** Start offsets of the partitions that have no committed offset in the group. */
  async #startOffsets(
    admin: Admin,
    groupId: string,
    topics: string[],
    start: StartPosition,
  ): Promise<Map<string, string>> {
    const result = new Map<string, string>();
    for (const topic of topics) {
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
      const parts = committed[0]?.partitions ?? [];
      if (parts.length > 0 && parts.every((p) => p.offset !== "-1")) continue;
      let target: Array<{ partition: number; offset: string }>;
      if (start === "latest" || start === "earliest") {
        const offs = await admin.fetchTopicOffsets(topic);
        target = offs.map((p) => ({
          partition: p.partition,
          offset: start === "latest" ? p.high : p.low,
        }));
      } else {
        const ts = start instanceof Date ? start.getTime() : start;
        const offs = await admin.fetchTopicOffsetsByTimestamp(topic, ts);
        target = offs.map((p) => ({ partition: p.partition, offset: p.offset }));
      }
      const known = new Map(parts.map((p) => [p.partition, p.offset]));
      for (const p of target) {
        if ((known.get(p.partition) ?? "-1") === "-1") {
          result.set(`${topic}:${p.partition}`, p.offset);
        }
      }
    }
    return result;
  }

  async #consume(
    handler: (alert: Alert) => Promise<void>,
    options: ListenOptions,
  ): Promise<void> {
    if (this.#closed) throw new IgwnAlertError("client is closed");
    const ctl = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ctl.signal]) : ctl.signal;
    this.#listeners.add(ctl);
    try {
      if (signal.aborted) return;
      const requested = typeof options.topics === "string"
        ? [options.topics]
        : options.topics ?? [];
      const short = requested.length > 0 ? requested : await this.getTopics();
      if (short.length === 0) {
        throw new UnknownTopicError(
          `${this.group}.*`,
          `no topics found for group ${this.group} on ${this.broker}`,
        );
      }
      this.#log(
        "info",
        `Listening to ${requested.length ? "" : "all "}${short.length} ` +
          `${requested.length ? "" : "available "}topics on ${this.server}`,
      );
      const full = short.map((t) => `${this.group}.${t}`);
      const auth = this.credential();
      const groupId = options.consumerGroup ?? this.consumerGroup ??
        generateGroupId(auth?.username);
      const targets = await this.#withAdmin("listen", async (admin) => {
        await this.#checkTopics(admin, full);
        return await this.#startOffsets(admin, groupId, full, options.start ?? "latest");
      });
      this.#log("info", `consumer group ${groupId} ready on ${full.join(",")}`);
      options.onReady?.({ groupId, topics: short });
      await this.#consumeLoop(
        groupId,
        full,
        targets,
        handler,
        signal,
        options.includeTest ?? false,
      );
    } finally {
      this.#listeners.delete(ctl);
    }
  }

  async #consumeLoop(
    groupId: string,
    full: string[],
    targets: Map<string, string>,
    handler: (alert: Alert) => Promise<void>,
    signal: AbortSignal,
    includeTest: boolean,
  ): Promise<void> {
    let fatalAttempts = 1;
    let reconnects = 0;
    const recent = new RecentIds(4096);
    // partitions that got a commit from this listener no longer need their start position
    const committed = new Set<string>();
    while (!signal.aborted) {
      const { kafka, auth, tlsFailure } = this.#kafka();
      const consumer: Consumer = kafka.consumer({
        groupId,
        maxWaitTimeInMs: Math.max(10, Math.round(this.batchTimeout * 1000)),
        // kafkajs's 1 MiB per partition returns about one producer batch per fetch round trip
        // (6x slower for 64 KiB alerts); librdkafka prefetches up to 64 MiB
        maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
        maxBytes: FETCH_BYTES_PER_PARTITION * 4,
        retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 3000 },
        allowAutoTopicCreation: false,
        sessionTimeout: this.#sessionTimeoutMs,
        heartbeatInterval: Math.min(3000, Math.max(100, Math.floor(this.#sessionTimeoutMs / 6))),
      });
      let settle!: (r: { error?: unknown; user?: boolean }) => void;
      const outcome = new Promise<{ error?: unknown; user?: boolean }>((r) => (settle = r));
      const onAbort = () => settle({});
      signal.addEventListener("abort", onAbort, { once: true });
      const toCommit = new Map<string, { topic: string; partition: number; offset: string }>();
      let committing: Promise<void> | undefined;
      let stopCommitting = false;
      const flushCommits = async () => {
        let failures = 0;
        while (toCommit.size > 0) {
          const batch = [...toCommit.entries()];
          toCommit.clear();
          try {
            await consumer.commitOffsets(batch.map(([, c]) => c));
            for (const [key] of batch) committed.add(key);
            failures = 0;
          } catch (e) {
            // keep what no newer offset superseded and try again (unless stopping)
            for (const [key, c] of batch) if (!toCommit.has(key)) toCommit.set(key, c);
            failures++;
            this.#log(
              "warning",
              `offset commit failed (messages may be delivered again): ${(e as Error).message}`,
            );
            if (stopCommitting || failures > 20) return;
            await sleep(Math.min(2000, 100 * 2 ** failures), signal);
          }
        }
      };
      consumer.on(consumer.events.GROUP_JOIN, (ev) => {
        const assignment = (ev.payload as { memberAssignment: Record<string, number[]> })
          .memberAssignment;
        for (const [topic, parts] of Object.entries(assignment)) {
          for (const partition of parts) {
            const key = `${topic}:${partition}`;
            const offset = targets.get(key);
            if (offset !== undefined && !committed.has(key)) {
              consumer.seek({ topic, partition, offset });
            }
          }
        }
      });
      tlsFailure.catch((error) => settle({ error }));
      consumer.on(consumer.events.CRASH, (ev) => {
        const { error, restart } = ev.payload as { error: Error; restart: boolean };
        if (restart) {
          this.#log("warning", `Non-fatal Kafka error, consumer restarting: ${error.message}`);
        } else {
          settle({ error });
        }
      });
      try {
        await withTimeout(
          (async () => {
            await consumer.connect();
            await consumer.subscribe({ topics: full, fromBeginning: true });
          })(),
          this.#timeoutMs,
          () =>
            new BrokerConnectionError(
              this.broker,
              `listen: no answer from Kafka broker ${this.broker} within ${this.#timeoutMs} ms`,
            ),
        );
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            if (signal.aborted) return;
            const next = (BigInt(message.offset) + 1n).toString();
            const headers = message.headers as Record<string, Uint8Array | undefined>;
            const hop = hopHeaders({ value: null, headers });
            const v = message.value;
            // JSON is decoded to text at once: a view of kafkajs's buffer, no copy; other models
            // keep their bytes, so they get a copy (a view would pin the whole fetch response)
            const record = {
              value: !v
                ? null
                : hop.format?.toLowerCase() === "json"
                ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
                : new Uint8Array(v),
              headers,
            };
            const skip = (!includeTest && isTest(record)) ||
              (hop.id !== undefined && recent.seen(hop.id));
            if (!skip) {
              const model = unpack(record, (w) => this.#log("warning", w));
              let payload: unknown;
              if (model instanceof JSONBlob) {
                payload = model.content;
              } else {
                payload = model;
                this.#warn({
                  category: "UserWarning",
                  message: "Payload is not valid json: the JSON object must be str, bytes or " +
                    `bytearray, not ${model.constructor.name}`,
                });
              }
              this.#log("info", `New message from topic ${topic}`);
              fatalAttempts = 1;
              try {
                await handler({
                  topic: topic.slice(topic.indexOf(".") + 1),
                  kafkaTopic: topic,
                  payload,
                  model,
                  hop,
                  partition,
                  offset: message.offset,
                  timestamp: Number(message.timestamp),
                });
              } catch (e) {
                settle({ error: e, user: true });
                throw e;
              }
              if (signal.aborted) return;
            }
            // commit after the callback returned; commits are pipelined (the latest offset per
            // partition wins) so the next callback does not wait for the broker's answer
            toCommit.set(`${topic}:${partition}`, { topic, partition, offset: next });
            committing ??= flushCommits().finally(() => (committing = undefined));
          },
        });
      } catch (e) {
        settle({ error: e });
      }
      const result = await outcome;
      signal.removeEventListener("abort", onAbort);
      stopCommitting = true;
      if (committing) {
        await withTimeout(committing, 5000, () => new Error("commit")).catch(() => {});
      }
      await consumer.disconnect().catch(() => {});
      if (result.user) throw result.error; // the callback's own error
      if (result.error === undefined || signal.aborted) return;
      const err = mapKafkaError(result.error, this.broker, auth);
      if ((err instanceof BrokerConnectionError && err.retriable) || isRetriable(result.error)) {
        // like librdkafka/Python: connection loss and non-fatal errors reopen the same group
        reconnects++;
        const wait = Math.min(5000, 250 * 2 ** Math.min(reconnects, 5));
        this.#log("warning", `Non-Fatal KafkaException: ${err.message}; reopening in ${wait} ms`);
        await sleep(wait, signal);
        continue;
      }
      reconnects = 0;
      this.#log("warning", `fatal error from kafka: ${err.message} on attempt ${fatalAttempts}`);
      await sleep(this.retryWait * 1000, signal);
      fatalAttempts++;
      if (fatalAttempts > this.listenRetries || !this.retryOnFatal) {
        this.#log(
          "critical",
          "Maximum number of retries reached or not attempted on fatal KafkaExceptions. " +
            "Shuting down and raising exception.",
        );
        throw err;
      }
    }
  }

  // ---------------------------------------------------------------- publishing

  async #openProducer(full: string[]): Promise<{ producer: Producer; auth: Auth | null }> {
    const { kafka, auth, tlsFailure } = this.#kafka();
    await this.#withAdmin("connect", (admin) => this.#checkTopics(admin, full));
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
    });
    try {
      await withTimeout(
        Promise.race([producer.connect(), tlsFailure]),
        this.#timeoutMs,
        () =>
          new BrokerConnectionError(
            this.broker,
            `connect: no answer from Kafka broker ${this.broker} within ${this.#timeoutMs} ms`,
          ),
      );
    } catch (e) {
      await producer.disconnect().catch(() => {});
      throw mapKafkaError(e, this.broker, auth);
    }
    return { producer, auth };
  }

  /** hop's record for `msg` and its estimated size (value, headers, record overhead). */
  #record(auth: Auth | null, msg: unknown, test: boolean): { item: PublishRecord; bytes: number } {
    const { value, headers } = pack(msg, { sender: auth?.username, test });
    const h: Record<string, ReturnType<typeof toBuffer>> = {};
    let bytes = value.byteLength + 32;
    for (const [k, v] of headers) {
      h[k] = toBuffer(v);
      bytes += k.length + v.byteLength + 8;
    }
    return { item: { value: toBuffer(value), headers: h }, bytes };
  }

  /**
   * One produce request (acks -1) of records for one or several topics, acknowledged within
   * `timeoutMs` of `since` (when the oldest record was published).
   */
  async #sendRecords(
    producer: Producer,
    auth: Auth | null,
    topicMessages: Array<{ topic: string; messages: PublishRecord[] }>,
    since: number = performance.now(),
  ): Promise<void> {
    const what = topicMessages.map((t) => t.topic).join(",");
    const timeout = () =>
      new BrokerConnectionError(
        this.broker,
        `publish to ${what}: not acknowledged by ${this.broker} within ${this.#timeoutMs} ms`,
      );
    const left = since + this.#timeoutMs - performance.now();
    if (left <= 0) throw timeout();
    try {
      await withTimeout(producer.sendBatch({ acks: -1, topicMessages }), left, timeout);
    } catch (e) {
      throw mapKafkaError(e, this.broker, auth);
    }
  }

  /**
   * Sends a session's batch; when the broker refuses it as too large (a topic whose
   * `max.message.bytes` is below the batch bound), lowers the session's bound and sends the
   * halves, so each alert that fits on its own is still delivered, in order, and only an alert
   * too large by itself fails.
   */
  async #sendSessionBatch(
    session: PublishSession,
    full: string,
    messages: PublishRecord[],
    info: BatchInfo,
  ): Promise<unknown[] | void> {
    try {
      await this.#sendRecords(
        session.producer,
        session.auth,
        [{ topic: full, messages }],
        info.since,
      );
      return;
    } catch (e) {
      if (messages.length === 1 || !isTooLarge(e)) throw e;
      session.batcher.maxBatchBytes = Math.max(1, Math.floor(info.bytes / 2));
      this.#log(
        "info",
        `batch of ${messages.length} alerts (${info.bytes} B) refused as too large by ${full}; ` +
          `batches now up to ${session.batcher.maxBatchBytes} B`,
      );
    }
    const half = Math.ceil(messages.length / 2);
    const outcomes: unknown[] = [];
    for (const part of [messages.slice(0, half), messages.slice(half)]) {
      const bytes = Math.ceil((info.bytes * part.length) / messages.length);
      try {
        const r = await this.#sendSessionBatch(session, full, part, { bytes, since: info.since });
        outcomes.push(...(r ?? part.map(() => undefined)));
      } catch (e) {
        outcomes.push(...part.map(() => e));
      }
    }
    return outcomes;
  }

  /**
   * Opens a publishing session per topic (Python's `connect`). Topics must exist.
   *
   * @param topics one topic or several, without the group prefix
   * @throws UnknownTopicError, AuthError, BrokerConnectionError
   * @example
   * ```ts ignore
   * await client.connect(["superevent"]);
   * await client.publishToTopic("superevent", JSON.stringify({ uid: "S1" }));
   * await client.disconnect();
   * ```
   */
  async connect(topics: string | string[]): Promise<void> {
    const list = typeof topics === "string" ? [topics] : topics;
    for (const topic of list) {
      const { producer, auth } = await this.#openProducer([`${this.group}.${topic}`]);
      const old = this.sessions.get(topic);
      if (old && !old.closed) {
        old.closed = true;
        await old.batcher.close();
        await old.producer.disconnect().catch(() => {});
      }
      const full = `${this.group}.${topic}`;
      const session: PublishSession = {
        producer,
        pending: new Set(),
        closed: false,
        auth,
        batcher: new PublishBatcher<PublishRecord>(
          (messages, info) => this.#sendSessionBatch(session, full, messages, info),
          this.#batching,
        ),
      };
      this.sessions.set(topic, session);
    }
    this.#log("info", `Connected to topics: ${JSON.stringify(list)}`);
  }

  #session(topic: string): PublishSession {
    if (this.sessions.size === 0) {
      throw new SessionError(
        "No active sessions. Please connect before publishing to a topic.",
      );
    }
    const s = this.sessions.get(topic) as (PublishSession) | undefined;
    if (!s || s.closed) {
      throw new SessionError(
        `Not connected to topic ${topic}. Please connect before publishing to a topic.`,
      );
    }
    return s;
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
  async publishToTopic(
    topic: string,
    msg: unknown,
    options: { test?: boolean } = {},
  ): Promise<void> {
    const s = this.#session(topic);
    const test = options.test ?? false;
    const p = s.batcher.push(() => this.#record(s.auth, msg, test));
    s.pending.add(p);
    try {
      await p;
    } finally {
      s.pending.delete(p);
    }
    this.#log("info", `Published to topic ${topic}`);
  }

  /**
   * Waits for everything published on a session (Python's `flush_by_topic`).
   *
   * @param topic topic without the group prefix
   * @throws SessionError with Python's messages when not connected
   */
  async flushByTopic(topic: string): Promise<void> {
    const s = this.#session(topic);
    await s.batcher.flush();
    await Promise.allSettled([...s.pending]);
    this.#log("info", `Flushed topic ${topic}`);
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
    if (list.length === 0) {
      for (const s of this.sessions.values()) {
        if (s.closed) continue;
        s.closed = true;
        await s.batcher.close();
        await Promise.allSettled([...s.pending]);
        await s.producer.disconnect().catch(() => {});
      }
    } else {
      for (const t of list) {
        const s = this.sessions.get(t);
        if (!s) {
          this.#warn({ category: "UserWarning", message: `Not currently connected to topic ${t}` });
          continue;
        }
        s.closed = true;
        await s.batcher.close();
        await Promise.allSettled([...s.pending]);
        await s.producer.disconnect().catch(() => {});
        this.sessions.delete(t);
      }
    }
    this.#log("info", `Disconnected from topics ${JSON.stringify(topics ?? null)}`);
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
   * ```ts ignore
   * await client.publish("superevent", JSON.stringify({ uid: "S1", alert_type: "new" }));
   * ```
   */
  async publish(
    topic: string | string[],
    msg: unknown,
    options: { test?: boolean } = {},
  ): Promise<void> {
    const list = typeof topic === "string" ? [topic] : topic;
    const full = list.map((t) => `${this.group}.${t}`);
    const { producer, auth } = await this.#openProducer(full);
    try {
      // one request for all topics, each with its own record (its own hop `_id`)
      const test = options.test ?? false;
      await this.#sendRecords(
        producer,
        auth,
        full.map((t) => ({ topic: t, messages: [this.#record(auth, msg, test).item] })),
      );
    } finally {
      await producer.disconnect().catch(() => {});
    }
  }

  // ---------------------------------------------------------------- deprecated

  /** Deprecated in Python 0.7: only warns. */
  getSubscriptions(): void {
    this.#warn({
      category: "DeprecationWarning",
      message: "This feature is deprecated. Please refer to the client.listen() method",
    });
  }

  /** Deprecated in Python 0.7: only warns. @param _topics ignored */
  subscribe(..._topics: string[]): void {
    this.#warn({
      category: "DeprecationWarning",
      message: "This feature is deprecated. Please supplylist of topics to client.listen(), " +
        "and ensure you have permission to read from topics.",
    });
  }

  /** Deprecated in Python 0.7: only warns. @param _topics ignored */
  unsubscribe(..._topics: string[]): void {
    this.#warn({ category: "DeprecationWarning", message: "This feature is deprecated." });
  }

  /** Deprecated in Python 0.7: only warns. */
  delete(): void {
    this.#warn({ category: "DeprecationWarning", message: "This feature is deprecated." });
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

/**
 * Python's class name (`igwn_alert.client`): the same class as {@linkcode IgwnAlertClient}.
 *
 * @example
 * ```ts
 * import { client, IgwnAlertClient } from "./client.ts";
 * client === IgwnAlertClient; // true
 * ```
 */
export const client: typeof IgwnAlertClient = IgwnAlertClient;

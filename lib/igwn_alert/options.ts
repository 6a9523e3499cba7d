/**
 * Options of the igwn-alert client, their defaults (Python igwn-alert 0.7.0's) and their
 * validation: {@linkcode parseClientOptions} checks everything at construction and gives the
 * settings the listening and publishing modules use.
 *
 * @module
 */
import type { Auth, EnvLike } from "../hop/auth.ts";
import { KafkaCluster } from "../kafka/cluster.ts";
import { KafkaOptionError } from "../kafka/errors.ts";
import { type LogLevel, type LogSink, stderrLogSink } from "../kafka/log.ts";
import { MAX_IDEMPOTENT_IN_FLIGHT } from "../kafka/producer.ts";
import { IgwnAlertOptionError } from "./errors.ts";

/**
 * The broker used when none is given: `kafka://kafka.scimma.org/` (as in igwn-alert).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_SERVER } from "./options.ts";
 * assertEquals(new URL(DEFAULT_SERVER).hostname, "kafka.scimma.org");
 * ```
 */
export const DEFAULT_SERVER = "kafka://kafka.scimma.org/";
/**
 * The broker port used when neither the `port` option nor the server URL names one: 9092.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_PORT } from "./options.ts";
 * assertEquals(`kafka.example.org:${DEFAULT_PORT}`, "kafka.example.org:9092");
 * ```
 */
export const DEFAULT_PORT = 9092;
/**
 * The topic group used when none is given: `gracedb` (topics are `gracedb.<name>`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_GROUP } from "./options.ts";
 * assertEquals(`${DEFAULT_GROUP}.superevent`, "gracedb.superevent");
 * ```
 */
export const DEFAULT_GROUP = "gracedb";
/**
 * Default of the `batchSize` option (messages per fetch batch): 1, as in igwn-alert.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_BATCH_SIZE } from "./options.ts";
 * assertEquals(DEFAULT_BATCH_SIZE, 1);
 * ```
 */
export const DEFAULT_BATCH_SIZE = 1;
/**
 * Default of the `batchTimeout` option (seconds to wait for a full batch): 0.2.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_BATCH_TIMEOUT } from "./options.ts";
 * assertEquals(DEFAULT_BATCH_TIMEOUT * 1000, 200); // ms
 * ```
 */
export const DEFAULT_BATCH_TIMEOUT = 0.2;
/**
 * Default of the `listenRetries` option (reopen attempts after fatal errors): 3.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_LISTEN_RETRIES } from "./options.ts";
 * assertEquals(DEFAULT_LISTEN_RETRIES, 3);
 * ```
 */
export const DEFAULT_LISTEN_RETRIES = 3;
/**
 * Default of the `retryWait` option (seconds before reopening the listener): 0.1.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_RETRY_WAIT } from "./options.ts";
 * assertEquals(DEFAULT_RETRY_WAIT * 1000, 100); // ms
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

/** Options of the igwn-alert client, with the Python client's defaults. */
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
  /**
   * Server URL: `kafka://host/`, `kafka://host:port/` (the port is used unless `port` is given),
   * `kafka://user@host/` gives a username hint. @default "kafka://kafka.scimma.org/"
   */
  server?: string;
  /** Broker port, replacing the server URL's. @default the URL's port, else 9092 */
  port?: number;
  /** Messages per fetch batch (kept for parity; fetches return what is there). @default 1 */
  batchSize?: number;
  /** Seconds a fetch waits for new alerts. @default 0.2 */
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
   * Produce requests per session awaiting acknowledgement at once, 1 to 5. Above 1 the session's
   * producer is idempotent (a producer id and sequence numbers), so the broker keeps the order
   * of alerts and writes a retried request once; a broker that refuses a producer id gets one
   * request at a time. @default 5
   */
  maxInFlight?: number;
  /**
   * Bytes of serialized alerts per session queued or awaiting acknowledgement; beyond it,
   * `publishToTopic` calls wait (in order) for room before their alert is serialized (4 MiB is
   * four full produce requests: a larger queue only holds more memory, bench/README.md).
   * @default 4194304 (4 MiB)
   */
  maxQueueBytes?: number;
}

/** The validated settings of a client, shared by its listening and publishing parts. */
export interface ClientSettings {
  /** Server URL as given. */
  server: string;
  /** The broker port in use. */
  port: number;
  /** Topic group. */
  group: string;
  /** Consumer group id given at construction. */
  consumerGroup?: string;
  /** Messages per batch. */
  batchSize: number;
  /** Fetch wait in seconds. */
  batchTimeout: number;
  /** Reopen after fatal errors. */
  retryOnFatal: boolean;
  /** Fatal-error reopen attempts. */
  listenRetries: number;
  /** Seconds between reopen attempts. */
  retryWait: number;
  /** Pretty-print without callback. */
  jsonpp: boolean;
  /** Deadline of connecting, requests and deliveries, in ms. */
  timeoutMs: number;
  /** Group session timeout in ms. */
  sessionTimeoutMs: number;
  /** Publishing batches. */
  batching: { lingerMs: number; maxBatchBytes: number; maxInFlight: number; maxQueueBytes: number };
  /** Log sink. */
  log: LogSink;
  /** Python-style warnings. */
  warn: (w: IgwnAlertWarning) => void;
  /** Output of listen() without a callback. */
  print: (text: string) => void;
  /** The Kafka cluster with its credential candidates. */
  cluster: KafkaCluster;
}

/**
 * Validates client options and finds the credential in igwn-alert's order: `auth`; `noauth`;
 * `username`+`password`; `authfile`; the default hop auth.toml; netrc (whole server string as
 * machine; no netrc file -> warning and no authentication).
 *
 * @param o the options
 * @returns the settings
 * @throws IgwnAlertOptionError for invalid options; CredentialFileError for a bad `authfile`
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseClientOptions } from "./options.ts";
 * assertEquals(parseClientOptions({ noauth: true, server: "kafka://localhost:9093/" }).port, 9093);
 * ```
 */
export function parseClientOptions(o: IgwnAlertClientOptions): ClientSettings {
  const server = o.server ?? DEFAULT_SERVER;
  const group = o.group ?? DEFAULT_GROUP;
  if (typeof server !== "string") {
    throw new IgwnAlertOptionError(`"server" must be str, not ${typeof server}`);
  }
  const port = o.port;
  if (
    port !== undefined &&
    (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
  ) {
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
  if (o.maxInFlight !== undefined && o.maxInFlight > MAX_IDEMPOTENT_IN_FLIGHT) {
    throw new IgwnAlertOptionError(
      `"maxInFlight" must be at most ${MAX_IDEMPOTENT_IN_FLIGHT} (the requests an idempotent ` +
        `producer may have in flight), not ${o.maxInFlight}`,
    );
  }
  if (!/^kafka:\/\/[^/]/.test(server)) {
    throw new IgwnAlertOptionError(`"server" must look like kafka://host/, not ${server}`);
  }
  if (Boolean(o.username) !== Boolean(o.password) && o.auth === undefined && !o.noauth) {
    throw new IgwnAlertOptionError(
      "You must provide both a username and a password for basic authentication.",
    );
  }
  const log = o.logger ?? stderrLogSink(o.logLevel ?? "warning");
  const warn = o.onWarning ??
    ((w: IgwnAlertWarning) => log("warning", `${w.category}: ${w.message}`));
  const timeoutMs = o.timeoutMs ?? 15_000;
  let cluster: KafkaCluster;
  try {
    cluster = new KafkaCluster({
      ...o,
      url: server,
      port,
      netrcMachine: server,
      clientId: "igwn-alert-ts",
      timeoutMs,
      logger: log,
      onNoAuth: () =>
        warn({
          category: "UserWarning",
          message: "No authentication found. Proceeding with unathenticated session",
        }),
      onSkipped: (why) => warn({ category: "UserWarning", message: why }),
    });
  } catch (e) {
    if (e instanceof KafkaOptionError) {
      throw new IgwnAlertOptionError(`"server" is not a Kafka URL: ${e.message}`);
    }
    throw e;
  }
  return {
    server,
    port: Number(cluster.broker.slice(cluster.broker.lastIndexOf(":") + 1)),
    group,
    consumerGroup: o.consumerGroup,
    batchSize: o.batchSize ?? DEFAULT_BATCH_SIZE,
    batchTimeout: o.batchTimeout ?? DEFAULT_BATCH_TIMEOUT,
    retryOnFatal: o.retryOnFatal ?? false,
    listenRetries: o.listenRetries ?? DEFAULT_LISTEN_RETRIES,
    retryWait: o.retryWait ?? DEFAULT_RETRY_WAIT,
    jsonpp: o.jsonpp ?? false,
    timeoutMs,
    sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
    batching: {
      lingerMs: o.lingerMs ?? 0,
      maxBatchBytes: o.maxBatchBytes ?? 1_000_000,
      maxInFlight: Math.floor(o.maxInFlight ?? MAX_IDEMPOTENT_IN_FLIGHT),
      maxQueueBytes: o.maxQueueBytes ?? 4 * 1024 * 1024,
    },
    log,
    warn,
    print: o.print ?? ((t) => console.log(t)),
    cluster,
  };
}

/**
 * The Kafka edge of the igwn-alert client: kafkajs configuration from a hop credential, kafkajs
 * log routing, error mapping to our typed errors.
 *
 * Two kafkajs 2.2.4 quirks are handled here:
 * - kafkajs stores its SASL authenticator (which has captured the password) on the `sasl` object
 *   it was given (`sasl.authenticationProvider`); a config object reused or spread for another
 *   client then authenticates with the first password. {@linkcode kafkaConfig} builds a fresh
 *   `sasl` object for every client.
 * - kafkajs's request queue calls `setTimeout(fn, -1 - Date.now())` when idle (kafkajs issue
 *   #1751); Node >= 23 and Deno print a one-time `TimeoutNegativeWarning` for it. The timer fires
 *   after 1 ms and finds nothing to do, so it is harmless; {@linkcode quietKafkajsTimeoutWarning}
 *   drops exactly that warning (and nothing else) from the process's default warning printer.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import {
  type Admin,
  Kafka,
  type KafkaConfig,
  type logCreator,
  logLevel as KafkaLogLevel,
} from "kafkajs";
import { sleep } from "../_util/abort.ts";
import type { Auth } from "../hop/auth.ts";
import { AuthError } from "../hop/errors.ts";
import { BrokerConnectionError } from "./errors.ts";

/** Log levels, as the Python CLI's `-l` option names them. */
export type LogLevel = "critical" | "error" | "warning" | "info" | "debug";

/** Receives log records. */
export type LogSink = (level: LogLevel, message: string) => void;

const LEVEL_RANK: Record<LogLevel, number> = {
  critical: 50,
  error: 40,
  warning: 30,
  info: 20,
  debug: 10,
};

/**
 * Whether a record at `level` passes a threshold.
 *
 * @param level the record's level
 * @param threshold the configured level
 * @returns true when the record should be emitted
 * @example
 * ```ts
 * import { levelEnabled } from "./kafka.ts";
 * levelEnabled("info", "warning"); // false
 * ```
 */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[threshold];
}

/**
 * A sink writing Python-logging-like lines (`WARNING:igwn_alert:message`) to stderr.
 *
 * @param threshold lowest level written
 * @param name logger name in each line @default "igwn_alert"
 * @returns the sink
 * @example
 * ```ts
 * import { stderrLogSink } from "./kafka.ts";
 * const log = stderrLogSink("error");
 * log("debug", "not shown");
 * ```
 */
export function stderrLogSink(threshold: LogLevel, name = "igwn_alert"): LogSink {
  const enc = new TextEncoder();
  return (level, message) => {
    if (!levelEnabled(level, threshold)) return;
    Deno.stderr.writeSync(enc.encode(`${level.toUpperCase()}:${name}:${message}\n`));
  };
}

/**
 * A kafkajs `logCreator` that sends kafkajs's records to `sink` (kafkajs ERROR -> "error" is
 * demoted to "info" because kafkajs logs every retried connection failure as an error; our own
 * code reports what really failed).
 *
 * @param sink where records go
 * @returns the kafkajs logCreator
 * @example
 * ```ts
 * import { kafkajsLogCreator } from "./kafka.ts";
 * const creator = kafkajsLogCreator(() => {});
 * ```
 */
export function kafkajsLogCreator(
  sink: LogSink,
  onError?: (message: string) => void,
): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, ...extra } = log as { message: string } & Record<string, unknown>;
    if (onError && (level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN)) {
      onError(`${message} ${typeof extra.error === "string" ? extra.error : ""}`);
    }
    delete extra.timestamp;
    delete extra.logger;
    const ours: LogLevel = level === KafkaLogLevel.DEBUG ? "debug" : "info";
    let detail = "";
    try {
      detail = JSON.stringify(extra);
    } catch { /* circular */ }
    sink(ours, `kafkajs ${namespace}: ${message} ${detail}`);
  };
}

const QUIET = Symbol.for("igwn-alert.quietTimeoutNegativeWarning");

/**
 * Removes kafkajs's harmless one-time `TimeoutNegativeWarning` (kafkajs #1751) from the process's
 * warning output, forwarding every other warning to the listeners that were installed before.
 * Idempotent.
 *
 * @param sink receives the dropped warning at debug level
 * @example
 * ```ts
 * import { quietKafkajsTimeoutWarning } from "./kafka.ts";
 * quietKafkajsTimeoutWarning();
 * ```
 */
export function quietKafkajsTimeoutWarning(sink?: LogSink): void {
  const p = process as unknown as Record<symbol, unknown>;
  if (p[QUIET]) return;
  p[QUIET] = true;
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (w: Error) => {
    if (w.name === "TimeoutNegativeWarning" && /is a negative number/.test(w.message)) {
      sink?.("debug", `dropped kafkajs TimeoutNegativeWarning (kafkajs #1751): ${w.message}`);
      return;
    }
    for (const l of previous) (l as (w: Error) => void)(w);
  });
}

/** What {@linkcode kafkaConfig} needs. */
export interface KafkaConnectOptions {
  /** `host:port`. */
  broker: string;
  /** All bootstrap brokers (`host:port`). @default [broker] */
  brokers?: string[];
  /** The credential, or null for an unauthenticated PLAINTEXT connection. */
  auth: Auth | null;
  /** kafkajs client id. */
  clientId?: string;
  /** Log sink for kafkajs records. */
  sink: LogSink;
  /** kafkajs connection timeout in ms. @default 3000 */
  connectionTimeout?: number;
  /** Receives the text of every error kafkajs logs (e.g. to fail fast on TLS errors). */
  onError?: (message: string) => void;
}

/**
 * Builds a kafkajs config for one client: SASL (SCRAM-SHA-512 by default) over TLS unless the
 * credential says SASL_PLAINTEXT, its `ssl_ca_location` read into `ssl.ca`; no credential means
 * PLAINTEXT. Every call returns fresh objects (see the module note on kafkajs).
 *
 * @param opts broker, credential, logging
 * @returns the kafkajs config
 * @throws AuthError for mechanisms kafkajs cannot do here (OAUTHBEARER, GSSAPI)
 * @example
 * ```ts
 * import { Auth } from "../hop/auth.ts";
 * import { kafkaConfig } from "./kafka.ts";
 * const auth = new Auth({ username: "u", password: "p", protocol: "SASL_PLAINTEXT" });
 * kafkaConfig({ broker: "127.0.0.1:9092", auth, sink: () => {} }).ssl; // undefined
 * ```
 *
 * Not in the generated documentation: its return type is kafkajs's `KafkaConfig`.
 *
 * @ignore
 */
export function kafkaConfig(opts: KafkaConnectOptions): KafkaConfig {
  const config: KafkaConfig = {
    brokers: opts.brokers ? [...opts.brokers] : [opts.broker],
    clientId: opts.clientId ?? "igwn-alert-ts",
    connectionTimeout: opts.connectionTimeout ?? 3000,
    // bounded: about 3 s of reconnect attempts before an operation gives up
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1500 },
    logLevel: KafkaLogLevel.DEBUG,
    logCreator: kafkajsLogCreator(opts.sink, opts.onError),
  };
  const auth = opts.auth;
  if (!auth) return config;
  const mech = auth.kafkaMechanism.toLowerCase();
  if (mech !== "scram-sha-512" && mech !== "scram-sha-256" && mech !== "plain") {
    throw new AuthError(
      `SASL mechanism ${auth.kafkaMechanism} of credential for '${auth.username}' is not ` +
        "supported (use SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)",
    );
  }
  // A new object per client: kafkajs writes `authenticationProvider` into it.
  config.sasl = {
    mechanism: mech,
    username: auth.username,
    password: auth.password,
  } as KafkaConfig["sasl"];
  if (auth.ssl) {
    if (auth.sslCaLocation) {
      let pem: string;
      try {
        pem = Deno.readTextFileSync(auth.sslCaLocation);
      } catch (e) {
        throw new BrokerConnectionError(
          opts.broker,
          `cannot read ssl_ca_location ${auth.sslCaLocation}: ${(e as Error).message}`,
          { cause: e },
        );
      }
      config.ssl = { ca: [pem] };
    } else {
      config.ssl = true;
    }
  }
  return config;
}

function rootCause(e: unknown): unknown {
  let cur = e as { cause?: unknown; originalError?: unknown };
  for (let i = 0; i < 10 && cur; i++) {
    const next = cur.cause ?? cur.originalError;
    if (!next || next === cur) break;
    cur = next as typeof cur;
  }
  return cur;
}

function chainNames(e: unknown): string[] {
  const names: string[] = [];
  let cur = e as { name?: string; cause?: unknown } | undefined;
  for (let i = 0; i < 10 && cur; i++) {
    names.push(String(cur.name));
    cur = cur.cause as typeof cur;
  }
  return names;
}

/**
 * Maps a kafkajs error to our typed errors: SASL failures become {@linkcode AuthError}
 * ("authentication failed ... check the username and password"), connection failures
 * {@linkcode BrokerConnectionError}; anything else is returned unchanged.
 *
 * @param e the error thrown by kafkajs
 * @param broker `host:port`
 * @param auth the credential used (for the username in the message)
 * @returns the mapped error
 * @example
 * ```ts
 * import { mapKafkaError } from "./kafka.ts";
 * const err = Object.assign(new Error("bad"), { name: "KafkaJSSASLAuthenticationError" });
 * mapKafkaError(err, "h:1", null).name; // "AuthError"
 * ```
 */
export function mapKafkaError(e: unknown, broker: string, auth: Auth | null): Error {
  if (e instanceof AuthError || e instanceof BrokerConnectionError) return e;
  const names = chainNames(e);
  const root = rootCause(e) as Error;
  const msg = root?.message ?? String(e);
  if (names.includes("KafkaJSSASLAuthenticationError")) {
    return new AuthError(
      `authentication failed for user '${auth?.username ?? ""}' on ${broker} ` +
        `(${auth?.kafkaMechanism ?? "no mechanism"}): check the username and password (${msg})`,
      { cause: e },
    );
  }
  if (
    names.some((n) =>
      n === "KafkaJSConnectionError" || n === "KafkaJSConnectionClosedError" ||
      n === "KafkaJSRequestTimeoutError" || n === "KafkaJSNoBrokerAvailableError" ||
      n === "KafkaJSBrokerNotFound"
    ) || /ECONNREFUSED|certificate|self.signed|SSL|TLS|timed out|Connection/i.test(msg)
  ) {
    const tls = /certificate|self.signed|SSL|TLS|issuer/i.test(msg);
    return new BrokerConnectionError(
      broker,
      tls
        ? `TLS connection to ${broker} failed (${msg}); check ssl_ca_location / the CA bundle`
        : `cannot reach Kafka broker ${broker}: ${msg}`,
      { cause: e, retriable: !tls },
    );
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Whether a kafkajs error text is a TLS verification failure, which retrying cannot fix.
 *
 * @param message error text
 * @returns true for certificate/TLS handshake failures
 * @example
 * ```ts
 * import { isTlsFailure } from "./kafka.ts";
 * isTlsFailure("unable to verify the first certificate"); // true
 * ```
 */
export function isTlsFailure(message: string): boolean {
  return /certificate|self.signed|unknown ca|UnknownIssuer|handshake|wrong version number/i.test(
    message,
  );
}

/**
 * Converts bytes to the Buffer kafkajs wants.
 *
 * @param b bytes
 * @returns a Buffer view of the same memory
 * @example
 * ```ts
 * import { toBuffer } from "./kafka.ts";
 * toBuffer(new Uint8Array([1])).length; // 1
 * ```
 */
export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Races `p` against a timer.
 *
 * @param p the operation
 * @param ms time allowed
 * @param onTimeout builds the error thrown when the time is up
 * @returns what `p` resolves to
 * @example
 * ```ts
 * import { withTimeout } from "./kafka.ts";
 * await withTimeout(Promise.resolve(1), 100, () => new Error("late")); // 1
 * ```
 */
export async function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * Whether a kafkajs error says a record or batch exceeds the broker's or topic's size limit.
 *
 * @param e the error
 * @returns true for MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE anywhere in the cause chain
 * @example
 * ```ts
 * import { isTooLarge } from "./kafka.ts";
 * isTooLarge({ type: "MESSAGE_TOO_LARGE" }); // true
 * ```
 */
export function isTooLarge(e: unknown): boolean {
  let cur = e as { type?: string; cause?: unknown; message?: string } | undefined;
  for (let i = 0; i < 10 && cur; i++) {
    if (cur.type === "MESSAGE_TOO_LARGE" || cur.type === "RECORD_LIST_TOO_LARGE") return true;
    cur = cur.cause as typeof cur;
  }
  return false;
}

/**
 * Whether a kafkajs error (or the root of its cause chain) is marked retriable.
 *
 * @param e the error
 * @returns true when kafkajs says retrying may help
 * @example
 * ```ts
 * import { isRetriable } from "./kafka.ts";
 * isRetriable(new Error("x")); // false
 * ```
 */
export function isRetriable(e: unknown): boolean {
  let cur = e as { retriable?: boolean; cause?: unknown; name?: string } | undefined;
  let last = cur;
  for (let i = 0; i < 10 && cur; i++) {
    last = cur;
    cur = cur.cause as typeof cur;
  }
  return last?.retriable === true && /^KafkaJS/.test(String(last?.name));
}

/** What {@linkcode kafkaClient} needs. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, `host:port` (the first names the cluster in errors). */
  brokers: string[];
  /** The credential, or null for PLAINTEXT. */
  auth: Auth | null;
  /** Log sink for kafkajs records. */
  sink: LogSink;
  /** kafkajs client id. */
  clientId?: string;
}

/**
 * A kafkajs client (fresh SASL objects, see {@linkcode kafkaConfig}) and a promise that rejects
 * with a non-retriable {@linkcode BrokerConnectionError} as soon as kafkajs logs a TLS
 * verification failure, which it would otherwise retry silently until its deadline.
 *
 * @param opts brokers, credential, logging
 * @returns the client and the TLS tripwire (race it against connects)
 * @throws AuthError for mechanisms kafkajs cannot do
 * @example
 * ```ts
 * import { kafkaClient } from "./kafka.ts";
 * const { kafka } = kafkaClient({ brokers: ["127.0.0.1:9092"], auth: null, sink: () => {} });
 * ```
 *
 * Not in the generated documentation: its return type holds kafkajs's `Kafka`.
 *
 * @ignore
 */
export function kafkaClient(
  opts: KafkaClientOptions,
): { kafka: Kafka; tlsFailure: Promise<never> } {
  const broker = opts.brokers[0];
  let trip!: (e: Error) => void;
  const tlsFailure = new Promise<never>((_, reject) => (trip = reject));
  tlsFailure.catch(() => {});
  const onError = (message: string) => {
    if (isTlsFailure(message)) {
      trip(
        new BrokerConnectionError(
          broker,
          `TLS connection to ${broker} failed (${message}); check ssl_ca_location / the CA bundle`,
          { retriable: false },
        ),
      );
    }
  };
  const config = kafkaConfig({
    broker,
    brokers: opts.brokers,
    auth: opts.auth,
    sink: opts.sink,
    onError,
    clientId: opts.clientId,
  });
  return { kafka: new Kafka(config), tlsFailure };
}

/** What {@linkcode withKafkaAdmin} needs besides the operation. */
export interface AdminOptions extends KafkaClientOptions {
  /** Operation name for errors and logs. */
  what: string;
  /** Deadline for connecting and the operation, in ms. */
  timeoutMs: number;
}

/**
 * Runs `fn` with a connected kafkajs admin client: kafkajs's retriable errors (e.g. "coordinator
 * is loading" right after a broker start) are retried until the deadline, the whole operation is
 * bounded by `timeoutMs`, and failures come out as {@linkcode AuthError} /
 * {@linkcode BrokerConnectionError}.
 *
 * @param opts brokers, credential, logging, deadline
 * @param fn the requests
 * @returns what `fn` returns
 * @throws AuthError, BrokerConnectionError, or `fn`'s own error
 * @example
 * ```ts ignore
 * import { withKafkaAdmin } from "./kafka.ts";
 * const topics = await withKafkaAdmin(
 *   { brokers: ["127.0.0.1:9092"], auth: null, sink: () => {}, what: "list", timeoutMs: 5000 },
 *   (admin) => admin.listTopics(),
 * );
 * ```
 *
 * Not in the generated documentation: `fn` receives kafkajs's `Admin`.
 *
 * @ignore
 */
export async function withKafkaAdmin<T>(
  opts: AdminOptions,
  fn: (admin: Admin) => Promise<T>,
): Promise<T> {
  const broker = opts.brokers[0];
  const { kafka, tlsFailure } = kafkaClient(opts);
  const admin = kafka.admin({ retry: { retries: 4, initialRetryTime: 200, maxRetryTime: 2000 } });
  try {
    return await withTimeout(
      Promise.race([
        (async () => {
          await admin.connect();
          const deadline = Date.now() + opts.timeoutMs;
          while (true) {
            try {
              return await fn(admin);
            } catch (e) {
              if (!isRetriable(e) || Date.now() > deadline - 300) throw e;
              opts.sink("info", `${opts.what}: retrying after ${(e as Error).message}`);
              await sleep(250);
            }
          }
        })(),
        tlsFailure,
      ]),
      opts.timeoutMs,
      () =>
        new BrokerConnectionError(
          broker,
          `${opts.what}: no answer from Kafka broker ${broker} within ${opts.timeoutMs} ms`,
        ),
    );
  } catch (e) {
    throw mapKafkaError(e, broker, opts.auth);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

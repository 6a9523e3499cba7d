/**
 * Typed errors of the Kafka layer, and the mapping from the client library's errors to them.
 *
 * `@platformatic/kafka` reports failures as trees (`MultipleErrors` holding `NetworkError`s whose
 * `cause` is the socket's error, `ResponseError`s holding one `ProtocolError` per failed item);
 * {@linkcode mapKafkaError} walks the tree and gives the one error a user can act on:
 * - {@linkcode AuthError} (hop's class): the broker refused the SASL login or an operation;
 * - {@linkcode BrokerConnectionError}: refused, unreachable, timed out, or TLS verification failed
 *   (`retriable` false for TLS and protocol mismatches, which retrying cannot fix);
 * - {@linkcode UnknownTopicError}: the topic does not exist;
 * - {@linkcode RecordTooLargeError}: a record over the broker's or topic's size limit.
 * Each keeps the library's error as `cause`; no message ever holds a password.
 *
 * @module
 */
import type { Auth } from "../hop/auth.ts";
import { AuthError } from "../hop/errors.ts";

/**
 * Base class of the Kafka layer's errors.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaError } from "./errors.ts";
 * assertEquals(new KafkaError("x").name, "KafkaError");
 * ```
 */
export class KafkaError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates a Kafka-layer error.
   *
   * @param message what went wrong
   * @param options `cause`; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "KafkaError";
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * An invalid Kafka setting (URL, broker address, credential combination). A `TypeError`, like the
 * option errors of the packages built on this layer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { KafkaOptionError } from "./errors.ts";
 * assert(new KafkaOptionError("bad") instanceof TypeError);
 * ```
 */
export class KafkaOptionError extends TypeError {
  /**
   * Creates an error about an invalid setting.
   *
   * @param message which setting and what was found
   */
  constructor(message: string) {
    super(message);
    this.name = "KafkaOptionError";
  }
}

/**
 * The broker could not be reached (refused, timed out, TLS failure) within the time allowed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BrokerConnectionError } from "./errors.ts";
 * assertEquals(new BrokerConnectionError("h:9092", "refused").broker, "h:9092");
 * ```
 */
export class BrokerConnectionError extends KafkaError {
  /** `host:port` of the broker. */
  readonly broker: string;
  /**
   * Creates an error about a broker that cannot be reached.
   *
   * @param broker `host:port`
   * @param message description
   * @param options `cause`; `retriable` (default true)
   */
  constructor(
    broker: string,
    message: string,
    options?: ErrorOptions & { retriable?: boolean },
  ) {
    super(message, { ...options, retriable: options?.retriable ?? true });
    this.name = "BrokerConnectionError";
    this.broker = broker;
  }
}

/**
 * A topic does not exist on the broker.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { UnknownTopicError } from "./errors.ts";
 * assertEquals(new UnknownTopicError("gracedb.nope").topic, "gracedb.nope");
 * ```
 */
export class UnknownTopicError extends KafkaError {
  /** The full Kafka topic name. */
  readonly topic: string;
  /**
   * Creates an error naming the topic the broker does not know.
   *
   * @param topic the full Kafka topic name
   * @param message description
   * @param options `cause`
   */
  constructor(topic: string, message?: string, options?: ErrorOptions) {
    super(message ?? `topic ${topic} does not exist on the broker`, options);
    this.name = "UnknownTopicError";
    this.topic = topic;
  }
}

/**
 * A record larger than the broker or its topic accepts (`message.max.bytes` /
 * `max.message.bytes`); sending it again cannot succeed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RecordTooLargeError } from "./errors.ts";
 * assertEquals(new RecordTooLargeError("t", 5000).bytes, 5000);
 * ```
 */
export class RecordTooLargeError extends KafkaError {
  /** The topic. */
  readonly topic: string;
  /** The record's size in bytes (value and headers). */
  readonly bytes: number;
  /**
   * Creates the error.
   *
   * @param topic the topic
   * @param bytes the record's size
   * @param options `cause`
   */
  constructor(topic: string, bytes: number, options?: ErrorOptions) {
    super(
      `a record of ${bytes} bytes is larger than ${topic} accepts ` +
        "(the broker's message.max.bytes / the topic's max.message.bytes)",
      options,
    );
    this.name = "RecordTooLargeError";
    this.topic = topic;
    this.bytes = bytes;
  }
}

/**
 * A Kafka error code in a broker's answer (the producer's own wire path): `apiId` is its protocol
 * name, `retriable` Kafka's verdict. {@linkcode mapKafkaError} turns the ones a user can act on
 * (authentication, authorization, unknown topic) into their own classes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaProtocolError } from "./errors.ts";
 * const e = new KafkaProtocolError(6, "NOT_LEADER_OR_FOLLOWER", true, "Produce to t-0");
 * assertEquals([e.apiId, e.retriable], ["NOT_LEADER_OR_FOLLOWER", true]);
 * ```
 */
export class KafkaProtocolError extends KafkaError {
  /** The error code. */
  readonly errorCode: number;
  /** Its protocol name, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly apiId: string;
  /** The topic the error is about, if any. */
  readonly topic?: string;
  /**
   * Creates the error.
   *
   * @param errorCode the code
   * @param apiId its protocol name
   * @param retriable whether the request may succeed later
   * @param what the request (and partition) that failed
   * @param options `topic`; the broker's `detail` message
   */
  constructor(
    errorCode: number,
    apiId: string,
    retriable: boolean,
    what: string,
    options?: { topic?: string; detail?: string | null },
  ) {
    super(`${what}: ${apiId}${options?.detail ? ` (${options.detail})` : ""}`, { retriable });
    this.name = "KafkaProtocolError";
    this.errorCode = errorCode;
    this.apiId = apiId;
    if (options?.topic !== undefined) this.topic = options.topic;
  }
}

/** What an error of the client library may carry. */
interface LibraryError {
  name?: string;
  message?: string;
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  topic?: string;
  errors?: unknown[];
  cause?: unknown;
}

/**
 * Every error in a library error tree (the error itself, `errors` of aggregates, `cause`s),
 * depth first, at most 64.
 *
 * @param e the error
 * @returns the errors of the tree
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { errorTree } from "./errors.ts";
 * assertEquals(errorTree(new Error("a", { cause: new Error("b") })).length, 2);
 * ```
 */
export function errorTree(e: unknown): LibraryError[] {
  const out: LibraryError[] = [];
  const stack: unknown[] = [e];
  while (stack.length > 0 && out.length < 64) {
    const cur = stack.pop() as LibraryError | undefined;
    if (!cur || typeof cur !== "object" || out.includes(cur)) continue;
    out.push(cur);
    if (cur.cause) stack.push(cur.cause);
    if (Array.isArray(cur.errors)) {
      for (let i = cur.errors.length - 1; i >= 0; i--) stack.push(cur.errors[i]);
    }
  }
  return out;
}

const AUTH_IDS = new Set([
  "SASL_AUTHENTICATION_FAILED",
  "ILLEGAL_SASL_STATE",
  "UNSUPPORTED_SASL_MECHANISM",
]);
const AUTHZ_IDS = new Set([
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);
const TOO_LARGE_IDS = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]);
const TLS_TEXT =
  /certificate|self.signed|unknown ca|UnknownIssuer|handshake|wrong version number|requires TLS|ssl|tls/i;
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|DEPTH_ZERO/;

/**
 * Whether a library error says a record or batch exceeds the broker's or topic's size limit.
 *
 * @param e the error
 * @returns true for MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE anywhere in the tree
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isTooLarge } from "./errors.ts";
 * assert(isTooLarge({ apiId: "MESSAGE_TOO_LARGE" }));
 * ```
 */
export function isTooLarge(e: unknown): boolean {
  return e instanceof RecordTooLargeError ||
    errorTree(e).some((x) => x.apiId !== undefined && TOO_LARGE_IDS.has(x.apiId));
}

/**
 * Whether retrying may help: connection loss, time-outs, leader or coordinator changes — not
 * authentication, TLS, unknown topics or records too large.
 *
 * @param e the error (ours or the library's)
 * @returns true when a retry may succeed
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isRetriable } from "./errors.ts";
 * assertEquals(isRetriable(new Error("x")), false);
 * ```
 */
export function isRetriable(e: unknown): boolean {
  if (e instanceof KafkaError) return e.retriable;
  if (e instanceof AuthError) return false;
  const tree = errorTree(e);
  if (tree.length === 0) return false;
  for (const x of tree) {
    if (x.code === "PLT_KFK_AUTHENTICATION" || x.code === "PLT_KFK_USER") return false;
    if (x.apiId && (AUTH_IDS.has(x.apiId) || AUTHZ_IDS.has(x.apiId))) return false;
    if (x.apiId && TOO_LARGE_IDS.has(x.apiId)) return false;
    if (isTlsError(x)) return false;
  }
  return tree.some((x) =>
    x.code === "PLT_KFK_NETWORK" || x.code === "PLT_KFK_TIMEOUT" || x.canRetry === true
  );
}

function isTlsError(x: LibraryError): boolean {
  // a broker's error code is never about TLS (its text may name a topic like "tls-alerts")
  if (x.apiId) return false;
  if (typeof x.code === "string" && TLS_CODE.test(x.code)) return true;
  if (x.code === "PLT_KFK_USER" && /TLS/.test(x.message ?? "")) return true;
  // socket errors without a library code: their text says what failed
  return !x.code?.startsWith("PLT_KFK_") && TLS_TEXT.test(x.message ?? "") &&
    !/ECONNREFUSED|ENOTFOUND|ETIMEDOUT/.test(x.message ?? "");
}

/** The innermost message of a tree that is not a library wrapper ("... failed N times."). */
function rootMessage(tree: LibraryError[]): string {
  for (let i = tree.length - 1; i >= 0; i--) {
    const x = tree[i];
    if (x.code === "PLT_KFK_MULTIPLE" || x.code === "PLT_KFK_RESPONSE") continue;
    if (x.message) return x.message;
  }
  return tree[0]?.message ?? String(tree[0]);
}

/**
 * The error for a login the broker refused (wrong username or password, unknown mechanism).
 *
 * @param broker `host:port` named in the message
 * @param auth the credential used (its username and mechanism are named, never its password)
 * @param detail what the broker or the library said
 * @param cause the underlying error
 * @returns the AuthError
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { authenticationFailed } from "./errors.ts";
 * const e = authenticationFailed("h:9092", null, "refused", undefined);
 * assertStringIncludes(e.message, "authentication failed for user ''");
 * ```
 */
export function authenticationFailed(
  broker: string,
  auth: Auth | null,
  detail: string,
  cause: unknown,
): AuthError {
  return new AuthError(
    `authentication failed for user '${auth?.username ?? ""}' on ${broker} ` +
      `(${auth?.kafkaMechanism ?? "no mechanism"}): check the username and password (${detail})`,
    { cause },
  );
}

/**
 * The error for a TLS connection that failed (certificate not trusted, not a TLS listener).
 *
 * @param broker `host:port`
 * @param detail what failed
 * @param cause the underlying error
 * @returns the BrokerConnectionError (not retriable)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tlsFailed } from "./errors.ts";
 * assertEquals(tlsFailed("h:9093", "UnknownIssuer", undefined).retriable, false);
 * ```
 */
export function tlsFailed(broker: string, detail: string, cause: unknown): BrokerConnectionError {
  return new BrokerConnectionError(
    broker,
    `TLS connection to ${broker} failed (${detail}); check ssl_ca_location / the CA bundle`,
    { cause, retriable: false },
  );
}

/**
 * Maps an error of the client library to this layer's typed errors (see the module note);
 * errors already typed, and anything unrecognised, are returned unchanged.
 *
 * @param e the error
 * @param broker `host:port` named in messages
 * @param auth the credential used (its username and mechanism go into authentication messages)
 * @returns the typed error
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { mapKafkaError } from "./errors.ts";
 * const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
 * const lib = Object.assign(new Error("Connection failed."), { code: "PLT_KFK_NETWORK", cause: refused });
 * assertEquals(mapKafkaError(lib, "127.0.0.1:1", null).name, "BrokerConnectionError");
 * ```
 */
export function mapKafkaError(e: unknown, broker: string, auth: Auth | null): Error {
  if (e instanceof KafkaError && !(e instanceof KafkaProtocolError)) return e;
  if (e instanceof AuthError || e instanceof KafkaOptionError) return e;
  const tree = errorTree(e);
  const msg = rootMessage(tree);
  const user = auth?.username ?? "";
  if (tree.some((x) => x.code === "PLT_KFK_AUTHENTICATION" || (x.apiId && AUTH_IDS.has(x.apiId)))) {
    return authenticationFailed(broker, auth, msg, e);
  }
  const authz = tree.find((x) => x.apiId && AUTHZ_IDS.has(x.apiId));
  if (authz) {
    return new AuthError(
      `user '${user}' is not authorized for this on ${broker} (${authz.apiId}: ${authz.message})`,
      { cause: e },
    );
  }
  const unknown = tree.find((x) =>
    x.apiId === "UNKNOWN_TOPIC_OR_PARTITION" || /^Unknown topic /.test(x.message ?? "")
  );
  if (unknown) {
    const topic = unknown.topic ?? /^Unknown topic (.*?)\.?$/.exec(unknown.message ?? "")?.[1] ??
      "(unknown)";
    return new UnknownTopicError(topic, undefined, { cause: e });
  }
  const tls = tree.find(isTlsError);
  if (tls) {
    return tlsFailed(broker, tls.message ?? "", e);
  }
  if (
    tree.some((x) =>
      x.code === "PLT_KFK_NETWORK" || x.code === "PLT_KFK_TIMEOUT" ||
      /^(ECONN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE|EAI_)/.test(x.code ?? "")
    )
  ) {
    return new BrokerConnectionError(broker, `cannot reach Kafka broker ${broker}: ${msg}`, {
      cause: e,
    });
  }
  return e instanceof Error ? e : new Error(String(e));
}

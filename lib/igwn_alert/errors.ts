/**
 * Typed errors of the igwn-alert client. Authentication and credential-file problems use the hop
 * layer's {@linkcode AuthError} and {@linkcode CredentialFileError} (re-exported here).
 *
 * @module
 */
export {
  AmbiguousCredentialError,
  AuthError,
  CredentialFileError,
  HopError,
} from "../hop/errors.ts";

/** Base class of the igwn-alert client's own errors. */
export class IgwnAlertError extends Error {
  /**
   * @param message what went wrong
   * @param options `cause`
   * @example
   * ```ts
   * import { IgwnAlertError } from "./errors.ts";
   * new IgwnAlertError("x").name; // "IgwnAlertError"
   * ```
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IgwnAlertError";
  }
}

/**
 * An invalid client option (Python raises AssertionError/RuntimeError at construction).
 * A `TypeError`, so `instanceof TypeError` holds.
 */
export class IgwnAlertOptionError extends TypeError {
  /**
   * @param message which option and what was found
   * @example
   * ```ts
   * import { IgwnAlertOptionError } from "./errors.ts";
   * new IgwnAlertOptionError('"port" must be int') instanceof TypeError; // true
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "IgwnAlertOptionError";
  }
}

/** publishToTopic/flushByTopic without a matching connect() (Python's RuntimeError). */
export class SessionError extends IgwnAlertError {
  /**
   * @param message Python's message
   * @example
   * ```ts
   * import { SessionError } from "./errors.ts";
   * new SessionError("No active sessions.").name; // "SessionError"
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "SessionError";
  }
}

/** A topic does not exist on the broker. */
export class UnknownTopicError extends IgwnAlertError {
  /** The full Kafka topic name. */
  readonly topic: string;
  /**
   * @param topic the full Kafka topic name
   * @param message description
   * @example
   * ```ts
   * import { UnknownTopicError } from "./errors.ts";
   * new UnknownTopicError("gracedb.nope").topic; // "gracedb.nope"
   * ```
   */
  constructor(topic: string, message?: string) {
    super(message ?? `topic ${topic} does not exist on the broker`);
    this.name = "UnknownTopicError";
    this.topic = topic;
  }
}

/** The broker could not be reached (refused, timed out, TLS failure) within the time allowed. */
export class BrokerConnectionError extends IgwnAlertError {
  /** `host:port` of the broker. */
  readonly broker: string;
  /** False when retrying cannot help (TLS verification failures). */
  readonly retriable: boolean;
  /**
   * @param broker `host:port`
   * @param message description
   * @param options `cause`; `retriable` (default true)
   * @example
   * ```ts
   * import { BrokerConnectionError } from "./errors.ts";
   * new BrokerConnectionError("h:9092", "refused").broker; // "h:9092"
   * ```
   */
  constructor(
    broker: string,
    message: string,
    options?: ErrorOptions & { retriable?: boolean },
  ) {
    super(message, options);
    this.name = "BrokerConnectionError";
    this.broker = broker;
    this.retriable = options?.retriable ?? true;
  }
}

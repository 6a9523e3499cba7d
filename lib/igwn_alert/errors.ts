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

/**
 * Base class of the igwn-alert client's own errors.
 *
 * @example
 * ```ts
 * import { IgwnAlertError } from "./errors.ts";
 * new IgwnAlertError("x").name; // "IgwnAlertError"
 * ```
 */
export class IgwnAlertError extends Error {
  /**
   * Creates an igwn-alert error.
   *
   * @param message what went wrong
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IgwnAlertError";
  }
}

/**
 * An invalid client option (Python raises AssertionError/RuntimeError at construction).
 * A `TypeError`, so `instanceof TypeError` holds.
 *
 * @example
 * ```ts
 * import { IgwnAlertOptionError } from "./errors.ts";
 * new IgwnAlertOptionError('"port" must be int') instanceof TypeError; // true
 * ```
 */
export class IgwnAlertOptionError extends TypeError {
  /**
   * Creates an error about an invalid option.
   *
   * @param message which option and what was found
   */
  constructor(message: string) {
    super(message);
    this.name = "IgwnAlertOptionError";
  }
}

/**
 * publishToTopic/flushByTopic without a matching connect() (Python's RuntimeError).
 *
 * @example
 * ```ts
 * import { SessionError } from "./errors.ts";
 * new SessionError("No active sessions.").name; // "SessionError"
 * ```
 */
export class SessionError extends IgwnAlertError {
  /**
   * Creates an error about a session that is closed or not usable.
   *
   * @param message Python's message
   */
  constructor(message: string) {
    super(message);
    this.name = "SessionError";
  }
}

/**
 * A topic does not exist on the broker.
 *
 * @example
 * ```ts
 * import { UnknownTopicError } from "./errors.ts";
 * new UnknownTopicError("gracedb.nope").topic; // "gracedb.nope"
 * ```
 */
export class UnknownTopicError extends IgwnAlertError {
  /** The full Kafka topic name. */
  readonly topic: string;
  /**
   * Creates an error naming the topic the broker does not know.
   *
   * @param topic the full Kafka topic name
   * @param message description
   */
  constructor(topic: string, message?: string) {
    super(message ?? `topic ${topic} does not exist on the broker`);
    this.name = "UnknownTopicError";
    this.topic = topic;
  }
}

/**
 * The broker could not be reached (refused, timed out, TLS failure) within the time allowed.
 *
 * @example
 * ```ts
 * import { BrokerConnectionError } from "./errors.ts";
 * new BrokerConnectionError("h:9092", "refused").broker; // "h:9092"
 * ```
 */
export class BrokerConnectionError extends IgwnAlertError {
  /** `host:port` of the broker. */
  readonly broker: string;
  /** False when retrying cannot help (TLS verification failures). */
  readonly retriable: boolean;
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
    super(message, options);
    this.name = "BrokerConnectionError";
    this.broker = broker;
    this.retriable = options?.retriable ?? true;
  }
}

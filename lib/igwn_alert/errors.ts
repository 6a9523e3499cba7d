/**
 * Typed errors of the igwn-alert client. Authentication and credential-file problems use the hop
 * layer's {@linkcode AuthError} and {@linkcode CredentialFileError}; broker, topic and record-size
 * problems the Kafka layer's {@linkcode BrokerConnectionError}, {@linkcode UnknownTopicError} and
 * {@linkcode RecordTooLargeError} (all re-exported here).
 *
 * @module
 */
export {
  AmbiguousCredentialError,
  AuthError,
  CredentialFileError,
  HopError,
} from "../hop/errors.ts";
export {
  BrokerConnectionError,
  KafkaError,
  RecordTooLargeError,
  UnknownTopicError,
} from "../kafka/errors.ts";

/**
 * Base class of the igwn-alert client's own errors.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { IgwnAlertError } from "./errors.ts";
 * assertEquals(new IgwnAlertError("x").name, "IgwnAlertError");
 * ```
 */
export class IgwnAlertError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates an igwn-alert error.
   *
   * @param message what went wrong
   * @param options `cause`; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "IgwnAlertError";
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * An invalid client option (Python raises AssertionError/RuntimeError at construction).
 * A `TypeError`, so `instanceof TypeError` holds.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { IgwnAlertOptionError } from "./errors.ts";
 * assert(new IgwnAlertOptionError('"port" must be int') instanceof TypeError);
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
 * import { assertEquals } from "@std/assert";
 * import { SessionError } from "./errors.ts";
 * assertEquals(new SessionError("No active sessions.").name, "SessionError");
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

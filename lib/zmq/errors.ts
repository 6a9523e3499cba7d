/**
 * Error classes of the ZeroMQ engine.
 *
 * @module
 */

/**
 * Base class of every error the ZeroMQ engine throws.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ZmqError } from "./errors.ts";
 * const e = new ZmqError("boom");
 * assert(e.name === "ZmqError");
 * ```
 */
export class ZmqError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates the error.
   *
   * @param message what went wrong
   * @param options `cause` of the failure; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "ZmqError";
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * A call that the socket's state machine does not allow now (REQ sending twice, REP replying
 * without a request, ...).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ZmqStateError } from "./errors.ts";
 * assert(new ZmqStateError("x") instanceof Error);
 * ```
 */
export class ZmqStateError extends ZmqError {
  /**
   * Creates the error.
   *
   * @param message what was expected and what was found
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmqStateError";
  }
}

/**
 * The socket is closed (or was closed while the call was waiting).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ZmqClosedError } from "./errors.ts";
 * assert(new ZmqClosedError().message === "socket is closed");
 * ```
 */
export class ZmqClosedError extends ZmqError {
  /**
   * Creates the error.
   *
   * @param message defaults to "socket is closed"
   * @param options `cause`
   */
  constructor(message = "socket is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmqClosedError";
  }
}

/**
 * A peer broke the ZMTP or CURVE protocol (bad greeting, malformed frame or command, failed
 * decryption). The connection is dropped; the socket survives.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ZmqProtocolError } from "./errors.ts";
 * assert(new ZmqProtocolError("bad").name === "ZmqProtocolError");
 * ```
 */
export class ZmqProtocolError extends ZmqError {
  /**
   * Creates the error.
   *
   * @param message what was expected and what was found
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmqProtocolError";
  }
}

/**
 * A peer exceeded a limit of the socket (`maxMessageSize`, ...): its connection is dropped, the
 * socket survives.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { ZmqLimitError, ZmqProtocolError } from "./errors.ts";
 * const e = new ZmqLimitError("maxMessageSize", "message of 9 bytes exceeds 8");
 * assertEquals(e.limit, "maxMessageSize");
 * assert(e instanceof ZmqProtocolError);
 * ```
 */
export class ZmqLimitError extends ZmqProtocolError {
  /** The option whose limit was exceeded. */
  readonly limit: string;
  /**
   * Creates the error.
   *
   * @param limit the option, e.g. "maxMessageSize"
   * @param message what was received and what the limit is
   * @param options `cause`
   */
  constructor(limit: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ZmqLimitError";
    this.limit = limit;
  }
}

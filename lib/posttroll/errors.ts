/**
 * The errors of the posttroll transport, under one base class, {@linkcode PosttrollError}. Each
 * is also exported by the module that throws it (`MessageError` by `./message`, `ConfigError`
 * by `./config`, ...). `retriable` marks the transient ones: a timeout waiting for the
 * nameserver, a queue or a multicast socket, a registration that got no answer.
 *
 * @module
 */

/**
 * Base class of every posttroll error.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { ConfigError, PosttrollError } from "./errors.ts";
 * import { PosttrollConfig } from "./config.ts";
 * try {
 *   new PosttrollConfig({ env: {} }).get("nope");
 * } catch (e) {
 *   assert(e instanceof PosttrollError && e instanceof ConfigError);
 *   assertEquals(e.retriable, false);
 * }
 * ```
 */
export class PosttrollError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates a posttroll error.
   *
   * @param message what went wrong
   * @param options `cause`; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "PosttrollError";
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * Raised for every malformed message or invalid message content (posttroll's `MessageError`;
 * also where Python leaks `IndexError`/`ValueError`/`TypeError`).
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { Message, MessageError } from "./message.ts";
 * assertThrows(() => Message.decode("hello"), MessageError);
 * ```
 */
export class MessageError extends PosttrollError {
  /**
   * Creates a codec error.
   *
   * @param message reason
   * @param options `cause`
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MessageError";
  }
}

/**
 * Raised for a missing key (like Python's `KeyError`) or a malformed config file or value.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { ConfigError, PosttrollConfig } from "./config.ts";
 * assertThrows(() => new PosttrollConfig({ env: {} }).get("nope"), ConfigError);
 * ```
 */
export class ConfigError extends PosttrollError {
  /** The key concerned, when there is one. */
  readonly key?: string;
  /**
   * Creates a configuration error, optionally naming the offending key.
   *
   * @param message what went wrong
   * @param options standard error options plus the key
   */
  constructor(message: string, options?: ErrorOptions & { key?: string }) {
    super(message, options);
    this.name = "ConfigError";
    this.key = options?.key;
  }
}

/**
 * Raised when a configured backend is not supported (Python raises `NotImplementedError`).
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { PosttrollConfig, UnsupportedBackendError } from "./config.ts";
 * const c = new PosttrollConfig({ env: { POSTTROLL_BACKEND: "spurious" } });
 * const e = assertThrows(() => c.backend(), UnsupportedBackendError);
 * assertEquals(e.backend, "spurious");
 * ```
 */
export class UnsupportedBackendError extends PosttrollError {
  /** The backend that was asked for. */
  readonly backend: string;
  /**
   * Creates an error naming the unsupported backend.
   *
   * @param backend the configured backend name
   * @param options standard error options
   */
  constructor(backend: string, options?: ErrorOptions) {
    super(
      `No support for backend ${JSON.stringify(backend)} implemented ` +
        `(expected "unsecure_zmq" or "secure_zmq")`,
      options,
    );
    this.name = "UnsupportedBackendError";
    this.backend = backend;
  }
}

/**
 * A key file is missing, unreadable, malformed, or would overwrite an existing one.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { KeyFileError, loadCertificate } from "./secure_keys.ts";
 * await assertRejects(() => loadCertificate("/nonexistent/server.key_secret"), KeyFileError);
 * ```
 */
export class KeyFileError extends PosttrollError {
  /**
   * Creates a key file error.
   *
   * @param message what went wrong, naming the file
   * @param options the underlying error
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KeyFileError";
  }
}

/**
 * A server refused this client: its CURVE public key is not in the server's
 * `clients_public_keys_directory`, its address is not in `authorized_client_addresses`, or it
 * does not speak the server's security mechanism (a plain client on a `secure_zmq` socket, or
 * the other way round).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AuthRefusedError } from "./nameserver.ts";
 * const e = new AuthRefusedError("tcp://127.0.0.1:5558", "peer refused: 400", "auth");
 * assertEquals([e.name, e.kind], ["AuthRefusedError", "auth"]);
 * ```
 */
export class AuthRefusedError extends PosttrollError {
  /** The endpoint we connected to. */
  readonly endpoint: string;
  /** The reason the ZeroMQ engine reported (for libzmq servers, the ZAP status code). */
  readonly reason: string;
  /** `"auth"`: key or address refused; `"mechanism"`: CURVE on one side, plain on the other. */
  readonly kind: "auth" | "mechanism";
  /**
   * Creates an error describing a refused secure connection.
   *
   * @param endpoint the server endpoint
   * @param reason the engine's reason text
   * @param kind what was refused
   * @param options standard error options
   */
  constructor(
    endpoint: string,
    reason: string,
    kind: "auth" | "mechanism",
    options?: ErrorOptions,
  ) {
    super(
      kind === "auth"
        ? `${endpoint} refused us (${reason}): is our public key in the server's ` +
          `clients_public_keys_directory and our address in its authorized_client_addresses?`
        : `${endpoint} refused us (${reason}): the server and we use different backends ` +
          `(secure_zmq vs unsecure_zmq)`,
      options,
    );
    this.name = "AuthRefusedError";
    this.endpoint = endpoint;
    this.reason = reason;
    this.kind = kind;
  }
}

/**
 * Raised for a publisher used in the wrong state (send before start) or given bad settings.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PublisherError } from "./publisher.ts";
 * assertEquals(new PublisherError("x").name, "PublisherError");
 * ```
 */
export class PublisherError extends PosttrollError {
  /**
   * Creates a publisher error.
   *
   * @param message what went wrong
   * @param options standard error options
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PublisherError";
  }
}

/**
 * Raised (through `onError`) when a nameserver answers a registration with something else than
 * `ok`, or does not answer in time.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RegistrationError } from "./broadcaster.ts";
 * const e = new RegistrationError("no acknowledge", { retriable: true });
 * assertEquals([e.name, e.retriable], ["RegistrationError", true]);
 * ```
 */
export class RegistrationError extends PosttrollError {
  /**
   * Creates a registration error.
   *
   * @param message what happened
   * @param options standard error options; `retriable` when the nameserver did not answer
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "RegistrationError";
  }
}

/**
 * Raised when the nameserver does not answer in time: "Didn't get an address after N seconds."
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NameserverTimeoutError } from "./nameserver.ts";
 * const e = new NameserverTimeoutError(2);
 * assertEquals(e.message, "Didn't get an address after 2 seconds.");
 * assertEquals(e.name, "TimeoutError"); // Python's exception name
 * assertEquals(e.retriable, true);
 * ```
 */
export class NameserverTimeoutError extends PosttrollError {
  /** The timeout in seconds. */
  readonly timeout: number;
  /**
   * Creates the error for a nameserver request that got no answer in `timeout` seconds.
   *
   * @param timeout seconds waited
   * @param options standard error options
   */
  constructor(timeout: number, options?: ErrorOptions) {
    super(`Didn't get an address after ${timeout} seconds.`, { ...options, retriable: true });
    this.name = "TimeoutError";
    this.timeout = timeout;
  }
}

/**
 * The nameserver answered a look-up with an error: its reply would have exceeded its size limit
 * (`nameserver_max_buffered_bytes`), e.g. a look-up of every service (`""`) on a huge book.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NameserverReplyError } from "./nameserver.ts";
 * const e = new NameserverReplyError("tcp://localhost:5557", "");
 * assertEquals([e.name, e.service, e.retriable], ["NameserverReplyError", "", false]);
 * ```
 */
export class NameserverReplyError extends PosttrollError {
  /** The nameserver asked. */
  readonly nameserver: string;
  /** The service looked up. */
  readonly service: string;
  /**
   * Creates the error for a look-up that got an error reply.
   *
   * @param nameserver the nameserver's endpoint
   * @param service the service looked up
   * @param options standard error options
   */
  constructor(nameserver: string, service: string, options?: ErrorOptions) {
    super(
      `${nameserver} answered the look-up of ${JSON.stringify(service)} with an error: the reply ` +
        `would exceed its size limit (nameserver_max_buffered_bytes); look up fewer services`,
      options,
    );
    this.name = "NameserverReplyError";
    this.nameserver = nameserver;
    this.service = service;
  }
}

/**
 * Raised for an invalid multicast group or a socket that cannot be set up (Python: `OSError`).
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { mcastSender, MulticastError } from "./multicast.ts";
 * assertThrows(() => mcastSender("10.0.0.1"), MulticastError);
 * ```
 */
export class MulticastError extends PosttrollError {
  /**
   * Creates a multicast error.
   *
   * @param message what failed
   * @param options standard error options
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MulticastError";
  }
}

/**
 * Raised by {@linkcode MulticastReceiver.receive} when the timeout set with
 * {@linkcode MulticastReceiver.settimeout} passes (Python: `socket.timeout`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SocketTimeoutError } from "./multicast.ts";
 * assertEquals(new SocketTimeoutError(2).message, "timed out after 2 s");
 * ```
 */
export class SocketTimeoutError extends PosttrollError {
  /**
   * Creates the error for a receive that waited `seconds` in vain.
   *
   * @param seconds the timeout that passed
   */
  constructor(seconds: number) {
    super(`timed out after ${seconds} s`, { retriable: true });
    this.name = "SocketTimeoutError";
  }
}

/**
 * Raised by {@linkcode MessageQueue.get} when nothing arrives in time (Python: `queue.Empty`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { QueueEmptyError } from "./listener.ts";
 * assertEquals(new QueueEmptyError(1).message, "no message within 1 s");
 * ```
 */
export class QueueEmptyError extends PosttrollError {
  /**
   * Creates the error for a wait of `seconds` that ended empty.
   *
   * @param seconds the timeout that passed
   */
  constructor(seconds: number) {
    super(`no message within ${seconds} s`, { retriable: true });
    this.name = "QueueEmptyError";
  }
}

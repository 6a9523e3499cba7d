/**
 * Typed errors of the posttroll <-> Kafka bridge. Kafka connection and credential problems use
 * the Kafka layer's {@linkcode BrokerConnectionError} and hop's {@linkcode AuthError} and
 * {@linkcode CredentialFileError}, re-exported here.
 *
 * @module
 */
export { AuthError, CredentialFileError } from "../hop/errors.ts";
export { BrokerConnectionError, KafkaError, RecordTooLargeError } from "../kafka/errors.ts";

/**
 * Base class of the bridge's own errors.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BridgeError } from "./errors.ts";
 * assertEquals(new BridgeError("x").name, "BridgeError");
 * ```
 */
export class BridgeError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates a bridge error.
   *
   * @param message what went wrong
   * @param options `cause`; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "BridgeError";
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * An invalid bridge option (bad topic prefix, depth, URL...).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BridgeOptionError } from "./errors.ts";
 * assertEquals(new BridgeOptionError("bad").name, "BridgeOptionError");
 * ```
 */
export class BridgeOptionError extends TypeError {
  /**
   * Creates an option error.
   *
   * @param message which option and why
   */
  constructor(message: string) {
    super(message);
    this.name = "BridgeOptionError";
  }
}

/**
 * The duplicate-suppression state file cannot be read or written (unreadable, not ours, disk
 * full). Forwarding goes on; only suppression across a restart is affected.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DedupStoreError } from "./errors.ts";
 * assertEquals(new DedupStoreError("/var/lib/x.dedup", "disk full").path, "/var/lib/x.dedup");
 * ```
 */
export class DedupStoreError extends BridgeError {
  /** The state file. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path the state file
   * @param message what failed
   * @param options `cause`
   */
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.name = "DedupStoreError";
    this.path = path;
  }
}

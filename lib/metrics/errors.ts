/**
 * Typed errors of the metrics package: one base class, {@linkcode MetricsError}, for invalid metric
 * definitions, misused series and bad listen addresses.
 *
 * @module
 */

/**
 * Base class of the metrics package's errors.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MetricsError } from "./errors.ts";
 * assertEquals(new MetricsError("x").name, "MetricsError");
 * ```
 */
export class MetricsError extends Error {
  /** True when the same call may succeed if made again later (a transient failure). */
  readonly retriable: boolean;
  /**
   * Creates a metrics error.
   *
   * @param message what went wrong
   * @param options `cause`; `retriable` (default false)
   */
  constructor(message: string, options?: ErrorOptions & { retriable?: boolean }) {
    super(message, options);
    this.name = "MetricsError";
    this.retriable = options?.retriable ?? false;
  }
}

/**
 * A metric defined or used against Prometheus' rules: an invalid metric or label name, a counter
 * name without `_total`, a name registered twice, labels that do not match the declared ones, a
 * counter decremented.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MetricDefinitionError } from "./errors.ts";
 * assertEquals(new MetricDefinitionError("bad").name, "MetricDefinitionError");
 * ```
 */
export class MetricDefinitionError extends MetricsError {
  /**
   * Creates the error.
   *
   * @param message which metric and what is wrong with it
   */
  constructor(message: string) {
    super(message);
    this.name = "MetricDefinitionError";
  }
}

/**
 * A `HOST:PORT` setting (such as `--metrics`) that cannot be listened on as given.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ListenAddressError } from "./errors.ts";
 * assertEquals(
 *   new ListenAddressError("--metrics", "x", "no port").message,
 *   '--metrics: expected HOST:PORT, got "x" (no port)',
 * );
 * ```
 */
export class ListenAddressError extends MetricsError {
  /** The setting's name, e.g. `--metrics`. */
  readonly setting: string;
  /**
   * Creates the error.
   *
   * @param setting the setting's name
   * @param value the value given
   * @param reason why it is refused
   */
  constructor(setting: string, value: string, reason: string) {
    super(`${setting}: expected HOST:PORT, got ${JSON.stringify(value)} (${reason})`);
    this.name = "ListenAddressError";
    this.setting = setting;
  }
}

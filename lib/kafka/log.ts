/**
 * Logging of the Kafka layer and its users (igwn-alert, the bridge): Python-logging-like levels
 * and a sink writing `LEVEL:name:message` lines to stderr.
 *
 * @module
 */

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
 * import { assertEquals } from "@std/assert";
 * import { levelEnabled } from "./log.ts";
 * assertEquals(levelEnabled("info", "warning"), false);
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
 * import { assertEquals } from "@std/assert";
 * import { levelEnabled, stderrLogSink } from "./log.ts";
 * const log = stderrLogSink("error");
 * log("debug", "not shown"); // below the threshold
 * assertEquals([levelEnabled("debug", "error"), levelEnabled("error", "error")], [false, true]);
 * ```
 */
export function stderrLogSink(threshold: LogLevel, name = "igwn_alert"): LogSink {
  const enc = new TextEncoder();
  return (level, message) => {
    if (!levelEnabled(level, threshold)) return;
    Deno.stderr.writeSync(enc.encode(`${level.toUpperCase()}:${name}:${message}\n`));
  };
}

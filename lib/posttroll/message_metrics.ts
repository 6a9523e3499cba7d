/**
 * Per-subject message metrics, a drop-in for MET Norway's pytroll-messages-prom: for each message
 * type and subject (`message_type`, `topic` labels, as there) the number of messages, when the last
 * one arrived, the `start_time`/`end_time` found in its data and the number of files it carries
 * (`uri` list, `dataset` or `collection`). Dashboards and alert rules written for
 * pytroll-messages-prom keep working.
 *
 * | metric | type | pytroll-messages-prom |
 * |---|---|---|
 * | `posttroll_message_counter_total` | counter | same |
 * | `posttroll_message_register_time_seconds` | gauge, Unix time of the last message | same |
 * | `posttroll_message_start_time_seconds` | gauge, data `start_time` | same |
 * | `posttroll_message_end_time_seconds` | gauge, data `end_time` (else `start_time`) | writes `start_time` here (a bug) |
 * | `posttroll_message_number_of_files_count` | gauge | same |
 *
 * Beyond it: messages without a `start_time` are counted (pytroll-messages-prom's loop dies on
 * them), and label combinations are bounded (`maxSeries`, default 10,000 per metric).
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { Message, PyDateTime } from "./message.ts";
 * import { MessageMetrics } from "./message_metrics.ts";
 * const registry = new Registry();
 * const metrics = new MessageMetrics(registry);
 * metrics.observe(new Message("/viirs/l1b", "file", {
 *   uri: "/data/a.h5",
 *   start_time: PyDateTime.fromisoformat("2026-11-25T10:00:00"),
 * }));
 * assertStringIncludes(
 *   registry.render(),
 *   'posttroll_message_counter_total{message_type="file",topic="/viirs/l1b"} 1',
 * );
 * ```
 * @module
 */
import type { CounterSeries, GaugeSeries, Registry } from "../metrics/mod.ts";
import type { Message } from "./message.ts";
import { PyDateTime } from "./pytime.ts";

/** Options of {@linkcode MessageMetrics}. */
export interface MessageMetricsOptions {
  /** Label combinations (type × subject) kept per metric. @default 10000 */
  maxSeries?: number;
}

interface SubjectSeries {
  count: CounterSeries;
  register: GaugeSeries;
  start: GaugeSeries;
  end: GaugeSeries;
  files: GaugeSeries;
}

function seconds(v: unknown): number | undefined {
  // naive times are UTC, as pytroll-messages-prom assumes (it sets TZ=UTC)
  return v instanceof PyDateTime ? v.epochMicroseconds() / 1e6 : undefined;
}

/**
 * Number of files a message's data names, as pytroll-messages-prom counts them: the length of a
 * `uri` list (1 for a single `uri`), else the length of `dataset`, else of `collection`, else 0.
 *
 * @param data the message data
 * @returns the count
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { numberOfFiles } from "./message_metrics.ts";
 * assertEquals(numberOfFiles({ dataset: [{ uri: "a" }, { uri: "b" }] }), 2);
 * ```
 */
export function numberOfFiles(data: unknown): number {
  if (!data || typeof data !== "object" || Array.isArray(data)) return 0;
  const d = data as Record<string, unknown>;
  const len = (v: unknown) =>
    Array.isArray(v)
      ? v.length
      : typeof v === "string"
      ? v.length
      : v && typeof v === "object"
      ? Object.keys(v).length
      : 0;
  if ("uri" in d) return Array.isArray(d.uri) ? d.uri.length : 1;
  if ("dataset" in d) return len(d.dataset);
  if ("collection" in d) return len(d.collection);
  return 0;
}

/**
 * Counts messages per type and subject into a {@linkcode Registry}.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { Message } from "./message.ts";
 * import { MessageMetrics } from "./message_metrics.ts";
 * const registry = new Registry();
 * new MessageMetrics(registry).observe(new Message("/a", "beat"));
 * assertStringIncludes(registry.render(), 'posttroll_message_counter_total{message_type="beat",topic="/a"} 1');
 * ```
 */
export class MessageMetrics {
  readonly #series = new Map<string, SubjectSeries>();
  readonly #maxSeries: number;
  readonly #families;

  /**
   * Registers the five families in `registry`.
   *
   * @param registry where to register
   * @param options series limit
   */
  constructor(registry: Registry, options: MessageMetricsOptions = {}) {
    const maxSeries = this.#maxSeries = options.maxSeries ?? 10_000;
    const labelNames = ["message_type", "topic"];
    this.#families = {
      count: registry.counter({
        name: "posttroll_message_counter_total",
        help: "Messages received, by type and subject, since start.",
        labelNames,
        maxSeries,
      }),
      register: registry.gauge({
        name: "posttroll_message_register_time_seconds",
        help: "When the last message of this type and subject arrived (Unix time).",
        labelNames,
        maxSeries,
      }),
      start: registry.gauge({
        name: "posttroll_message_start_time_seconds",
        help: "start_time in the last message's data (Unix time; naive times read as UTC).",
        labelNames,
        maxSeries,
      }),
      end: registry.gauge({
        name: "posttroll_message_end_time_seconds",
        help: "end_time in the last message's data, else its start_time (Unix time).",
        labelNames,
        maxSeries,
      }),
      files: registry.gauge({
        name: "posttroll_message_number_of_files_count",
        help: "Number of files in the last message's uri, dataset or collection.",
        labelNames,
        maxSeries,
      }),
    };
  }

  #for(type: string, subject: string): SubjectSeries {
    const key = type + "\u0000" + subject;
    let s = this.#series.get(key);
    if (s) return s;
    const labels = { message_type: type, topic: subject };
    const f = this.#families;
    s = {
      count: f.count.labels(labels),
      register: f.register.labels(labels),
      start: f.start.labels(labels),
      end: f.end.labels(labels),
      files: f.files.labels(labels),
    };
    // beyond the limit the families hand out detached series: do not keep those either
    if (this.#series.size < this.#maxSeries) this.#series.set(key, s);
    return s;
  }

  /**
   * Records one message.
   *
   * @param msg the message
   * @param receivedAt when it arrived (ms since the epoch) @default Date.now()
   * @example
   * ```ts
   * import { assertStringIncludes } from "@std/assert";
   * import { Registry } from "../metrics/mod.ts";
   * import { Message } from "./message.ts";
   * import { MessageMetrics } from "./message_metrics.ts";
   * const registry = new Registry();
   * new MessageMetrics(registry).observe(new Message("/a", "file", { uri: "x" }), Date.now());
   * assertStringIncludes(registry.render(), 'posttroll_message_counter_total{message_type="file",topic="/a"} 1');
   * ```
   */
  observe(msg: Message, receivedAt: number = Date.now()): void {
    const s = this.#for(msg.type, msg.subject);
    s.count.inc();
    s.register.set(receivedAt / 1000);
    if (msg.type === "beat" || msg.type === "info") return;
    const data = msg.data;
    if (data && typeof data === "object" && !Array.isArray(data)) {
      const d = data as Record<string, unknown>;
      const start = seconds(d.start_time);
      if (start !== undefined) {
        s.start.set(start);
        s.end.set(seconds(d.end_time) ?? start);
      }
    }
    s.files.set(numberOfFiles(data));
  }
}

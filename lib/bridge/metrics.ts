/**
 * Prometheus metrics of a running bridge (`posttroll-bridge … --metrics HOST:PORT`), read from its
 * counters when scraped — nothing is added to the message path. Label `direction` is `to-kafka` or
 * `from-kafka`.
 *
 * | metric | to-kafka | from-kafka |
 * |---|---|---|
 * | `posttroll_bridge_messages_in_total` | received from posttroll | records read from Kafka |
 * | `posttroll_bridge_messages_out_total` | acknowledged by Kafka | republished to posttroll |
 * | `posttroll_bridge_messages_held` | held, not yet acknowledged | – |
 * | `posttroll_bridge_held_bytes` | bytes held | – |
 * | `posttroll_bridge_messages_dropped_total{reason}` | `buffer_full`, `refused` (too large) | `duplicate`, `own_site`, `invalid` |
 * | `posttroll_bridge_kafka_errors_total` | produce attempts that failed (retried) | consumer restarts after errors |
 * | `posttroll_bridge_holds_total` | – | pauses for want of subscribers |
 * | `posttroll_bridge_lag_seconds` | – | delay of the last record read (read time − its Kafka timestamp) |
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { bridgeMetrics } from "./metrics.ts";
 * const registry = new Registry();
 * bridgeMetrics(registry, "to-kafka", () => ({ received: 3, produced: 2, dropped: 0, failed: 0, pending: 1, pendingBytes: 80, retries: 0 }));
 * assertStringIncludes(registry.render(), 'posttroll_bridge_messages_held{direction="to-kafka"} 1');
 * ```
 * @module
 */
import type { Counter, Registry } from "../metrics/mod.ts";
import type { ToKafkaStats } from "./to_kafka.ts";
import type { FromKafkaStats } from "./from_kafka.ts";

/** Sets a collected counter to `value` (counters only go up: a smaller value is ignored). */
function follow(c: Counter, labels: Record<string, string>, value: number): void {
  const s = c.labels(labels);
  if (value > s.value) s.inc(value - s.value);
}

/**
 * Registers the bridge's metrics, read from `stats()` at each scrape.
 *
 * @param registry where to register
 * @param direction which bridge this is
 * @param stats the bridge's counters (`PosttrollToKafka.stats` or `KafkaToPosttroll.stats`)
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { bridgeMetrics } from "./metrics.ts";
 * const registry = new Registry();
 * const stats = { received: 5, produced: 5, dropped: 0, failed: 0, pending: 0, pendingBytes: 0, retries: 0 };
 * bridgeMetrics(registry, "to-kafka", () => stats);
 * stats.received++; // read at each scrape
 * assertStringIncludes(registry.render(), 'posttroll_bridge_messages_in_total{direction="to-kafka"} 6');
 * ```
 */
export function bridgeMetrics(
  registry: Registry,
  direction: "to-kafka",
  stats: () => ToKafkaStats,
): void;
/**
 * Registers the bridge's metrics, read from `stats()` at each scrape.
 *
 * @param registry where to register
 * @param direction which bridge this is
 * @param stats the bridge's counters
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { bridgeMetrics } from "./metrics.ts";
 * const registry = new Registry();
 * bridgeMetrics(registry, "from-kafka", () => ({
 *   consumed: 4, published: 3, duplicates: 1, ownSite: 0, invalid: 0, commits: 2, holds: 0,
 *   restarts: 0, lagMs: 1500,
 * }));
 * assertStringIncludes(registry.render(), 'posttroll_bridge_messages_out_total{direction="from-kafka"} 3');
 * ```
 */
export function bridgeMetrics(
  registry: Registry,
  direction: "from-kafka",
  stats: () => FromKafkaStats,
): void;
export function bridgeMetrics(
  registry: Registry,
  direction: "to-kafka" | "from-kafka",
  stats: () => ToKafkaStats | FromKafkaStats,
): void {
  const d = { direction };
  // one snapshot per scrape, taken by the first family collected
  let snap: ToKafkaStats | FromKafkaStats = stats();
  const up = () => snap as ToKafkaStats;
  const down = () => snap as FromKafkaStats;
  const labelNames = ["direction"];
  registry.counter({
    name: "posttroll_bridge_messages_in_total",
    help: "Messages taken in: from posttroll (to-kafka) or records read from Kafka (from-kafka).",
    labelNames,
    collect: (c) => {
      snap = stats();
      follow(c, d, direction === "to-kafka" ? up().received : down().consumed);
    },
  });
  registry.counter({
    name: "posttroll_bridge_messages_out_total",
    help: "Messages delivered: acknowledged by Kafka (to-kafka) or republished (from-kafka).",
    labelNames,
    collect: (c) => follow(c, d, direction === "to-kafka" ? up().produced : down().published),
  });
  registry.counter({
    name: "posttroll_bridge_messages_dropped_total",
    help: "Messages not delivered, by reason (buffer_full, refused; duplicate, own_site, invalid).",
    labelNames: ["direction", "reason"],
    collect: (c) => {
      if (direction === "to-kafka") {
        follow(c, { direction, reason: "buffer_full" }, up().dropped);
        follow(c, { direction, reason: "refused" }, up().failed);
      } else {
        follow(c, { direction, reason: "duplicate" }, down().duplicates);
        follow(c, { direction, reason: "own_site" }, down().ownSite);
        follow(c, { direction, reason: "invalid" }, down().invalid);
      }
    },
  });
  registry.counter({
    name: "posttroll_bridge_kafka_errors_total",
    help: "Kafka errors: failed produce attempts (retried) or consumer restarts after errors.",
    labelNames,
    collect: (c) => follow(c, d, direction === "to-kafka" ? up().retries : down().restarts),
  });
  if (direction === "to-kafka") {
    registry.gauge({
      name: "posttroll_bridge_messages_held",
      help: "Messages received and not yet acknowledged by Kafka.",
      labelNames,
      collect: (g) => g.labels(d).set(up().pending),
    });
    registry.gauge({
      name: "posttroll_bridge_held_bytes",
      help: "Bytes of the messages held.",
      labelNames,
      collect: (g) => g.labels(d).set(up().pendingBytes),
    });
  } else {
    registry.counter({
      name: "posttroll_bridge_holds_total",
      help: "Times consumption paused because too few subscribers were connected.",
      labelNames,
      collect: (c) => follow(c, d, down().holds),
    });
    registry.gauge({
      name: "posttroll_bridge_lag_seconds",
      help: "Delay of the last record read from Kafka: when it was read minus its timestamp.",
      labelNames,
      collect: (g) => g.labels(d).set(down().lagMs / 1000),
    });
  }
}

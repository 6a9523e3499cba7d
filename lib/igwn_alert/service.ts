/**
 * A listener run as a service (what `igwn-alert listen --exec/--handlers/--output-dir` does, for
 * Deno scripts too): alerts written to an output directory and/or handed to programs (see
 * `handlers.ts`) with retries, timeouts and a dead-letter directory, offsets committed after the
 * handling; Prometheus metrics; and a heartbeat that stops a wedged listener — one that has had
 * no successful round trip to the broker for `heartbeatSeconds` — so that its supervisor
 * (systemd `Restart=on-failure`) starts it again.
 *
 * @module
 */
import type { Registry } from "../metrics/registry.ts";
import type { IgwnAlertClient } from "./client.ts";
import { alertFileName, payloadBytes, writeAtomically } from "./files.ts";
import { alertEnvironment, type AlertHandler, handlerFor, runHandler } from "./handlers.ts";
import type { Alert } from "./listen.ts";

/** Options of {@linkcode runListenService}. */
export interface ListenServiceOptions {
  /** Topics without the group prefix; all topics of the group when empty. */
  topics: string[];
  /** Programs to run per topic; none: no program runs. */
  handlers?: AlertHandler[];
  /** Directory each alert is written to (before its handler runs). */
  outputDir?: string;
  /** Directory for alerts whose handler failed every attempt; without it such a failure stops the listener (exit 1, not committed). */
  deadLetter?: string;
  /** Wait before a handler's first repeated run in ms, doubled each time. @default 1000 */
  retryDelayMs?: number;
  /** Exit when the broker has not answered for this many seconds (0: never). @default 0 */
  heartbeatSeconds?: number;
  /** Registry that gets the listener's metrics. */
  metrics?: Registry;
  /** Consumer group (so that a restart resumes where the last run stopped). */
  consumerGroup?: string;
  /** Stops the listener. */
  signal: AbortSignal;
  /** Where alerts go when neither handlers nor an output directory are given. */
  print?: (alert: Alert) => void;
  /** Told about the listener's own problems (dead letters, skipped topics, the heartbeat). */
  log: (level: "critical" | "error" | "warning" | "info", message: string) => void;
}

/**
 * Exit status of a listener stopped by its heartbeat (the broker did not answer).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EXIT_WEDGED } from "./service.ts";
 * assertEquals(EXIT_WEDGED, 3);
 * ```
 */
export const EXIT_WEDGED = 3;

/**
 * Runs a listener service until the signal aborts (0), its heartbeat trips
 * ({@linkcode EXIT_WEDGED}) or a failure that no policy covers ends it (the error is thrown).
 *
 * @param client the igwn-alert client
 * @param o what to do with the alerts
 * @returns the exit status
 * @throws the listener's error (authentication, unknown topic, a handler failure without a
 *   dead-letter directory)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { IgwnAlertClient } from "./client.ts";
 * import { runListenService } from "./service.ts";
 * import { KafkaCluster } from "../kafka/cluster.ts";
 * import { withAdmin } from "../kafka/admin.ts";
 * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
 * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
 * const dir = await Deno.makeTempDir(); // stands for /var/lib/alerts
 * const ctl = new AbortController();
 * const service = runListenService(client, {
 *   topics: ["superevent"],
 *   outputDir: `${dir}/all`,
 *   handlers: [{ topic: "*", command: ["true"], timeout: 60, retries: 3, concurrency: 1 }],
 *   deadLetter: `${dir}/dead`,
 *   heartbeatSeconds: 300,
 *   signal: ctl.signal,
 *   log: (level, message) => console.error(level, message),
 * });
 * // alerts from before the listener is ready are not its: publish until one is handled
 * const written = () => Array.fromAsync(Deno.readDir(`${dir}/all`)).catch(() => []);
 * while ((await written()).length === 0) {
 *   await client.publish("superevent", JSON.stringify({ uid: "S1" }));
 *   await new Promise((r) => setTimeout(r, 200));
 * }
 * ctl.abort();
 * assertEquals(await service, 0); // stopped by the signal
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runListenService(
  client: IgwnAlertClient,
  o: ListenServiceOptions,
): Promise<number> {
  const ctl = new AbortController();
  const signal = AbortSignal.any([o.signal, ctl.signal]);
  const handlers = o.handlers ?? [];
  let lastContact = Date.now();
  let wedged = false;
  const m = o.metrics
    ? serviceMetrics(o.metrics, () => (Date.now() - lastContact) / 1000)
    : undefined;
  const heartbeat = (o.heartbeatSeconds ?? 0) > 0
    ? setInterval(() => {
      const silent = (Date.now() - lastContact) / 1000;
      if (silent > o.heartbeatSeconds! && !wedged) {
        wedged = true;
        o.log(
          "critical",
          `no successful round trip to the Kafka broker for ${Math.round(silent)} s ` +
            `(--heartbeat ${o.heartbeatSeconds}): the listener is wedged; exiting`,
        );
        ctl.abort();
      }
    }, Math.min(1000, o.heartbeatSeconds! * 250))
    : undefined;
  const attempts = new WeakMap<Alert, number>();
  const received = new WeakMap<Alert, number>();
  const unhandled = new Set<string>();
  const handle = async (alert: Alert) => {
    const topic = alert.topic;
    if (!received.has(alert)) {
      received.set(alert, Date.now());
      m?.received.labels({ topic }).inc();
      if (o.outputDir) {
        await writeAtomically(
          o.outputDir,
          alertFileName(alert, received.get(alert)!),
          payloadBytes(alert),
        );
      }
    }
    if (handlers.length === 0) {
      if (!o.outputDir) o.print?.(alert);
      return;
    }
    const h = handlerFor(handlers, topic);
    if (!h) {
      if (!unhandled.has(topic)) {
        unhandled.add(topic);
        o.log("warning", `no handler for topic ${topic}: its alerts are passed over`);
      }
      return;
    }
    const attempt = (attempts.get(alert) ?? 0) + 1;
    attempts.set(alert, attempt);
    const env = alertEnvironment(alert, client.group, received.get(alert)!, attempt);
    await runHandler(h, alert, env, signal);
  };
  try {
    await client.listen((_t, _p, alert) => handle(alert), {
      topics: o.topics,
      signal,
      consumerGroup: o.consumerGroup,
      concurrentTopics: handlers.length > 0,
      topicConcurrency: (t) => handlerFor(handlers, t)?.concurrency ?? 1,
      retries: (alert) => handlerFor(handlers, alert.topic)?.retries ?? 0,
      retryDelayMs: o.retryDelayMs ?? 1000,
      deadLetter: o.deadLetter,
      onBrokerContact: () => (lastContact = Date.now()),
      onHandled: (alert, report) => {
        const topic = alert.topic;
        for (const a of report.attempts) m?.duration.labels({ topic }).observe(a.ms / 1000);
        if (report.ok) m?.handled.labels({ topic }).inc();
        else m?.failed.labels({ topic }).inc();
        if (report.attempts.length > 1) {
          m?.retried.labels({ topic }).inc(report.attempts.length - 1);
        }
      },
      onLag: m
        ? (lag) => {
          for (const [key, n] of lag) {
            const i = key.lastIndexOf(":");
            const kafkaTopic = key.slice(0, i);
            m.lag.labels({
              topic: kafkaTopic.slice(kafkaTopic.indexOf(".") + 1),
              partition: key.slice(i + 1),
            }).set(Number(n));
          }
        }
        : undefined,
      lagEveryMs: 5000,
    });
  } finally {
    clearInterval(heartbeat);
  }
  return wedged ? EXIT_WEDGED : 0;
}

/** The listener's metric families. */
function serviceMetrics(r: Registry, sinceContact: () => number) {
  const topic = ["topic"];
  return {
    received: r.counter({
      name: "igwn_alert_alerts_received_total",
      help: "Alerts received, per topic (without the group prefix).",
      labelNames: topic,
    }),
    handled: r.counter({
      name: "igwn_alert_alerts_handled_total",
      help: "Alerts whose handler succeeded, per topic.",
      labelNames: topic,
    }),
    failed: r.counter({
      name: "igwn_alert_alerts_failed_total",
      help: "Alerts whose handler failed every attempt (kept in the dead-letter directory).",
      labelNames: topic,
    }),
    retried: r.counter({
      name: "igwn_alert_handler_retries_total",
      help: "Handler runs that were repeated after a failure.",
      labelNames: topic,
    }),
    duration: r.histogram({
      name: "igwn_alert_handler_duration_seconds",
      help: "Duration of each handler run.",
      labelNames: topic,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600],
    }),
    lag: r.gauge({
      name: "igwn_alert_consumer_lag",
      help: "Alerts waiting in a partition beyond the consumer group's committed offset.",
      labelNames: ["topic", "partition"],
    }),
    sinceContact: r.gauge({
      name: "igwn_alert_seconds_since_broker_contact",
      help: "Seconds since the last successful round trip to the Kafka broker (fetch or group " +
        "heartbeat).",
      collect: (g) => g.set(sinceContact()),
    }),
  };
}

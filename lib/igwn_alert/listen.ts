/**
 * Listening: alerts of `<group>.<topic>` topics decoded as hop and Python igwn-alert do, handed
 * to a callback (offsets committed after it returns, on the Kafka layer's consumer) or printed,
 * with Python's fatal-error retry policy on top of the consumer's own reconnections; and the
 * same as an async iterator.
 *
 * @module
 */
import {
  type AnyHopModel,
  type HopHeaderInfo,
  hopHeaders,
  isTest,
  JSONBlob,
  unpack,
} from "../hop/models.ts";
import { pyJsonDumps, pyJsonParse } from "../hop/pyjson.ts";
import { sleep } from "../_util/abort.ts";
import { Channel, ChannelClosedError } from "../_util/channel.ts";
import { withAdmin } from "../kafka/admin.ts";
import { type ConsumedRecord, KafkaConsumer } from "../kafka/consumer.ts";
import { UnknownTopicError } from "../kafka/errors.ts";
import { alertFileName, payloadBytes, writeAtomically } from "./files.ts";
import type { ClientSettings, StartPosition } from "./options.ts";

/** An alert received by a listener. */
export interface Alert {
  /** Topic without the group prefix (what Python's callback gets). */
  topic: string;
  /** Full Kafka topic (`gracedb.superevent`). */
  kafkaTopic: string;
  /**
   * The payload as Python hands it to callbacks: for a JSON message its content (GraceDB's alert
   * JSON **text** for igwn-alert messages), otherwise the decoded model.
   */
  payload: unknown;
  /** The decoded hop model. */
  model: AnyHopModel;
  /** hop headers (`_id`, `_sender`, `_format`). */
  hop: HopHeaderInfo;
  /** Kafka partition. */
  partition: number;
  /** Kafka offset (decimal string). */
  offset: string;
  /** Broker timestamp (ms since epoch). */
  timestamp: number;
}

/** Options of listening (`listen`, `alerts`). */
export interface ListenOptions {
  /** Topics without the group prefix; all topics of the group when absent or empty. */
  topics?: string | string[];
  /** Stops listening when aborted. */
  signal?: AbortSignal;
  /** Where a new consumer group starts. @default "latest" */
  start?: StartPosition;
  /** Called once the start offsets are fixed: alerts published after this are delivered. */
  onReady?: (info: { groupId: string; topics: string[] }) => void;
  /** Deliver hop test messages (`_test` header) too. @default false */
  includeTest?: boolean;
  /** Consumer group id for this listener (overrides the client's). */
  consumerGroup?: string;
  /** Times a failed callback is called again for the same alert (or per alert). @default 0 */
  retries?: number | ((alert: Alert) => number);
  /** Wait before the first retry in ms, doubled for each next one (at most 60 s). @default 1000 */
  retryDelayMs?: number;
  /**
   * Where an alert goes when its callback still fails after the retries: a directory (its
   * payload and the error written there, atomically, named by topic, time and `_id`) or a
   * function. Listening then goes on, and the alert's offset is committed. Without it, the last
   * error ends listening and the alert is not committed (it comes again to the consumer group).
   */
  deadLetter?: string | ((alert: Alert, error: unknown) => void | Promise<void>);
  /** Handle the alerts of different topics at the same time (each topic's in order). @default false */
  concurrentTopics?: boolean;
  /**
   * With `concurrentTopics`: alerts of one topic handled at the same time (more than 1: the
   * topic's order is not kept; offsets are still committed only up to the first unfinished one).
   * @default 1
   */
  topicConcurrency?: (topic: string) => number;
  /** Told how each alert's handling went (attempts, durations, dead letter). */
  onHandled?: (alert: Alert, report: HandlingReport) => void;
  /** Told about each successful round trip to the broker (the liveness of the listener). */
  onBrokerContact?: () => void;
  /**
   * Told every `lagEveryMs` how many alerts wait in each partition (`<kafka topic>:<partition>`)
   * beyond the group's committed offset.
   */
  onLag?: (lag: Map<string, bigint>) => void;
  /** How often `onLag` is told. @default 10000 */
  lagEveryMs?: number;
}

/** How one alert's handling went (see `ListenOptions.onHandled`). */
export interface HandlingReport {
  /** When the alert was received (ms since the epoch). */
  received: number;
  /** Each call of the callback: its duration in ms and its error, if it failed. */
  attempts: Array<{ ms: number; error?: unknown }>;
  /** Whether the callback succeeded in the end. */
  ok: boolean;
  /** Where the alert went after every attempt failed (a path, or "callback"). */
  deadLetter?: string;
}

/** Callback of `listen`: `(topic, payload)` like Python's. */
export type AlertCallback = (
  topic: string,
  payload: unknown,
  alert: Alert,
) => void | Promise<void>;

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/**
 * hop's random consumer group id: `<username>-<10 of A-Z0-9>`, or the 10 characters alone.
 *
 * @param username the credential's username, if any
 * @returns the group id
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * import { generateGroupId } from "./listen.ts";
 * assertMatch(generateGroupId("alice"), /^alice-[A-Z0-9]{10}$/);
 * ```
 */
export function generateGroupId(username?: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  const s = Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join("");
  return username ? `${username}-${s}` : s;
}

/**
 * Topics of a group from broker metadata, filtered to the exact prefix `<group>.` and returned
 * without it, sorted.
 *
 * @param s the client's settings
 * @param group the group
 * @returns short topic names
 */
export async function groupTopics(s: ClientSettings, group: string): Promise<string[]> {
  const all = await withAdmin(s.cluster, "get_topics", (a) => a.listTopics());
  return all.filter((t) => t.startsWith(`${group}.`)).map((t) => t.slice(group.length + 1)).sort();
}

/**
 * Decodes a consumed record as hop does and gives the payload as Python igwn-alert hands it on
 * (warning, as Python does, when it is not JSON).
 */
function decodeAlert(s: ClientSettings, r: ConsumedRecord): Alert {
  const hop = hopHeaders({ value: null, headers: r.headers });
  const v = r.value;
  // JSON is decoded to text at once; other models keep their bytes, so they get a copy (a view
  // would pin the whole fetch response)
  const record = {
    value: !v ? null : hop.format?.toLowerCase() === "json" ? v : new Uint8Array(v),
    headers: r.headers,
  };
  const model = unpack(record, (w) => s.log("warning", w));
  let payload: unknown;
  if (model instanceof JSONBlob) {
    payload = model.content;
  } else {
    payload = model;
    s.warn({
      category: "UserWarning",
      message: "Payload is not valid json: the JSON object must be str, bytes or " +
        `bytearray, not ${model.constructor.name}`,
    });
  }
  return {
    topic: r.topic.slice(r.topic.indexOf(".") + 1),
    kafkaTopic: r.topic,
    payload,
    model,
    hop,
    partition: r.partition,
    offset: String(r.offset),
    timestamp: r.timestamp,
  };
}

/**
 * What Python igwn-alert prints for an alert when listening without a callback:
 * `New message from topic <kafka topic>:\n<payload>` (pretty JSON with indent 4 when `jsonpp`).
 *
 * @param alert the alert
 * @param jsonpp pretty-print
 * @returns the text
 */
export function printedAlert(alert: Alert, jsonpp: boolean): string {
  let text: string;
  if (jsonpp) {
    text = typeof alert.payload === "string"
      ? pyJsonDumps(pyJsonParse(alert.payload), { indent: 4 })
      : pyJsonDumps(alert.payload, { indent: 4 });
  } else {
    text = typeof alert.payload === "string"
      ? alert.payload
      : alert.payload instanceof JSONBlob || typeof alert.payload !== "object"
      ? String(alert.payload)
      : pyJsonDumps(alert.payload);
  }
  return `New message from topic ${alert.kafkaTopic}:\n${text}`;
}

/**
 * Calls `handler` for one alert with the listener's retry and dead-letter policy.
 * @throws the handler's last error when no dead letter is configured
 */
async function handleWithPolicy(
  s: ClientSettings,
  alert: Alert,
  received: number,
  handler: (alert: Alert) => Promise<void>,
  options: ListenOptions & { signal: AbortSignal },
): Promise<void> {
  const retries = typeof options.retries === "function"
    ? options.retries(alert)
    : options.retries ?? 0;
  const report: HandlingReport = { received, attempts: [], ok: false };
  for (let attempt = 0;; attempt++) {
    const t0 = performance.now();
    try {
      await handler(alert);
      report.attempts.push({ ms: performance.now() - t0 });
      report.ok = true;
      options.onHandled?.(alert, report);
      return;
    } catch (e) {
      report.attempts.push({ ms: performance.now() - t0, error: e });
      if (options.signal.aborted) return; // not committed: it comes again
      const where = `${alert.kafkaTopic} offset ${alert.offset} (_id ${alert.hop.id ?? "none"})`;
      if (attempt < retries) {
        const wait = Math.min(60_000, (options.retryDelayMs ?? 1000) * 2 ** attempt);
        s.log(
          "warning",
          `alert ${where}: attempt ${attempt + 1} of ${retries + 1} failed ` +
            `(${(e as Error).message ?? e}); again in ${wait} ms`,
        );
        await sleep(wait, options.signal);
        if (options.signal.aborted) return;
        continue;
      }
      const dead = options.deadLetter;
      if (dead === undefined) {
        options.onHandled?.(alert, report);
        throw e;
      }
      if (typeof dead === "string") {
        const name = alertFileName(alert, received);
        report.deadLetter = await writeAtomically(dead, name, payloadBytes(alert));
        await writeAtomically(
          dead,
          name.replace(/\.json$/, ".error.json"),
          new TextEncoder().encode(
            JSON.stringify(
              {
                topic: alert.kafkaTopic,
                partition: alert.partition,
                offset: alert.offset,
                id: alert.hop.id ?? null,
                received: new Date(received).toISOString(),
                attempts: report.attempts.map((a) => ({
                  ms: Math.round(a.ms),
                  error: a.error === undefined
                    ? null
                    : String((a.error as Error).message ?? a.error),
                })),
              },
              null,
              2,
            ) + "\n",
          ),
        );
      } else {
        await dead(alert, e);
        report.deadLetter = "callback";
      }
      s.log(
        "error",
        `alert ${where} failed ${report.attempts.length} times (${(e as Error).message ?? e}); ` +
          `kept in ${report.deadLetter}`,
      );
      options.onHandled?.(alert, report);
      return;
    }
  }
}

/** The handler's own error, told apart from the consumer's. */
class HandlerFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Listens until the signal aborts or a fatal error: each alert goes to `handler`, its offset is
 * committed after the handler returned. Connection loss reopens the same group (the consumer's
 * reconnection); other Kafka errors follow Python's policy: warn, wait `retryWait`, reopen while
 * `retryOnFatal` and fewer than `listenRetries` attempts failed in a row.
 *
 * @param s the client's settings
 * @param handler per-alert handler
 * @param options topics, signal, start position, readiness hook
 * @returns when the signal aborts
 * @throws AuthError, BrokerConnectionError, UnknownTopicError, or the handler's error
 */
export async function consumeAlerts(
  s: ClientSettings,
  handler: (alert: Alert) => Promise<void>,
  options: ListenOptions & { signal: AbortSignal },
): Promise<void> {
  const signal = options.signal;
  if (signal.aborted) return;
  const requested = typeof options.topics === "string" ? [options.topics] : options.topics ?? [];
  const short = requested.length > 0 ? requested : await groupTopics(s, s.group);
  const broker = s.cluster.broker;
  if (short.length === 0) {
    throw new UnknownTopicError(
      `${s.group}.*`,
      `no topics found for group ${s.group} on ${broker}`,
    );
  }
  s.log(
    "info",
    `Listening to ${requested.length ? "" : "all "}${short.length} ` +
      `${requested.length ? "" : "available "}topics on ${s.server}`,
  );
  const full = short.map((t) => `${s.group}.${t}`);
  const groupId = options.consumerGroup ?? s.consumerGroup ??
    generateGroupId(s.cluster.credential()?.username);
  const includeTest = options.includeTest ?? false;
  const start = options.start instanceof Date ? options.start.getTime() : options.start;
  let fatalAttempts = 1;
  let ready = false;
  while (!signal.aborted) {
    const consumer = new KafkaConsumer(s.cluster, {
      groupId,
      topics: full,
      start: start ?? "latest",
      maxWaitMs: Math.max(10, Math.round(s.batchTimeout * 1000)),
      // a commit per alert costs a request each (at 64 KiB a third of the listener's CPU);
      // Python commits every 5 s
      commitIntervalMs: 100,
      sessionTimeoutMs: s.sessionTimeoutMs,
      signal,
      onReady: () => {
        if (ready) return;
        ready = true;
        s.log("info", `consumer group ${groupId} ready on ${full.join(",")}`);
        options.onReady?.({ groupId, topics: short });
      },
      onReconnect: (err, wait) =>
        s.log("warning", `Non-Fatal KafkaException: ${err.message}; reopening in ${wait} ms`),
      onContact: options.onBrokerContact,
      lane: options.concurrentTopics ? (r) => r.topic : undefined,
      laneConcurrency: options.topicConcurrency
        ? (lane) => options.topicConcurrency!(lane.slice(lane.indexOf(".") + 1))
        : undefined,
    });
    const lagTimer = options.onLag
      ? setInterval(() => {
        consumer.lag().then(options.onLag!, (e) => s.log("debug", `lag: ${(e as Error).message}`));
      }, options.lagEveryMs ?? 10_000)
      : undefined;
    let failure: unknown;
    try {
      await consumer.run(async (r) => {
        if (!includeTest && isTest(r)) return;
        const received = Date.now();
        const alert = decodeAlert(s, r);
        s.log("info", `New message from topic ${r.topic}`);
        fatalAttempts = 1;
        try {
          await handleWithPolicy(s, alert, received, handler, options);
        } catch (e) {
          throw new HandlerFailure(e);
        }
      });
    } catch (e) {
      if (e instanceof HandlerFailure) throw e.error;
      failure = e;
    } finally {
      clearInterval(lagTimer);
    }
    if (failure === undefined || signal.aborted) return;
    {
      const err = failure as Error;
      s.log("warning", `fatal error from kafka: ${err.message} on attempt ${fatalAttempts}`);
      await sleep(s.retryWait * 1000, signal);
      fatalAttempts++;
      if (fatalAttempts > s.listenRetries || !s.retryOnFatal) {
        s.log(
          "critical",
          "Maximum number of retries reached or not attempted on fatal KafkaExceptions. " +
            "Shuting down and raising exception.",
        );
        throw err;
      }
    }
  }
}

/**
 * Alerts as an async iterator over {@linkcode consumeAlerts}: each alert's offset is committed
 * when the next one is requested (an alert being handled when the loop ends is delivered again
 * to the same consumer group). `return()` (a `break`) or the signal stops the listener.
 *
 * @param run starts consuming with the given handler and signal
 * @param signal the caller's signal, if any
 * @returns the iterator
 */
export function alertIterator(
  run: (handler: (alert: Alert) => Promise<void>, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): AsyncIterableIterator<Alert> {
  const ctl = new AbortController();
  const stop = signal ? AbortSignal.any([signal, ctl.signal]) : ctl.signal;
  type Item = { alert: Alert; ack: () => void };
  const items = new Channel<Item>();
  let lastAck: (() => void) | undefined;
  const running = run(
    (alert) =>
      new Promise<void>((ack) => {
        items.push({ alert, ack });
        stop.addEventListener("abort", () => ack(), { once: true });
      }),
    stop,
  ).then(() => items.close(), (e) => items.close(e));
  const iterator: AsyncIterableIterator<Alert> = {
    next: async (): Promise<IteratorResult<Alert>> => {
      lastAck?.();
      lastAck = undefined;
      try {
        const item = await items.receive();
        lastAck = item.ack;
        return { value: item.alert, done: false };
      } catch (e) {
        if (e instanceof ChannelClosedError) return { value: undefined, done: true };
        throw e;
      }
    },
    return: async (): Promise<IteratorResult<Alert>> => {
      ctl.abort();
      await running;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Publishing: Python's sessions (`connect`, `publish_to_topic`, `flush_by_topic`, `disconnect`)
 * and one-shot `publish`, each alert packed as hop does (`_id`, `_sender`, `_test`, `_format`
 * headers; a string goes out as hop JSON) and produced by the Kafka layer's batching producer.
 *
 * @module
 */
import type { Auth } from "../hop/auth.ts";
import type { ByteMemory } from "../_util/byte_arena.ts";
import { pack } from "../hop/models.ts";
import { KafkaProducer, type ProducerRecord } from "../kafka/producer.ts";
import { SessionError } from "./errors.ts";
import type { ClientSettings } from "./options.ts";

/** A publishing session opened by `connect` (one producer per topic). */
export interface PublishSession {
  /**
   * The session's batching producer (`pending`, `heldBytes`, `maxBatchBytes` tell its state).
   */
  batcher: KafkaProducer;
  /** Sends not yet acknowledged. */
  pending: Set<Promise<unknown>>;
  /** Closed by disconnect(). */
  closed: boolean;
  /** The credential the producer uses (its username is the `_sender` header). */
  auth: Auth | null;
}

/**
 * hop's record for an alert.
 *
 * @param auth the credential (its username goes into `_sender`)
 * @param topic the full Kafka topic
 * @param msg the alert (a string is sent as hop JSON like Python's str), a model, or bytes
 * @param test mark it as a hop test message
 * @param memory where the value's memory comes from (give `value` back once it was sent)
 * @returns the record
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { alertRecord } from "./publish.ts";
 * assertEquals(alertRecord(null, "gracedb.superevent", "{}", false).headers.map(([k]) => k), ["_id", "_format"]);
 * ```
 */
export function alertRecord(
  auth: Auth | null,
  topic: string,
  msg: unknown,
  test: boolean,
  memory?: ByteMemory,
): ProducerRecord {
  const { value, headers } = pack(msg, { sender: auth?.username, test, memory });
  return { topic, value, headers };
}

/** Python's sessions and one-shot publishing for one client. */
export class Publisher {
  /** Sessions by short topic name (Python's `sessions`). */
  readonly sessions: Map<string, PublishSession> = new Map();
  readonly #s: ClientSettings;

  /**
   * Creates the publisher of a client.
   *
   * @param settings the client's settings
   */
  constructor(settings: ClientSettings) {
    this.#s = settings;
  }

  #producer(maxInFlight = this.#s.batching.maxInFlight): KafkaProducer {
    return new KafkaProducer(this.#s.cluster, {
      ...this.#s.batching,
      maxInFlight,
      deliveryTimeoutMs: this.#s.timeoutMs,
    });
  }

  /**
   * Opens a session per topic (Python's `connect`); topics must exist.
   *
   * @param topics short topic names
   * @throws UnknownTopicError, AuthError, BrokerConnectionError
   */
  async connect(topics: string[]): Promise<void> {
    for (const topic of topics) {
      const full = `${this.#s.group}.${topic}`;
      const auth = this.#s.cluster.credential();
      const producer = await this.#producer().connect([full]);
      const old = this.sessions.get(topic);
      if (old && !old.closed) await this.#close(old);
      this.sessions.set(topic, { batcher: producer, pending: new Set(), closed: false, auth });
    }
    this.#s.log("info", `Connected to topics: ${JSON.stringify(topics)}`);
  }

  #session(topic: string): PublishSession {
    if (this.sessions.size === 0) {
      throw new SessionError("No active sessions. Please connect before publishing to a topic.");
    }
    const s = this.sessions.get(topic);
    if (!s || s.closed) {
      throw new SessionError(
        `Not connected to topic ${topic}. Please connect before publishing to a topic.`,
      );
    }
    return s;
  }

  /**
   * Publishes on a session (Python's `publish_to_topic`); resolves when the broker acknowledged
   * the alert.
   *
   * @param topic short topic name
   * @param msg the alert
   * @param test mark it as a hop test message
   * @throws SessionError with Python's messages when not connected
   */
  publishToTopic(topic: string, msg: unknown, test: boolean): Promise<void> {
    let s: PublishSession;
    try {
      s = this.#session(topic);
    } catch (e) {
      return Promise.reject(e);
    }
    const full = `${this.#s.group}.${topic}`;
    // the alert's JSON text goes into the producer's memory, reused once it was acknowledged
    const p = s.batcher.send((memory) => alertRecord(s.auth, full, msg, test, memory));
    s.pending.add(p);
    // one reaction while it waits, not an async function's suspended state (a burst of alerts
    // keeps one per alert alive until acknowledged)
    return p.then(() => {
      s.pending.delete(p);
      this.#s.log("info", `Published to topic ${topic}`);
    }, (e) => {
      s.pending.delete(p);
      throw e;
    });
  }

  /**
   * Waits for everything published on a session (Python's `flush_by_topic`).
   *
   * @param topic short topic name
   * @throws SessionError with Python's messages when not connected
   */
  async flushByTopic(topic: string): Promise<void> {
    const s = this.#session(topic);
    await s.batcher.flush();
    await Promise.allSettled([...s.pending]);
    this.#s.log("info", `Flushed topic ${topic}`);
  }

  async #close(s: PublishSession): Promise<void> {
    s.closed = true;
    await s.batcher.close();
    await Promise.allSettled([...s.pending]);
  }

  /**
   * Closes sessions (Python's `disconnect`): all when no topic is given (the session map is
   * kept), else each named one (removed); an unknown name gives Python's warning.
   *
   * @param topics short topic names; none: all
   */
  async disconnect(topics: string[]): Promise<void> {
    if (topics.length === 0) {
      for (const s of this.sessions.values()) if (!s.closed) await this.#close(s);
      return;
    }
    for (const t of topics) {
      const s = this.sessions.get(t);
      if (!s) {
        this.#s.warn({ category: "UserWarning", message: `Not currently connected to topic ${t}` });
        continue;
      }
      await this.#close(s);
      this.sessions.delete(t);
    }
  }

  /**
   * One alert without a session (Python's `publish`): a producer for this call, one record per
   * topic (each its own `_id`) in one request, closed after the acknowledgement.
   *
   * @param topics short topic names
   * @param msg the alert
   * @param test mark it as a hop test message
   * @throws UnknownTopicError, AuthError, BrokerConnectionError
   */
  async publish(topics: string[], msg: unknown, test: boolean): Promise<void> {
    const full = topics.map((t) => `${this.#s.group}.${t}`);
    const auth = this.#s.cluster.credential();
    // one request: no producer id needed to keep it in order
    const producer = this.#producer(1);
    try {
      await producer.connect(full);
      await Promise.all(full.map((t) => producer.send(alertRecord(auth, t, msg, test))));
    } finally {
      await producer.close();
    }
  }
}

/**
 * Coalescing of published records into few produce requests, free of I/O: the caller supplies
 * the function that sends one batch (one produce request with many records, acks -1).
 *
 * - Records pushed by one task (or within `lingerMs`, like librdkafka's
 *   `linger.ms`) go out together; while `maxInFlight` batches await their acknowledgement, new
 *   records accumulate and leave in the next batch as soon as a slot frees.
 * - A batch holds at most `maxBatchBytes` (estimated record bytes; a larger single record goes
 *   alone), below Kafka's default `message.max.bytes` (1048588).
 * - Each push's promise settles with ITS batch: resolved when the batch is acknowledged, rejected
 *   with the batch's error otherwise (or with its own error when the send function reports
 *   outcomes per record). {@linkcode PublishBatcher.offer} is the same without a promise: a
 *   callback shared by many records is told about each (for callers forwarding many records).
 * - Batches leave in push order; with the default `maxInFlight` of 1 a batch is sent only after
 *   the previous one was acknowledged or failed, so retries inside the producer cannot reorder.
 * - Memory is bounded: records are prepared (serialized) only when fewer than `maxQueueBytes`
 *   are queued or in flight; later pushes wait, in order, for room.
 *
 * @module
 */

import { KafkaError } from "./errors.ts";
import { WakeList } from "../_util/wake.ts";

/** Options of {@linkcode PublishBatcher}. */
export interface PublishBatcherOptions {
  /**
   * How long the first record of a batch may wait for more, in ms; 0 sends at the end of the
   * running task (in a microtask). @default 0
   */
  lingerMs?: number;
  /** Upper bound of a batch's estimated size in bytes. @default 1000000 */
  maxBatchBytes?: number;
  /** Batches sent and not yet acknowledged at once. @default 1 */
  maxInFlight?: number;
  /** Bytes of prepared records (queued or in flight) before pushes wait for room. @default 16 MiB */
  maxQueueBytes?: number;
}

/** A prepared record and its estimated size in bytes. */
export interface Prepared<T> {
  /** What the send function gets. */
  item: T;
  /** Estimated bytes (value + headers + per-record overhead). */
  bytes: number;
}

/** What the send function learns about a batch besides its items. */
export interface BatchInfo {
  /** Sum of the records' estimated bytes. */
  bytes: number;
  /** performance.now() of the oldest push in the batch (for delivery deadlines). */
  since: number;
}

/**
 * Sends one batch. Resolves when the batch is acknowledged; it may resolve to one outcome per
 * item (undefined = acknowledged, anything else = that item's error) when only some failed.
 */
export type SendBatch<T> = (
  items: T[],
  info: BatchInfo,
) => Promise<void | unknown[]>;

/**
 * Told that a record given to {@linkcode PublishBatcher.offer} settled: `error` is undefined
 * when it was acknowledged, else why it failed.
 */
export type Settled<T> = (item: T, error: unknown) => void;

/** A pushed record (one object per record: it is all the batcher allocates for one). */
class Entry<T> {
  /** Builds the item (push), or undefined once built (offer: built by the caller). */
  prepare: (() => Prepared<T>) | undefined;
  /** The item once built. */
  item: T | undefined;
  /** Its estimated bytes once built. */
  bytes = 0;
  /** performance.now() of the push. */
  pushedAt: number;
  /** performance.now() when built (admitted into the queue). */
  at = 0;
  /** The push's promise (push), or undefined (offer). */
  resolve: (() => void) | undefined;
  reject: ((e: unknown) => void) | undefined;
  /** The callback of an offer. */
  done: Settled<T> | undefined;

  constructor(
    prepare: (() => Prepared<T>) | undefined,
    item: T | undefined,
    bytes: number,
    pushedAt: number,
    done: Settled<T> | undefined,
  ) {
    this.prepare = prepare;
    this.item = item;
    this.bytes = bytes;
    this.pushedAt = pushedAt;
    this.resolve = undefined;
    this.reject = undefined;
    this.done = done;
  }

  /** Settles the record: acknowledged when `error` is undefined. */
  settle(error: unknown): void {
    const item = this.item;
    this.item = undefined;
    if (this.done !== undefined) {
      try {
        this.done(item as T, error);
      } catch (err) {
        // the other records of the batch still settle; the caller's bug surfaces as an uncaught
        // error (an "error" event of globalThis)
        reportError(err);
      }
    } else if (error === undefined) this.resolve!();
    else this.reject!(error);
  }
}

/** Thrown by pushes after {@linkcode PublishBatcher.close}. */
export class BatcherClosedError extends KafkaError {
  /**
   * Creates the error.
   *
   * @param message description
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { BatcherClosedError } from "./batcher.ts";
   * assertEquals(new BatcherClosedError("closed").name, "BatcherClosedError");
   * ```
   */
  constructor(message = "publisher is closed") {
    super(message);
    this.name = "BatcherClosedError";
  }
}

/**
 * Groups pushed records into batches handed to `send`, with bounded batch size, requests in
 * flight and queued bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PublishBatcher } from "./batcher.ts";
 * const sent: string[][] = [];
 * const b = new PublishBatcher<string>(async (items) => {
 *   sent.push(items);
 * });
 * await Promise.all(["a", "b", "c"].map((s) => b.push(() => ({ item: s, bytes: 1 }))));
 * assertEquals(sent, [["a", "b", "c"]]); // one batch of three
 * await b.close();
 * ```
 */
export class PublishBatcher<T> {
  /** Linger in ms. */
  readonly lingerMs: number;
  /** Batch size bound in bytes (may be lowered, e.g. after the broker refused a batch). */
  maxBatchBytes: number;
  /** Batches in flight at most. */
  readonly maxInFlight: number;
  /** Queue bound in bytes. */
  readonly maxQueueBytes: number;

  readonly #send: SendBatch<T>;
  /** Pushed, not yet prepared (waiting for room), in order. */
  readonly #waiting: Entry<T>[] = [];
  /** Prepared, not yet sent, in order. */
  readonly #ready: Entry<T>[] = [];
  #readyBytes = 0;
  /** Bytes prepared and not yet settled (ready + in flight). */
  #heldBytes = 0;
  #inFlight = 0;
  /** Records in batches in flight. */
  #inFlightCount = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #urgent = false;
  #soon = false;
  #closed = false;
  readonly #idle = new WakeList();

  /**
   * Creates a batcher around a send function.
   *
   * @param send sends one batch; resolves when acknowledged (optionally to per-item outcomes)
   * @param options linger, batch bound, in-flight bound, queue bound
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PublishBatcher } from "./batcher.ts";
   * const b = new PublishBatcher<Uint8Array>(() => Promise.resolve(), { lingerMs: 5 });
   * assertEquals(b.lingerMs, 5);
   * ```
   */
  constructor(send: SendBatch<T>, options: PublishBatcherOptions = {}) {
    this.#send = send;
    this.lingerMs = options.lingerMs ?? 0;
    this.maxBatchBytes = options.maxBatchBytes ?? 1_000_000;
    this.maxInFlight = options.maxInFlight ?? 1;
    this.maxQueueBytes = options.maxQueueBytes ?? 16 * 1024 * 1024;
  }

  /** Bytes of prepared records not yet acknowledged. @returns the count */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Records pushed and not yet settled. @returns the count */
  get pending(): number {
    return this.#waiting.length + this.#ready.length + this.#inFlightCount;
  }

  /**
   * Queues one record; `prepare` runs (in push order) once there is room in the queue.
   *
   * @param prepare serializes the record
   * @returns settles when the record's batch is acknowledged or fails
   * @throws BatcherClosedError after close(); whatever `prepare` or the batch's send throws
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PublishBatcher } from "./batcher.ts";
   * const sent: string[] = [];
   * const b = new PublishBatcher<string>((items) => Promise.resolve(void sent.push(...items)));
   * await b.push(() => ({ item: "x", bytes: 1 })); // resolves once "x" was sent
   * assertEquals(sent, ["x"]);
   * await b.close();
   * ```
   */
  push(prepare: () => Prepared<T>): Promise<void> {
    if (this.#closed) return Promise.reject(new BatcherClosedError());
    return new Promise<void>((resolve, reject) => {
      const now = performance.now();
      const e = new Entry<T>(prepare, undefined, 0, now, undefined);
      e.resolve = resolve;
      e.reject = reject;
      this.#waiting.push(e);
      this.#admit(now);
      this.#schedule();
    });
  }

  /**
   * Queues one record built by the caller, without a promise: `done(item, error)` is called once
   * it settled, as {@linkcode PublishBatcher.push}'s promise would (`error` undefined:
   * acknowledged). It goes in push order with the pushed records; it waits (built) for room like
   * them, so the caller bounds what it builds ahead. `done` runs as a microtask or later, never
   * inside `offer`; it should not throw (what it throws is reported with `reportError`).
   *
   * @param item the record
   * @param bytes its estimated bytes
   * @param done told when it settled (one function may serve every record)
   * @throws BatcherClosedError after close()
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PublishBatcher } from "./batcher.ts";
   * const sent: string[] = [];
   * const acked: string[] = [];
   * const b = new PublishBatcher<string>((items) => Promise.resolve(void sent.push(...items)));
   * const done = (item: string, error: unknown) => {
   *   if (error === undefined) acked.push(item);
   * };
   * b.offer("x", 1, done);
   * b.offer("y", 1, done);
   * await b.flush();
   * assertEquals(acked, ["x", "y"]);
   * await b.close();
   * ```
   */
  offer(item: T, bytes: number, done: Settled<T>): void {
    if (this.#closed) throw new BatcherClosedError();
    const now = performance.now();
    this.#waiting.push(new Entry<T>(undefined, item, bytes, now, done));
    this.#admit(now);
    this.#schedule();
  }

  /**
   * Sends what is queued without lingering and waits until every record pushed so far settled.
   *
   * @returns when nothing is pending
   * @example
   * ```ts
   * import { assertLess } from "@std/assert";
   * import { PublishBatcher } from "./batcher.ts";
   * const b = new PublishBatcher<string>(() => Promise.resolve(), { lingerMs: 1000 });
   * const sent = b.push(() => ({ item: "x", bytes: 1 }));
   * const t0 = performance.now();
   * await b.flush(); // does not wait the 1000 ms
   * await sent;
   * assertLess(performance.now() - t0, 900);
   * await b.close();
   * ```
   */
  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    this.#urgent = true;
    this.#schedule();
    return this.#idle.wait();
  }

  /**
   * Refuses new pushes, then flushes.
   *
   * @returns when everything pushed before settled
   * @example
   * ```ts
   * import { assertRejects } from "@std/assert";
   * import { BatcherClosedError, PublishBatcher } from "./batcher.ts";
   * const b = new PublishBatcher<string>(() => Promise.resolve());
   * await b.close();
   * await assertRejects(() => b.push(() => ({ item: "x", bytes: 1 })), BatcherClosedError);
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  /** Prepares waiting records, in order, while there is room (`now`: the time, if known). */
  #admit(now?: number): void {
    while (this.#waiting.length > 0 && this.#heldBytes < this.maxQueueBytes) {
      const e = this.#waiting.shift()!;
      if (e.prepare !== undefined) {
        try {
          const p = e.prepare();
          e.item = p.item;
          e.bytes = p.bytes;
        } catch (err) {
          e.settle(err);
          continue;
        }
        e.prepare = undefined;
      }
      e.at = now ??= performance.now();
      this.#ready.push(e);
      this.#readyBytes += e.bytes;
      this.#heldBytes += e.bytes;
    }
  }

  /** Whether the oldest ready record may leave now (flush, full batch or linger elapsed). */
  #due(): boolean {
    return this.#urgent || this.#readyBytes >= this.maxBatchBytes ||
      this.#ready[0].at + this.lingerMs <= performance.now();
  }

  #schedule(): void {
    if (this.#ready.length === 0 || this.#inFlight >= this.maxInFlight || this.#soon) return;
    const now = performance.now();
    const full = this.#readyBytes >= this.maxBatchBytes;
    const delay = this.#urgent || full ? 0 : Math.max(0, this.#ready[0].at + this.lingerMs - now);
    if (delay <= 0) {
      // a microtask, not setTimeout(0) (about 2 ms in Deno): everything pushed by the running
      // task goes in this batch; what comes later waits for the next free slot
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#soon = true;
      queueMicrotask(() => {
        this.#soon = false;
        this.#pump();
      });
      return;
    }
    if (this.#timer !== undefined) {
      if (this.#timerDue <= now + delay) return;
      clearTimeout(this.#timer);
    }
    this.#timerDue = now + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delay);
  }

  #pump(): void {
    while (this.#ready.length > 0 && this.#inFlight < this.maxInFlight) {
      const batch: Entry<T>[] = [];
      let bytes = 0;
      while (this.#ready.length > 0) {
        const b = this.#ready[0].bytes;
        if (batch.length > 0 && bytes + b > this.maxBatchBytes) break;
        batch.push(this.#ready.shift()!);
        bytes += b;
      }
      this.#readyBytes -= bytes;
      this.#dispatch(batch, bytes);
    }
    if (this.#ready.length === 0 && this.#waiting.length === 0) this.#urgent = false;
    this.#schedule();
  }

  #dispatch(batch: Entry<T>[], bytes: number): void {
    this.#inFlight++;
    this.#inFlightCount += batch.length;
    let p: Promise<void | unknown[]>;
    try {
      // entries are in push order: the first is the oldest
      const since = batch[0].pushedAt;
      const items = new Array<T>(batch.length);
      for (let i = 0; i < batch.length; i++) items[i] = batch[i].item as T;
      p = this.#send(items, { bytes, since });
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (outcomes) => {
        for (let i = 0; i < batch.length; i++) batch[i].settle(outcomes ? outcomes[i] : undefined);
      },
      (err) => {
        for (const e of batch) e.settle(err);
      },
    ).finally(() => {
      this.#inFlight--;
      this.#inFlightCount -= batch.length;
      this.#heldBytes -= bytes;
      // send what is already serialized first: serializing the alerts that waited for room
      // (#admit) is then off the path between an acknowledgement and the next request
      if (this.#ready.length > 0 && this.#due()) this.#pump();
      this.#admit();
      if (this.pending === 0) {
        this.#urgent = false;
        this.#idle.wakeAll();
      } else {
        this.#schedule();
      }
    });
  }
}

/**
 * Internal: the one push queue behind every stream of the package (subscriber messages and
 * status, listener queues, multicast datagrams, igwn-alert's `alerts()`, ZeroMQ receive queues
 * and socket events). Producers `push()` without waiting; consumers `receive({ signal })` or
 * `for await`; `close(reason)` ends it.
 *
 * - {@linkcode Channel}: a FIFO with an optional capacity (beyond it the oldest or the newest item
 *   is dropped and counted) and an optional high-water mark, in items and in bytes, for producers
 *   that pause instead (`full`, `space()`: a {@linkcode Gate}); paused producers resume once the
 *   consumer has taken it down to half of the item mark and 32 KiB below the bytes mark (a burst
 *   per resumption, not one item).
 * - {@linkcode Fanout}: a copy of every item for each listener (a `status()` stream that two
 *   callers read without taking each other's events); while nobody listens it keeps a bounded
 *   backlog for the first listener.
 *
 * @module
 */
import { WakeList } from "./wake.ts";

/**
 * Rejection of {@linkcode Channel.receive} on a channel that was closed without a reason and is
 * drained.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ChannelClosedError } from "./channel.ts";
 * assertEquals(new ChannelClosedError().name, "ChannelClosedError");
 * ```
 */
export class ChannelClosedError extends Error {
  /** Creates the error. */
  constructor() {
    super("channel closed");
    this.name = "ChannelClosedError";
  }
}

/** What a full channel drops: the oldest queued item, or the item being pushed. */
export type DropPolicy = "oldest" | "newest";

/** Options of {@linkcode Channel}. */
export interface ChannelOptions<T = unknown> {
  /** Items kept at most; a push beyond it drops one item (see `drop`). @default Infinity */
  capacity?: number;
  /** Which item a full channel drops. @default "oldest" */
  drop?: DropPolicy;
  /** Size at which {@linkcode Channel.full} turns true (producers that pause). @default capacity */
  highWater?: number;
  /**
   * Queued bytes (as `sizeOf` counts them) at which {@linkcode Channel.full} also turns true.
   * @default Infinity
   */
  maxBytes?: number;
  /** The bytes an item counts for ({@linkcode Channel.bytes}, `maxBytes`). @default 0 each */
  sizeOf?: (item: T) => number;
}

/**
 * What a producer that pauses looks at: {@linkcode Channel} is one (its high-water marks).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Channel, type Gate } from "./channel.ts";
 * const gate: Gate = new Channel<number>({ highWater: 1 });
 * (gate as Channel<number>).push(1);
 * assertEquals(gate.full, true); // a producer now awaits gate.space()
 * ```
 */
export interface Gate {
  /** True while producers should wait. */
  readonly full: boolean;
  /**
   * Resolves once {@linkcode Gate.full} may have turned false (or the gate closed): look again.
   *
   * @returns when producers may go on
   */
  space(): Promise<void>;
}

/** Options of {@linkcode Channel.receive}. */
export interface ReceiveOptions {
  /** Aborts the wait: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds: rejects with a `TimeoutError` DOMException. */
  timeoutMs?: number;
}

type Waiter = () => void;

/**
 * Paused producers resume once the consumer has taken the channel down to half of its item mark
 * and made this much room below `maxBytes` (at most half of it): small items then go on in
 * bursts of up to 32 KiB per resumption instead of one, while a queue of items this large or
 * larger (e.g. 64 KiB messages, four to a 256 KiB mark) resumes after each item taken, as deep
 * as before (half of the bytes would leave a consumer of four such items with one).
 */
const RESUME_BYTES = 32 * 1024;

/**
 * A push queue with any number of producers and consumers; with `sizeOf`, it also counts the
 * bytes of what it holds ({@linkcode Channel.bytes}, `maxBytes`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Channel } from "./channel.ts";
 * const ch = new Channel<number>({ capacity: 2 });
 * ch.push(1);
 * ch.push(2);
 * ch.push(3); // drops 1
 * ch.close();
 * const got: number[] = [];
 * for await (const n of ch) got.push(n);
 * assertEquals(got, [2, 3]);
 * assertEquals(ch.dropped, 1);
 * ```
 */
export class Channel<T> implements AsyncIterable<T>, Gate {
  #items: T[] = [];
  #head = 0;
  readonly #waiters = new WakeList();
  readonly #space = new WakeList();
  #closed = false;
  #reason: unknown = undefined;
  #dropped = 0;
  readonly #capacity: number;
  readonly #dropNewest: boolean;
  readonly #highWater: number;
  readonly #maxBytes: number;
  /** Size and bytes at or below which paused producers resume (see {@linkcode RESUME_BYTES}). */
  readonly #lowWater: number;
  readonly #lowBytes: number;
  readonly #sizeOf: ((item: T) => number) | undefined;
  #bytes = 0;

  /**
   * Creates an empty channel.
   *
   * @param options capacity, drop policy, high-water marks, item size
   */
  constructor(options: ChannelOptions<T> = {}) {
    const capacity = options.capacity ?? Infinity;
    if (!(capacity >= 1)) throw new RangeError(`channel capacity must be at least 1: ${capacity}`);
    this.#capacity = capacity;
    this.#dropNewest = options.drop === "newest";
    this.#highWater = Math.max(1, options.highWater ?? capacity);
    this.#maxBytes = options.maxBytes ?? Infinity;
    this.#lowWater = Math.floor(this.#highWater / 2);
    this.#lowBytes = this.#maxBytes - Math.min(this.#maxBytes / 2, RESUME_BYTES);
    this.#sizeOf = options.sizeOf;
  }

  /** Items queued. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /**
   * Bytes of the queued items, as the `sizeOf` option counts them (0 without it).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Channel } from "./channel.ts";
   * const ch = new Channel<string>({ maxBytes: 8, sizeOf: (s) => s.length });
   * ch.push("hello");
   * assertEquals([ch.bytes, ch.full], [5, false]);
   * ch.push("world"); // 10 bytes: at maxBytes, producers that pause wait for space()
   * assertEquals([ch.bytes, ch.full], [10, true]);
   * ch.tryReceive();
   * assertEquals([ch.bytes, ch.full], [5, false]);
   * ```
   */
  get bytes(): number {
    return this.#bytes;
  }

  /** Items dropped because the channel was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True once {@linkcode close} was called (queued items may still be received). */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while {@linkcode size} is at or above the high-water mark, or the bytes at `maxBytes`. */
  get full(): boolean {
    return this.size >= this.#highWater || this.#bytes >= this.#maxBytes;
  }

  /**
   * Queues an item and wakes one waiting consumer.
   *
   * @param item the item (never `undefined`: {@linkcode tryReceive} uses it for "empty")
   * @returns false when the channel is closed or dropped this item
   */
  push(item: T): boolean {
    if (this.#closed) return false;
    if (this.size >= this.#capacity) {
      this.#dropped++;
      if (this.#dropNewest) return false;
      this.#shift();
    }
    this.#items.push(item);
    if (this.#sizeOf !== undefined) this.#bytes += this.#sizeOf(item);
    if (this.#waiters.size) this.#waiters.wakeAll();
    return true;
  }

  #shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    (this.#items as unknown[])[this.#head] = undefined;
    this.#head++;
    if (this.#sizeOf !== undefined) this.#bytes -= this.#sizeOf(item);
    if (this.#head === this.#items.length) {
      this.#items.length = 0; // drained: reuse the array (a consumer that keeps up drains it each time)
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /**
   * Takes the oldest item without waiting.
   *
   * @returns the item, or undefined when none is queued
   */
  tryReceive(): T | undefined {
    const item = this.#shift();
    // paused producers resume with room for a burst, not one item below the marks: a producer
    // that checks `full` before each item (a ZeroMQ connection's read loop) then hands on a burst
    // per resumption instead of parking again after every item the consumer takes
    if (
      item !== undefined && this.#space.size && this.size <= this.#lowWater &&
      this.#bytes <= this.#lowBytes
    ) this.#space.wakeAll();
    return item;
  }

  /**
   * Takes the oldest item, waiting for one.
   *
   * @param options `signal`, `timeoutMs`
   * @returns the item
   * @throws the close reason (or {@linkcode ChannelClosedError}) once closed and drained,
   *   `signal.reason` when aborted, a `TimeoutError` DOMException after `timeoutMs`
   */
  async receive(options: ReceiveOptions = {}): Promise<T> {
    const item = this.tryReceive();
    if (item !== undefined) return item;
    using wait = new Wait(this, options.timeoutMs, options.signal);
    while (true) {
      const item = this.tryReceive();
      if (item !== undefined) return item;
      if (this.#closed) throw this.#reason ?? new ChannelClosedError();
      options.signal?.throwIfAborted();
      if (!await wait.next()) {
        throw new DOMException("Signal timed out.", "TimeoutError");
      }
    }
  }

  /**
   * {@linkcode receive} the way Python's blocking `get(timeout=seconds)` reports failure: a
   * timeout or a closed, drained channel rejects with `empty(closed)`; an abort with
   * `signal.reason`.
   *
   * @param timeoutSeconds how long to wait (negative: 0); null or undefined: no limit
   * @param signal ends the wait
   * @param empty the error for a timeout (`closed` false) or a closed channel (`closed` true)
   * @returns the item
   * @example
   * ```ts
   * import { assertEquals, assertRejects } from "@std/assert";
   * import { Channel } from "./channel.ts";
   * const ch = new Channel<number>();
   * ch.push(1);
   * const empty = (closed: boolean) => new Error(closed ? "closed" : "empty");
   * assertEquals(await ch.receiveWithin(0, undefined, empty), 1);
   * await assertRejects(() => ch.receiveWithin(0.01, undefined, empty), Error, "empty");
   * ch.close();
   * await assertRejects(() => ch.receiveWithin(null, undefined, empty), Error, "closed");
   * ```
   */
  async receiveWithin(
    timeoutSeconds: number | null | undefined,
    signal: AbortSignal | undefined,
    empty: (closed: boolean) => Error,
  ): Promise<T> {
    try {
      return await this.receive({
        signal,
        timeoutMs: timeoutSeconds == null ? undefined : Math.max(0, timeoutSeconds * 1000),
      });
    } catch (e) {
      if (e instanceof ChannelClosedError) throw empty(true);
      if (!signal?.aborted) throw empty(false);
      throw e;
    }
  }

  /**
   * Registers a function called (once) at the next push or close.
   *
   * @ignore
   */
  wake(w: Waiter): void {
    this.#waiters.add(w);
  }

  /**
   * Forgets a waiter that gave up.
   *
   * @ignore
   */
  unwake(w: Waiter): void {
    this.#waiters.remove(w);
  }

  /**
   * A reusable wait for loops that poll {@linkcode tryReceive}: `next()` resolves true when an
   * item may be there (or the channel closed, or `signal` aborted) and false after `timeoutMs`
   * without one. One timer serves all the waits of the loop. Dispose it when the loop ends.
   *
   * @param timeoutMs the idle time that makes `next()` resolve false; undefined: none
   * @param signal ends the waits
   * @returns the wait
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Channel } from "./channel.ts";
   * const ch = new Channel<string>();
   * using wait = ch.waiter(10);
   * assertEquals(await wait.next(), false); // 10 ms without an item
   * ch.push("a");
   * assertEquals(await wait.next(), true);
   * assertEquals(ch.tryReceive(), "a");
   * ```
   */
  waiter(timeoutMs?: number, signal?: AbortSignal): ChannelWait {
    return new Wait(this, timeoutMs, signal);
  }

  /**
   * Resolves at once when not {@linkcode full}; else once the consumer has taken the channel down
   * to half of the high-water mark and 32 KiB (at most half) below `maxBytes` (look at
   * {@linkcode full} again), or the channel was cleared or closed.
   *
   * @returns when producers may go on
   */
  space(): Promise<void> {
    if (!this.full || this.#closed) return Promise.resolve();
    return this.#space.wait();
  }

  /** Drops every queued item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#space.wakeAll();
  }

  /**
   * Ends the channel: pushes are refused, queued items are still received, then `receive()`
   * rejects with `reason` (default {@linkcode ChannelClosedError}) and iteration ends (throws
   * `reason` when one was given). Idempotent: the first reason stays.
   *
   * @param reason why it ended, for the consumers
   */
  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reason = reason;
    this.#waiters.wakeAll();
    this.#space.wakeAll();
  }

  /**
   * Yields items until the channel is closed and drained; `break` leaves the channel as it is.
   *
   * @returns the iterator
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      try {
        yield await this.receive();
      } catch (e) {
        if (e instanceof ChannelClosedError && this.#closed && this.#reason === undefined) return;
        throw e;
      }
    }
  }
}

/** A reusable wait of one consumer loop; see {@linkcode Channel.waiter}. */
export interface ChannelWait extends Disposable {
  /**
   * Waits for an item, a close or an abort (true) or the idle time (false).
   *
   * @returns whether the loop should look again
   */
  next(): Promise<boolean>;
}

class Wait<T> implements ChannelWait {
  readonly #ch: Channel<T>;
  readonly #ms: number | undefined;
  readonly #signal: AbortSignal | undefined;
  #resolve: ((v: boolean) => void) | null = null;
  #deadline = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onAbort = (): void => this.#settle(true, false);
  readonly #onWake = (): void => this.#settle(true, true);

  constructor(ch: Channel<T>, timeoutMs: number | undefined, signal: AbortSignal | undefined) {
    this.#ch = ch;
    this.#ms = timeoutMs === undefined || timeoutMs === Infinity ? undefined : timeoutMs;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  #settle(v: boolean, woken: boolean): void {
    const r = this.#resolve;
    if (r === null) return;
    this.#resolve = null;
    if (!woken) this.#ch.unwake(this.#onWake);
    r(v);
  }

  // One timer for many waits: when it fires before the current deadline it is re-armed for the
  // rest, instead of a setTimeout/clearTimeout pair per item.
  #tick = (): void => {
    this.#timer = undefined;
    if (this.#resolve === null) return;
    const left = this.#deadline - performance.now();
    if (left > 0) this.#timer = setTimeout(this.#tick, left);
    else this.#settle(false, false);
  };

  next(): Promise<boolean> {
    if (this.#ch.size > 0 || this.#ch.closed || this.#signal?.aborted) {
      return Promise.resolve(true);
    }
    return new Promise(this.#park);
  }

  /** next()'s promise executor (one bound function, not a closure per wait). */
  readonly #park = (resolve: (v: boolean) => void): void => {
    this.#resolve = resolve;
    this.#ch.wake(this.#onWake);
    const ms = this.#ms;
    if (ms !== undefined) {
      this.#deadline = performance.now() + ms;
      if (this.#timer === undefined) this.#timer = setTimeout(this.#tick, ms);
    }
  };

  [Symbol.dispose](): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#settle(true, false);
  }
}

/** Options of {@linkcode Fanout}. */
export interface FanoutOptions {
  /** Items each listener keeps while it does not read (the oldest are dropped). @default 100 */
  capacity?: number;
}

/**
 * One stream, a copy for every listener: each {@linkcode Fanout.listen} gets every item pushed
 * after it started; items pushed while nobody listened (at most `capacity`) go to the first
 * listener. A listener that stops iterating (`break`) is forgotten.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Fanout } from "./channel.ts";
 * const status = new Fanout<string>();
 * status.push("early"); // kept for the first listener
 * const a = status.listen();
 * const b = status.listen();
 * status.push("connected");
 * status.close();
 * const seen = async (it: AsyncIterable<string>) => {
 *   const out: string[] = [];
 *   for await (const s of it) out.push(s);
 *   return out;
 * };
 * assertEquals(await seen(a), ["early", "connected"]);
 * assertEquals(await seen(b), ["connected"]);
 * ```
 */
export class Fanout<T> {
  readonly #capacity: number;
  #listeners: Channel<T>[] = [];
  #backlog: Channel<T> | undefined;
  #closed = false;
  #reason: unknown;

  /**
   * Creates the stream.
   *
   * @param options capacity of each listener's buffer and of the backlog
   */
  constructor(options: FanoutOptions = {}) {
    this.#capacity = options.capacity ?? 100;
    this.#backlog = new Channel<T>({ capacity: this.#capacity });
  }

  /** True once {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Hands `item` to every listener (to the backlog while there is none).
   *
   * @param item the item
   */
  push(item: T): void {
    if (this.#closed) return;
    let live = 0;
    for (const ch of this.#listeners) {
      if (ch.closed) continue;
      ch.push(item);
      live++;
    }
    if (live < this.#listeners.length) this.#listeners = this.#listeners.filter((c) => !c.closed);
    if (live === 0) (this.#backlog ??= new Channel<T>({ capacity: this.#capacity })).push(item);
  }

  /**
   * A new listener: the backlog (when it is the first since items were kept) then every item
   * pushed from now on, until the fanout closes or the caller stops iterating.
   *
   * @returns the listener's stream
   */
  listen(): AsyncIterableIterator<T> {
    const ch = this.#backlog ?? new Channel<T>({ capacity: this.#capacity });
    this.#backlog = undefined;
    if (this.#closed) ch.close(this.#reason);
    else this.#listeners.push(ch);
    const it = ch[Symbol.asyncIterator]();
    const stream: AsyncIterableIterator<T> = {
      next: () => it.next(),
      return: (value?: unknown) => {
        ch.close();
        ch.clear();
        return it.return?.(value) ?? Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => stream,
    };
    return stream;
  }

  /**
   * Ends every listener once it has read what it was given (and the ones that start later).
   *
   * @param reason thrown to the listeners after their last item; none: they just end
   */
  close(reason?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reason = reason;
    for (const ch of this.#listeners) ch.close(reason);
    this.#listeners = [];
    this.#backlog?.close(reason);
  }
}

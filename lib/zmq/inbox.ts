/**
 * The receive side shared by the socket types that queue whole messages for the application
 * (SUB, PULL): one {@linkcode Channel} of messages fed by the connections, with the receive
 * high-water mark in messages and `maxBufferedBytes` in bytes (beyond either, reading from the
 * peers pauses), read by `receive()`, `tryReceive()`, a reusable `waiter()` or iteration.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { ZmqClosedError } from "./errors.ts";
import { recycleBody } from "./frame.ts";
import { LIMIT_DEFAULTS, multipartSize, ZmqSocket } from "./socket.ts";
import type { Multipart, ReceiveOptions, SocketOptions } from "./types.ts";
import { Channel, type ChannelWait, type Gate } from "../_util/channel.ts";

/** The bytes a queued message counts for (its frames). */
function messageBytes(m: Multipart): number {
  return m.length === 1 ? m[0].length : multipartSize(m);
}

/**
 * Base of the socket types whose received messages wait in one queue for the application (SUB,
 * PULL). Subclasses hand each accepted message to {@linkcode InboxSocket.deliver}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { InboxSocket } from "./inbox.ts";
 * import { PullSocket } from "./pull.ts";
 * await using pull = new PullSocket();
 * assert(pull instanceof InboxSocket);
 * assert(pull.tryReceive() === undefined); // nothing queued
 * ```
 */
export abstract class InboxSocket extends ZmqSocket {
  readonly #inbox: Channel<Multipart>;
  #sink: ((frames: Multipart) => void) | undefined;
  /** What the connections wait for before handing on a message: the inbox, a sink's, or none. */
  #gate: Gate | null;

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options
   */
  constructor(options: SocketOptions = {}) {
    super(options);
    this.#inbox = new Channel<Multipart>({
      highWater: Math.max(1, options.receiveHighWaterMark ?? 1000),
      maxBytes: options.maxBufferedBytes ?? LIMIT_DEFAULTS.maxBufferedBytes,
      sizeOf: messageBytes,
    });
    this.#gate = this.#inbox;
  }

  /**
   * Queues a received message for the application.
   *
   * @ignore
   */
  protected deliver(frames: Multipart): void {
    const sink = this.#sink;
    if (sink === undefined) {
      this.#inbox.push(frames);
      return;
    }
    try {
      sink(frames);
    } catch (e) {
      reportError(e);
    }
  }

  /**
   * Hands every message to `fn` as soon as a connection has read it, instead of queueing it for
   * `receive()`/`tryReceive()` (messages queued before are handed over first, at once): no
   * promise and no event-loop turn between the read and `fn`. `fn` runs inside the connection's
   * read loop, so it must be quick and must not throw (an exception is reported like an uncaught
   * one, with `reportError`). The receive high-water mark and `maxBufferedBytes` no longer apply
   * (nothing is queued here); `gate` takes their place: while it is full, the connections hand
   * nothing on and read nothing more from their peers (TCP pushes back, as at the receive
   * high-water mark) until its `space()` resolves — e.g. the {@linkcode Channel} `fn` queues into,
   * with its own high-water marks. Without a gate, reading never pauses. `undefined` queues
   * messages again.
   *
   * @param fn the handler, or undefined
   * @param gate what `fn` fills, looked at before each message; none: never full
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PullSocket } from "./pull.ts";
   * import { PushSocket } from "./push.ts";
   * await using pull = new PullSocket();
   * await using push = new PushSocket();
   * push.connect(await pull.bind("tcp://127.0.0.1:0"));
   * const got = Promise.withResolvers<string>();
   * pull.forwardTo((frames) => got.resolve(new TextDecoder().decode(frames[0])));
   * await push.send("hello");
   * assertEquals(await got.promise, "hello");
   * assertEquals(pull.tryReceive(), undefined); // nothing was queued
   * ```
   */
  forwardTo(fn: ((frames: Multipart) => void) | undefined, gate?: Gate): void {
    this.#sink = fn;
    this.#gate = fn === undefined ? this.#inbox : gate ?? null;
    if (fn === undefined) return;
    for (let m = this.#inbox.tryReceive(); m !== undefined; m = this.#inbox.tryReceive()) {
      this.deliver(m);
    }
  }

  /** @ignore */
  protected override backpressure(_c: Connection): Promise<void> | null {
    const g = this.#gate;
    return g !== null && g.full ? g.space() : null;
  }

  /** @ignore */
  protected override onClose(): void {
    this.#inbox.clear();
    this.#inbox.close(new ZmqClosedError());
  }

  /**
   * Receives the next message, waiting for one.
   *
   * @param opts `signal` aborts the wait (rejects with `signal.reason`); `timeoutMs` gives up
   *   (rejects with a `TimeoutError` DOMException) — cheaper than an `AbortSignal.timeout()` per call
   * @returns the frames
   * @throws {ZmqClosedError} when the socket closes
   */
  receive(opts?: ReceiveOptions): Promise<Multipart> {
    const m = this.#inbox.tryReceive();
    if (m !== undefined) return Promise.resolve(m);
    return this.#inbox.receive(opts);
  }

  /**
   * Takes the next queued message without waiting (no promise: the cheapest way to drain a burst).
   *
   * @returns the frames, or undefined when none is queued
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PullSocket } from "./pull.ts";
   * import { PushSocket } from "./push.ts";
   * await using pull = new PullSocket();
   * await using push = new PushSocket();
   * push.connect(await pull.bind("tcp://127.0.0.1:0"));
   * for (const n of [1, 2, 3]) await push.send(String(n));
   * using wait = pull.waiter(5000);
   * let got = 0;
   * while (got < 3) {
   *   for (let m = pull.tryReceive(); m; m = pull.tryReceive()) got++; // the whole burst
   *   if (got < 3 && !(await wait.next())) break; // 5 s without a message
   * }
   * assertEquals(got, 3);
   * ```
   */
  tryReceive(): Multipart | undefined {
    return this.#inbox.tryReceive();
  }

  /**
   * Hands the arrays of a received message back for reuse by the next large frames (bodies of
   * 16 KiB and more get arrays of their own, and a fresh 64 KiB array costs more than reading
   * into it): call it once nothing reads or keeps them any more, e.g. right after decoding the
   * message into a string. Optional; arrays not received as large bodies, or given back before,
   * are ignored.
   *
   * @param frames a message from {@linkcode InboxSocket.tryReceive} or `receive()`
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PullSocket } from "./pull.ts";
   * import { PushSocket } from "./push.ts";
   * await using pull = new PullSocket();
   * await using push = new PushSocket();
   * push.connect(await pull.bind("tcp://127.0.0.1:0"));
   * await push.send("x".repeat(65536));
   * const frames = await pull.receive();
   * const text = new TextDecoder().decode(frames[0]);
   * pull.release(frames); // the array may now hold the next large message
   * assertEquals(text.length, 65536);
   * ```
   */
  release(frames: Multipart): void {
    for (let i = 0; i < frames.length; i++) recycleBody(frames[i]);
  }

  /**
   * A reusable wait for loops that drain with {@linkcode InboxSocket.tryReceive}: `next()`
   * resolves true when a message may be queued (or the socket closed, or `signal` aborted) and
   * false after `timeoutMs` without one; one timer serves every wait of the loop. Dispose it when
   * the loop ends.
   *
   * @param timeoutMs idle time after which `next()` resolves false; undefined: none
   * @param signal ends the waits
   * @returns the wait
   */
  waiter(timeoutMs?: number, signal?: AbortSignal): ChannelWait {
    return this.#inbox.waiter(timeoutMs, signal);
  }

  /** @ignore */
  protected override pollForIteration(): Multipart | undefined {
    return this.#inbox.tryReceive();
  }

  /** @ignore */
  protected override nextForIteration(): Promise<Multipart> {
    return this.#inbox.receive();
  }
}

/**
 * PUB socket: fans each message out to the peers whose subscriptions match its first frame
 * (filtering on the publisher side) and drops for peers whose queue is full, so sending never
 * blocks. A queue is full at the send high-water mark in messages (`sendHighWaterMark`, libzmq's
 * `ZMQ_SNDHWM`) or at `maxBufferedBytes` of output not yet written, whichever comes first: what
 * a subscriber that never reads costs the publisher is bounded in bytes too (64 MiB by default).
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { ZmqClosedError } from "./errors.ts";
import { toMultipart, ZmqSocket } from "./socket.ts";
import { SubscriptionSet } from "./subscriptions.ts";
import type { Frame, Multipart, SignalOptions, SocketOptions } from "./types.ts";
import { macrotask } from "./yield.ts";

/**
 * Queued bytes for one subscriber beyond which send() resolves only once a write to it completed
 * (or after DRAIN_WAIT_MS): a publisher faster than its subscriber then holds about this much
 * for it instead of everything up to the high-water mark (64 KiB messages: up to 26 MiB in the
 * e2e bench's credit window, the publisher's peak RSS).
 */
const YIELD_BYTES = 1 << 20;
/** The longest a send() waits for a subscriber's write (one that never reads reaches its HWM). */
const DRAIN_WAIT_MS = 1;

/** A PUB socket only receives subscriptions: the default inbound message limit is small. */
const PUB_MAX_MESSAGE = 65536;
const MAX_SUBSCRIPTIONS = 10_000;
const MAX_SUBSCRIPTION_BYTES = 1 << 20;

/** Subscriptions of one subscriber connection, and whether it was told off for exceeding a cap. */
interface PeerSubs {
  set: SubscriptionSet;
  warned: boolean;
}

/**
 * Single-frame string messages are encoded into one reused buffer, which every peer copies
 * before send() returns (no array per message: a 64 KiB message used to leave a fresh 64 KiB
 * array per send, referenced until written, then left to the garbage collector, whose
 * external-memory trigger let tens of MiB of them pile up). The buffer grows to the largest
 * message up to this size (worst case 3 bytes per UTF-16 unit); longer strings get an array of
 * their own, written by reference.
 */
const SCRATCH_MAX = 1 << 20;
let scratch = new Uint8Array(16384);
const utf8 = new TextEncoder();
/** What send() returns when it need not wait: one settled promise for every call. */
const SENT: Promise<void> = Promise.resolve();

/**
 * The UTF-8 of `s + t` in the reused buffer (each string converted on its own: no joined string),
 * or undefined when it may not fit in SCRATCH_MAX.
 */
function encodeScratch(s: string, t: string): Uint8Array | undefined {
  const worst = (s.length + t.length) * 3;
  if (worst > scratch.length) {
    if (worst > SCRATCH_MAX) return undefined;
    let n = scratch.length * 2;
    while (n < worst) n *= 2;
    scratch = new Uint8Array(Math.min(n, SCRATCH_MAX));
  }
  const n = utf8.encodeInto(s, scratch).written;
  if (t.length === 0) return scratch.subarray(0, n);
  return scratch.subarray(0, n + utf8.encodeInto(t, scratch.subarray(n)).written);
}

/** Tails shorter than this (UTF-16 units) are sent joined with their head by sendText(). */
const SPLIT_MIN = 4096;

const headScratch = new Uint8Array(3072);

/** UTF-8 of a message's head (≤ 1,024 UTF-16 units) in a reused array, for subscription matching. */
function encodeHead(head: string): Uint8Array {
  return headScratch.subarray(0, utf8.encodeInto(head, headScratch).written);
}

/** True when `s + t` joins a surrogate pair that `s` and `t` split (then encoded joined). */
function splitsPair(s: string, t: string): boolean {
  const a = s.charCodeAt(s.length - 1);
  const b = t.charCodeAt(0);
  return a >= 0xd800 && a <= 0xdbff && b >= 0xdc00 && b <= 0xdfff;
}

/**
 * Publisher.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PubSocket } from "./pub.ts";
 * await using pub = new PubSocket();
 * await pub.bind("tcp://127.0.0.1:0");
 * await pub.send(["topic", "payload"]); // no subscriber: dropped, as in ZeroMQ
 * assertEquals(pub.subscriberCount(), 0);
 * ```
 */
export class PubSocket extends ZmqSocket {
  /** ZMTP socket type. */
  readonly type: string = "PUB";
  /** Messages dropped because a subscriber's queue was full. */
  dropped = 0;
  /** Subscriptions ignored because a subscriber had reached `maxSubscriptions(Bytes)`. */
  ignoredSubscriptions = 0;
  readonly #yieldAt: number;
  /** Notes of the send in progress (#offered, #settled): the subscriber to wait for. */
  #behind: Connection | undefined = undefined;
  /** Notes of the send in progress: some subscriber's queue is full or nearly full. */
  #busy = false;
  readonly #maxSubs: number;
  readonly #maxSubBytes: number;

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options
   */
  constructor(options: SocketOptions = {}) {
    super(options);
    const hwm = options.sendHighWaterMark ?? 1000;
    this.#yieldAt = hwm > 0 ? Math.max(1, hwm >> 1) : 1000;
    this.#maxSubs = options.maxSubscriptions ?? MAX_SUBSCRIPTIONS;
    this.#maxSubBytes = options.maxSubscriptionBytes ?? MAX_SUBSCRIPTION_BYTES;
  }

  /** @ignore */
  protected override get maxMessageSize(): number {
    return this.options.maxMessageSize ?? PUB_MAX_MESSAGE;
  }

  /** @ignore */
  protected override onPeerReady(c: Connection): void {
    c.state = { set: new SubscriptionSet(), warned: false } satisfies PeerSubs;
  }

  /** @ignore */
  protected override onSubscription(c: Connection, topic: Uint8Array, on: boolean): void {
    const p = c.state as PeerSubs;
    const s = p.set;
    if (!on) {
      s.remove(topic);
      return;
    }
    const over = s.size >= this.#maxSubs
      ? "maxSubscriptions"
      : s.bytes + topic.length > this.#maxSubBytes
      ? "maxSubscriptionBytes"
      : undefined;
    if (over && !s.has(topic)) {
      this.ignoredSubscriptions++;
      if (!p.warned) {
        p.warned = true;
        this.emit({
          type: "limit",
          endpoint: c.endpoint,
          limit: over,
          detail:
            `subscriber ${
              c.peer?.address || "(ipc)"
            } holds ${s.size} subscriptions of ${s.bytes} bytes (maxSubscriptions ${this.#maxSubs}, maxSubscriptionBytes ${this.#maxSubBytes}): ` +
            `further subscriptions ignored`,
        });
      }
      return;
    }
    s.add(topic);
  }

  /** @ignore */
  protected override onMessage(c: Connection, frames: Multipart): void {
    // ZMTP 3.0 form: 0x01 + prefix subscribes, 0x00 + prefix cancels
    const f = frames[0];
    if (frames.length !== 1 || f.length === 0) return;
    if (f[0] === 1) this.onSubscription(c, f.subarray(1), true);
    else if (f[0] === 0) this.onSubscription(c, f.subarray(1), false);
  }

  /**
   * Number of connected subscribers with a subscription matching `topic` (any subscription at
   * all when `topic` is absent).
   *
   * @param topic the first frame of a message to be sent
   * @returns the count
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PubSocket } from "./pub.ts";
   * import { SubSocket } from "./sub.ts";
   * await using pub = new PubSocket();
   * assertEquals(pub.subscriberCount("pytroll://a"), 0);
   * await using sub = new SubSocket();
   * sub.subscribe("pytroll://");
   * sub.connect(await pub.bind("tcp://127.0.0.1:0"));
   * while (pub.subscriberCount("pytroll://a") === 0) await new Promise((r) => setTimeout(r, 10));
   * assertEquals(pub.subscriberCount("other"), 0); // its subscription does not match
   * ```
   */
  subscriberCount(topic?: Frame): number {
    const t = typeof topic === "string" ? utf8.encode(topic) : topic;
    let n = 0;
    for (const p of this.peers) {
      const s = (p.state as PeerSubs | undefined)?.set;
      if (!s) continue;
      if (t === undefined ? s.size > 0 : s.matches(t)) n++;
    }
    return n;
  }

  /**
   * Resolves when everything sent so far has been written to the subscribers' connections (or
   * the connections closed): after it, a crash of this process loses none of those messages.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PubSocket } from "./pub.ts";
   * await using pub = new PubSocket();
   * assertEquals(await pub.flushed(), undefined); // no peer: nothing queued
   * ```
   */
  async flushed(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.flushed()));
  }

  /**
   * Publishes a message to every matching subscriber; never blocks on a subscriber. When a
   * subscriber's queue holds over 1 MiB, the returned promise resolves once a write to it
   * completed, at most 1 ms later; when its queue is half full (in messages) or a subscriber's
   * queue is full (`sendHighWaterMark` messages or `maxBufferedBytes` bytes: the message was
   * dropped for it, counted in {@linkcode PubSocket.dropped}), after one event-loop turn. A tight
   * `await send()` loop so lets the writes run instead of dropping or queueing without bound.
   *
   * @param msg one frame or a list of frames (byte frames >= 16 KiB are not copied: leave them
   *   unmodified) (the first is matched against subscriptions)
   * @param _opts accepted for symmetry (sending never blocks)
   * @throws {ZmqClosedError} when closed
   */
  send(msg: Frame | Frame[], _opts?: SignalOptions): Promise<void> {
    if (this.closed) return Promise.reject(new ZmqClosedError());
    if (this.peers.length === 0) return SENT; // nobody to send to: not even encoded
    const text = typeof msg === "string" ? encodeScratch(msg, "") : undefined;
    return this.#publish(text ? [text] : toMultipart(msg), text !== undefined);
  }

  /**
   * Publishes a one-frame message whose text is `head + tail` as {@linkcode PubSocket.send} does,
   * without building the joined string: each part goes to UTF-8 on its own (a long `tail`, e.g.
   * a message's payload, is not copied into a new string first).
   *
   * @param head the start of the text (matched against subscriptions)
   * @param tail the rest of the text
   * @returns as {@linkcode PubSocket.send}
   * @throws {ZmqClosedError} when closed
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PubSocket } from "./pub.ts";
   * import { SubSocket } from "./sub.ts";
   * await using pub = new PubSocket();
   * await using sub = new SubSocket();
   * sub.subscribe("");
   * sub.connect(await pub.bind("tcp://127.0.0.1:0"));
   * while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10));
   * await pub.sendText("topic ", "x".repeat(100_000));
   * const [frame] = await sub.receive();
   * assertEquals(new TextDecoder().decode(frame), "topic " + "x".repeat(100_000));
   * ```
   */
  sendText(head: string, tail: string): Promise<void> {
    if (this.closed) return Promise.reject(new ZmqClosedError());
    if (this.peers.length === 0) return SENT; // nobody to send to: not even encoded
    // a short tail is cheaper joined (one conversion, no second view and result object)
    if (tail.length < SPLIT_MIN || splitsPair(head, tail)) return this.send(head + tail);
    const direct = this.#publishText(head, tail);
    if (direct) return direct;
    const text = encodeScratch(head, tail);
    return this.#publish([text ?? utf8.encode(head + tail)], text !== undefined);
  }

  /**
   * {@linkcode PubSocket.sendText} without an intermediate array: the text is encoded straight
   * into the first matching subscriber's output buffer (one 64 KiB copy less per message), the
   * others copy it from there. Undefined (nothing sent) when the head alone does not decide
   * every subscriber's match (a subscription longer than it) or the first matching subscriber
   * cannot take it (CURVE): the caller then encodes as for send().
   */
  #publishText(head: string, tail: string): Promise<void> | undefined {
    const start = head.length <= 1024 ? encodeHead(head) : undefined;
    if (!start) return undefined;
    let first: Connection | undefined; // the subscriber whose output the text is encoded into
    for (const p of this.peers) {
      const m = (p.state as PeerSubs).set.matchesStart(start);
      if (m === undefined) return undefined;
      if (m && !first && p.writable) {
        if (!p.takesText) return undefined;
        first = p;
      }
    }
    let body: Uint8Array | undefined;
    this.#behind = undefined; // notes left by a send that threw
    this.#busy = false;
    for (const p of this.peers) {
      if (!(p.state as PeerSubs).set.matchesStart(start)) continue;
      const written = p.writable;
      if (written) {
        if (p === first) body = p.sendText(head, tail);
        else p.sendMessage([body!], true);
      }
      this.#offered(p, written);
    }
    return this.#settled();
  }

  #publish(frames: Uint8Array[], copy: boolean): Promise<void> {
    const topic = frames[0];
    this.#behind = undefined; // notes left by a send that threw
    this.#busy = false;
    for (const p of this.peers) {
      if (!(p.state as PeerSubs).set.matches(topic)) continue;
      const written = p.writable;
      if (written) p.sendMessage(frames, copy);
      this.#offered(p, written);
    }
    return this.#settled();
  }

  /**
   * Notes a matching subscriber after a message was offered to it (written when it was
   * writable, else dropped for it): the one holding the most bytes beyond YIELD_BYTES is the
   * send's to wait for; a full or nearly full queue makes the send yield one turn.
   */
  #offered(p: Connection, written: boolean): void {
    if (!written) {
      this.dropped++;
      this.#busy = true;
      return;
    }
    const backlog = p.backlog;
    if (backlog >= YIELD_BYTES) {
      const behind = this.#behind;
      if (!behind || backlog > behind.backlog) this.#behind = p;
    } else if (p.queued >= this.#yieldAt) this.#busy = true;
  }

  /** What the send just offered waits for (see {@linkcode PubSocket.send}); resets the notes. */
  #settled(): Promise<void> {
    const behind = this.#behind;
    const busy = this.#busy;
    this.#behind = undefined;
    this.#busy = false;
    if (behind) return behind.drainedWithin(DRAIN_WAIT_MS);
    return busy ? macrotask() : SENT;
  }
}

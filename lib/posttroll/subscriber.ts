/**
 * Subscribing to posttroll messages, equivalent to `posttroll.subscriber`:
 * {@linkcode Subscriber} (SUB sockets to known addresses), {@linkcode NSSubscriber} (addresses
 * looked up at a nameserver, optionally following address announcements), {@linkcode subscribe}
 * (posttroll's `Subscribe` context manager; that name is in `./compat`) and
 * {@linkcode createSubscriberFromDictConfig}.
 *
 * Messages arrive through `recv(timeout)` — an async iterator yielding `null` after each
 * `timeout` seconds without a message, like Python's `None` — or plain `for await` iteration.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Subscriber } from "./subscriber.ts";
 * import { Publisher } from "./publisher.ts";
 * import { Message } from "./message.ts";
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], { topics: "/counter" });
 * // a SUB socket joins a little after it connects: publish until messages arrive
 * let n = 0;
 * const timer = setInterval(() => pub.send(new Message("/counter", "info", { n: n++ })), 20);
 * const got: unknown[] = [];
 * for await (const msg of sub.recv(1)) {
 *   if (msg === null) break; // one second without messages
 *   got.push(msg.data);
 *   if (got.length === 3) clearInterval(timer);
 * }
 * clearInterval(timer);
 * assertEquals(got.length, 3);
 * ```
 * @module
 */
import { config as sharedConfig, type PosttrollConfig } from "./config.ts";
import { CURRENT_MESSAGE_VERSION, Message } from "./message.ts";
import type { InboxSocket } from "../zmq/inbox.ts";
import { PullSocket } from "../zmq/pull.ts";
import { SubSocket } from "../zmq/sub.ts";
import type { ZmqSocket } from "../zmq/socket.ts";
import {
  AuthRefusedError,
  clientSocketOptions,
  ensureNet,
  refusalOf,
  splitTcp,
  stderrWarnings,
} from "./_sockets.ts";
import { getPubAddress, getPubAddresses } from "./nameserver.ts";
import { Channel, Fanout } from "../_util/channel.ts";
import {
  type AddressInfo,
  type AddressLike,
  type Logger,
  MAGICK,
  magickfyTopics,
  type NSSubscriberOptions,
  parseSubscriberOptions,
  type SubscribeOptions,
  type SubscriberOptions,
  subscriberPart,
  toList,
} from "./options.ts";

export { AuthRefusedError } from "./_sockets.ts";
export { PosttrollError } from "./errors.ts";
export {
  type AddressInfo,
  type AddressLike,
  type Logger,
  magickfyTopics,
  type NSSubscriberOptions,
  type ParsedSubscriberOptions,
  parseSubscriberOptions,
  type SubscribeOptions,
  type SubscriberOptions,
} from "./options.ts";

/** Warnings to stderr, as Python's logging prints them without configuration. */

/**
 * A change in a subscription's connection, from {@linkcode Subscriber.status}: `refused` when
 * the publisher refused us (our CURVE key not in its `clients_public_keys_directory`, our address
 * not in its `authorized_client_addresses`, or secure vs plain backends), reported once until the
 * next successful connection.
 */
export type SubscriberStatus =
  | { type: "connected"; uri: string }
  | { type: "disconnected"; uri: string }
  | { type: "refused"; uri: string; error: AuthRefusedError };

const MAX_STATUS = 100;

function toDict(addr: AddressLike, backend: string): AddressInfo {
  if (typeof addr === "string") return { URI: addr, backend };
  if (addr && typeof addr === "object" && typeof addr.URI === "string") {
    return { backend, ...addr };
  }
  throw new TypeError(`Don't know how to handle ${JSON.stringify(addr)} addresses`);
}

const RAW = new WeakMap<Message, Uint8Array>();

/** Where and when a message arrived (see {@linkcode messageOrigin}). */
export interface MessageOrigin {
  /** The publisher's address the message came from. */
  address: string;
  /** When it was read from the connection (ms since the epoch). */
  receivedAt: number;
}

const ORIGIN = new WeakMap<Message, MessageOrigin>();

/**
 * The publisher address and arrival time of a message, when its subscriber was created with
 * `keepOrigin: true`.
 *
 * @param msg a message received from such a subscriber
 * @returns address and arrival time, or undefined
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Message } from "./message.ts";
 * import { messageOrigin, Subscriber } from "./subscriber.ts";
 * import { Publisher } from "./publisher.ts";
 * assertEquals(messageOrigin(new Message("/a", "info")), undefined); // not received
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * const uri = `tcp://127.0.0.1:${pub.portNumber}`;
 * await using sub = new Subscriber([uri], { keepOrigin: true });
 * const timer = setInterval(() => pub.send(new Message("/a", "info")), 20);
 * for await (const msg of sub) {
 *   assertEquals(messageOrigin(msg)?.address, uri);
 *   break;
 * }
 * clearInterval(timer);
 * ```
 */
export function messageOrigin(msg: Message): MessageOrigin | undefined {
  return ORIGIN.get(msg);
}

/**
 * The bytes a message arrived as, when its subscriber was created with `keepRaw: true`.
 *
 * @param msg a message received from such a subscriber
 * @returns the bytes (a copy owned by the message), or undefined
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Message } from "./message.ts";
 * import { rawMessage, Subscriber } from "./subscriber.ts";
 * import { Publisher } from "./publisher.ts";
 * assertEquals(rawMessage(new Message("/a", "info")), undefined); // not received
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], { keepRaw: true });
 * const sent = new Message("/a", "info", "x").encode();
 * const timer = setInterval(() => pub.send(sent), 20);
 * for await (const msg of sub) {
 *   assertEquals(new TextDecoder().decode(rawMessage(msg)), sent);
 *   break;
 * }
 * clearInterval(timer);
 * ```
 */
export function rawMessage(msg: Message): Uint8Array | undefined {
  return RAW.get(msg);
}

/**
 * A message in the subscriber's queue: a one-frame message as received, to be decoded when taken
 * (a decoded message is many objects, the received bytes one view: messages waiting in the queue
 * cost the young-generation collections little this way), or one decoded on arrival. `bytes`
 * (as received) is what it counts for against `maxQueuedBytes`.
 */
class Queued {
  constructor(
    readonly entry: Entry,
    readonly host: string | undefined,
    readonly frames: Uint8Array[] | undefined,
    readonly msg: Message | undefined,
    readonly bytes: number,
  ) {}
}

function queuedBytes(q: Queued): number {
  return q.bytes;
}

/** Whether a received message is queued undecoded: one frame from the shared small-body arena. */
function deferrable(frames: Uint8Array[]): boolean {
  return frames.length === 1 && frames[0].length <= 2048;
}

interface Entry {
  socket: InboxSocket;
  addr?: AddressInfo;
  hook?: (msg: Message) => void;
  pump: Promise<void>;
  watch?: Promise<void>;
  refused?: AuthRefusedError;
  abort?: AbortController;
}

/**
 * Subscribes to one SUB socket per publisher address; the topic filter is applied by the
 * publisher (ZeroMQ prefix match on the raw message).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Subscriber } from "./subscriber.ts";
 * const sub = new Subscriber([], { topics: ["/a", "b"] });
 * sub.add("tcp://127.0.0.1:40000");
 * assertEquals(sub.addresses.length, 1);
 * await sub.close();
 * ```
 */
export class Subscriber implements AsyncDisposable, AsyncIterable<Message> {
  readonly #topics: string[];
  readonly #filter: ((msg: Message) => boolean) | null;
  readonly #translate: boolean;
  readonly #config: PosttrollConfig;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #hooks: Entry[] = [];
  readonly #queue: Channel<Queued>;
  readonly #keepRaw: boolean;
  readonly #keepOrigin: boolean;
  readonly #onMessage: ((msg: Message, raw: Uint8Array) => void) | null;
  #running = false;
  #closed = false;
  #pending: Array<Promise<unknown>> = [];
  readonly #status = new Fanout<SubscriberStatus>({ capacity: MAX_STATUS });

  /**
   * Creates a subscriber for the given publisher addresses and topics.
   *
   * @param addresses publisher addresses (URIs or nameserver records)
   * @param options topics, filter, translation, configuration
   * @throws {UnsupportedBackendError} for an unknown backend
   */
  constructor(addresses: AddressLike | AddressLike[] = [], options: SubscriberOptions = {}) {
    const o = parseSubscriberOptions(options);
    this.#config = o.config;
    this.#topics = o.topics;
    this.#filter = o.messageFilter;
    this.#translate = o.translate;
    this.#log = o.logger;
    // the connections wait (read nothing more) while the queue is at either limit (the
    // high-water mark is the capacity), so the capacity (the oldest dropped beyond it) is never
    // reached by what they hand on
    this.#queue = new Channel({
      capacity: o.queueSize,
      maxBytes: o.maxQueuedBytes,
      sizeOf: queuedBytes,
    });
    this.#keepRaw = o.keepRaw;
    this.#keepOrigin = o.keepOrigin;
    this.#onMessage = o.onMessage;
    const list = typeof addresses === "string" || !Array.isArray(addresses)
      ? [addresses]
      : addresses;
    this.update(list);
  }

  /** The address records subscribed to. */
  get addresses(): AddressInfo[] {
    return [...this.#entries.values()].map((e) => e.addr!);
  }

  /** The SUB sockets, one per address. */
  get subscribers(): ZmqSocket[] {
    return [...this.#entries.values()].map((e) => e.socket);
  }

  /**
   * Messages queued and not yet taken (at `queueSize`, reading from the publishers pauses).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * await using sub = new Subscriber([]);
   * assertEquals([sub.queued, sub.queuedBytes], [0, 0]);
   * ```
   */
  get queued(): number {
    return this.#queue.size;
  }

  /**
   * Bytes (as received) of the messages queued and not yet taken: at `maxQueuedBytes`, reading
   * from the publishers pauses until messages are taken, so it exceeds that by at most one
   * message.
   */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /** True while a `recv()` loop runs. */
  get running(): boolean {
    return this.#running;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  #startPump(entry: Omit<Entry, "pump">, host: string | undefined): Entry {
    const e = entry as Entry;
    const sock = e.socket;
    const hook = e.hook;
    if (hook === undefined) {
      // each message is queued in the read loop of the connection that read it: no promise and
      // no event-loop turn per message between the socket and recv(). A small one is queued as
      // received and decoded when taken (as Python's recv() decodes): a read brings up to ~80
      // file events at once, and decoded they would all be alive at a young-generation
      // collection (file event, 300,000 messages: scavenges 217 -> 92 ms). The others (large,
      // multipart, onMessage, keepRaw, keepOrigin) are decoded here. While the queue is at
      // queueSize or maxQueuedBytes, the connections wait before handing on the next message
      // and read nothing more (the publisher's TCP send buffer, then its high-water mark, fill).
      const lazy = this.#onMessage === null && !this.#keepRaw && !this.#keepOrigin;
      const accept = (msg: Message, raw: Uint8Array) => this.#accept(e, host, msg, raw);
      sock.forwardTo((frames) => {
        if (lazy && deferrable(frames)) {
          if (!this.#closed) {
            this.#queue.push(new Queued(e, host, frames, undefined, frames[0].length));
          }
        } else this.#decode(sock, frames, this.#keepRaw, accept);
      }, this.#queue);
      e.pump = Promise.resolve();
      return e;
    }
    // callbacks run on their own loop, outside the connections' read loops
    e.pump = (async () => {
      // drain what arrived without a promise per message; wait (one reused waiter) when empty
      using wait = sock.waiter();
      while (true) {
        const frames = sock.tryReceive();
        if (frames === undefined) {
          if (sock.closed) break;
          await wait.next();
          continue;
        }
        const msg = this.#decode(sock, frames, false);
        if (msg === undefined) continue;
        try {
          hook(msg);
        } catch (err) {
          this.#log("warning", `hook failed: ${(err as Error).message}`);
        }
      }
    })().catch((err) => this.#log("warning", `receive failed: ${(err as Error).message}`));
    return e;
  }

  /**
   * The message in a received one-frame message, or undefined (dropped, logged) if invalid. The
   * arrays go back to `sock` once decoded (a large one may back the next large message), copied
   * first when the raw bytes are kept.
   */
  #decode(
    sock: InboxSocket,
    frames: Uint8Array[],
    keepRaw: boolean,
    then?: (msg: Message, raw: Uint8Array) => void,
  ): Message | undefined {
    const raw = frames[0];
    let msg: Message | undefined;
    if (raw) {
      try {
        msg = Message.decode(raw);
        if (keepRaw) RAW.set(msg, raw.slice());
      } catch (err) {
        this.#log("debug", `Invalid message received, dropping: ${(err as Error).message}`);
      }
      // before the arrays go back: `then` may read the bytes
      if (msg !== undefined && then !== undefined) then(msg, raw);
    }
    sock.release(frames);
    return msg;
  }

  /**
   * The next queued message, decoded here when it was queued as received bytes (undefined when
   * none is queued).
   */
  #take(): Message | undefined {
    for (;;) {
      const m = this.#queue.tryReceive();
      if (m === undefined) return undefined;
      if (m.frames === undefined) return m.msg;
      const e = m.entry;
      const msg = this.#decode(e.socket, m.frames, false);
      if (msg !== undefined && this.#admit(e, m.host, msg)) return msg;
    }
  }

  /** Filters and annotates a message from `e`'s publisher: false when it is dropped. */
  #admit(e: Entry, host: string | undefined, msg: Message): boolean {
    if (this.#filter) {
      let keep: boolean;
      try {
        keep = this.#filter(msg);
      } catch (err) {
        this.#log("warning", `messageFilter failed, dropping: ${(err as Error).message}`);
        return false;
      }
      if (!keep) return false;
    }
    if (this.#translate && host !== undefined) {
      msg.sender = msg.sender.split("@")[0] + "@" + host;
    }
    if (this.#keepOrigin) {
      ORIGIN.set(msg, { address: e.addr?.URI ?? "", receivedAt: Date.now() });
    }
    return true;
  }

  /** Filters, annotates and queues (or hands to `onMessage`) a message from `e`'s publisher. */
  #accept(e: Entry, host: string | undefined, msg: Message, raw: Uint8Array): void {
    if (this.#closed || !this.#admit(e, host, msg)) return;
    const onMessage = this.#onMessage;
    if (onMessage === null) {
      this.#queue.push(new Queued(e, host, undefined, msg, raw.length));
      return;
    }
    try {
      onMessage(msg, raw);
    } catch (err) {
      this.#log("warning", `onMessage failed: ${(err as Error).message}`);
    }
  }

  #subSocket(uri: string, topics: string[], backend: string | undefined): SubSocket {
    ensureNet(uri, `Subscriber (connecting to ${uri})`);
    const sock = new SubSocket(clientSocketOptions(this.#config, { backend, endpoint: uri }));
    for (const t of topics) sock.subscribe(t);
    try {
      sock.connect(uri);
    } catch (e) {
      void sock.close();
      throw e;
    }
    return sock;
  }

  /**
   * Subscribes to `address` (ignored when already subscribed, or when the publisher announces a
   * `supported_message_version` newer than ours).
   *
   * @param address URI or address record
   * @param topics topics for this address; default: the subscriber's topics
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * await using sub = new Subscriber([], { logger: () => {} });
   * sub.add({ URI: "tcp://127.0.0.1:40000", supported_message_version: "v1.2" });
   * sub.add({ URI: "tcp://127.0.0.1:40001", supported_message_version: "v9" }); // too new: ignored
   * assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:40000"]);
   * ```
   */
  add(address: AddressLike, topics?: string | string[] | null): void {
    if (this.#closed) return;
    const addr = toDict(address, this.#config.backend());
    const version = addr.supported_message_version ?? CURRENT_MESSAGE_VERSION;
    if (String(version) > CURRENT_MESSAGE_VERSION) {
      this.#log("warning", `Will not connect to ${addr.URI}, message version mismatch`);
      return;
    }
    if (this.#entries.has(addr.URI)) return;
    const t = magickfyTopics(topics) ?? this.#topics;
    const socket = this.#subSocket(addr.URI, t, addr.backend);
    const host = splitTcp(addr.URI)?.host;
    const entry = this.#startPump({ socket, addr }, host);
    entry.watch = this.#watch(entry, addr.URI);
    this.#entries.set(addr.URI, entry);
    this.#log("info", `Subscriber adding address ${addr.URI} with topics ${t.join(", ")}`);
  }

  async #watch(e: Entry, uri: string): Promise<void> {
    for await (const ev of e.socket.events()) {
      if (ev.type === "connected") {
        e.refused = undefined;
        this.#status.push({ type: "connected", uri });
      } else if (ev.type === "disconnected") {
        this.#status.push({ type: "disconnected", uri });
      } else {
        const refusal = refusalOf(ev);
        if (!refusal || e.refused) continue;
        e.refused = refusal;
        this.#log("warning", `Subscriber: ${refusal.message}`);
        this.#status.push({ type: "refused", uri, error: refusal });
      }
    }
  }

  /**
   * Connection changes of the subscribed addresses. Each call gets its own copy of the changes
   * from then on (the first one also those from before, the latest 100 kept while nobody
   * listened); a listener that does not read keeps the latest 100. Ends when the subscriber
   * closes. A refusal is reported once per address until it connects again, and also logged as
   * a warning.
   *
   * @returns async iterable of status changes
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * import { Publisher } from "./publisher.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
   * const uri = `tcp://127.0.0.1:${pub.portNumber}`;
   * const sub = new Subscriber([uri]);
   * for await (const st of sub.status()) {
   *   assertEquals(st, { type: "connected", uri });
   *   await sub.close(); // ends the stream
   * }
   * ```
   */
  status(): AsyncIterable<SubscriberStatus> {
    return this.#status.listen();
  }

  /**
   * Addresses whose publisher refused us and that have not connected since, with the refusal.
   *
   * @returns URI -> refusal
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * await using sub = new Subscriber([]);
   * assertEquals(sub.refused.size, 0);
   * ```
   */
  get refused(): Map<string, AuthRefusedError> {
    const out = new Map<string, AuthRefusedError>();
    for (const [uri, e] of this.#entries) if (e.refused) out.set(uri, e.refused);
    return out;
  }

  /**
   * Unsubscribes from the address with this URI (no-op when unknown).
   *
   * @param uri the URI
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * await using sub = new Subscriber(["tcp://127.0.0.1:40000"]);
   * sub.remove("tcp://127.0.0.1:40000");
   * assertEquals(sub.addresses, []);
   * ```
   */
  remove(uri: string): void {
    const e = this.#entries.get(uri);
    if (!e) return;
    this.#entries.delete(uri);
    this.#pending.push(e.socket.close(), e.watch ?? Promise.resolve());
    this.#log("info", `Subscriber removing address ${uri}`);
  }

  /**
   * Makes the subscribed set equal to `addresses`; returns true when something changed.
   *
   * @param addresses the wanted addresses
   * @returns whether addresses were added or removed
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * await using sub = new Subscriber([]);
   * assertEquals(sub.update(["tcp://127.0.0.1:40000"]), true);
   * assertEquals(sub.update(["tcp://127.0.0.1:40000"]), false); // already so
   * ```
   */
  update(addresses: AddressLike[]): boolean {
    const backend = this.#config.backend();
    const wanted = new Map(addresses.map((a) => {
      const d = toDict(a, backend);
      return [d.URI, d] as const;
    }));
    const current = new Set(this.#entries.keys());
    let changed = false;
    for (const uri of current) {
      if (!wanted.has(uri)) {
        this.remove(uri);
        changed = true;
      }
    }
    for (const [uri, d] of wanted) {
      if (!current.has(uri)) {
        this.add(d);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Subscribes to `address` for `topics` and passes its messages to `callback` instead of the
   * receive stream (posttroll uses it for the nameserver's address announcements).
   *
   * @param address URI
   * @param topics topics
   * @param callback called with each message
   * @param options `onConnected`: called (and awaited) each time the connection to `address` is
   *   (re-)established, with a signal aborted when the subscriber closes; what was published
   *   while disconnected is lost (PUB/SUB), so this is the place to resynchronise
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * import { Publisher } from "./publisher.ts";
   * import { Message } from "./message.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
   * await using sub = new Subscriber([]);
   * const subjects: string[] = [];
   * sub.addHookSub(`tcp://127.0.0.1:${pub.portNumber}`, ["pytroll://address"], (m) => {
   *   subjects.push(m.subject);
   * });
   * while (subjects.length === 0) {
   *   await pub.send(new Message("/address/x", "info", { URI: "tcp://a:1" }));
   *   await new Promise((r) => setTimeout(r, 20));
   * }
   * assertEquals(subjects[0], "/address/x");
   * ```
   */
  addHookSub(
    address: string,
    topics: string | string[],
    callback: (msg: Message) => void,
    options: { onConnected?: (signal: AbortSignal) => void | Promise<void> } = {},
  ): void {
    const socket = this.#subSocket(address, magickfyTopics(topics), undefined);
    const entry = this.#startPump({ socket, hook: callback }, undefined);
    const onConnected = options.onConnected;
    const ctl = new AbortController();
    entry.abort = ctl;
    entry.watch = (async () => {
      for await (const ev of socket.events()) {
        if (ev.type === "connected") {
          entry.refused = undefined;
          if (onConnected) await Promise.resolve(onConnected(ctl.signal)).catch(() => {});
          continue;
        }
        // a refused hook (the nameserver's address publisher, under secure_zmq) is reported
        // like a refused publisher: once until it connects, as a warning and a status event
        const refusal = refusalOf(ev);
        if (!refusal || entry.refused) continue;
        entry.refused = refusal;
        this.#log("warning", `Subscriber: ${refusal.message}`);
        this.#status.push({ type: "refused", uri: address, error: refusal });
      }
    })();
    this.#hooks.push(entry);
  }

  /**
   * Connects a PULL socket to `address` and passes what it receives to `callback`.
   *
   * @param address URI (e.g. `ipc://...`)
   * @param callback called with each message
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * import { Message } from "./message.ts";
   * import { PushSocket } from "../zmq/mod.ts";
   * await using push = new PushSocket();
   * const endpoint = await push.bind("tcp://127.0.0.1:0");
   * await using sub = new Subscriber([]);
   * const got = Promise.withResolvers<string>();
   * sub.addHookPull(endpoint, (m) => got.resolve(m.subject));
   * await push.send([new Message("/pushed", "info").encode()]);
   * assertEquals(await got.promise, "/pushed");
   * ```
   */
  addHookPull(address: string, callback: (msg: Message) => void): void {
    const socket = new PullSocket(clientSocketOptions(this.#config, { endpoint: address }));
    socket.connect(address);
    this.#hooks.push(this.#startPump({ socket, hook: callback }, undefined));
  }

  /**
   * Receives messages; after each `timeout` seconds without one, yields `null` (Python's
   * `None`). Without a timeout it only yields messages. Ends when the subscriber is stopped.
   *
   * @param timeout seconds, or null/undefined to wait forever
   * @param options `signal` ends the loop
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * await using sub = new Subscriber(["tcp://127.0.0.1:40000"]); // nobody publishes there
   * const got = [];
   * for await (const msg of sub.recv(0.1)) {
   *   got.push(msg);
   *   if (msg === null) break; // 0.1 s without a message
   * }
   * assertEquals(got, [null]);
   * ```
   */
  async *recv(
    timeout?: number | null,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<Message | null, void, undefined> {
    this.#running = true;
    const signal = options.signal;
    const wait = this.#queue.waiter(
      timeout === null || timeout === undefined ? undefined : timeout * 1000,
      signal,
    );
    try {
      while (this.#running && !this.#closed && !signal?.aborted) {
        const m = this.#take();
        if (m) {
          yield m;
          continue;
        }
        const got = await wait.next();
        if (!got && !this.#closed && this.#running && !signal?.aborted) yield null;
      }
    } finally {
      this.#running = false;
      wait[Symbol.dispose]();
    }
  }

  /**
   * Iterates messages without timeouts until the subscriber is stopped; `break` ends it.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * import { Publisher } from "./publisher.ts";
   * import { Message } from "./message.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
   * await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`]);
   * const timer = setInterval(() => pub.send(new Message("/a", "info")), 20);
   * for await (const msg of sub) {
   *   assertEquals(msg.subject, "/a");
   *   await sub.stop(); // ends the loop
   * }
   * clearInterval(timer);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    // hand-written, not an async generator around recv(): one promise per message, and none of
    // the two generators' bookkeeping
    this.#running = true;
    const wait = this.#queue.waiter();
    let finished = false;
    const end = (): IteratorResult<Message> => {
      if (!finished) {
        finished = true;
        this.#running = false;
        wait[Symbol.dispose]();
      }
      return { value: undefined, done: true };
    };
    return {
      next: async (): Promise<IteratorResult<Message>> => {
        while (!finished && this.#running && !this.#closed) {
          const m = this.#take();
          if (m) return { value: m, done: false };
          await wait.next();
        }
        return end();
      },
      return: (): Promise<IteratorResult<Message>> => Promise.resolve(end()),
    };
  }

  /**
   * Stops the receive loop and closes every socket (idempotent).
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Subscriber } from "./subscriber.ts";
   * const sub = new Subscriber(["tcp://127.0.0.1:40000"]);
   * await sub.close();
   * await sub.close(); // again: nothing happens
   * assert(sub.closed);
   * ```
   */
  async close(): Promise<void> {
    this.#running = false;
    if (this.#closed) {
      await Promise.allSettled(this.#pending);
      return;
    }
    this.#closed = true;
    this.#queue.close();
    this.#queue.clear();
    this.#status.close();
    const all = [...this.#entries.values(), ...this.#hooks];
    this.#entries.clear();
    this.#hooks.length = 0;
    for (const e of all) e.abort?.abort();
    await Promise.allSettled(all.map((e) => e.socket.close()));
    await Promise.allSettled(all.map((e) => e.pump));
    await Promise.allSettled(all.map((e) => e.watch));
    await Promise.allSettled(this.#pending);
  }

  /** Same as {@linkcode close}. */
  stop(): Promise<void> {
    return this.close();
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Subscribes to services found at a nameserver (posttroll's `NSSubscriber`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NSSubscriber } from "./subscriber.ts";
 * import { NameServer } from "./nameserver.ts";
 * // a nameserver on a free loopback port that knows one service
 * const nameserver = new NameServer();
 * const serving = nameserver.run({ my_service: [{ URI: "tcp://127.0.0.1:40000" }] }, "tcp://127.0.0.1:0");
 * const [endpoint] = await nameserver.ready;
 *
 * const ns = new NSSubscriber({ services: "my_service", nameserver: endpoint, timeout: 1 });
 * const sub = await ns.start();
 * assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:40000"]);
 * await ns.stop();
 * await nameserver.stop();
 * await serving;
 * ```
 */
export class NSSubscriber implements AsyncDisposable {
  readonly #opts: NSSubscriberOptions;
  #subscriber: Subscriber | undefined;

  /**
   * Creates a subscriber that finds its publishers through the nameserver once started.
   *
   * @param options services, topics, listener, nameserver, configuration
   */
  constructor(options: NSSubscriberOptions = {}) {
    this.#opts = options;
  }

  /**
   * Creates the subscriber, looks the services up and subscribes to what was found. A service
   * the nameserver does not answer for is logged (as in posttroll) and left out.
   *
   * @returns the subscriber
   * @throws {AuthRefusedError} when the nameserver refuses us (secure_zmq: our key is not in its
   *   clients_public_keys_directory), instead of a subscriber that waits for nothing
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NSSubscriber } from "./subscriber.ts";
   * const sub = await new NSSubscriber({ services: null, addresses: ["tcp://127.0.0.1:40000"] }).start();
   * assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:40000"]); // no look-up
   * await sub.close();
   * ```
   */
  async start(): Promise<Subscriber> {
    const o = this.#opts;
    const config = o.config ?? sharedConfig;
    const services = o.services === undefined ? [""] : toList(o.services);
    const sub = new Subscriber(toList(o.addresses), subscriberPart(o));
    this.#subscriber = sub;
    const accept = o.addressFilter ?? (() => true);
    const nameserver = o.nameserver ?? "localhost";
    if (o.addrListener) {
      const log = o.logger ?? stderrWarnings;
      const port = config.addressPublishPort();
      const host = nameserver.includes(":") && !nameserver.startsWith("[") &&
          !nameserver.includes("://")
        ? `[${nameserver}]`
        : nameserver;
      const endpoint = host.includes("://") ? host : `tcp://${host}:${port}`;
      sub.addHookSub(endpoint, ["pytroll://address"], (msg) => {
        const data = msg.data as Record<string, unknown>;
        if (!data || typeof data !== "object" || typeof data.URI !== "string") return;
        const status = data.status ?? true;
        if (status) {
          const svc = data.service;
          for (const s of services) {
            if (
              !s ||
              (Array.isArray(svc) ? svc.includes(s) : typeof svc === "string" && svc.includes(s))
            ) {
              if (!accept(data as AddressInfo)) break;
              log("debug", `Adding address ${data.URI} ${s}`);
              sub.add(data as AddressInfo);
              break;
            }
          }
        } else {
          log("debug", `Removing address ${data.URI}`);
          sub.remove(data.URI);
        }
      }, {
        // beyond posttroll: announcements re-published while this socket was disconnected
        // (nameserver restarted, network outage) are lost, so on every (re)connection ask the
        // nameserver what it knows now; later additions arrive as announcements
        onConnected: async (signal) => {
          for (const service of services) {
            const addrs = await getPubAddress(service, {
              timeout: Math.min(o.timeout ?? 10, 2),
              nameserver,
              config,
              signal,
            }).catch(() => []);
            for (const a of addrs) {
              if (signal.aborted) return;
              const uri = a.URI;
              if (
                typeof uri === "string" && !sub.addresses.some((x) => x.URI === uri) &&
                accept(a as unknown as AddressInfo)
              ) {
                log("debug", `Adding address ${uri} ${service} (resynchronised)`);
                sub.add(a as unknown as AddressInfo);
              }
            }
          }
        },
      });
    }
    for (const service of services) {
      let addrs: unknown[] = [];
      try {
        addrs = await getPubAddresses([service], {
          timeout: o.timeout ?? 10,
          nameserver,
          config,
        });
      } catch (e) {
        if (e instanceof AuthRefusedError) {
          // refused by the nameserver: no publisher can be found, so say so now
          this.#subscriber = undefined;
          await sub.close();
          throw e;
        }
        (o.logger ?? stderrWarnings)(
          "warning",
          `Can't get any address for ${service}: ${(e as Error).message}`,
        );
        continue;
      }
      for (const a of addrs) {
        if (a && typeof a === "object" && typeof (a as AddressInfo).URI === "string") {
          if (accept(a as AddressInfo)) sub.add(a as AddressInfo);
        } else if (typeof a === "string" && accept({ URI: a })) sub.add(a);
      }
    }
    return sub;
  }

  /** The subscriber (after start). */
  get subscriber(): Subscriber | undefined {
    return this.#subscriber;
  }

  /**
   * Closes the subscriber.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NSSubscriber } from "./subscriber.ts";
   * const ns = new NSSubscriber({ services: null, addresses: ["tcp://127.0.0.1:40000"] });
   * const sub = await ns.start();
   * await ns.stop();
   * assertEquals([sub.closed, ns.subscriber], [true, undefined]);
   * ```
   */
  async stop(): Promise<void> {
    const s = this.#subscriber;
    this.#subscriber = undefined;
    await s?.close();
  }

  /** Same as {@linkcode stop}. */
  close(): Promise<void> {
    return this.stop();
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Settings of {@linkcode createSubscriberFromDictConfig} (posttroll's dict keys). */
export interface SubscriberSettings {
  /** Services (NSSubscriber). */
  services?: string | string[] | null;
  /** Topics. */
  topics?: string | string[];
  /** Client-side filter. */
  message_filter?: ((msg: Message) => boolean) | null;
  /** Sender host translation. */
  translate?: boolean;
  /** Follow address announcements (NSSubscriber). */
  addr_listener?: boolean;
  /** Addresses. */
  addresses?: AddressLike | AddressLike[] | null;
  /** Nameserver look-up timeout in seconds (NSSubscriber). */
  timeout?: number;
  /** Nameserver host; `false` with addresses: plain Subscriber. */
  nameserver?: string | null | false;
  /** Ignored (accepted like posttroll). */
  port?: unknown;
}

const SUBSCRIBER_KEYS = new Set([
  "services",
  "topics",
  "message_filter",
  "translate",
  "addr_listener",
  "addresses",
  "timeout",
  "nameserver",
  "port",
]);

/**
 * Chooses, creates and (for NSSubscriber) starts a subscriber like posttroll: non-empty
 * `addresses` with `nameserver === false` gives a plain {@linkcode Subscriber}; anything else an
 * {@linkcode NSSubscriber} on `nameserver` (or `"localhost"`), started. Unknown keys raise
 * `TypeError`, as Python's keyword arguments do.
 *
 * @param settings the settings
 * @param options configuration and logger
 * @returns the subscriber
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createSubscriberFromDictConfig } from "./subscriber.ts";
 * const sub = await createSubscriberFromDictConfig({ addresses: ["tcp://127.0.0.1:40000"], nameserver: false });
 * assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:40000"]); // a plain Subscriber
 * await sub.close();
 * ```
 */
export async function createSubscriberFromDictConfig(
  settings: SubscriberSettings & Record<string, unknown>,
  options: { config?: PosttrollConfig; logger?: Logger } = {},
): Promise<Subscriber> {
  for (const k of Object.keys(settings)) {
    if (!SUBSCRIBER_KEYS.has(k)) {
      throw new TypeError(`Subscriber got an unexpected keyword argument '${k}'`);
    }
  }
  const addresses = toList(settings.addresses);
  if (addresses.length && settings.nameserver === false) {
    return new Subscriber(addresses, {
      topics: settings.topics ?? "",
      messageFilter: settings.message_filter,
      translate: settings.translate,
      config: options.config,
      logger: options.logger,
    });
  }
  return await new NSSubscriber({
    services: settings.services === undefined ? "" : settings.services,
    topics: settings.topics ?? MAGICK,
    addrListener: settings.addr_listener ?? false,
    addresses: settings.addresses ?? null,
    timeout: settings.timeout ?? 10,
    translate: settings.translate ?? false,
    nameserver: settings.nameserver || "localhost",
    messageFilter: settings.message_filter,
    config: options.config,
    logger: options.logger,
  }).start();
}

/**
 * Creates a subscriber chosen by posttroll's rules (the `Subscribe` context manager): use with
 * `await using sub = await subscribe({...})`.
 *
 * @param options services, topics, addresses, nameserver, configuration
 * @returns the subscriber
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { subscribe } from "./subscriber.ts";
 * import { NameServer } from "./nameserver.ts";
 * const nameserver = new NameServer(); // on a free loopback port, knowing one service
 * const serving = nameserver.run({ this_data: [{ URI: "tcp://127.0.0.1:40000" }] }, "tcp://127.0.0.1:0");
 * const [endpoint] = await nameserver.ready;
 * {
 *   await using sub = await subscribe({ services: "this_data", topics: "counter", nameserver: endpoint });
 *   assertEquals(sub.addresses.map((a) => a.URI), ["tcp://127.0.0.1:40000"]);
 * }
 * await nameserver.stop();
 * await serving;
 * ```
 */
export async function subscribe(options: SubscribeOptions = {}): Promise<Subscriber> {
  // posttroll's rule (create_subscriber_from_dict_config): addresses and no nameserver give a
  // plain Subscriber, anything else an NSSubscriber; every other option is passed on
  const { nameserver, ...rest } = options;
  const addresses = toList(options.addresses);
  if (addresses.length && nameserver === false) {
    return new Subscriber(addresses, { ...subscriberPart(rest), topics: options.topics ?? "" });
  }
  return await new NSSubscriber({ ...rest, nameserver: nameserver || "localhost" }).start();
}

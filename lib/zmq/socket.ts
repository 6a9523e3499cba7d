/**
 * The socket base class: binding (TCP, IPv6, ipc), connecting with reconnection, the connection
 * set, events, linger and close. Socket types extend it in their own modules.
 *
 * @module
 */
import type { Connection, ConnectionHandler } from "./connection.ts";
import { Connection as Conn } from "./connection.ts";
import { type Endpoint, formatTcp, parseEndpoint } from "./endpoint.ts";
import { ZmqClosedError, ZmqError, ZmqLimitError } from "./errors.ts";
import { toBytes } from "./frame.ts";
import { HandshakeError } from "./mechanism.ts";
import { selectMechanism } from "./security.ts";
import type { Frame, Multipart, SignalOptions, SocketEvent, SocketOptions } from "./types.ts";
import { sleep } from "../_util/abort.ts";
import { Channel } from "../_util/channel.ts";
import { WakeList } from "../_util/wake.ts";

interface Binding {
  listener: Deno.Listener;
  /** Aborted when the binding closes (ends a back-off wait of the accept loop). */
  stop: AbortController;
  loop: Promise<void>;
  path?: string;
  conns: Set<Connection>;
}

interface Connector {
  ctl: AbortController;
  loop: Promise<void>;
  conn?: Connection;
}

const MAX_EVENTS = 1000;

/** Defaults of the limits in {@linkcode SocketOptions}. */
export const LIMIT_DEFAULTS: {
  readonly maxMessageSize: number;
  readonly maxBufferedBytes: number;
  readonly maxConnections: number;
} = {
  maxMessageSize: 256 * 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxConnections: 4096,
};

/** A connection silent this long (ms) may make room at `maxConnections` (see #makeRoom). */
const SILENT_GRACE = 1000;

/** Back-off after a failed accept (EMFILE, ENFILE, ENOMEM...): doubling from 10 ms to 1 s. */
const ACCEPT_RETRY_MIN = 10;
const ACCEPT_RETRY_MAX = 1000;

/**
 * Bytes of a message (all its frames).
 *
 * @param frames the frames
 * @returns the total length
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { multipartSize } from "./socket.ts";
 * assertEquals(multipartSize([new Uint8Array(2), new Uint8Array(3)]), 5);
 * ```
 */
export function multipartSize(frames: Multipart): number {
  if (frames.length === 1) return frames[0].length;
  let n = 0;
  for (const f of frames) n += f.length;
  return n;
}

/**
 * Converts a message given as one frame or a list of frames to bytes.
 *
 * @param msg frame or frames
 * @returns the frames as bytes
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { toMultipart } from "./socket.ts";
 * assert(toMultipart(["a", "b"]).length === 2);
 * ```
 */
export function toMultipart(msg: Frame | Frame[]): Multipart {
  if (Array.isArray(msg)) return msg.map(toBytes);
  return [toBytes(msg)];
}

/**
 * Base class of every socket type. Sockets are async iterables of received messages
 * (send-only sockets end the iteration at close) and async-disposable.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PubSocket } from "./pub.ts";
 * await using pub = new PubSocket();
 * const endpoint = await pub.bind("tcp://127.0.0.1:0");
 * assert(endpoint.startsWith("tcp://127.0.0.1:"));
 * ```
 */
export abstract class ZmqSocket implements AsyncIterable<Multipart>, AsyncDisposable {
  /** ZMTP socket type name, e.g. "PUB". */
  abstract readonly type: string;
  /**
   * Effective options.
   *
   * @ignore
   */
  protected readonly options: Readonly<SocketOptions>;
  /**
   * Ready connections, in the order they became ready.
   *
   * @ignore
   */
  protected peers: Connection[] = [];
  readonly #binds = new Map<string, Binding>();
  readonly #connects = new Map<string, Connector>();
  readonly #runs = new Set<Promise<unknown>>();
  readonly #stopping = new Set<Promise<void>>();
  readonly #all = new Set<Connection>();
  readonly #events = new Channel<SocketEvent>({ capacity: MAX_EVENTS });
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #closedSignal = Promise.withResolvers<void>();
  readonly #peerWait = new WakeList();
  readonly #handler: ConnectionHandler;

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options (see {@linkcode SocketOptions})
   */
  constructor(options: SocketOptions = {}) {
    this.options = { ...options };
    this.#handler = {
      onReady: (c) => {
        this.peers.push(c);
        this.emit({ type: "connected", endpoint: c.endpoint, peer: c.peer! });
        this.onPeerReady(c);
        this.#peerWait.wakeAll();
      },
      onMessage: (c, frames) => this.onMessage(c, frames),
      onSubscription: (c, topic, on) => this.onSubscription(c, topic, on),
      backpressure: (c) => this.backpressure(c),
    };
  }

  /** Largest inbound message accepted from a peer (bytes). */
  protected get maxMessageSize(): number {
    return this.options.maxMessageSize ?? LIMIT_DEFAULTS.maxMessageSize;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // ---- hooks for socket types ----
  /**
   * A connection completed its handshake.
   *
   * @ignore
   */
  protected onPeerReady(_c: Connection): void {}
  /**
   * A ready connection went away.
   *
   * @ignore
   */
  protected onPeerGone(_c: Connection): void {}
  /**
   * A message arrived from `c`.
   *
   * @ignore
   */
  protected onMessage(_c: Connection, _frames: Multipart): void {}
  /**
   * A SUBSCRIBE/CANCEL command arrived from `c`.
   *
   * @ignore
   */
  protected onSubscription(_c: Connection, _topic: Uint8Array, _on: boolean): void {}
  /**
   * Back-pressure for readers: a promise while the socket cannot take more input from `c`.
   *
   * @ignore
   */
  protected backpressure(_c: Connection): Promise<void> | null {
    return null;
  }

  /**
   * Whether a ready connection idle for long may make room for a new one at `maxConnections`
   * (sockets whose clients connect, ask and go, like REP).
   *
   * @ignore
   */
  protected evictsIdlePeers(): boolean {
    return false;
  }
  /**
   * Fail pending receives at close.
   *
   * @ignore
   */
  protected onClose(): void {}

  /**
   * Throws ZmqClosedError when closed.
   *
   * @ignore
   */
  protected assertOpen(): void {
    if (this.#closed) throw new ZmqClosedError();
  }

  /**
   * Waits until some peer is ready (any new handshake wakes it).
   *
   * @param signal aborts the wait
   */
  protected waitPeer(signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ZmqClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        if (this.#closed) reject(new ZmqClosedError());
        else resolve();
      };
      const onAbort = () => {
        this.#peerWait.remove(wake);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#peerWait.add(wake);
    });
  }

  #rr = 0;

  /**
   * The next peer in round-robin order that can take a message now, or undefined (PUSH and REQ
   * load-balance this way, as libzmq's lb does; wait with {@linkcode waitWritable} and retry).
   *
   * @ignore
   */
  protected writablePeer(): Connection | undefined {
    const n = this.peers.length;
    for (let i = 0; i < n; i++) {
      const p = this.peers[(this.#rr + i) % n];
      if (p.writable) {
        this.#rr = (this.#rr + i + 1) % n;
        return p;
      }
    }
    return undefined;
  }

  /**
   * Waits until a peer's queue drains or a new peer arrives.
   *
   * @param signal aborts the wait
   */
  protected waitWritable(signal?: AbortSignal): Promise<void> {
    const waits: Promise<void>[] = [this.waitPeer(signal)];
    for (const p of this.peers) waits.push(p.drained());
    return Promise.race(waits).then(() => this.#peerWait.wakeAll());
  }

  // ---- events ----
  /**
   * Records an event (dropping the oldest beyond the buffer).
   *
   * @ignore
   */
  protected emit(ev: SocketEvent): void {
    this.#events.push(ev);
  }

  /**
   * Stream of socket events (listening, connected, disconnected, handshake-failed, closed); one
   * bounded buffer per socket that drops the oldest events when nobody reads. Ends after "closed".
   *
   * @returns async iterable of events
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { SubSocket } from "./sub.ts";
   * const sub = new SubSocket();
   * await sub.close();
   * const seen: string[] = [];
   * for await (const ev of sub.events()) seen.push(ev.type); // ends after "closed"
   * assertEquals(seen, ["closed"]);
   * ```
   */
  events(): AsyncIterable<SocketEvent> {
    const events = this.#events;
    return { [Symbol.asyncIterator]: () => events[Symbol.asyncIterator]() };
  }

  // ---- binding ----
  /**
   * Binds to an endpoint and accepts peers in the background.
   *
   * @param endpoint "tcp://127.0.0.1:0", "tcp://*:5556", "tcp://[::1]:0", "ipc:///tmp/sock"
   * @returns the concrete endpoint (with the real port)
   * @throws {ZmqError} when the address is in use or invalid
   */
  bind(endpoint: string): Promise<string> {
    try {
      return Promise.resolve(this.#bind(endpoint));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #bind(endpoint: string): string {
    this.assertOpen();
    const ep = parseEndpoint(endpoint);
    let listener: Deno.Listener;
    let concrete: string;
    try {
      if (ep.transport === "tcp") {
        listener = Deno.listen({ hostname: ep.host, port: ep.port });
        const a = listener.addr as Deno.NetAddr;
        concrete = formatTcp(a.hostname, a.port);
      } else {
        try {
          Deno.removeSync(ep.path);
        } catch { /* no stale file */ }
        listener = Deno.listen({ transport: "unix", path: ep.path });
        concrete = `ipc://${ep.path}`;
      }
    } catch (e) {
      throw new ZmqError(`cannot bind ${endpoint}: ${(e as Error).message}`, { cause: e });
    }
    const binding: Binding = {
      listener,
      stop: new AbortController(),
      loop: Promise.resolve(),
      path: ep.transport === "ipc" ? ep.path : undefined,
      conns: new Set(),
    };
    binding.loop = this.#acceptLoop(binding, concrete);
    this.#binds.set(concrete, binding);
    this.emit({ type: "listening", endpoint: concrete });
    return concrete;
  }

  /**
   * Binds to a random port of `host` in [min, max), like pyzmq's bind_to_random_port.
   *
   * @param host "127.0.0.1", "tcp://*", "tcp://[::1]", ...
   * @param min lowest port @default 49152
   * @param max one past the highest port @default 65536
   * @param maxTries attempts before giving up @default 100
   * @returns the port bound
   * @throws {ZmqError} when no port could be bound
   */
  async bindRandomPort(host: string, min = 49152, max = 65536, maxTries = 100): Promise<number> {
    const base = host.startsWith("tcp://") ? host : `tcp://${host}`;
    let last: unknown;
    for (let i = 0; i < maxTries; i++) {
      const port = min + Math.floor(Math.random() * (max - min));
      try {
        await this.bind(`${base}:${port}`);
        return port;
      } catch (e) {
        last = e;
        if (this.#closed) throw e;
      }
    }
    throw new ZmqError(`could not bind ${base} to a port in [${min}, ${max})`, { cause: last });
  }

  async #acceptLoop(b: Binding, endpoint: string): Promise<void> {
    const max = this.options.maxConnections ?? LIMIT_DEFAULTS.maxConnections;
    let retry = ACCEPT_RETRY_MIN;
    while (!this.#closed && !b.stop.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await b.listener.accept();
      } catch (e) {
        if (
          this.#closed || b.stop.signal.aborted ||
          e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted
        ) break; // listener closed
        // EMFILE, ENFILE, ENOBUFS, ECONNABORTED...: the listener still works once the cause
        // goes away (connections close), so wait and accept again
        this.emit({
          type: "accept-failed",
          endpoint,
          reason: (e as Error).message,
          retryMs: retry,
        });
        await sleep(retry, b.stop.signal);
        retry = Math.min(ACCEPT_RETRY_MAX, retry * 2);
        continue;
      }
      retry = ACCEPT_RETRY_MIN;
      if (this.#closed) {
        conn.close();
        break;
      }
      const addr = conn.remoteAddr.transport === "unix" ? "" : (conn.remoteAddr as Deno.NetAddr)
        .hostname;
      if (max > 0 && b.conns.size >= max && !this.#makeRoom(b, endpoint, addr)) {
        try {
          conn.close();
        } catch { /* closed */ }
        continue;
      }
      this.#configure(conn);
      const p = this.#runConnection(conn, endpoint, true, addr, (c) => b.conns.add(c));
      p.then((c) => b.conns.delete(c));
    }
  }

  /**
   * At `maxConnections`: closes a connection to make room for one from `addr`, if one may go —
   * the one silent longest (least recently received from) among those silent for at least
   * `SILENT_GRACE` ms: on sockets that evict idle peers (REP) any of them, elsewhere only one
   * still in its handshake. A flood of new connections therefore replaces its own older ones,
   * never a client that has just connected; when none may go, the new connection is closed (a
   * client reconnects).
   */
  #makeRoom(b: Binding, endpoint: string, addr: string): boolean {
    let victim: Connection | undefined;
    const idle = this.evictsIdlePeers();
    const silentSince = Date.now() - SILENT_GRACE;
    for (const c of b.conns) {
      if (c.closed || c.lastReceived > silentSince || (!idle && c.peer)) continue;
      if (!victim || c.lastReceived < victim.lastReceived) victim = c;
    }
    const who = addr || "an ipc peer";
    const max = this.options.maxConnections ?? LIMIT_DEFAULTS.maxConnections;
    if (!victim) {
      this.emit({
        type: "limit",
        endpoint,
        limit: "maxConnections",
        detail: `${b.conns.size} connections (maxConnections ${max}): refused ${who}`,
      });
      return false;
    }
    this.emit({
      type: "limit",
      endpoint,
      limit: "maxConnections",
      detail: `${b.conns.size} connections (maxConnections ${max}): closed the ${
        victim.peer ? "longest silent" : "longest unfinished"
      } connection for ${who}`,
    });
    victim.close(new ZmqLimitError("maxConnections", "closed to make room for a new connection"));
    b.conns.delete(victim);
    return true;
  }

  /**
   * Unbinds an endpoint as returned by bind(), or as given to it when that named a port
   * (closing its listener and its connections).
   *
   * @param endpoint the endpoint
   */
  async unbind(endpoint: string): Promise<void> {
    let key = endpoint;
    if (!this.#binds.has(key)) {
      // accept the endpoint as given to bind() when it named a concrete port ("tcp://*:5555")
      const ep = parseEndpoint(endpoint);
      if (ep.transport === "tcp") key = formatTcp(ep.host, ep.port);
    }
    const b = this.#binds.get(key);
    if (!b) throw new ZmqError(`not bound to ${endpoint}`);
    this.#binds.delete(key);
    await this.#closeBinding(b);
  }

  async #closeBinding(b: Binding): Promise<void> {
    b.stop.abort();
    try {
      b.listener.close();
    } catch { /* closed */ }
    for (const c of b.conns) c.close();
    await b.loop;
    if (b.path) {
      try {
        Deno.removeSync(b.path);
      } catch { /* gone */ }
    }
  }

  // ---- connecting ----
  /**
   * Connects to an endpoint in the background, reconnecting after failures and disconnections.
   *
   * @param endpoint "tcp://127.0.0.1:5555", "tcp://[::1]:5555", "ipc:///tmp/sock"
   * @throws {ZmqError} on an invalid endpoint
   */
  connect(endpoint: string): void {
    this.assertOpen();
    const ep = parseEndpoint(endpoint);
    if (this.#connects.has(endpoint)) return;
    const c: Connector = { ctl: new AbortController(), loop: Promise.resolve() };
    c.loop = this.#connectLoop(endpoint, ep, c);
    this.#connects.set(endpoint, c);
  }

  /**
   * Stops connecting to an endpoint and drops its connection.
   *
   * @param endpoint the endpoint given to connect()
   */
  disconnect(endpoint: string): void {
    const c = this.#connects.get(endpoint);
    if (!c) throw new ZmqError(`not connected to ${endpoint}`);
    this.#connects.delete(endpoint);
    c.ctl.abort();
    c.conn?.close();
    this.#stopping.add(c.loop);
    c.loop.then(() => this.#stopping.delete(c.loop));
  }

  async #connectLoop(endpoint: string, ep: Endpoint, c: Connector): Promise<void> {
    const base = this.options.reconnectInterval ?? 100;
    const max = this.options.reconnectIntervalMax ?? 0;
    let ivl = base;
    const signal = c.ctl.signal;
    const grow = () => {
      if (max > base) ivl = Math.min(max, ivl * 2);
    };
    while (!signal.aborted && !this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = ep.transport === "tcp"
          ? await Deno.connect({ hostname: ep.host, port: ep.port, signal })
          : await Deno.connect({ transport: "unix", path: ep.path });
      } catch {
        await sleep(ivl, signal);
        grow();
        continue;
      }
      if (signal.aborted || this.#closed) {
        conn.close();
        break;
      }
      this.#configure(conn);
      const addr = conn.remoteAddr.transport === "tcp"
        ? (conn.remoteAddr as Deno.NetAddr).hostname
        : "";
      let ready = false;
      const done = this.#runConnection(conn, endpoint, false, addr, (cn) => {
        c.conn = cn;
      }, (r) => (ready = r));
      await done;
      c.conn = undefined;
      if (ready) ivl = base;
      else grow();
      await sleep(ivl, signal);
    }
  }

  #configure(conn: Deno.Conn): void {
    if (conn.localAddr.transport !== "tcp") return;
    const tcp = conn as Deno.TcpConn;
    // libzmq sets TCP_NODELAY on every TCP connection. Without it Nagle's algorithm holds a small
    // write back until the previous segment is acknowledged, and the peer's delayed ACK turns that
    // into ~40 ms per request/reply and ~20 ms median latency for paced pub/sub.
    try {
      tcp.setNoDelay(true);
    } catch { /* unsupported */ }
    if (this.options.tcpKeepalive) {
      try {
        tcp.setKeepAlive(true);
      } catch { /* unsupported */ }
    }
  }

  #runConnection(
    conn: Deno.Conn,
    endpoint: string,
    accepted: boolean,
    address: string,
    onCreate: (c: Connection) => void,
    onOutcome?: (ready: boolean) => void,
  ): Promise<Connection> {
    const o = this.options;
    const mech = selectMechanism(o, accepted);
    const hb = o.heartbeatInterval ?? 0;
    const c = new Conn(conn, {
      endpoint,
      socketType: this.type,
      mechanism: mech.name,
      asServer: mech.asServer,
      peerAddress: address,
      handshake: mech.handshake,
      authorize: mech.asServer ? o.authorize : undefined,
      handshakeTimeout: o.handshakeTimeout ?? 10_000,
      heartbeatInterval: hb,
      heartbeatTimeout: o.heartbeatTimeout ?? hb,
      sendHighWaterMark: o.sendHighWaterMark ?? 1000,
      maxMessageSize: this.maxMessageSize,
      maxBufferedBytes: o.maxBufferedBytes ?? LIMIT_DEFAULTS.maxBufferedBytes,
    }, this.#handler);
    this.#all.add(c);
    onCreate(c);
    if (this.#closed) c.close();
    const p = c.run().then((out) => {
      this.#all.delete(c);
      onOutcome?.(out.ready);
      const err = out.error ?? out.handshakeError;
      if (err instanceof ZmqLimitError && err.limit === "maxMessageSize") {
        this.emit({ type: "limit", endpoint, limit: "maxMessageSize", detail: err.message });
      }
      if (out.ready) {
        const i = this.peers.indexOf(c);
        if (i >= 0) this.peers.splice(i, 1);
        this.onPeerGone(c);
        this.emit({ type: "disconnected", endpoint, peer: c.peer });
      } else if (!this.#closed) {
        const err = out.handshakeError;
        this.emit({
          type: "handshake-failed",
          endpoint,
          reason: err?.message ?? "connection closed during the handshake",
          authRefused: err instanceof HandshakeError && err.authRefused,
        });
      }
      return c;
    });
    this.#runs.add(p);
    p.then(() => this.#runs.delete(p));
    return p;
  }

  // ---- lifetime ----
  /**
   * Closes the socket: stops accepting and connecting, waits up to `linger` ms for queued output,
   * closes every connection, fails pending calls with ZmqClosedError, removes ipc socket files.
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    for (const c of this.#connects.values()) c.ctl.abort();
    for (const b of this.#binds.values()) {
      b.stop.abort();
      try {
        b.listener.close();
      } catch { /* closed */ }
    }
    const linger = this.options.linger ?? 0;
    if (linger > 0 && this.peers.length) {
      const ctl = new AbortController();
      await Promise.race([
        Promise.all(this.peers.map((p) => p.flushed())),
        sleep(linger, ctl.signal),
      ]);
      ctl.abort();
    }
    for (const c of this.#all) c.close();
    this.onClose();
    this.#peerWait.wakeAll();
    await Promise.all([...this.#connects.values()].map((c) => c.loop));
    await Promise.all([...this.#stopping]);
    await Promise.all([...this.#binds.values()].map((b) => this.#closeBinding(b)));
    while (this.#runs.size) await Promise.all([...this.#runs]);
    this.#connects.clear();
    this.#binds.clear();
    this.#closedSignal.resolve();
    this.emit({ type: "closed" });
    this.#events.close();
  }

  /** Same as close(). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * A message already queued for iteration, taken without waiting (none for send-only sockets).
   *
   * @ignore
   */
  protected pollForIteration(): Multipart | undefined {
    return undefined;
  }

  /**
   * Next message for iteration; send-only sockets wait until close.
   *
   * @ignore
   */
  protected nextForIteration(_opts?: SignalOptions): Promise<Multipart> {
    return this.#closedSignal.promise.then(() => {
      throw new ZmqClosedError();
    });
  }

  /** Iterates received messages until the socket closes (`break` leaves the socket open). */
  [Symbol.asyncIterator](): AsyncIterator<Multipart> {
    // hand-written rather than an async generator: one promise per message
    const done: IteratorResult<Multipart> = { value: undefined, done: true };
    let finished = false;
    return {
      next: (): Promise<IteratorResult<Multipart>> => {
        if (finished) return Promise.resolve(done);
        const m = this.pollForIteration();
        if (m !== undefined) return Promise.resolve({ value: m, done: false });
        return this.nextForIteration().then(
          (value) => ({ value, done: false }),
          (e) => {
            if (e instanceof ZmqClosedError) {
              finished = true;
              return done;
            }
            throw e;
          },
        );
      },
      return: (): Promise<IteratorResult<Multipart>> => {
        finished = true;
        return Promise.resolve(done);
      },
    };
  }
}

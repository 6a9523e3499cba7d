/**
 * One ZMTP connection over a Deno stream (TCP or Unix socket): greeting, mechanism handshake,
 * frame reading into one growing buffer, coalesced writes, commands and heartbeats. The socket
 * types sit above it through {@linkcode ConnectionHandler}.
 *
 * @module
 */
import { buildCommand, buildPing, parseCommand } from "./command.ts";
import { ZmqClosedError, ZmqLimitError, ZmqProtocolError } from "./errors.ts";
import {
  FLAG_COMMAND,
  FLAG_MORE,
  FrameDecoder,
  frameHeaderLength,
  OutBuffer,
  writeFrameHeader,
} from "./frame.ts";
import { buildGreeting, GREETING_SIZE, parseGreeting } from "./greeting.ts";
import {
  type HandshakeContext,
  HandshakeError,
  type HandshakeIO,
  type HandshakeResult,
  type MessageCodec,
} from "./mechanism.ts";
import type { PeerInfo } from "./types.ts";
import { WakeList } from "../_util/wake.ts";
import { macrotask } from "./yield.ts";

/**
 * Frame bodies at least this large are written from the caller's array, not copied (one more
 * write for their header: Deno has no vectored write, but copying 64 KiB bodies into the output
 * buffer measured slower than the extra write).
 */
const ZERO_COPY_MIN = 16384;

/** Output buffers grow by doubling up to this size, then in blocks of it (never copied to grow). */
const OUT_BLOCK = 262144;

/** Written output blocks a connection keeps for its next burst once everything was written. */
const IDLE_BLOCKS = 2;

/** Queued bytes that make a write worth starting at once, without waiting for more. */
const COALESCE_BYTES = 65536;

/**
 * Read sizes: a connection starts with small buffers (an idle connection holds little) and
 * doubles its read size, up to `READ_MAX`, each time a read fills all the space it offered.
 */
const READ_MIN = 2048;
const READ_MAX = 65536;

/** Room a frame may take beyond the message budget (CURVE box and command name overhead). */
const FRAME_SLACK = 64;

/** Command names read in place, each as a body starts: its length byte, then the name. */
const PING = buildCommand("PING");
const SUBSCRIBE = buildCommand("SUBSCRIBE");
const CANCEL = buildCommand("CANCEL");

function startsWith(body: Uint8Array, name: Uint8Array): boolean {
  if (body.length < name.length) return false;
  for (let i = 0; i < name.length; i++) if (body[i] !== name[i]) return false;
  return true;
}

/** True for a SUBSCRIBE command body, false for CANCEL, undefined for any other command. */
function isSubscription(body: Uint8Array): boolean | undefined {
  return startsWith(body, SUBSCRIBE) ? true : startsWith(body, CANCEL) ? false : undefined;
}

/** Callbacks from a connection to the socket that owns it. */
export interface ConnectionHandler {
  /** Handshake done; the connection may carry messages. */
  onReady(c: Connection): void;
  /** A complete message arrived. */
  onMessage(c: Connection, frames: Uint8Array[]): void;
  /**
   * SUBSCRIBE (on=true) or CANCEL command arrived; `topic` is a view of the read buffer, valid
   * during the call only (copy what is kept).
   */
  onSubscription(c: Connection, topic: Uint8Array, on: boolean): void;
  /**
   * Resolves when the socket can take more input from `c` (receive high-water mark, buffered
   * input bytes), or null at once. Asked before each message is handed on and before each read;
   * after it resolves the connection asks again.
   */
  backpressure(c: Connection): Promise<void> | null;
}

/** How to run a connection. */
export interface ConnectionOptions {
  /** Endpoint string, for events. */
  endpoint: string;
  /** Our socket type. */
  socketType: string;
  /** Mechanism name for the greeting. */
  mechanism: "NULL" | "CURVE";
  /** Handshake role. */
  asServer: boolean;
  /** Peer address ("" for ipc). */
  peerAddress: string;
  /** The mechanism's handshake. */
  handshake: (io: HandshakeIO, ctx: HandshakeContext) => Promise<HandshakeResult>;
  /** Authorization hook (server). */
  authorize?: (peer: PeerInfo) => boolean | Promise<boolean>;
  /** ms for the whole handshake. */
  handshakeTimeout: number;
  /** ms between PINGs, 0 = off. */
  heartbeatInterval: number;
  /** ms of silence tolerated after a PING. */
  heartbeatTimeout: number;
  /** Messages queued per peer before `writable` turns false. */
  sendHighWaterMark: number;
  /** Largest inbound message (all frames); more drops the connection. */
  maxMessageSize: number;
  /** Output bytes queued before `writable` turns false (also the per-connection input budget). */
  maxBufferedBytes: number;
}

/** Outcome of {@linkcode Connection.run}. */
export interface ConnectionOutcome {
  /** True when the handshake completed (the connection was usable). */
  ready: boolean;
  /** Why it ended. */
  error?: Error;
  /** Handshake failure reason, when not ready. */
  handshakeError?: HandshakeError | Error;
}

/**
 * A ZMTP connection; `run()` drives it until it ends.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Connection, type ConnectionHandler, type ConnectionOptions } from "./connection.ts";
 * import { nullHandshake } from "./mechanism.ts";
 * // a PUSH -> PULL pair over one loopback TCP connection, without the socket layer
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const [client, server] = await Promise.all([
 *   Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
 *   listener.accept(),
 * ]);
 * listener.close();
 * const options = (socketType: string, asServer: boolean): ConnectionOptions => ({
 *   endpoint: "tcp://127.0.0.1", socketType, mechanism: "NULL", asServer, peerAddress: "127.0.0.1",
 *   handshake: nullHandshake, handshakeTimeout: 5000, heartbeatInterval: 0, heartbeatTimeout: 0,
 *   sendHighWaterMark: 1000, maxMessageSize: 1 << 20, maxBufferedBytes: 1 << 20,
 * });
 * const got = Promise.withResolvers<string>();
 * const handler = (onReady: (c: Connection) => void): ConnectionHandler => ({
 *   onReady,
 *   onMessage: (c, frames) => {
 *     got.resolve(new TextDecoder().decode(frames[0]));
 *     c.close();
 *   },
 *   onSubscription: () => {},
 *   backpressure: () => null,
 * });
 * const push = new Connection(
 *   client,
 *   options("PUSH", false),
 *   handler((c) => c.sendMessage([new TextEncoder().encode("hello")])),
 * );
 * const pull = new Connection(server, options("PULL", true), handler(() => {}));
 * const [pushed, pulled] = await Promise.all([push.run(), pull.run()]);
 * assertEquals(await got.promise, "hello");
 * assertEquals([pushed.ready, pulled.ready], [true, true]);
 * ```
 */
export class Connection {
  readonly #conn: Deno.Conn;
  readonly #opts: ConnectionOptions;
  readonly #h: ConnectionHandler;
  readonly #dec: FrameDecoder;
  /** Written output blocks for reuse, shared by #out and #spare; trimmed when the output is idle. */
  readonly #pool: Uint8Array[] = [];
  #out = new OutBuffer(256, ZERO_COPY_MIN, OUT_BLOCK, this.#pool);
  #spare = new OutBuffer(256, ZERO_COPY_MIN, OUT_BLOCK, this.#pool);
  #readSize = READ_MIN;
  #msgBytes = 0;
  #pongQueued = false;
  #inBytes = 0;
  readonly #inSpace = new WakeList();
  /** Ends the read loop's wait for the socket's room (see #park) when the connection closes. */
  #unpark: (() => void) | undefined;
  #unflushed = 0;
  /** Messages in the write in progress. */
  #inFlight = 0;
  #writing: Promise<void> | null = null;
  readonly #drain = new WakeList();
  /** Woken after every chunk written (drainedWithin). */
  readonly #progress = new WakeList();
  /** The one timer that ends every drainedWithin() wait begun while it is armed. */
  #progressTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #progressTimeout = (): void => {
    this.#progressTimer = undefined;
    this.#progress.wakeAll();
  };
  #codec: MessageCodec | undefined;
  #closed = false;
  #closeError: Error | undefined;
  #hbTimer: ReturnType<typeof setInterval> | undefined;
  #ttlTimer: ReturnType<typeof setInterval> | undefined;
  #ttl = 0;
  #lastRecv = Date.now();
  #parts: Uint8Array[] = [];
  /** Messages queued and not yet written. */
  queued = 0;
  /** Peer ZMTP minor version (0 = ZMTP 3.0). */
  peerMinor = 1;
  /** Peer info once ready. */
  peer: PeerInfo | undefined;
  /** Peer socket type once ready. */
  peerSocketType = "";
  /** Socket-private state (subscriptions of a PUB peer, ...). */
  state: unknown;

  /**
   * @param conn the stream
   * @param opts options
   * @param handler socket callbacks
   */
  constructor(conn: Deno.Conn, opts: ConnectionOptions, handler: ConnectionHandler) {
    this.#conn = conn;
    this.#opts = opts;
    this.#h = handler;
    this.#dec = new FrameDecoder({
      initialSize: READ_MIN,
      directMin: ZERO_COPY_MIN,
      maxFrameSize: opts.maxMessageSize + FRAME_SLACK,
    });
  }

  /** Endpoint this connection belongs to. */
  get endpoint(): string {
    return this.#opts.endpoint;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued and not yet written (including the write in progress). */
  get backlog(): number {
    return this.#out.size + (this.#writing ? this.#spare.size : 0);
  }

  /**
   * True while fewer than sendHighWaterMark messages and fewer than maxBufferedBytes bytes are
   * queued for this peer.
   */
  get writable(): boolean {
    const hwm = this.#opts.sendHighWaterMark;
    return (hwm <= 0 || this.queued < hwm) && this.backlog < this.#opts.maxBufferedBytes;
  }

  /** When bytes last arrived from the peer (ms since the epoch). */
  get lastReceived(): number {
    return this.#lastRecv;
  }

  /** Bytes of this peer's messages that the socket holds and has not handed out yet. */
  get inputBytes(): number {
    return this.#inBytes;
  }

  /** True while the socket holds at least maxBufferedBytes of this peer's input. */
  get inputFull(): boolean {
    return this.#inBytes >= this.#opts.maxBufferedBytes;
  }

  /**
   * The socket keeps `n` bytes of this peer's input (queued for receive()).
   *
   * @param n bytes
   */
  retain(n: number): void {
    this.#inBytes += n;
  }

  /**
   * The socket handed out (or dropped) `n` bytes of this peer's input.
   *
   * @param n bytes
   */
  release(n: number): void {
    this.#inBytes -= n;
    if (this.#inSpace.size && !this.inputFull) this.#inSpace.wakeAll();
  }

  /** Resolves when the socket holds less than maxBufferedBytes of this peer's input (or closed). */
  inputSpace(): Promise<void> {
    if (!this.inputFull || this.#closed) return Promise.resolve();
    return this.#inSpace.wait();
  }

  async #fill(): Promise<void> {
    const view = this.#dec.writable(this.#readSize);
    this.#filled(view, await this.#conn.read(view));
  }

  /** Takes in a read of `n` bytes into `view` (null: the peer closed). */
  #filled(view: Uint8Array, n: number | null): void {
    if (n === null) throw new ZmqClosedError("peer closed the connection");
    this.#dec.commit(n);
    this.#lastRecv = Date.now();
    if (n === view.length && this.#readSize < READ_MAX) this.#readSize *= 2;
  }

  /** Drives greeting, handshake and the read loop; resolves when the connection is gone. */
  async run(): Promise<ConnectionOutcome> {
    const o = this.#opts;
    let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(
      () => this.close(new ZmqProtocolError("handshake timed out")),
      o.handshakeTimeout,
    );
    let result: HandshakeResult;
    try {
      this.#out.raw(buildGreeting(o.mechanism, o.asServer && o.mechanism !== "NULL"));
      this.#kick();
      let g: Uint8Array | null;
      while ((g = this.#dec.take(GREETING_SIZE)) === null) await this.#fill();
      const greeting = parseGreeting(g);
      if (greeting.mechanism !== o.mechanism) {
        throw new HandshakeError(
          `security mechanism mismatch: we use ${o.mechanism}, peer uses ${greeting.mechanism}`,
        );
      }
      this.peerMinor = greeting.major > 3 ? 1 : greeting.minor;
      const io: HandshakeIO = {
        readCommand: async () => {
          while (true) {
            if (this.#dec.next()) {
              if (!(this.#dec.flags & FLAG_COMMAND)) {
                throw new ZmqProtocolError("expected a command frame during the handshake");
              }
              return this.#dec.body;
            }
            await this.#fill();
          }
        },
        writeCommand: (body) => {
          this.#out.frame(body, FLAG_COMMAND);
          this.#kick();
          return Promise.resolve();
        },
      };
      result = await o.handshake(io, {
        socketType: o.socketType,
        asServer: o.asServer,
        peerAddress: o.peerAddress,
        authorize: o.authorize,
      });
      clearTimeout(timer);
      timer = undefined;
      if (this.#closed) throw this.#closeError ?? new ZmqClosedError();
    } catch (e) {
      clearTimeout(timer);
      const err = this.#closeError ?? (e as Error);
      // let an ERROR command reach the peer before closing
      if (!this.#closed && this.#writing) await this.#writing;
      this.close(err);
      await this.#writing;
      return { ready: false, handshakeError: err, error: err };
    }
    this.#codec = result.codec;
    // CURVE decrypts into fresh arrays, so frames can be read as views of the read buffer
    if (this.#codec) this.#dec.copy = false;
    // commands are handled at once in the read loop (a socket keeping a topic copies it)
    this.#dec.commandViews = true;
    this.peer = result.peer;
    this.peerSocketType = result.peerSocketType;
    if (o.heartbeatInterval > 0) this.#startHeartbeat();
    this.#h.onReady(this);
    try {
      await this.#readLoop();
    } catch (e) {
      let err = e as Error;
      if (err instanceof ZmqLimitError && !err.message.includes("maxMessageSize")) {
        // the decoder refused a frame header: say whose message and which limit
        err = new ZmqLimitError(
          "maxMessageSize",
          `${err.message}: message from ${this.#opts.peerAddress || "an ipc peer"} exceeds ` +
            `maxMessageSize ${this.#opts.maxMessageSize}: disconnected`,
        );
      }
      this.close(err);
    }
    this.close();
    await this.#writing;
    return { ready: true, error: this.#closeError };
  }

  #startHeartbeat(): void {
    const ivl = this.#opts.heartbeatInterval;
    const timeout = this.#opts.heartbeatTimeout || ivl;
    const ttl = Math.min(0xffff, Math.round(timeout / 100));
    this.#hbTimer = setInterval(() => {
      if (Date.now() - this.#lastRecv > ivl + timeout) {
        this.close(new ZmqProtocolError("heartbeat timed out"));
        return;
      }
      this.sendCommand(buildPing("PING", ttl));
    }, ivl);
  }

  async #readLoop(): Promise<void> {
    const dec = this.#dec;
    const max = this.#opts.maxMessageSize;
    while (!this.#closed) {
      while (dec.next()) {
        let flags = dec.flags;
        let body = dec.body;
        if (this.#codec) {
          if (body.length >= 8 && body[0] === 7 && body[1] === 0x4d /* M */) {
            const d = this.#codec.decode(body); // MESSAGE
            body = d.body;
            flags = (d.flags & 1 ? FLAG_MORE : 0) | (d.flags & 2 ? FLAG_COMMAND : 0);
          } else if (flags & FLAG_COMMAND) {
            this.#command(body);
            continue;
          } else {
            throw new ZmqProtocolError("unencrypted frame on a CURVE connection");
          }
        }
        if (flags & FLAG_COMMAND) {
          this.#command(body);
          continue;
        }
        const total = this.#msgBytes + body.length;
        if (total > max) {
          throw new ZmqLimitError(
            "maxMessageSize",
            `message of ${total}+ bytes from ${this.#opts.peerAddress || "an ipc peer"} ` +
              `exceeds maxMessageSize ${max}: disconnected`,
          );
        }
        if (!(flags & FLAG_MORE)) {
          let parts: Uint8Array[];
          if (this.#parts.length === 0) parts = [body]; // one exact-size array per message
          else {
            parts = this.#parts;
            parts.push(body);
            this.#parts = [];
          }
          this.#msgBytes = 0;
          dec.maxFrameSize = max + FRAME_SLACK;
          // the socket takes it only while it has room (its queue, or where it forwards to, is
          // below its limits): otherwise this loop waits, reading nothing (TCP pushes back)
          const room = this.#room();
          if (room !== null && !await room) return;
          this.#h.onMessage(this, parts);
        } else {
          this.#parts.push(body);
          // the rest of the message must fit in what is left of the budget
          this.#msgBytes = total;
          dec.maxFrameSize = max - total + FRAME_SLACK;
        }
      }
      const room = this.#room();
      if (room !== null && !await room) return;
      if (this.#closed) break;
      // as #fill(), without an async function (and its promise) per read
      const view = dec.writable(this.#readSize);
      this.#filled(view, await this.#conn.read(view));
    }
  }

  /**
   * Null when the socket has room for this peer's input now, else resolves once it has (true)
   * or this connection closed (false).
   */
  #room(): Promise<boolean> | null {
    const bp = this.#h.backpressure(this);
    return bp === null ? null : this.#waitRoom(bp);
  }

  async #waitRoom(first: Promise<void>): Promise<boolean> {
    for (let bp: Promise<void> | null = first; bp !== null; bp = this.#h.backpressure(this)) {
      await this.#park(bp);
      if (this.#closed) return false;
    }
    return true;
  }

  /** Waits until `bp` resolves or this connection closes, whichever comes first. */
  #park(bp: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      this.#unpark = resolve;
      bp.then(resolve);
    });
  }

  #command(body: Uint8Array): void {
    // PING is read in place (a peer may send millions of them): no parse, no allocation
    if (body.length >= 7 && startsWith(body, PING)) {
      // the peer's TTL (deciseconds): drop the connection if it then stays silent that long
      const ttl = ((body[5] << 8) | body[6]) * 100;
      if (ttl > 0) this.#armTtl(ttl);
      // one PONG queued at a time (as libzmq): a peer that PINGs and never reads cannot make
      // the replies pile up
      if (this.#pongQueued) return;
      this.#pongQueued = true;
      this.sendCommand(buildPing("PONG", 0, body.subarray(7, 23)));
      return;
    }
    // SUBSCRIBE and CANCEL are read in place too (a peer may send floods of them): the topic is
    // a view of the frame, which the socket copies if it keeps it
    const on = isSubscription(body);
    if (on !== undefined) {
      this.#h.onSubscription(this, body.subarray((on ? SUBSCRIBE : CANCEL).length), on);
      return;
    }
    const cmd = parseCommand(body);
    switch (cmd.name) {
      case "PING": // shorter than a TTL: answered all the same
        if (this.#pongQueued) break;
        this.#pongQueued = true;
        this.sendCommand(buildPing("PONG"));
        break;
      case "ERROR":
        throw new ZmqProtocolError("peer sent ERROR");
      default:
        break; // PONG and unknown commands are ignored
    }
  }

  #armTtl(ttl: number): void {
    this.#ttl = ttl;
    if (this.#ttlTimer !== undefined || this.#closed) return;
    this.#ttlTimer = setInterval(() => {
      if (Date.now() - this.#lastRecv > this.#ttl) {
        this.close(new ZmqProtocolError("peer heartbeat TTL expired"));
      }
    }, Math.max(20, Math.min(1000, ttl >> 2)));
  }

  /**
   * Queues one message (its frames) for writing; never waits.
   *
   * @param frames the frames
   * @param copy copy every frame (the caller reuses the arrays); otherwise frames of 16 KiB and
   *   more are written from the caller's arrays, which must stay unmodified
   */
  sendMessage(frames: Uint8Array[], copy = false): void {
    if (this.#closed) return;
    const last = frames.length - 1;
    const codec = this.#codec;
    for (let i = 0; i <= last; i++) {
      if (codec) this.#encodeFrame(codec, frames[i], i < last ? 1 : 0);
      else this.#out.frame(frames[i], i < last ? FLAG_MORE : 0, copy);
    }
    this.queued++;
    this.#unflushed++;
    if (!this.#writing) this.#kick();
  }

  /** True when {@linkcode Connection.sendText} can queue a message (open, not under CURVE). */
  get takesText(): boolean {
    return !this.#closed && this.#codec === undefined;
  }

  /**
   * Queues a one-frame message whose body is the UTF-8 of `head + tail`, encoded straight into
   * the output buffer; never waits. Not under CURVE (undefined: nothing queued).
   *
   * @param head the start of the text (see {@linkcode OutBuffer.text} for surrogate pairs)
   * @param tail the rest of the text
   * @returns the encoded body (a view of the output buffer, to be copied at once if needed), or
   *   undefined when closed or under CURVE
   */
  sendText(head: string, tail: string): Uint8Array | undefined {
    if (!this.takesText) return undefined;
    const body = this.#out.text(head, tail, 0);
    this.queued++;
    this.#unflushed++;
    if (!this.#writing) this.#kick();
    return body;
  }

  /**
   * Queues a command frame (encrypted under CURVE).
   *
   * @param body command body
   */
  sendCommand(body: Uint8Array): void {
    if (this.#closed) return;
    if (this.#codec) this.#encodeFrame(this.#codec, body, 2);
    else this.#out.frame(body, FLAG_COMMAND);
    if (!this.#writing) this.#kick();
  }

  /** CURVE: small frames are sealed straight into the output buffer, large ones by reference. */
  #encodeFrame(codec: MessageCodec, body: Uint8Array, flags: number): void {
    const n = codec.encodedLength(body.length);
    if (n >= ZERO_COPY_MIN) {
      // one array holding header and MESSAGE: one write chunk per frame
      const hl = frameHeaderLength(n);
      const framed = new Uint8Array(hl + n);
      writeFrameHeader(framed, 0, n, 0);
      codec.encodeInto(body, flags, framed, hl);
      this.#out.chunk(framed);
      return;
    }
    const off = this.#out.reserveFrame(n, 0);
    codec.encodeInto(body, flags, this.#out.bytes, off);
  }

  #kick(): void {
    if (this.#writing || this.#closed) return;
    // The first write of an idle connection goes at once: waiting for the end of the sender's
    // burst (one event-loop turn, 40-60 µs and up to 0.3-0.8 ms on a loaded machine) delayed
    // every lone message by that much (posttroll p50 at 1,000 msg/s 0.20 -> 0.32 ms). While a
    // write is in progress the sender's burst piles up; the next write waits for the rest of it
    // (one turn), so a burst leaves in two writes, not one syscall per message. When all that
    // is queued sits in one buffer (a lone message), it is written without entering the async
    // #flush(): its frame and chunk list were ~850 bytes of garbage per paced message.
    const one = this.#out.single();
    if (one === undefined) {
      this.#writing = this.#flush(true).then(this.#flushEnded);
      return;
    }
    this.#take();
    this.#writing = this.#conn.write(one).then(this.#wroteOne, this.#writeFailed);
  }

  /** After a flush (one bound function: no closure and no `finally` chain per kick). */
  readonly #flushEnded = (): void => {
    this.#writing = null;
    if (this.#out.size > 0 && !this.#closed) this.#kick();
  };

  /** #kick()'s lone write took `n` bytes; the rest (if any) and what came meanwhile as #flush. */
  readonly #wroteOne = (n: number): Promise<void> | void => {
    const buf = this.#spare;
    if (n < buf.size) return this.#flush(false, buf.single()!.subarray(n)).then(this.#flushEnded);
    this.#progress.wakeAll();
    this.#written(buf);
    if (this.#out.size > 0 && !this.#closed) return this.#flush(false).then(this.#flushEnded);
    this.#idle();
    this.#writing = null;
  };

  readonly #writeFailed = (e: unknown): void => {
    this.close(e as Error);
    this.#writing = null;
  };

  /** Swaps the buffers: what was queued is written from #spare, new messages go to #out. */
  #take(): OutBuffer {
    const buf = this.#out;
    this.#out = this.#spare;
    this.#spare = buf;
    this.#inFlight = this.#unflushed;
    this.#unflushed = 0;
    return buf;
  }

  /** The write of `buf` (taken by #take()) completed. */
  #written(buf: OutBuffer): void {
    buf.reset();
    this.#pongQueued = false;
    this.queued -= this.#inFlight;
    this.#inFlight = 0;
    this.#drain.wakeAll();
  }

  /** All written: the blocks of the burst beyond a few go to the garbage collector. */
  #idle(): void {
    if (this.#pool.length > IDLE_BLOCKS) this.#pool.length = IDLE_BLOCKS;
  }

  /**
   * Writes until nothing is queued: first `rest` (the unwritten end of #kick()'s lone write),
   * then each burst, after one event-loop turn unless `first` (see #kick()).
   */
  async #flush(first: boolean, rest?: Uint8Array): Promise<void> {
    try {
      if (rest !== undefined) {
        let off = 0;
        while (off < rest.length) {
          off += await this.#conn.write(off === 0 ? rest : rest.subarray(off));
        }
        this.#progress.wakeAll();
        this.#written(this.#spare);
      }
      while (this.#out.size > 0 && !this.#closed) {
        if (!first && this.#out.size < COALESCE_BYTES) {
          await macrotask();
          if (this.#closed) break;
        }
        first = false;
        const buf = this.#take();
        for (const chunk of buf.chunks()) {
          let off = 0;
          while (off < chunk.length) {
            off += await this.#conn.write(off === 0 ? chunk : chunk.subarray(off));
          }
          this.#progress.wakeAll();
        }
        this.#written(buf);
      }
      this.#idle();
    } catch (e) {
      this.close(e as Error);
    }
  }

  /** Resolves when a write completed (queued may have dropped) or the connection closed. */
  drained(): Promise<void> {
    if (this.#closed || this.queued === 0) return Promise.resolve();
    return this.#drain.wait();
  }

  /**
   * Resolves when the write in progress got a chunk (up to 256 KiB) further or the connection
   * closed, or after `ms`, whichever comes first.
   *
   * @param ms the longest wait
   * @returns when to go on
   */
  drainedWithin(ms: number): Promise<void> {
    if (this.#closed || !this.#writing) return Promise.resolve();
    // One timer per connection, not one per wait: a publisher awaiting every send behind a
    // subscriber's large backlog (64 KiB messages) otherwise armed and cleared a timer per
    // message. A wait may so end earlier than `ms` (the timer was armed by an earlier wait),
    // never later.
    if (this.#progressTimer === undefined) {
      this.#progressTimer = setTimeout(this.#progressTimeout, ms);
    }
    return this.#progress.wait();
  }

  /** Resolves when everything queued was written (or the connection closed). */
  async flushed(): Promise<void> {
    while (!this.#closed && (this.#out.size > 0 || this.#writing)) {
      if (this.#writing) await this.#writing;
      else this.#kick();
    }
  }

  /**
   * Closes the stream (idempotent); `run()` then resolves.
   *
   * @param error why, if it failed
   */
  close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    clearInterval(this.#hbTimer);
    clearInterval(this.#ttlTimer);
    clearTimeout(this.#progressTimer);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#drain.wakeAll();
    this.#progress.wakeAll();
    this.#inSpace.wakeAll();
    this.#unpark?.();
    this.#unpark = undefined;
  }
}

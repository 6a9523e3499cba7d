/**
 * REP socket: fair-queues requests from all peers (one request from each peer in turn, as libzmq
 * does); receive() returns the request body (envelope stripped) and the next send() routes the
 * reply, with the envelope, to the requesting peer.
 *
 * Every peer has its own queue, bounded by the receive high-water mark and `maxBufferedBytes`
 * (beyond them reading from that peer pauses). A peer whose replies are not being read (its send
 * queue is full) is not served until it reads, so pipelined requests from a peer that never reads
 * cost nothing; a reply that finds the peer's queue full is dropped, as libzmq drops it.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { ZmqClosedError, ZmqStateError } from "./errors.ts";
import { multipartSize, toMultipart, ZmqSocket } from "./socket.ts";
import type { Frame, Multipart, SignalOptions, SocketOptions } from "./types.ts";
import { WakeList } from "../_util/wake.ts";

interface Request {
  peer: Connection;
  envelope: Uint8Array[];
  body: Multipart;
  size: number;
}

/** Requests of one peer not yet received. */
interface PeerQueue {
  items: Request[];
  head: number;
  /** In the ring of peers with pending requests. */
  listed: boolean;
  /** A drain of this (blocked) peer will wake a waiting receive(). */
  watched: boolean;
  /** Reads from this peer, paused at the receive high-water mark, wait here for room. */
  space: WakeList;
}

function queueOf(c: Connection): PeerQueue {
  return c.state as PeerQueue;
}

/**
 * Replier.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RepSocket } from "./rep.ts";
 * import { ReqSocket } from "./req.ts";
 * await using rep = new RepSocket();
 * const endpoint = await rep.bind("tcp://127.0.0.1:0");
 * const echo = (async () => {
 *   for await (const [req] of rep) await rep.send(req); // ends when rep closes
 * })();
 * await using req = new ReqSocket();
 * req.connect(endpoint);
 * await req.send("ping");
 * assertEquals(new TextDecoder().decode((await req.receive())[0]), "ping");
 * await rep.close();
 * await echo;
 * ```
 */
export class RepSocket extends ZmqSocket {
  /** ZMTP socket type. */
  readonly type: string = "REP";
  /** Replies dropped because the requester's send queue was full. */
  dropped = 0;
  readonly #hwm: number;
  /** Peers with pending requests, in turn order. */
  #ring: Connection[] = [];
  #current: Request | undefined;
  #receiving = false;
  #wake: (() => void) | undefined;
  #fail: ((e: unknown) => void) | undefined;

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options
   */
  constructor(options: SocketOptions = {}) {
    super(options);
    this.#hwm = Math.max(1, options.receiveHighWaterMark ?? 1000);
  }

  /** @ignore */
  protected override evictsIdlePeers(): boolean {
    return true;
  }

  /** @ignore */
  protected override onPeerReady(c: Connection): void {
    c.state = { items: [], head: 0, listed: false, watched: false, space: new WakeList() };
  }

  /** @ignore */
  protected override onPeerGone(c: Connection): void {
    const q = queueOf(c);
    if (!q) return;
    q.items = [];
    q.head = 0;
    q.space.wakeAll();
    this.#wake?.();
  }

  /** @ignore */
  protected override onMessage(c: Connection, frames: Multipart): void {
    let i = 0;
    while (i < frames.length && frames[i].length !== 0) i++;
    if (i >= frames.length) return; // no delimiter: malformed, drop
    const size = multipartSize(frames);
    const q = queueOf(c);
    q.items.push({ peer: c, envelope: frames.slice(0, i + 1), body: frames.slice(i + 1), size });
    c.retain(size);
    if (!q.listed) {
      q.listed = true;
      this.#ring.push(c);
    }
    this.#wake?.();
  }

  /** @ignore */
  protected override backpressure(c: Connection): Promise<void> | null {
    const q = queueOf(c);
    if (!q) return null;
    if (c.inputFull) return c.inputSpace();
    if (q.items.length - q.head < this.#hwm) return null;
    return q.space.wait();
  }

  /** @ignore */
  protected override onClose(): void {
    for (const c of this.#ring) {
      const q = queueOf(c);
      q.items = [];
      q.head = 0;
      q.space.wakeAll();
    }
    this.#ring = [];
    this.#fail?.(new ZmqClosedError());
  }

  /** Takes the next request from the first peer in turn that can take a reply. */
  #take(): Request | undefined {
    const ring = this.#ring;
    for (let i = 0; i < ring.length; i++) {
      const c = ring[i];
      const q = queueOf(c);
      if (c.closed || q.head >= q.items.length) {
        ring.splice(i--, 1);
        q.listed = false;
        continue;
      }
      if (!c.writable) continue; // its replies are not being read: serve others first
      const r = q.items[q.head];
      (q.items as unknown[])[q.head++] = undefined;
      if (q.head >= q.items.length) {
        q.items = [];
        q.head = 0;
      }
      c.release(r.size);
      if (q.space.size && q.items.length - q.head < this.#hwm) q.space.wakeAll();
      // round robin: this peer goes to the back of the ring, or leaves it when served out
      ring.splice(i, 1);
      if (q.items.length > q.head) ring.push(c);
      else q.listed = false;
      return r;
    }
    return undefined;
  }

  /** Waits for a new request, a blocked peer that drains, close, or abort. */
  #wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.#wake = undefined;
        this.#fail = undefined;
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      this.#wake = () => {
        done();
        resolve();
      };
      this.#fail = (e) => {
        done();
        reject(e);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const c of this.#ring) {
        const q = queueOf(c);
        if (c.writable || q.watched) continue;
        q.watched = true;
        c.drained().then(() => {
          q.watched = false;
          this.#wake?.();
        });
      }
    });
  }

  /**
   * Receives the next request.
   *
   * @param opts `signal` aborts the wait
   * @returns the request frames (envelope stripped)
   * @throws {ZmqStateError} when the previous request was not answered
   */
  async receive(opts?: SignalOptions): Promise<Multipart> {
    if (this.#current || this.#receiving) {
      throw new ZmqStateError("REP socket must send() the reply before the next receive()");
    }
    this.#receiving = true;
    try {
      while (true) {
        this.assertOpen();
        const r = this.#take();
        if (r) {
          this.#current = r;
          return r.body;
        }
        await this.#wait(opts?.signal);
      }
    } finally {
      this.#receiving = false;
    }
  }

  /**
   * Sends the reply to the peer of the last request (dropped if that peer is gone, or if its send
   * queue is full: the send high-water mark or `maxBufferedBytes`, as libzmq drops it).
   *
   * @param msg one frame or a list of frames (byte frames >= 16 KiB are not copied: leave them
   *   unmodified)
   * @param _opts accepted for symmetry (never waits)
   * @throws {ZmqStateError} when there is no request to answer
   */
  send(msg: Frame | Frame[], _opts?: SignalOptions): Promise<void> {
    this.assertOpen();
    const cur = this.#current;
    if (!cur) {
      return Promise.reject(new ZmqStateError("REP socket must receive() a request before send()"));
    }
    this.#current = undefined;
    if (cur.peer.writable) cur.peer.sendMessage([...cur.envelope, ...toMultipart(msg)]);
    else if (!cur.peer.closed) this.dropped++;
    return Promise.resolve();
  }

  /** @ignore */
  protected override nextForIteration(): Promise<Multipart> {
    return this.receive();
  }
}

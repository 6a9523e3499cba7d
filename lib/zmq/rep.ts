/**
 * REP socket: fair-queues requests from all peers; receive() returns the request body (envelope
 * stripped) and the next send() routes the reply, with the envelope, to the requesting peer.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { ZmqStateError } from "./errors.ts";
import { AsyncQueue } from "./queue.ts";
import { toMultipart, ZmqSocket } from "./socket.ts";
import type { Frame, Multipart, SignalOptions, SocketOptions } from "./types.ts";

interface Request {
  peer: Connection;
  envelope: Uint8Array[];
  body: Multipart;
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
  readonly #queue: AsyncQueue<Request>;
  #current: Request | undefined;
  #receiving = false;

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options
   */
  constructor(options: SocketOptions = {}) {
    super(options);
    this.#queue = new AsyncQueue(options.receiveHighWaterMark ?? 1000);
  }

  /** @ignore */
  protected override onMessage(c: Connection, frames: Multipart): void {
    let i = 0;
    while (i < frames.length && frames[i].length !== 0) i++;
    if (i >= frames.length) return; // no delimiter: malformed, drop
    this.#queue.push({ peer: c, envelope: frames.slice(0, i + 1), body: frames.slice(i + 1) });
  }

  /** @ignore */
  protected override backpressure(): Promise<void> | null {
    return this.#queue.full ? this.#queue.space() : null;
  }

  /** @ignore */
  protected override onClose(): void {
    this.#queue.close();
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
        const r = await this.#queue.get(opts?.signal);
        if (r.peer.closed) continue; // requester gone: nobody to answer
        this.#current = r;
        return r.body;
      }
    } finally {
      this.#receiving = false;
    }
  }

  /**
   * Sends the reply to the peer of the last request (dropped if that peer is gone).
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
    cur.peer.sendMessage([...cur.envelope, ...toMultipart(msg)]);
    return Promise.resolve();
  }

  /** @ignore */
  protected override nextForIteration(): Promise<Multipart> {
    return this.receive();
  }
}

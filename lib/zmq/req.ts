/**
 * REQ socket: strict send/receive alternation; each request goes to the next peer in round-robin
 * with an empty delimiter frame, and only that peer's reply is accepted.
 *
 * If the peer a request went to disconnects before replying, the pending (or next) receive() fails
 * with a ZmqError and the socket returns to the idle state, so the caller can send again (libzmq
 * would wait forever unless ZMQ_REQ_RELAXED is set).
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { ZmqClosedError, ZmqError, ZmqStateError } from "./errors.ts";
import { toMultipart, ZmqSocket } from "./socket.ts";
import type { Frame, Multipart, SignalOptions } from "./types.ts";

const EMPTY = new Uint8Array(0);

/**
 * Requester.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ReqSocket } from "./req.ts";
 * import { RepSocket } from "./rep.ts";
 * await using rep = new RepSocket();
 * const endpoint = await rep.bind("tcp://127.0.0.1:0");
 * const serving = (async () => {
 *   const [request] = await rep.receive();
 *   await rep.send(new TextDecoder().decode(request) === "ping" ? "pong" : "?");
 * })();
 * await using req = new ReqSocket();
 * req.connect(endpoint);
 * await req.send("ping");
 * const [reply] = await req.receive({ signal: AbortSignal.timeout(5000) });
 * assertEquals(new TextDecoder().decode(reply), "pong");
 * await serving;
 * ```
 */
export class ReqSocket extends ZmqSocket {
  /** ZMTP socket type. */
  readonly type: string = "REQ";
  #pending = false;
  #target: Connection | undefined;
  #reply: Multipart | undefined;
  #failure: Error | undefined;
  #waiter: { resolve: () => void } | undefined;

  /**
   * Sends a request to the next available peer (waits for one if none is connected).
   *
   * @param msg one frame or a list of frames (byte frames >= 16 KiB are not copied: leave them
   *   unmodified)
   * @param opts `signal` aborts the wait for a peer
   * @throws {ZmqStateError} when a reply is still expected
   */
  async send(msg: Frame | Frame[], opts?: SignalOptions): Promise<void> {
    this.assertOpen();
    if (this.#pending) {
      throw new ZmqStateError("REQ socket expects receive() of the previous reply before send()");
    }
    const frames = toMultipart(msg);
    this.#pending = true;
    this.#reply = undefined;
    this.#failure = undefined;
    try {
      let peer: Connection | undefined;
      while (!(peer = this.writablePeer())) await this.waitWritable(opts?.signal);
      this.#target = peer;
      peer.sendMessage([EMPTY, ...frames]);
    } catch (e) {
      this.#pending = false;
      throw e;
    }
  }

  /** @ignore */
  protected override onMessage(c: Connection, frames: Multipart): void {
    if (c !== this.#target || !this.#pending || this.#reply) return;
    if (frames.length < 1 || frames[0].length !== 0) return; // no delimiter: drop
    this.#reply = frames.slice(1);
    this.#waiter?.resolve();
  }

  /** @ignore */
  protected override onPeerGone(c: Connection): void {
    if (c === this.#target && this.#pending && !this.#reply) {
      this.#failure = new ZmqError(
        `peer ${c.endpoint} disconnected before replying; the request was lost, send it again`,
      );
      this.#waiter?.resolve();
    }
  }

  /** @ignore */
  protected override onClose(): void {
    this.#waiter?.resolve();
  }

  /**
   * Receives the reply to the last request.
   *
   * @param opts `signal` aborts the wait (the request stays pending)
   * @returns the reply frames (delimiter stripped)
   * @throws {ZmqStateError} when no request was sent
   * @throws {ZmqError} when the peer disconnected before replying
   */
  async receive(opts?: SignalOptions): Promise<Multipart> {
    if (!this.#pending) {
      this.assertOpen();
      throw new ZmqStateError("REQ socket must send() a request before receive()");
    }
    const signal = opts?.signal;
    while (!this.#reply && !this.#failure) {
      this.assertOpen();
      if (signal?.aborted) throw signal.reason;
      if (this.#waiter) throw new ZmqStateError("REQ receive() is already waiting");
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.#waiter = undefined;
          reject(signal!.reason);
        };
        this.#waiter = {
          resolve: () => {
            this.#waiter = undefined;
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    this.#pending = false;
    this.#target = undefined;
    if (this.#failure) throw this.#failure;
    const r = this.#reply!;
    this.#reply = undefined;
    return r;
  }

  /** @ignore */
  protected override nextForIteration(): Promise<Multipart> {
    if (this.closed) return Promise.reject(new ZmqClosedError());
    return this.receive();
  }
}

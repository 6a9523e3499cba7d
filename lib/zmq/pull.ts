/**
 * PULL socket: fair-queues messages from all PUSH peers.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { AsyncQueue } from "./queue.ts";
import { LIMIT_DEFAULTS, multipartSize, ZmqSocket } from "./socket.ts";
import type { Multipart, SignalOptions, SocketOptions } from "./types.ts";

/**
 * Puller.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PullSocket } from "./pull.ts";
 * import { PushSocket } from "./push.ts";
 * await using pull = new PullSocket();
 * const endpoint = await pull.bind("tcp://127.0.0.1:0");
 * await using push = new PushSocket();
 * push.connect(endpoint);
 * await push.send("job 1");
 * const [job] = await pull.receive({ signal: AbortSignal.timeout(5000) });
 * assertEquals(new TextDecoder().decode(job), "job 1");
 * ```
 */
export class PullSocket extends ZmqSocket {
  /** ZMTP socket type. */
  readonly type: string = "PULL";
  readonly #queue: AsyncQueue<Multipart>;

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options
   */
  constructor(options: SocketOptions = {}) {
    super(options);
    this.#queue = new AsyncQueue(options.receiveHighWaterMark ?? 1000, {
      max: options.maxBufferedBytes ?? LIMIT_DEFAULTS.maxBufferedBytes,
      sizeOf: multipartSize,
    });
  }

  /** @ignore */
  protected override onMessage(_c: Connection, frames: Multipart): void {
    this.#queue.push(frames);
  }

  /** @ignore */
  protected override backpressure(_c: Connection): Promise<void> | null {
    return this.#queue.full ? this.#queue.space() : null;
  }

  /** @ignore */
  protected override onClose(): void {
    this.#queue.close();
  }

  /**
   * Receives the next message.
   *
   * @param opts `signal` aborts the wait
   * @returns the frames
   */
  receive(opts?: SignalOptions): Promise<Multipart> {
    return this.#queue.get(opts?.signal);
  }

  /** @ignore */
  protected override nextForIteration(): Promise<Multipart> {
    return this.#queue.get();
  }
}

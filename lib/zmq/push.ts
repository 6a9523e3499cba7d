/**
 * PUSH socket: round-robins messages over peers whose queue is below the send high-water mark and
 * waits when none is available.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { toMultipart, ZmqSocket } from "./socket.ts";
import type { Frame, SignalOptions } from "./types.ts";

/**
 * Pusher.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PushSocket } from "./push.ts";
 * import { PullSocket } from "./pull.ts";
 * await using pull = new PullSocket();
 * const endpoint = await pull.bind("tcp://127.0.0.1:0");
 * await using push = new PushSocket();
 * push.connect(endpoint);
 * await push.send("job", { signal: AbortSignal.timeout(5000) }); // waits for a peer
 * const [frame] = await pull.receive();
 * assertEquals(new TextDecoder().decode(frame), "job");
 * ```
 */
export class PushSocket extends ZmqSocket {
  /** ZMTP socket type. */
  readonly type: string = "PUSH";
  /**
   * Sends a message to the next peer; waits while no peer can take it.
   *
   * @param msg one frame or a list of frames (byte frames >= 16 KiB are not copied: leave them
   *   unmodified)
   * @param opts `signal` aborts the wait
   */
  async send(msg: Frame | Frame[], opts?: SignalOptions): Promise<void> {
    this.assertOpen();
    const frames = toMultipart(msg);
    let p: Connection | undefined;
    while (!(p = this.writablePeer())) await this.waitWritable(opts?.signal);
    p.sendMessage(frames);
  }
}

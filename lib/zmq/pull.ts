/**
 * PULL socket: fair-queues messages from all PUSH peers.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { InboxSocket } from "./inbox.ts";
import type { Multipart } from "./types.ts";

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
export class PullSocket extends InboxSocket {
  /** ZMTP socket type. */
  readonly type: string = "PULL";

  /** @ignore */
  protected override onMessage(_c: Connection, frames: Multipart): void {
    this.deliver(frames);
  }
}

/**
 * SUB socket: subscribes by prefix (changeable at run time, replayed to every new or reconnected
 * publisher), filters what arrives and queues it for receive().
 *
 * @module
 */
import { buildSubscribeCommand, buildSubscribeMessage } from "./command.ts";
import type { Connection } from "./connection.ts";
import { toBytes } from "./frame.ts";
import { InboxSocket } from "./inbox.ts";
import { SubscriptionSet } from "./subscriptions.ts";
import type { Frame, Multipart, SocketOptions } from "./types.ts";

/**
 * Subscriber.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SubSocket } from "./sub.ts";
 * import { PubSocket } from "./pub.ts";
 * await using pub = new PubSocket();
 * const endpoint = await pub.bind("tcp://127.0.0.1:0");
 * await using sub = new SubSocket();
 * sub.subscribe("pytroll://");
 * sub.connect(endpoint); // reconnects until the publisher is there
 * while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10));
 * await pub.send(["other"]); // filtered out by the publisher
 * await pub.send(["pytroll://a"]);
 * assertEquals(new TextDecoder().decode((await sub.receive())[0]), "pytroll://a");
 * ```
 */
export class SubSocket extends InboxSocket {
  /** ZMTP socket type. */
  readonly type: string = "SUB";
  readonly #subs = new SubscriptionSet();

  /**
   * Creates the socket (it does nothing until bind() or connect()).
   *
   * @param options socket options
   */
  constructor(options: SocketOptions = {}) {
    super(options);
  }

  #send(c: Connection, topic: Uint8Array, on: boolean): void {
    if (c.peerMinor >= 1 && c.peer?.mechanism === "NULL") {
      c.sendCommand(buildSubscribeCommand(topic, on));
    } else {
      c.sendMessage([buildSubscribeMessage(topic, on)]);
    }
  }

  /**
   * Subscribes to messages whose first frame starts with `prefix` ("" = everything).
   *
   * @param prefix topic prefix @default ""
   */
  subscribe(prefix: Frame = ""): void {
    this.assertOpen();
    const p = toBytes(prefix);
    if (this.#subs.add(p)) { for (const c of this.peers) this.#send(c, p, true); }
  }

  /**
   * Removes one subscription to `prefix`.
   *
   * @param prefix topic prefix @default ""
   */
  unsubscribe(prefix: Frame = ""): void {
    this.assertOpen();
    const p = toBytes(prefix);
    if (this.#subs.remove(p)) { for (const c of this.peers) this.#send(c, p, false); }
  }

  /** @ignore */
  protected override onPeerReady(c: Connection): void {
    for (const p of this.#subs.prefixes) this.#send(c, p, true);
  }

  /** @ignore */
  protected override onMessage(_c: Connection, frames: Multipart): void {
    if (this.#subs.matches(frames[0])) this.deliver(frames);
  }
}

/**
 * A background listener whose messages land on an output queue, equivalent to posttroll's
 * `listener.ListenerContainer`: it subscribes (with the nameserver's address announcements
 * followed) and copies every message to {@linkcode ListenerContainer.outputQueue}, which the
 * caller reads with `get(timeout)` or `for await`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ListenerContainer } from "./listener.ts";
 * import { Publisher } from "./publisher.ts";
 * import { Message } from "./message.ts";
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * await using listener = new ListenerContainer({
 *   topics: ["/counter"],
 *   addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
 *   nameserver: false,
 * });
 * await listener.ready;
 * const timer = setInterval(() => pub.send(new Message("/counter", "info", "1")), 20);
 * const msg = await listener.outputQueue!.get(5); // waits up to 5 s
 * clearInterval(timer);
 * assertEquals(msg.data, "1");
 * ```
 * @module
 */
import type { PosttrollConfig } from "./config.ts";
import type { Message } from "./message.ts";
import {
  type AddressLike,
  createSubscriberFromDictConfig,
  type Logger,
  type Subscriber,
} from "./subscriber.ts";
import { Channel } from "../_util/channel.ts";
import { QueueEmptyError } from "./errors.ts";
export { PosttrollError, QueueEmptyError } from "./errors.ts";

/**
 * An unbounded FIFO of messages with one or more readers.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MessageQueue } from "./listener.ts";
 * const q = new MessageQueue<string>();
 * q.put("a");
 * assertEquals(await q.get(0), "a");
 * ```
 */
export class MessageQueue<T = Message> implements AsyncIterable<T> {
  readonly #items = new Channel<T>();

  /** Number of queued items. */
  get size(): number {
    return this.#items.size;
  }

  /**
   * Appends an item.
   *
   * @param item the item
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MessageQueue } from "./listener.ts";
   * const q = new MessageQueue<number>();
   * q.put(1);
   * assertEquals(q.size, 1);
   * ```
   */
  put(item: T): void {
    this.#items.push(item);
  }

  /**
   * Takes the oldest item, waiting up to `timeout` seconds (`undefined`: forever).
   *
   * @param timeout seconds
   * @param options `signal` aborts the wait
   * @returns the item
   * @throws {QueueEmptyError} on timeout or when closed and empty
   * @example
   * ```ts
   * import { assertEquals, assertRejects } from "@std/assert";
   * import { MessageQueue, QueueEmptyError } from "./listener.ts";
   * const q = new MessageQueue<number>();
   * await assertRejects(() => q.get(0.01), QueueEmptyError); // nothing within 10 ms
   * setTimeout(() => q.put(7), 5);
   * assertEquals(await q.get(), 7); // no timeout: waits
   * ```
   */
  async get(timeout?: number, options: { signal?: AbortSignal } = {}): Promise<T> {
    return await this.#items.receiveWithin(
      timeout,
      options.signal,
      () => new QueueEmptyError(timeout ?? 0),
    );
  }

  /** Ends iteration once the queue is drained. */
  close(): void {
    this.#items.close();
  }

  /**
   * Yields items until the queue is closed and drained.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MessageQueue } from "./listener.ts";
   * const q = new MessageQueue<number>();
   * q.put(1);
   * q.put(2);
   * q.close();
   * const got: number[] = [];
   * for await (const n of q) got.push(n);
   * assertEquals(got, [1, 2]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#items[Symbol.asyncIterator]();
  }
}

/** Options of {@linkcode ListenerContainer}. */
export interface ListenerContainerOptions {
  /** Topics; without topics nothing is listened to (as in posttroll). @default null (none) */
  topics?: string | string[] | null;
  /** Publisher addresses, besides those found through the nameserver. @default null (none) */
  addresses?: AddressLike | AddressLike[] | null;
  /** Nameserver host; `false` with addresses: no nameserver. @default "localhost" */
  nameserver?: string | false | null;
  /** Services. @default "" (all) */
  services?: string | string[] | null;
  /** Configuration. @default the shared config */
  config?: PosttrollConfig;
  /** Where the subscriber reports dropped input and address changes. @default silent */
  logger?: Logger;
}

/**
 * Listens in the background (subscriber with `addr_listener` on) and queues every message.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ListenerContainer } from "./listener.ts";
 * const lc = new ListenerContainer({ topics: ["/counter"], addresses: ["tcp://127.0.0.1:40000"], nameserver: false });
 * await lc.ready;
 * assert(lc.subscriber !== undefined);
 * await lc.stop();
 * ```
 */
export class ListenerContainer implements AsyncDisposable {
  /** Messages received, oldest first (undefined when no topics were given). */
  readonly outputQueue: MessageQueue<Message> | undefined;
  /** Resolves once subscribed (rejects when the subscriber cannot be created). */
  readonly ready: Promise<void>;
  #subscriber: Subscriber | undefined;
  #loop: Promise<void> = Promise.resolve();
  #stopped = false;

  /**
   * Creates the container and starts listening in the background (see
   * {@linkcode ListenerContainer.ready}).
   *
   * @param options topics, addresses, nameserver, services, configuration
   */
  constructor(options: ListenerContainerOptions = {}) {
    const topics = options.topics;
    if (topics === null || topics === undefined) {
      this.outputQueue = undefined;
      this.ready = Promise.resolve();
      return;
    }
    const queue = new MessageQueue<Message>();
    this.outputQueue = queue;
    this.ready = (async () => {
      if (!topics.length) return;
      const sub = await createSubscriberFromDictConfig({
        services: options.services ?? "",
        topics,
        addr_listener: true,
        addresses: options.addresses ?? null,
        nameserver: options.nameserver === undefined ? "localhost" : options.nameserver,
      }, { config: options.config, logger: options.logger });
      if (this.#stopped) {
        await sub.close();
        return;
      }
      this.#subscriber = sub;
      this.#loop = (async () => {
        for await (const msg of sub.recv(1)) {
          if (msg === null) {
            if (this.#stopped) break;
            continue;
          }
          queue.put(msg);
        }
      })();
    })();
    this.ready.catch(() => {});
  }

  /** The subscriber (after `ready`). */
  get subscriber(): Subscriber | undefined {
    return this.#subscriber;
  }

  /**
   * Stops listening and closes the subscriber; queued messages stay readable.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ListenerContainer } from "./listener.ts";
   * import { Message } from "./message.ts";
   * const lc = new ListenerContainer({ topics: ["/counter"], addresses: ["tcp://127.0.0.1:40000"], nameserver: false });
   * await lc.ready;
   * lc.outputQueue!.put(new Message("/counter", "info")); // stands for a message received
   * await lc.stop();
   * assertEquals(lc.subscriber, undefined);
   * assertEquals((await lc.outputQueue!.get(0)).subject, "/counter"); // what was queued stays readable
   * ```
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.ready.catch(() => {});
    const s = this.#subscriber;
    this.#subscriber = undefined;
    await s?.close();
    await this.#loop;
    this.outputQueue?.close();
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

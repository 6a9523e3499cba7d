/**
 * The options of posttroll's subscribers — {@linkcode SubscriberOptions},
 * {@linkcode NSSubscriberOptions} (which passes the subscriber's on, `Pick`ed from them) and
 * {@linkcode SubscribeOptions} — with their defaults and checks in
 * {@linkcode parseSubscriberOptions}, apart from the classes in `subscriber.ts` that use them.
 *
 * @module
 */
import { config as sharedConfig, type PosttrollConfig } from "./config.ts";
import type { Message } from "./message.ts";
import { stderrWarnings } from "./_sockets.ts";
import { ConfigError } from "./errors.ts";

/** posttroll's magic prefix. */
export const MAGICK = "pytroll:/";

/** An address as the nameserver returns it, or a bare URI. */
export type AddressLike = string | AddressInfo;

/** A publisher's address record (at least a URI). */
export interface AddressInfo {
  /** `tcp://host:port` or `ipc://path`. */
  URI: string;
  /** Backend of the publisher. @default config backend */
  backend?: string;
  /** Newest message version the publisher supports. */
  supported_message_version?: string;
  /** Other fields from the nameserver. */
  [key: string]: unknown;
}

/** Logs dropped input, refusals and failed look-ups; replace to route elsewhere. */
export type Logger = (level: "debug" | "info" | "warning", message: string) => void;

/**
 * Adds the `pytroll:/` prefix to topics that lack it: `"/x"` and `"x"` become `"pytroll://x"`,
 * `""` becomes `"pytroll://"`.
 *
 * @param topics one topic or several (null stays null)
 * @returns prefixed topics
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { magickfyTopics } from "./options.ts";
 * assertEquals(magickfyTopics("counter"), ["pytroll://counter"]);
 * ```
 */
export function magickfyTopics(topics: string | string[]): string[];
/**
 * Adds the `pytroll:/` prefix to topics that lack it; `null` or `undefined` give `null` (no
 * subscription).
 *
 * @param topics one topic, several, or none
 * @returns prefixed topics, or null
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { magickfyTopics } from "./options.ts";
 * assertEquals(magickfyTopics(null), null);
 * ```
 */
export function magickfyTopics(topics: string | string[] | null | undefined): string[] | null;
export function magickfyTopics(topics: string | string[] | null | undefined): string[] | null {
  if (topics === null || topics === undefined) return null;
  const list = typeof topics === "string" ? [topics] : topics;
  return list.map((t) => {
    if (t.startsWith(MAGICK)) return t;
    return t && t[0] === "/" ? MAGICK + t : MAGICK + "/" + t;
  });
}

/** Options of {@linkcode Subscriber}. */
export interface SubscriberOptions {
  /** Topic prefixes (see {@linkcode magickfyTopics}). @default "" (everything) */
  topics?: string | string[];
  /** Client-side filter: messages for which it returns false are dropped. */
  messageFilter?: ((msg: Message) => boolean) | null;
  /** Replace the host part of each message's sender with the publisher's host. @default false */
  translate?: boolean;
  /** Configuration. @default the shared config */
  config?: PosttrollConfig;
  /** Where dropped messages and refusals are reported. @default warnings on stderr */
  logger?: Logger;
  /**
   * Messages queued while nobody reads: at this many, the subscriber stops reading from its
   * publishers until the application takes messages (the publisher's TCP send buffer, then its
   * send high-water mark fill: its PUB socket drops beyond that, as libzmq's does for Python's
   * subscribers). Small messages wait as received and are decoded (and filtered) when read, as in
   * Python, so an invalid one also holds a place until then. @default 10000
   */
  queueSize?: number;
  /**
   * Bytes (as received) of the queued messages at which the subscriber also stops reading from
   * its publishers, as at `queueSize`: what bounds the memory of a subscriber whose application
   * is slower than its publishers (64 KiB messages: 4 of them by default; messages that wait
   * long in the queue outlive V8's young generation, so a larger queue costs several times its
   * size in RSS — bench/README.md, session 9). The queue exceeds it by at most one message.
   * @default 256 KiB
   */
  maxQueuedBytes?: number;
  /**
   * Keep each message's bytes as received, for {@linkcode rawMessage} (a bridge forwarding
   * messages unchanged). @default false
   */
  keepRaw?: boolean;
  /**
   * Remember which publisher each message came from and when it arrived, for
   * {@linkcode messageOrigin} (a tool printing the sender's address). @default false
   */
  keepOrigin?: boolean;
  /**
   * Called with each message (after the filter) instead of queueing it, as soon as it is
   * decoded, in the read loop of the connection that read it: for forwarders that handle each
   * message at once (no queue, no promise per message; iterating the subscriber then yields
   * nothing). `raw` is the message's bytes as received, valid only during the call (copy what
   * you keep). It must not block; what it throws is logged as a warning. @default queue messages
   */
  onMessage?: ((msg: Message, raw: Uint8Array) => void) | null;
}

/** Options of {@linkcode NSSubscriber}: the {@linkcode SubscriberOptions} it passes on, and its own. */
export interface NSSubscriberOptions extends
  Pick<
    SubscriberOptions,
    | "messageFilter"
    | "translate"
    | "config"
    | "logger"
    | "queueSize"
    | "maxQueuedBytes"
    | "keepRaw"
    | "keepOrigin"
    | "onMessage"
  > {
  /** Services to look up: `""` all, `null` none. @default "" */
  services?: string | string[] | null;
  /** Topics. @default "pytroll:/" */
  topics?: string | string[];
  /** Follow the nameserver's address announcements (add/remove publishers). @default false */
  addrListener?: boolean;
  /** Extra publisher addresses, besides those found through the nameserver. @default null (none) */
  addresses?: AddressLike | AddressLike[] | null;
  /** Seconds to wait for the nameserver per service. @default 10 */
  timeout?: number;
  /** Nameserver host (or full `tcp://host:port`). @default "localhost" */
  nameserver?: string;
  /**
   * Decides which publishers found through the nameserver are subscribed to (e.g. to leave out
   * a bridge's own republishing service); addresses given in `addresses` are not filtered.
   * @default all
   */
  addressFilter?: ((address: AddressInfo) => boolean) | null;
}

/** Options of {@linkcode subscribe}: NSSubscriber options plus `nameserver: false`. */
export interface SubscribeOptions extends Omit<NSSubscriberOptions, "nameserver"> {
  /** Nameserver host; `false` with addresses: plain Subscriber. @default "localhost" */
  nameserver?: string | false | null;
}

/** `v` as a list: none for null/undefined, itself when a list. @ignore */
export function toList<T>(v: T | T[] | null | undefined): T[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** {@linkcode SubscriberOptions} with the defaults filled in and the topics prefixed. */
export interface ParsedSubscriberOptions {
  /** Prefixed topics (see {@linkcode magickfyTopics}). */
  topics: string[];
  /** The client-side filter, or null. */
  messageFilter: ((msg: Message) => boolean) | null;
  /** Sender host translation. */
  translate: boolean;
  /** The configuration. */
  config: PosttrollConfig;
  /** Where problems are reported. */
  logger: Logger;
  /** Messages kept while nobody reads. */
  queueSize: number;
  /** Bytes of queued messages at which reading pauses. */
  maxQueuedBytes: number;
  /** Keep raw bytes. */
  keepRaw: boolean;
  /** Keep each message's origin. */
  keepOrigin: boolean;
  /** Called with each message instead of queueing it, or null. */
  onMessage: ((msg: Message, raw: Uint8Array) => void) | null;
}

/** `value` when it is a whole number of at least 1 (or Infinity), else a ConfigError naming `option`. */
function positive(option: string, value: number): number {
  if (!(value >= 1) || !(Number.isInteger(value) || value === Infinity)) {
    throw new ConfigError(`${option} must be a whole number of at least 1, not ${value}`, {
      key: option,
    });
  }
  return value;
}

/**
 * The defaults and checks of {@linkcode Subscriber} options (the backend is checked: an unknown
 * one fails here, at construction, not at the first connection).
 *
 * @param options the options
 * @returns the options with the defaults filled in
 * @throws {UnsupportedBackendError} for an unknown backend; {@linkcode ConfigError} (its `key` the
 *   option) for a `queueSize` or `maxQueuedBytes` that is not a whole number of at least 1
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { ConfigError } from "./errors.ts";
 * import { parseSubscriberOptions } from "./options.ts";
 * import { PosttrollConfig } from "./config.ts";
 * const config = new PosttrollConfig({ env: {} });
 * const o = parseSubscriberOptions({ topics: "/counter", config });
 * assertEquals([o.topics, o.queueSize, o.translate], [["pytroll://counter"], 10_000, false]);
 * assertThrows(() => parseSubscriberOptions({ queueSize: 0, config }), ConfigError, "queueSize");
 * assertThrows(() => parseSubscriberOptions({ maxQueuedBytes: NaN, config }), ConfigError, "maxQueuedBytes");
 * ```
 */
export function parseSubscriberOptions(options: SubscriberOptions = {}): ParsedSubscriberOptions {
  const config = options.config ?? sharedConfig;
  config.backend();
  const queueSize = positive("queueSize", options.queueSize ?? 10_000);
  const maxQueuedBytes = positive("maxQueuedBytes", options.maxQueuedBytes ?? 256 * 1024);
  return {
    topics: magickfyTopics(options.topics ?? ""),
    messageFilter: options.messageFilter ?? null,
    translate: options.translate ?? false,
    config,
    logger: options.logger ?? stderrWarnings,
    queueSize,
    maxQueuedBytes,
    keepRaw: options.keepRaw ?? false,
    keepOrigin: options.keepOrigin ?? false,
    onMessage: options.onMessage ?? null,
  };
}

/**
 * The options an {@linkcode NSSubscriber} passes to its {@linkcode Subscriber} (its topics
 * default to everything, `pytroll:/`).
 *
 * @param options the NSSubscriber's options
 * @returns the Subscriber's
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { subscriberPart } from "./options.ts";
 * assertEquals(subscriberPart({ services: "x", queueSize: 5 }).queueSize, 5);
 * assertEquals(subscriberPart({ services: "x" }).topics, "pytroll:/");
 * ```
 */
export function subscriberPart(options: NSSubscriberOptions): SubscriberOptions {
  return {
    topics: options.topics ?? MAGICK,
    translate: options.translate,
    messageFilter: options.messageFilter,
    config: options.config,
    logger: options.logger,
    keepRaw: options.keepRaw,
    keepOrigin: options.keepOrigin,
    queueSize: options.queueSize,
    maxQueuedBytes: options.maxQueuedBytes,
    onMessage: options.onMessage,
  };
}

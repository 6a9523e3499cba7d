/**
 * The options of the bridge's two directions — their types, defaults and checks — apart from the
 * classes that run them: {@linkcode parseToKafkaOptions} and {@linkcode parseFromKafkaOptions}
 * give the options with every default filled in, or throw a {@linkcode BridgeOptionError} naming
 * the option. {@linkcode atLeast} is the one "number at least" check, also used by the
 * `posttroll-bridge` command line for its flags.
 *
 * @module
 */
import { hostname } from "node:os";
import type { PosttrollConfig } from "../posttroll/config.ts";
import { BridgeOptionError } from "./errors.ts";
import type { KafkaLinkOptions } from "./kafka_link.ts";
import {
  DEFAULT_TOPIC_PREFIX,
  type TopicMapping,
  validateTopicMapping,
  validateTopicName,
} from "./topics.ts";

/** Service name the Kafka -> posttroll side publishes under unless told otherwise. */
export const DEFAULT_BRIDGE_SERVICE = "kafka_bridge";

/** Where a bridge runs: what both directions share besides the Kafka link. */
export interface SiteOptions {
  /** This site's name (the `posttroll_origin` header). @default the hostname */
  site?: string;
  /** posttroll configuration. @default the shared config */
  config?: PosttrollConfig;
}

/** Options of {@linkcode PosttrollToKafka}. */
export interface ToKafkaOptions extends KafkaLinkOptions, TopicMapping, SiteOptions {
  /** posttroll services to subscribe to (`""`: all). @default "" */
  services?: string | string[];
  /** posttroll topics (subject prefixes) to forward. @default "" (everything) */
  subjects?: string | string[];
  /** Publisher addresses to subscribe to besides (or, with `nameserver: false`, instead of) the nameserver's. */
  addresses?: string[];
  /** Nameserver host; `false`: only `addresses`. @default "localhost" */
  nameserver?: string | false;
  /**
   * Publishers announcing one of these services are not forwarded: by default a Kafka ->
   * posttroll bridge's own (so a site running both directions does not loop). The nameserver's
   * own address publisher (`address_receiver`) is never forwarded unless named in `services`.
   * @default ["kafka_bridge"]
   */
  excludeServices?: string[];
  /** Create missing topics (else the broker's auto-creation, if enabled, does). @default true */
  createTopics?: boolean;
  /** Partitions of created topics (-1: the broker's default). @default -1 */
  partitions?: number;
  /** Replication factor of created topics (-1: the broker's default). @default -1 */
  replicationFactor?: number;
  /**
   * Memory for messages held while Kafka is slow or down: each counts its bytes plus 640 for its
   * bookkeeping (`HELD_MESSAGE_OVERHEAD`); beyond, new messages are dropped. @default 256 MiB
   */
  maxBufferBytes?: number;
  /**
   * How long the first message of a batch waits for more, in ms; 0 sends at once (batches still
   * form while a request is in flight). @default 0
   */
  lingerMs?: number;
}

/** Options of {@linkcode KafkaToPosttroll}. */
export interface FromKafkaOptions
  extends KafkaLinkOptions, Pick<TopicMapping, "prefix">, SiteOptions {
  /** Kafka topics to consume (exact names); when absent, every topic under `prefix`. */
  topics?: string[];
  /** How often to look for new topics, in ms. @default 5000 */
  refreshIntervalMs?: number;
  /** Service name to publish under. @default "kafka_bridge" */
  service?: string;
  /** More service names. */
  aliases?: string[];
  /** Port to publish on (0: random in the posttroll port range). @default 0 */
  port?: number;
  /** Nameservers to register with directly; absent: multicast announcements. */
  nameservers?: string[];
  /** Seconds between announcements. @default 2 */
  broadcastInterval?: number;
  /** Host put into the announced address. @default the own IP */
  announceHost?: string;
  /** Kafka consumer group. @default `posttroll-bridge.<service>.<site>` */
  groupId?: string;
  /** Where a brand-new consumer group starts. @default "latest" */
  start?: "latest" | "earliest";
  /** State file for duplicate suppression across restarts; null keeps it in memory only. @default null */
  dedupPath?: string | null;
  /** Message identities remembered. @default 100000 */
  dedupCapacity?: number;
  /** Republish records that came from this site's own uplink too. @default false */
  republishOwnSite?: boolean;
  /**
   * Consumption pauses while fewer subscribers are connected (each counts, whatever its topics).
   * @default 1
   */
  minSubscribers?: number;
  /** Kafka session timeout in ms. @default 10000 */
  sessionTimeoutMs?: number;
}

/** {@linkcode ToKafkaOptions} checked, with the defaults the bridge applies filled in. */
export type ParsedToKafkaOptions =
  & ToKafkaOptions
  & Required<Pick<ToKafkaOptions, "site" | "maxBufferBytes" | "lingerMs" | "logger">>;

/** {@linkcode FromKafkaOptions} checked, with the defaults the bridge applies filled in. */
export type ParsedFromKafkaOptions =
  & FromKafkaOptions
  & Required<
    Pick<
      FromKafkaOptions,
      "site" | "prefix" | "service" | "groupId" | "minSubscribers" | "refreshIntervalMs" | "logger"
    >
  >;

/**
 * The one "a number, at least `min`" check of the bridge and its command line: `value` may be a
 * number or the text of one (a flag); absent stays absent.
 *
 * @param name the option as the user wrote it (`lingerMs`, `--linger-ms`)
 * @param value the value
 * @param min the smallest value allowed
 * @param how `integer` only; `error` makes the error (default {@linkcode BridgeOptionError})
 * @returns the number, or undefined when `value` is
 * @throws what `error` makes (a {@linkcode BridgeOptionError}) for anything else
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { atLeast } from "./options.ts";
 * import { BridgeOptionError } from "./errors.ts";
 * assertEquals(atLeast("lingerMs", 5, 0), 5);
 * assertEquals(atLeast("--linger-ms", "2.5", 0), 2.5); // a flag's text
 * assertEquals(atLeast("lingerMs", undefined, 0), undefined);
 * assertThrows(
 *   () => atLeast("--port", "-1", 0, { integer: true }),
 *   BridgeOptionError,
 *   "--port must be an integer >= 0, not -1",
 * );
 * ```
 */
export function atLeast(
  name: string,
  value: number | string | undefined,
  min: number,
  how: { integer?: boolean; error?: (message: string) => Error } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  const ok = typeof n === "number" && (how.integer ? Number.isInteger(n) : Number.isFinite(n)) &&
    n >= min;
  if (!ok) {
    const what = how.integer ? "an integer" : "a number";
    const message = `${name} must be ${what} >= ${min}, not ${String(value)}`;
    throw how.error ? how.error(message) : new BridgeOptionError(message);
  }
  return n as number;
}

/**
 * Checks the options of a posttroll -> Kafka bridge and fills in its defaults.
 *
 * @param options the options
 * @returns the options with `site`, `maxBufferBytes`, `lingerMs` and `logger` set
 * @throws BridgeOptionError naming the first bad option
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseToKafkaOptions } from "./options.ts";
 * const o = parseToKafkaOptions({ url: "kafka://k/", site: "a" });
 * assertEquals([o.maxBufferBytes, o.lingerMs], [256 * 1024 * 1024, 0]);
 * assertThrows(() => parseToKafkaOptions({ url: "kafka://k/", lingerMs: -1 }), Error, "lingerMs");
 * assertThrows(
 *   () => parseToKafkaOptions({ url: "kafka://k/", nameserver: false }),
 *   Error,
 *   "without a nameserver, give publisher addresses",
 * );
 * ```
 */
export function parseToKafkaOptions(options: ToKafkaOptions): ParsedToKafkaOptions {
  validateTopicMapping(options);
  const maxBufferBytes = atLeast("maxBufferBytes", options.maxBufferBytes, 1);
  const lingerMs = atLeast("lingerMs", options.lingerMs, 0);
  if (options.nameserver === false && !options.addresses?.length) {
    throw new BridgeOptionError("without a nameserver, give publisher addresses");
  }
  return {
    ...options,
    site: options.site ?? hostname(),
    maxBufferBytes: maxBufferBytes ?? 256 * 1024 * 1024,
    lingerMs: lingerMs ?? 0,
    logger: options.logger ?? (() => {}),
  };
}

/**
 * Checks the options of a Kafka -> posttroll bridge and fills in its defaults.
 *
 * @param options the options
 * @returns the options with `site`, `prefix`, `service`, `groupId`, `minSubscribers`,
 *   `refreshIntervalMs` and `logger` set
 * @throws BridgeOptionError naming the first bad option
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseFromKafkaOptions } from "./options.ts";
 * const o = parseFromKafkaOptions({ url: "kafka://k/", site: "b" });
 * assertEquals([o.prefix, o.service, o.groupId], ["posttroll", "kafka_bridge", "posttroll-bridge.kafka_bridge.b"]);
 * assertThrows(() => parseFromKafkaOptions({ url: "kafka://k/", minSubscribers: 0.5 }), Error, "minSubscribers");
 * ```
 */
export function parseFromKafkaOptions(options: FromKafkaOptions): ParsedFromKafkaOptions {
  const prefix = options.prefix ?? DEFAULT_TOPIC_PREFIX;
  validateTopicName(prefix, "topic prefix");
  for (const t of options.topics ?? []) validateTopicName(t);
  const minSubscribers = atLeast("minSubscribers", options.minSubscribers, 0, { integer: true });
  if (options.start !== undefined && options.start !== "latest" && options.start !== "earliest") {
    throw new BridgeOptionError(
      `start must be "latest" or "earliest", not ${String(options.start)}`,
    );
  }
  const site = options.site ?? hostname();
  const service = options.service ?? DEFAULT_BRIDGE_SERVICE;
  if (!service) throw new BridgeOptionError("service name must not be empty");
  return {
    ...options,
    prefix,
    site,
    service,
    groupId: options.groupId ?? `posttroll-bridge.${service}.${site}`,
    minSubscribers: minSubscribers ?? 1,
    refreshIntervalMs: options.refreshIntervalMs ?? 5_000,
    logger: options.logger ?? (() => {}),
  };
}

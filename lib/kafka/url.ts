/**
 * hop's Kafka URLs: `kafka://[user@]host[:port][,host[:port]...][/topics]`.
 *
 * @module
 */
import { KafkaOptionError } from "./errors.ts";

/** Kafka port used when the URL names none (hop's and librdkafka's default). */
export const DEFAULT_KAFKA_PORT = 9092;

/** A parsed hop-style Kafka URL. */
export interface KafkaUrl {
  /** `host:port` of each bootstrap broker. */
  brokers: string[];
  /** The `user@` hint, if any. */
  username?: string;
}

/**
 * Parses `kafka://[user@]host[:port][,host[:port]...][/...]` (also accepts the bare
 * `host:port`), like hop's `parse_kafka_url`. IPv6 hosts go in brackets.
 *
 * @param url the URL
 * @param port a port that replaces every broker's (the `-p` option of igwn-alert)
 * @returns brokers and username hint
 * @throws KafkaOptionError for anything else
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseKafkaUrl } from "./url.ts";
 * assertEquals(parseKafkaUrl("kafka://alice@kafka.example.org/").brokers, ["kafka.example.org:9092"]);
 * assertEquals(parseKafkaUrl("kafka://kafka.example.org:9093/").brokers, ["kafka.example.org:9093"]);
 * ```
 */
export function parseKafkaUrl(url: string, port?: number): KafkaUrl {
  let rest = url.trim();
  if (rest.startsWith("kafka://")) rest = rest.slice("kafka://".length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    throw new KafkaOptionError(`Kafka URL must start with kafka://, not ${url}`);
  }
  const slash = rest.indexOf("/");
  if (slash >= 0) rest = rest.slice(0, slash);
  let username: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    // like hop (urllib's `username`): a `:password` part is ignored
    const user = rest.slice(0, at).split(":")[0];
    try {
      username = decodeURIComponent(user);
    } catch {
      throw new KafkaOptionError(`bad user name ${JSON.stringify(user)} in Kafka URL ${url}`);
    }
    rest = rest.slice(at + 1);
  }
  const brokers = rest.split(",").filter((h) => h.length > 0).map((h) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+)(?::(\d{1,5}))?$/.exec(h);
    const named = m?.[2] === undefined ? DEFAULT_KAFKA_PORT : Number(m[2]);
    if (!m || named < 1 || named > 65535) {
      throw new KafkaOptionError(`bad broker address ${JSON.stringify(h)} in Kafka URL ${url}`);
    }
    return `${m[1]}:${port ?? named}`;
  });
  if (brokers.length === 0) throw new KafkaOptionError(`no broker in Kafka URL ${url}`);
  return { brokers, username: username || undefined };
}

/**
 * The bridge's Kafka settings: a hop-style URL (`kafka://[user@]host[:port][,host2...]/`) and
 * igwn-alert's credential cascade, resolved into a {@linkcode KafkaCluster} of the Kafka layer.
 * Bad URLs are {@linkcode BridgeOptionError}s here.
 *
 * @module
 */
import type { Auth, EnvLike } from "../hop/auth.ts";
import { KafkaCluster } from "../kafka/cluster.ts";
import { KafkaOptionError } from "../kafka/errors.ts";
import type { LogSink } from "../kafka/log.ts";
import { DEFAULT_KAFKA_PORT, type KafkaUrl, parseKafkaUrl as parseUrl } from "../kafka/url.ts";
import { BridgeOptionError } from "./errors.ts";

export { DEFAULT_KAFKA_PORT, type KafkaUrl };

/** Where and how the bridge connects to Kafka. */
export interface KafkaLinkOptions {
  /** `kafka://[user@]host[:port][,host:port...]/` (hop's form; `user@` picks the credential). */
  url: string;
  /** Explicit credential(s); `false` for none. */
  auth?: Auth | Auth[] | false;
  /** No authentication (PLAINTEXT). @default false */
  noauth?: boolean;
  /** A hop auth.toml to read instead of the default one. */
  authfile?: string;
  /** netrc file for the fallback. @default $NETRC or ~/.netrc */
  netrc?: string;
  /** Environment for finding auth.toml and .netrc. @default Deno.env */
  env?: EnvLike;
  /** Kafka client id. @default "posttroll-bridge" */
  clientId?: string;
  /** How long connecting and admin requests may take, in ms. @default 15000 */
  timeoutMs?: number;
  /** Log records. @default silent */
  logger?: LogSink;
}

/**
 * Parses `kafka://[user@]host[:port][,host[:port]...][/...]` (also accepts the bare
 * `host:port`). IPv6 hosts go in brackets.
 *
 * @param url the URL
 * @returns brokers and username hint
 * @throws BridgeOptionError for anything else
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseKafkaUrl } from "./kafka_link.ts";
 * assertEquals(parseKafkaUrl("kafka://alice@kafka.example.org/").brokers, ["kafka.example.org:9092"]);
 * ```
 */
export function parseKafkaUrl(url: string): KafkaUrl {
  try {
    return parseUrl(url);
  } catch (e) {
    if (e instanceof KafkaOptionError) throw new BridgeOptionError(e.message);
    throw e;
  }
}

/**
 * The bridge's cluster: URL checked as a bridge option, credential found as igwn-alert does.
 *
 * @param options URL, credential sources, logging
 * @param clientId the client id when the options name none
 * @returns the cluster
 * @throws BridgeOptionError for a bad URL; CredentialFileError for a bad auth file
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { bridgeCluster } from "./kafka_link.ts";
 * assertEquals(bridgeCluster({ url: "kafka://127.0.0.1:9092/", noauth: true }, "up").broker, "127.0.0.1:9092");
 * ```
 */
export function bridgeCluster(options: KafkaLinkOptions, clientId: string): KafkaCluster {
  parseKafkaUrl(options.url);
  return new KafkaCluster({
    url: options.url,
    auth: options.auth,
    noauth: options.noauth,
    authfile: options.authfile,
    netrc: options.netrc,
    env: options.env,
    clientId: options.clientId ?? clientId,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    onNoAuth: () =>
      options.logger?.(
        "warning",
        "No authentication found. Proceeding with unauthenticated session",
      ),
  });
}

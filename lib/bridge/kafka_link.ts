/**
 * The bridge's Kafka connection: a hop-style URL (`kafka://[user@]host[:port][,host2...]/`),
 * igwn-alert's credential cascade (auth.toml, `.netrc`, explicit) and TLS settings, kafkajs
 * clients built from them, and an admin helper with a deadline.
 *
 * @module
 */
import type { Admin, Kafka } from "kafkajs";
import { type Auth, type EnvLike, selectMatchingAuth } from "../hop/auth.ts";
import { findCredentials } from "../igwn_alert/credentials.ts";
import {
  kafkaClient,
  type LogSink,
  mapKafkaError,
  quietKafkajsTimeoutWarning,
  withKafkaAdmin,
} from "../igwn_alert/kafka.ts";
import { BridgeOptionError } from "./errors.ts";

/** Kafka port used when the URL names none (hop's default). */
export const DEFAULT_KAFKA_PORT = 9092;

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
  /** kafkajs client id. @default "posttroll-bridge" */
  clientId?: string;
  /** How long connecting and admin requests may take, in ms. @default 15000 */
  timeoutMs?: number;
  /** Log records. @default silent */
  logger?: LogSink;
}

/** A parsed hop-style Kafka URL. */
export interface KafkaUrl {
  /** `host:port` of each bootstrap broker. */
  brokers: string[];
  /** The `user@` hint, if any. */
  username?: string;
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
 * import { parseKafkaUrl } from "./kafka_link.ts";
 * parseKafkaUrl("kafka://alice@kafka.example.org/").brokers; // ["kafka.example.org:9092"]
 * ```
 */
export function parseKafkaUrl(url: string): KafkaUrl {
  let rest = url.trim();
  if (rest.startsWith("kafka://")) rest = rest.slice("kafka://".length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    throw new BridgeOptionError(`Kafka URL must start with kafka://, not ${url}`);
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
      throw new BridgeOptionError(`bad user name ${JSON.stringify(user)} in Kafka URL ${url}`);
    }
    rest = rest.slice(at + 1);
  }
  const brokers = rest.split(",").filter((h) => h.length > 0).map((h) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:\[\]]+)(?::(\d{1,5}))?$/.exec(h);
    const port = m?.[2] === undefined ? DEFAULT_KAFKA_PORT : Number(m[2]);
    if (!m || port < 1 || port > 65535) {
      throw new BridgeOptionError(`bad broker address ${JSON.stringify(h)} in Kafka URL ${url}`);
    }
    return `${m[1]}:${port}`;
  });
  if (brokers.length === 0) throw new BridgeOptionError(`no broker in Kafka URL ${url}`);
  return { brokers, username: username || undefined };
}

/**
 * One broker cluster with its credential: builds kafkajs clients and runs admin requests.
 *
 * @example
 * ```ts
 * import { KafkaLink } from "./kafka_link.ts";
 * const link = new KafkaLink({ url: "kafka://127.0.0.1:9092/", noauth: true });
 * link.broker; // "127.0.0.1:9092"
 * ```
 */
export class KafkaLink {
  /** Bootstrap brokers. */
  readonly brokers: string[];
  /** Credential candidates (null: no authentication). */
  readonly authCandidates: Auth[] | null;
  /** Deadline for connecting and admin requests, in ms. */
  readonly timeoutMs: number;
  readonly #username?: string;
  readonly #log: LogSink;
  readonly #clientId: string;

  /**
   * Resolves the URL and the credential.
   *
   * @param options URL, credential sources, logging
   * @throws BridgeOptionError for a bad URL; CredentialFileError for a bad auth file
   */
  constructor(options: KafkaLinkOptions) {
    const u = parseKafkaUrl(options.url);
    this.brokers = u.brokers;
    this.#username = u.username;
    this.#log = options.logger ?? (() => {});
    this.#clientId = options.clientId ?? "posttroll-bridge";
    this.timeoutMs = options.timeoutMs ?? 15_000;
    quietKafkajsTimeoutWarning(this.#log);
    this.authCandidates = findCredentials({
      auth: options.auth,
      noauth: options.noauth,
      authfile: options.authfile,
      netrc: options.netrc,
      env: options.env,
      netrcMachine: options.url,
      onNoAuth: () =>
        this.#log("warning", "No authentication found. Proceeding with unauthenticated session"),
    });
  }

  /** The first bootstrap broker, `host:port`. */
  get broker(): string {
    return this.brokers[0];
  }

  /**
   * The credential for this cluster (hop's `select_matching_auth` with the URL's user hint).
   *
   * @returns the credential or null
   * @throws AuthError when none or several match
   */
  credential(): Auth | null {
    if (!this.authCandidates) return null;
    return selectMatchingAuth(this.authCandidates, this.broker, this.#username);
  }

  /**
   * A new kafkajs client (fresh SASL objects) and a promise that rejects on a TLS verification
   * failure, which kafkajs would otherwise retry silently.
   *
   * @returns client, credential, TLS-failure tripwire
   */
  client(): { kafka: Kafka; auth: Auth | null; tlsFailure: Promise<never> } {
    const auth = this.credential();
    const c = kafkaClient({
      brokers: this.brokers,
      auth,
      sink: this.#log,
      clientId: this.#clientId,
    });
    return { ...c, auth };
  }

  /**
   * Runs `fn` with a connected admin client, retrying kafkajs's retriable errors, within
   * `timeoutMs`.
   *
   * @param what operation name for errors
   * @param fn the requests
   * @returns what `fn` returns
   * @throws AuthError, BrokerConnectionError, or `fn`'s own error
   */
  withAdmin<T>(what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    return withKafkaAdmin({
      brokers: this.brokers,
      auth: this.credential(),
      sink: this.#log,
      clientId: this.#clientId,
      what,
      timeoutMs: this.timeoutMs,
    }, fn);
  }

  /**
   * Maps a kafkajs error to AuthError / BrokerConnectionError (see igwn-alert's mapping).
   *
   * @param e the error
   * @returns the typed error
   */
  mapError(e: unknown): Error {
    let auth: Auth | null = null;
    try {
      auth = this.credential();
    } catch { /* reported elsewhere */ }
    return mapKafkaError(e, this.broker, auth);
  }
}

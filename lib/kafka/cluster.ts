/**
 * Connection settings of one Kafka cluster: bootstrap brokers from a hop URL (its port honoured,
 * or replaced by an explicit one), the credential found by igwn-alert's cascade and chosen by
 * hop's rules, and what a client needs for it: SASL SCRAM-SHA-512 (or SCRAM-SHA-256, PLAIN,
 * OAUTHBEARER with an OIDC token endpoint) over TLS with `ssl_ca_location`, SASL without TLS for
 * `SASL_PLAINTEXT`, PLAINTEXT without a credential.
 *
 * @module
 */
import { type Auth, type EnvLike, selectMatchingAuth } from "../hop/auth.ts";
import { AuthError } from "../hop/errors.ts";
import { type CredentialSources, findCredentials } from "./credentials.ts";
import { BrokerConnectionError, mapKafkaError } from "./errors.ts";
import type { LogSink } from "./log.ts";
import { OidcTokenSource } from "./oauth.ts";
import { parseKafkaUrl } from "./url.ts";
import { ProducerWire } from "./wire/client.ts";
import type { SaslCredential } from "./wire/sasl.ts";

/**
 * What a client of this cluster is built from (see {@linkcode KafkaCluster.clientOptions}); the
 * field names are those of common Kafka clients' connection options.
 */
export interface KafkaConnectionOptions {
  /** The client id sent with each request. */
  clientId: string;
  /** `host:port` of each bootstrap broker. */
  bootstrapBrokers: string[];
  /** Longest wait for a connection, in ms. */
  connectTimeout: number;
  /** Longest wait for an answer, in ms. */
  requestTimeout: number;
  /** Retries of a failed request (this layer retries itself). */
  retries: number;
  /** The SASL login, when the credential asks for one. */
  sasl?: SaslCredential;
  /** TLS, when the credential asks for it: the CA certificates (PEM) to trust, else the system's. */
  tls?: { ca?: string[] };
}

/** Where and how to connect to a Kafka cluster. */
export interface KafkaClusterOptions {
  /** `kafka://[user@]host[:port][,host:port...]/` (hop's form; `user@` picks the credential). */
  url: string;
  /** A port for every broker, replacing the URL's. */
  port?: number;
  /** Explicit credential(s); `false` for none. */
  auth?: Auth | Auth[] | false;
  /** No authentication (PLAINTEXT). @default false */
  noauth?: boolean;
  /** SCRAM username (with `password`). */
  username?: string;
  /** SCRAM password (with `username`). */
  password?: string;
  /** A hop auth.toml to read instead of the default one. */
  authfile?: string;
  /** netrc file for the fallback. @default $NETRC or ~/.netrc */
  netrc?: string;
  /** netrc machine name. @default the URL */
  netrcMachine?: string;
  /** Environment for finding auth.toml and .netrc. @default Deno.env */
  env?: EnvLike;
  /** Client id sent to the broker. @default "pytroll-deno" */
  clientId?: string;
  /** How long connecting and one request may take, in ms. @default 15000 */
  timeoutMs?: number;
  /** Log records. @default silent */
  logger?: LogSink;
  /** Told when no credential was found at all. @default logged as a warning */
  onNoAuth?: CredentialSources["onNoAuth"];
  /** Told why the default auth.toml was skipped. @default logged as a warning */
  onSkipped?: CredentialSources["onSkipped"];
}

/** The SASL mechanisms this layer can log in with. */
const MECHANISMS = new Set(["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "OAUTHBEARER"]);

/**
 * One broker cluster with its credential.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaCluster } from "./cluster.ts";
 * const cluster = new KafkaCluster({ url: "kafka://127.0.0.1:9093/", noauth: true });
 * assertEquals(cluster.broker, "127.0.0.1:9093");
 * ```
 */
export class KafkaCluster {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: string[];
  /** Credential candidates (null: no authentication). */
  readonly authCandidates: Auth[] | null;
  /** Deadline for connecting and for one request, in ms. */
  readonly timeoutMs: number;
  /** Client id sent to the broker. */
  readonly clientId: string;
  /** The log sink. */
  readonly log: LogSink;
  readonly #username?: string;
  #tokens: OidcTokenSource | undefined;

  /**
   * Resolves the URL and finds the credential candidates.
   *
   * @param options URL, credential sources, logging
   * @throws KafkaOptionError for a bad URL or credential combination; CredentialFileError for a
   *   bad auth file
   */
  constructor(options: KafkaClusterOptions) {
    const u = parseKafkaUrl(options.url, options.port);
    this.brokers = u.brokers;
    this.#username = u.username;
    this.log = options.logger ?? (() => {});
    this.clientId = options.clientId ?? "pytroll-deno";
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.authCandidates = findCredentials({
      ...options,
      netrcMachine: options.netrcMachine ?? options.url,
      onNoAuth: options.onNoAuth ??
        (() =>
          this.log("warning", "No authentication found. Proceeding with unauthenticated session")),
      onSkipped: options.onSkipped ?? ((why) => this.log("warning", why)),
    });
  }

  /** The first bootstrap broker, `host:port` (named in errors). */
  get broker(): string {
    return this.brokers[0];
  }

  /**
   * The credential for this cluster (hop's `select_matching_auth` over the candidates, with the
   * URL's user hint), or null without authentication.
   *
   * @returns the credential
   * @throws AuthError when none or several match
   */
  credential(): Auth | null {
    if (!this.authCandidates) return null;
    return selectMatchingAuth(this.authCandidates, this.broker, this.#username);
  }

  /**
   * The connection options of a client of this cluster (fresh objects per call).
   *
   * @param auth the credential (see {@linkcode KafkaCluster.credential})
   * @returns the options
   * @throws AuthError for a mechanism this layer cannot do (GSSAPI);
   *   BrokerConnectionError when `ssl_ca_location` cannot be read
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { KafkaCluster } from "./cluster.ts";
   * const cluster = new KafkaCluster({ url: "kafka://kafka.example:9092/", noauth: true });
   * assertEquals(cluster.clientOptions(null).bootstrapBrokers, ["kafka.example:9092"]);
   * ```
   */
  clientOptions(auth: Auth | null): KafkaConnectionOptions {
    const options: KafkaConnectionOptions = {
      clientId: this.clientId,
      bootstrapBrokers: [...this.brokers],
      connectTimeout: Math.min(this.timeoutMs, 10_000),
      requestTimeout: this.timeoutMs,
      retries: 0,
    };
    if (!auth) return options;
    const mechanism = auth.kafkaMechanism.toUpperCase();
    if (!MECHANISMS.has(mechanism)) {
      throw new AuthError(
        `SASL mechanism ${auth.kafkaMechanism} of credential for '${auth.username}' is not ` +
          "supported (use SCRAM-SHA-512, SCRAM-SHA-256, PLAIN or OAUTHBEARER)",
      );
    }
    if (mechanism === "OAUTHBEARER") {
      if (!auth.tokenEndpoint) {
        throw new AuthError(
          `credential for '${auth.username}' asks for OAUTHBEARER without a token_endpoint`,
        );
      }
      if (this.#tokens?.endpoint !== auth.tokenEndpoint) {
        this.#tokens = new OidcTokenSource(auth.tokenEndpoint, auth.username, auth.password);
      }
      const tokens = this.#tokens;
      options.sasl = { mechanism: "OAUTHBEARER", token: () => tokens.token() };
    } else {
      options.sasl = {
        mechanism: mechanism as "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512",
        username: auth.username,
        password: auth.password,
      };
    }
    if (auth.ssl) {
      if (auth.sslCaLocation) {
        let pem: string;
        try {
          pem = Deno.readTextFileSync(auth.sslCaLocation);
        } catch (e) {
          throw new BrokerConnectionError(
            this.broker,
            `cannot read ssl_ca_location ${auth.sslCaLocation}: ${(e as Error).message}`,
            { cause: e, retriable: false },
          );
        }
        options.tls = { ca: [pem] };
      } else {
        options.tls = {};
      }
    }
    return options;
  }

  /**
   * A client of the own wire path (`wire/`) for this cluster: its brokers, TLS and SASL login
   * with the credential; nothing connects before the first request.
   *
   * @param requestTimeoutMs deadline of each answer @default the cluster's timeoutMs
   * @returns the client (close it)
   * @throws AuthError, BrokerConnectionError as {@linkcode KafkaCluster.clientOptions}
   */
  wire(requestTimeoutMs?: number): ProducerWire {
    const auth = this.credential();
    const options = this.clientOptions(auth);
    const tls = options.tls;
    return new ProducerWire({
      brokers: options.bootstrapBrokers,
      clientId: this.clientId,
      connectTimeoutMs: options.connectTimeout,
      requestTimeoutMs: requestTimeoutMs ?? this.timeoutMs,
      tls: tls && { caCerts: tls.ca },
      sasl: options.sasl,
      auth,
      broker: this.broker,
    });
  }

  /**
   * Maps a client-library error to this layer's typed errors (see `errors.ts`).
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

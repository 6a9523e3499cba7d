/**
 * The own Kafka client of the producer, the consumer and the admin requests (the group protocol
 * itself is `../group.ts`), so that a publishing or listening process never loads the client library
 * (whose import alone costs ~55 MiB of RSS, bench/README.md "Session 6 (kpub)"): a bootstrap
 * connection (ApiVersions, SASL login), Metadata (leaders by partition, cached until
 * {@linkcode ProducerWire.close}: the producer drops the whole client after a failure that calls
 * for fresh metadata), one connection per broker, InitProducerId, and Produce requests whose
 * bodies the caller encodes. Errors are this layer's: {@linkcode BrokerConnectionError},
 * {@linkcode UnknownTopicError}, `AuthError` (login), {@linkcode KafkaProtocolError} (an error
 * code in an answer).
 *
 * @module
 */
import type { Auth } from "../../hop/auth.ts";
import { sleep } from "../../_util/abort.ts";
import { BrokerConnectionError, KafkaProtocolError, UnknownTopicError } from "../errors.ts";
import {
  API,
  apiVersionsRequest,
  initProducerIdRequest,
  metadataRequest,
  OUR_VERSIONS,
  parseApiVersions,
  parseInitProducerId,
  parseMetadata,
  parseProduceResponse,
  type ProducePartitionResponse,
  type VersionRange,
} from "./apis.ts";
import { type BrokerAddress, BrokerConnection, requestHeadSize } from "./connection.ts";
import type { KafkaReader } from "./codec.ts";
import { ErrorCode, errorName, retriableCode } from "./error_codes.ts";
import { login, type SaslCredential } from "./sasl.ts";

/** How to reach and log in to a cluster. */
export interface ProducerWireOptions {
  /** Bootstrap brokers, `host:port`, tried in order. */
  brokers: string[];
  /** Client id in request headers. */
  clientId: string;
  /** Deadline for connecting, in ms. */
  connectTimeoutMs: number;
  /** Deadline for each answer, in ms. */
  requestTimeoutMs: number;
  /** TLS with these CA certificates (PEM; empty: the system's). */
  tls?: { caCerts?: string[] };
  /** SASL credential. */
  sasl?: SaslCredential;
  /** The credential (named in authentication errors). */
  auth?: Auth | null;
  /** `host:port` named in errors. @default the first bootstrap broker */
  broker?: string;
}

/** Partitions of a topic: each one's leader node id (-1: none). */
export interface TopicLeaders {
  leaders: number[];
}

/** Client software name and version sent in ApiVersions. */
const SOFTWARE: [string, string] = ["pytroll-deno", "1.0"];

/**
 * A failed Produce answer: the first failed partition's error, every failed partition's in
 * `errors`, and the partitions that were acknowledged anyway (`topic\0partition`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProduceError } from "./client.ts";
 * import { KafkaProtocolError } from "../errors.ts";
 * const e = new ProduceError([new KafkaProtocolError(6, "NOT_LEADER_OR_FOLLOWER", true, "p")], new Set());
 * assertEquals([e.apiId, e.retriable], ["NOT_LEADER_OR_FOLLOWER", true]);
 * ```
 */
export class ProduceError extends KafkaProtocolError {
  /** One error per failed partition. */
  readonly errors: KafkaProtocolError[];
  /** Partitions acknowledged (written, or written before: DUPLICATE_SEQUENCE_NUMBER). */
  readonly acknowledged: Set<string>;
  /**
   * Creates the error.
   *
   * @param errors the partitions' errors (at least one)
   * @param acknowledged the partitions acknowledged
   */
  constructor(errors: KafkaProtocolError[], acknowledged: Set<string>) {
    const first = errors[0];
    super(first.errorCode, first.apiId, errors.every((e) => e.retriable), "Produce", {
      topic: first.topic,
    });
    this.name = "ProduceError";
    this.message = errors.map((e) => e.message).join("; ");
    this.errors = errors;
    this.acknowledged = acknowledged;
  }
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(":");
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
}

/**
 * One generation of the producer's connections to a cluster.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ProducerWire } from "./client.ts";
 * import { withAdmin } from "../admin.ts";
 * import { KafkaCluster } from "../cluster.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const topic = `wire-${crypto.randomUUID()}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "create", (a) => a.createTopics([{ topic, partitions: 2 }]));
 * const wire = new ProducerWire({
 *   brokers: [broker], clientId: "x", connectTimeoutMs: 5000, requestTimeoutMs: 5000,
 * });
 * try {
 *   const topics = await wire.metadata([topic], false);
 *   assertEquals(topics.get(topic)!.leaders.length, 2);
 * } finally {
 *   wire.close();
 * }
 * ```
 */
export class ProducerWire {
  readonly #o: ProducerWireOptions;
  readonly #broker: string;
  #versions: Map<number, VersionRange> | undefined;
  #bootstrap: Promise<BrokerConnection> | undefined;
  /** Connections by `host:port` (the bootstrap one included). */
  readonly #connections = new Map<string, Promise<BrokerConnection>>();
  /** Broker addresses by node id, from Metadata. */
  readonly #nodes = new Map<number, string>();
  readonly #topics = new Map<string, TopicLeaders>();
  #closed = false;

  /**
   * Creates the client; nothing connects before the first request.
   *
   * @param options brokers, deadlines, TLS, SASL
   */
  constructor(options: ProducerWireOptions) {
    this.#o = options;
    this.#broker = options.broker ?? options.brokers[0];
  }

  #closedError(): BrokerConnectionError {
    return new BrokerConnectionError(this.#broker, `connection to ${this.#broker} closed`);
  }

  /** Opens and logs in a connection to `address` (`host:port`). */
  async #open(address: string): Promise<BrokerConnection> {
    const { host, port } = hostPort(address);
    const target: BrokerAddress = { host, port, tls: this.#o.tls };
    const conn = await BrokerConnection.open(target, {
      clientId: this.#o.clientId,
      connectTimeoutMs: this.#o.connectTimeoutMs,
      timeoutMs: this.#o.requestTimeoutMs,
      broker: this.#broker,
    });
    try {
      if (!this.#versions) {
        const r = parseApiVersions(
          await conn.request(
            API.ApiVersions,
            3,
            true,
            apiVersionsRequest(SOFTWARE),
            { api: "ApiVersions", flexibleResponse: false },
          ),
        );
        if (r.errorCode !== 0 && r.errorCode !== 35) {
          throw new KafkaProtocolError(r.errorCode, errorName(r.errorCode), false, "ApiVersions");
        }
        this.#versions = r.apis;
      }
      if (this.#o.sasl) {
        await login(conn, this.#o.sasl, this.version(API.SaslAuthenticate, "SaslAuthenticate"), {
          broker: this.#broker,
          auth: this.#o.auth ?? null,
        });
      }
      if (this.#closed) throw this.#closedError();
      return conn;
    } catch (e) {
      conn.close();
      throw e;
    }
  }

  /** A logged-in connection to `address`, opened once (again after it failed). */
  #connection(address: string): Promise<BrokerConnection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const known = this.#connections.get(address);
    if (known) {
      return known.then((c) => c.closed ? this.#reopen(address, known) : c, () => {
        return this.#reopen(address, known);
      });
    }
    const p = this.#open(address);
    this.#connections.set(address, p);
    p.catch(() => {});
    return p;
  }

  #reopen(address: string, old: Promise<BrokerConnection>): Promise<BrokerConnection> {
    if (this.#connections.get(address) === old) this.#connections.delete(address);
    return this.#connection(address);
  }

  /** The bootstrap connection: the first bootstrap broker that answers. */
  #any(): Promise<BrokerConnection> {
    this.#bootstrap ??= (async () => {
      let first: unknown;
      for (const b of this.#o.brokers) {
        try {
          return await this.#connection(b);
        } catch (e) {
          first ??= e;
          // a refused login or TLS failure is the same on every broker
          if (!(e instanceof BrokerConnectionError) || !e.retriable) break;
        }
      }
      throw first;
    })();
    const p = this.#bootstrap;
    return p.then((c) => {
      if (!c.closed) return c;
      if (this.#bootstrap === p) this.#bootstrap = undefined;
      return this.#any();
    }, (e) => {
      if (this.#bootstrap === p) this.#bootstrap = undefined;
      throw e;
    });
  }

  /**
   * Connects to a bootstrap broker (once): API versions known, logged in.
   *
   * @throws BrokerConnectionError, AuthError
   */
  async ready(): Promise<void> {
    await this.#any();
  }

  /**
   * The highest version of an API both the broker and this client speak (after
   * {@linkcode ProducerWire.ready}).
   *
   * @param apiKey the API key
   * @param name the API's name (for the error)
   * @param max a lower highest version to use
   * @returns the version
   * @throws BrokerConnectionError (not retriable) when there is none
   */
  version(apiKey: number, name: string, max?: number): number {
    const ours = OUR_VERSIONS[apiKey];
    const theirs = this.#versions?.get(apiKey);
    const v = Math.min(theirs?.max ?? -1, max ?? ours.max);
    if (!theirs || v < Math.max(theirs.min, ours.min)) {
      throw new BrokerConnectionError(
        this.#broker,
        `the broker ${this.#broker} speaks ${name} versions ` +
          `${theirs ? `${theirs.min}-${theirs.max}` : "none"}, this client ${ours.min}-${
            max ?? ours.max
          }`,
        { retriable: false },
      );
    }
    return v;
  }

  /** Whether `version` of `apiKey` is flexible. */
  #flexible(apiKey: number, version: number): boolean {
    return version >= OUR_VERSIONS[apiKey].flexibleFrom;
  }

  /**
   * The bootstrap connection (see {@linkcode ProducerWire.ready}).
   *
   * @returns the connection
   * @throws BrokerConnectionError, AuthError
   */
  bootstrap(): Promise<BrokerConnection> {
    return this.#any();
  }

  /**
   * A logged-in connection to `host:port` (e.g. a group coordinator), opened once.
   *
   * @param address `host:port`
   * @returns the connection
   * @throws BrokerConnectionError, AuthError
   */
  connectTo(address: string): Promise<BrokerConnection> {
    return this.#connection(address);
  }

  /**
   * Sends one request at the highest version both sides speak and parses the answer.
   *
   * @param conn the connection
   * @param apiKey the API key
   * @param name the API's name (for errors)
   * @param build the body for a version
   * @param parse the answer's parser for that version
   * @returns the parsed answer
   * @throws BrokerConnectionError
   */
  async call<T>(
    conn: BrokerConnection,
    apiKey: number,
    name: string,
    build: (version: number) => Uint8Array,
    parse: (r: KafkaReader, version: number) => T,
  ): Promise<T> {
    const v = this.version(apiKey, name);
    const r = await conn.request(apiKey, v, this.#flexible(apiKey, v), build(v), { api: name });
    return parse(r, v);
  }

  /**
   * The partition leaders of `topics`, from the cache or one Metadata request (repeated while
   * the broker reports a leader election or a topic being created, within the request deadline).
   *
   * @param topics topic names
   * @param autocreate let the broker create missing topics
   * @param force ask the broker even for cached topics
   * @returns leaders by topic
   * @throws UnknownTopicError for a topic the broker does not have; KafkaProtocolError (e.g.
   *   TOPIC_AUTHORIZATION_FAILED); BrokerConnectionError
   */
  async metadata(
    topics: string[],
    autocreate: boolean,
    force = false,
  ): Promise<Map<string, TopicLeaders>> {
    const out = new Map<string, TopicLeaders>();
    let wanted = topics.filter((t) => {
      const known = force ? undefined : this.#topics.get(t);
      if (known) out.set(t, known);
      return !known;
    });
    const until = performance.now() + this.#o.requestTimeoutMs;
    while (wanted.length > 0) {
      const conn = await this.#any();
      const res = await this.call(
        conn,
        API.Metadata,
        "Metadata",
        (v) => metadataRequest(v, wanted, autocreate),
        parseMetadata,
      );
      for (const b of res.brokers) {
        this.#nodes.set(
          b.nodeId,
          b.host.includes(":") ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`,
        );
      }
      let again: KafkaProtocolError | undefined;
      for (const t of res.topics) {
        if (!wanted.includes(t.name)) continue;
        if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && !autocreate) {
          throw new UnknownTopicError(t.name, undefined, {
            cause: new KafkaProtocolError(3, errorName(3), true, `Metadata of ${t.name}`),
          });
        }
        const leaders: number[] = [];
        let missing = t.errorCode !== 0 || t.partitions.length === 0;
        for (let i = 0; i < t.partitions.length; i++) {
          const leader = t.partitions[i]?.leader ?? -1;
          if (leader < 0) missing = true;
          leaders.push(leader);
        }
        if (t.errorCode !== 0 && !retriableCode(t.errorCode)) {
          throw new KafkaProtocolError(
            t.errorCode,
            errorName(t.errorCode),
            false,
            `Metadata of ${t.name}`,
            { topic: t.name },
          );
        }
        if (missing) {
          const code = t.errorCode || 5;
          again = new KafkaProtocolError(code, errorName(code), true, `Metadata of ${t.name}`, {
            topic: t.name,
          });
          continue;
        }
        this.#topics.set(t.name, { leaders });
        out.set(t.name, { leaders });
      }
      wanted = wanted.filter((t) => !out.has(t));
      if (wanted.length === 0) break;
      again ??= new KafkaProtocolError(5, errorName(5), true, `Metadata of ${wanted.join(",")}`);
      if (performance.now() + 100 > until) throw again;
      await sleep(100);
    }
    return out;
  }

  /**
   * Names of every topic the credential may see (internal topics left out).
   *
   * @returns topic names
   * @throws KafkaProtocolError, BrokerConnectionError
   */
  async listTopics(): Promise<string[]> {
    const conn = await this.#any();
    const res = await this.call(
      conn,
      API.Metadata,
      "Metadata",
      (v) => metadataRequest(v, null, false),
      parseMetadata,
    );
    return res.topics.filter((t) => !t.internal && t.errorCode === 0).map((t) => t.name);
  }

  /**
   * A logged-in connection to the broker with node id `nodeId` (known from Metadata).
   *
   * @param nodeId the node id
   * @returns the connection
   * @throws BrokerConnectionError
   */
  broker(nodeId: number): Promise<BrokerConnection> {
    const address = this.#nodes.get(nodeId);
    if (!address) {
      return Promise.reject(
        new BrokerConnectionError(this.#broker, `no address for broker ${nodeId} in the metadata`),
      );
    }
    return this.#connection(address);
  }

  /**
   * Takes a producer id (InitProducerId without a transactional id).
   *
   * @returns the producer id and epoch
   * @throws KafkaProtocolError (e.g. COORDINATOR_LOAD_IN_PROGRESS, retriable;
   *   CLUSTER_AUTHORIZATION_FAILED), BrokerConnectionError
   */
  async initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const conn = await this.#any();
    const version = this.version(API.InitProducerId, "InitProducerId");
    const res = parseInitProducerId(
      await conn.request(
        API.InitProducerId,
        version,
        this.#flexible(API.InitProducerId, version),
        initProducerIdRequest(version, 60_000),
        { api: "InitProducerId" },
      ),
    );
    if (res.errorCode !== 0) {
      throw new KafkaProtocolError(
        res.errorCode,
        errorName(res.errorCode),
        retriableCode(res.errorCode),
        "InitProducerId",
      );
    }
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }

  /**
   * Bytes to leave before a Produce body in its buffer (see {@linkcode ProducerWire.produce}).
   *
   * @param version the Produce version
   * @returns the byte count
   */
  produceHeadRoom(version: number): number {
    return requestHeadSize(this.#o.clientId, this.#flexible(API.Produce, version));
  }

  /**
   * Sends one Produce request (acks -1 or 1) and checks every partition's answer.
   *
   * @param conn the leader's connection
   * @param version the Produce version
   * @param body the request body, with `produceHeadRoom(version)` bytes before it in its buffer
   *   (overwritten with the request header: the body is not copied)
   * @returns when every partition acknowledged
   * @throws ProduceError naming each failed partition (and those acknowledged);
   *   BrokerConnectionError
   */
  async produce(conn: BrokerConnection, version: number, body: Uint8Array): Promise<void> {
    const r = await conn.request(API.Produce, version, this.#flexible(API.Produce, version), body, {
      api: "Produce",
      headRoom: true,
    });
    const answers = parseProduceResponse(r, version);
    let failed: KafkaProtocolError[] | undefined;
    const acknowledged = new Set<string>();
    for (const a of answers) {
      if (a.errorCode === 0 || a.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        acknowledged.add(`${a.topic}\0${a.partition}`);
      } else (failed ??= []).push(partitionError(a));
    }
    if (failed) throw new ProduceError(failed, acknowledged);
  }

  /** Closes every connection; requests in flight fail. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const p of this.#connections.values()) p.then((c) => c.close(), () => {});
    this.#connections.clear();
    this.#bootstrap = undefined;
  }
}

function partitionError(a: ProducePartitionResponse): KafkaProtocolError {
  return new KafkaProtocolError(
    a.errorCode,
    errorName(a.errorCode),
    retriableCode(a.errorCode),
    `Produce to ${a.topic} partition ${a.partition}`,
    { topic: a.topic, detail: a.errorMessage },
  );
}

/**
 * Request bodies and response parsers of the Kafka APIs the producer's wire path speaks:
 * ApiVersions (v3, or v0 answers), SaslHandshake v1, SaslAuthenticate v0-2, Metadata v4-12,
 * InitProducerId v0-4 and Produce responses v3-11. Versions 9+ of Metadata and Produce, 2+ of
 * InitProducerId and SaslAuthenticate, and ApiVersions v3 are "flexible" (compact strings and
 * arrays, tagged fields). Pure functions over {@linkcode KafkaWriter} / {@linkcode KafkaReader}.
 *
 * @module
 */
import { type KafkaReader, KafkaWriter } from "./codec.ts";
import { CONSUMER_API } from "./consumer_apis.ts";

/**
 * API keys.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { API } from "./apis.ts";
 * assertEquals(API.Produce, 0);
 * ```
 */
export const API = {
  Produce: 0,
  Metadata: 3,
  SaslHandshake: 17,
  ApiVersions: 18,
  InitProducerId: 22,
  SaslAuthenticate: 36,
} as const;

/**
 * The versions of each API the wire path speaks (this module's, and the consumer's of
 * `consumer_apis.ts`: their last non-flexible versions), and from which version each is flexible.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { API, OUR_VERSIONS } from "./apis.ts";
 * assertEquals(OUR_VERSIONS[API.Produce], { min: 3, max: 11, flexibleFrom: 9 });
 * ```
 */
export const OUR_VERSIONS: Record<number, { min: number; max: number; flexibleFrom: number }> = {
  [API.Produce]: { min: 3, max: 11, flexibleFrom: 9 },
  [API.Metadata]: { min: 4, max: 12, flexibleFrom: 9 },
  [API.SaslHandshake]: { min: 1, max: 1, flexibleFrom: 99 },
  [API.ApiVersions]: { min: 3, max: 3, flexibleFrom: 3 },
  [API.InitProducerId]: { min: 0, max: 4, flexibleFrom: 2 },
  [API.SaslAuthenticate]: { min: 0, max: 2, flexibleFrom: 2 },
  [CONSUMER_API.Fetch]: { min: 4, max: 11, flexibleFrom: 12 },
  [CONSUMER_API.ListOffsets]: { min: 1, max: 5, flexibleFrom: 6 },
  [CONSUMER_API.OffsetCommit]: { min: 2, max: 7, flexibleFrom: 8 },
  [CONSUMER_API.OffsetFetch]: { min: 1, max: 5, flexibleFrom: 6 },
  [CONSUMER_API.FindCoordinator]: { min: 1, max: 2, flexibleFrom: 3 },
  [CONSUMER_API.JoinGroup]: { min: 2, max: 5, flexibleFrom: 6 },
  [CONSUMER_API.Heartbeat]: { min: 1, max: 3, flexibleFrom: 4 },
  [CONSUMER_API.LeaveGroup]: { min: 1, max: 2, flexibleFrom: 3 },
  [CONSUMER_API.SyncGroup]: { min: 1, max: 3, flexibleFrom: 4 },
  [CONSUMER_API.CreateTopics]: { min: 2, max: 4, flexibleFrom: 5 },
};

/** Version range of one API on a broker. */
export interface VersionRange {
  min: number;
  max: number;
}

/**
 * The ApiVersions v3 request body.
 *
 * @param software client software name and version (`[a-zA-Z0-9.-]`)
 * @returns the body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { apiVersionsRequest } from "./apis.ts";
 * assertEquals([...apiVersionsRequest(["a", "1"])], [2, 97, 2, 49, 0]);
 * ```
 */
export function apiVersionsRequest(software: [string, string]): Uint8Array {
  return new KafkaWriter().compactString(software[0]).compactString(software[1]).noTags()
    .bytes();
}

/**
 * Parses an ApiVersions response: v3, or the v0 answer of a broker that does not speak v3 (error
 * UNSUPPORTED_VERSION with its version list).
 *
 * @param r the response body
 * @returns the error code and the range of each API key
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseApiVersions } from "./apis.ts";
 * import { KafkaReader } from "./codec.ts";
 * // v0 answer: UNSUPPORTED_VERSION, one API (Produce 3-9)
 * const body = new Uint8Array([0, 35, 0, 0, 0, 1, 0, 0, 0, 3, 0, 9]);
 * assertEquals(parseApiVersions(new KafkaReader(body)).apis.get(0), { min: 3, max: 9 });
 * ```
 */
export function parseApiVersions(
  r: KafkaReader,
): { errorCode: number; apis: Map<number, VersionRange> } {
  const errorCode = r.int16();
  const compact = errorCode !== 35;
  const apis = new Map<number, VersionRange>();
  const n = r.arrayLength(compact);
  for (let i = 0; i < n; i++) {
    const key = r.int16(), min = r.int16(), max = r.int16();
    if (compact) r.skipTags();
    apis.set(key, { min, max });
  }
  return { errorCode, apis };
}

/**
 * The SaslHandshake v1 request body.
 *
 * @param mechanism e.g. `SCRAM-SHA-512`
 * @returns the body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { saslHandshakeRequest } from "./apis.ts";
 * assertEquals([...saslHandshakeRequest("PLAIN")], [0, 5, 80, 76, 65, 73, 78]);
 * ```
 */
export function saslHandshakeRequest(mechanism: string): Uint8Array {
  return new KafkaWriter().string(mechanism, false).bytes();
}

/**
 * Parses a SaslHandshake response.
 *
 * @param r the response body
 * @returns the error code and the mechanisms the broker offers
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseSaslHandshake } from "./apis.ts";
 * import { KafkaReader } from "./codec.ts";
 * // UNSUPPORTED_SASL_MECHANISM, offering ["PLAIN"]
 * const body = new Uint8Array([0, 33, 0, 0, 0, 1, 0, 5, 80, 76, 65, 73, 78]);
 * assertEquals(parseSaslHandshake(new KafkaReader(body)), { errorCode: 33, mechanisms: ["PLAIN"] });
 * ```
 */
export function parseSaslHandshake(r: KafkaReader): { errorCode: number; mechanisms: string[] } {
  const errorCode = r.int16();
  const mechanisms = r.array(false, (x) => x.string() ?? "");
  return { errorCode, mechanisms };
}

/**
 * A SaslAuthenticate request body.
 *
 * @param version 0 to 2
 * @param authBytes the mechanism's message
 * @returns the body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { saslAuthenticateRequest } from "./apis.ts";
 * assertEquals([...saslAuthenticateRequest(2, new Uint8Array([7]))], [2, 7, 0]);
 * assertEquals([...saslAuthenticateRequest(1, new Uint8Array([7]))], [0, 0, 0, 1, 7]);
 * ```
 */
export function saslAuthenticateRequest(version: number, authBytes: Uint8Array): Uint8Array {
  const w = new KafkaWriter();
  return version >= 2
    ? w.compactBytes(authBytes).noTags().bytes()
    : w.bytesField(authBytes).bytes();
}

/**
 * Parses a SaslAuthenticate response.
 *
 * @param r the response body
 * @param version 0 to 2
 * @returns the error code and message, and the server's message
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseSaslAuthenticate } from "./apis.ts";
 * import { KafkaReader } from "./codec.ts";
 * // v2: no error, null message, server message [1], session lifetime 0, no tags
 * const body = new Uint8Array([0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
 * assertEquals(parseSaslAuthenticate(new KafkaReader(body), 2).authBytes, new Uint8Array([1]));
 * ```
 */
export function parseSaslAuthenticate(
  r: KafkaReader,
  version: number,
): { errorCode: number; errorMessage: string | null; authBytes: Uint8Array } {
  const flexible = version >= 2;
  const errorCode = r.int16();
  const errorMessage = r.str(flexible);
  const authBytes = flexible ? r.compactBytes() : r.bytesField();
  return { errorCode, errorMessage, authBytes };
}

/**
 * A Metadata request body for some topics.
 *
 * @param version 4 to 12
 * @param topics topic names (null: every topic)
 * @param autocreate let the broker create missing topics
 * @returns the body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { metadataRequest } from "./apis.ts";
 * // v4: one topic "t", auto-creation off
 * assertEquals([...metadataRequest(4, ["t"], false)], [0, 0, 0, 1, 0, 1, 116, 0]);
 * ```
 */
export function metadataRequest(
  version: number,
  topics: string[] | null,
  autocreate: boolean,
): Uint8Array {
  const flexible = version >= 9;
  const w = new KafkaWriter().arrayLength(topics?.length ?? null, flexible);
  for (const t of topics ?? []) {
    if (version >= 10) w.raw(new Uint8Array(16)); // topic id: zero (by name)
    if (flexible) w.compactString(t).noTags();
    else w.string(t, false);
  }
  w.int8(autocreate);
  if (version >= 8 && version <= 10) w.int8(false); // include_cluster_authorized_operations
  if (version >= 8) w.int8(false); // include_topic_authorized_operations
  if (flexible) w.noTags();
  return w.bytes();
}

/** A broker of a Metadata response. */
export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
}

/** A partition of a Metadata response. */
export interface MetadataPartition {
  errorCode: number;
  index: number;
  /** Leader node id, -1 for none. */
  leader: number;
}

/** A topic of a Metadata response. */
export interface MetadataTopic {
  errorCode: number;
  name: string;
  /** An internal topic (e.g. `__consumer_offsets`). */
  internal?: boolean;
  /** Partitions by index (holes for partitions not listed). */
  partitions: MetadataPartition[];
}

/**
 * Parses a Metadata response.
 *
 * @param r the response body
 * @param version 4 to 12
 * @returns brokers and topics
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseMetadata } from "./apis.ts";
 * import { KafkaReader } from "./codec.ts";
 * const body = new Uint8Array([
 *   0, 0, 0, 0, // throttle
 *   0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 104, 0, 0, 35, 132, 255, 255, // broker 1 at h:9092, no rack
 *   255, 255, 0, 0, 0, 1, // no cluster id, controller 1
 *   0, 0, 0, 1, 0, 0, 0, 1, 116, 0, // topic "t", not internal
 *   0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // partition 0, leader 1
 *   0, 0, 0, 0, 0, 0, 0, 0, // no replicas, no isr
 * ]);
 * const m = parseMetadata(new KafkaReader(body), 4);
 * assertEquals(m.brokers, [{ nodeId: 1, host: "h", port: 9092 }]);
 * assertEquals(m.topics[0].partitions, [{ errorCode: 0, index: 0, leader: 1 }]);
 * ```
 */
export function parseMetadata(
  r: KafkaReader,
  version: number,
): { brokers: MetadataBroker[]; topics: MetadataTopic[] } {
  const flexible = version >= 9;
  r.int32(); // throttle_time_ms
  const brokers = r.array(flexible, (x) => {
    const nodeId = x.int32();
    const host = x.str(flexible) ?? "";
    const port = x.int32();
    x.str(flexible); // rack
    if (flexible) x.skipTags();
    return { nodeId, host, port };
  });
  r.str(flexible); // cluster_id
  r.int32(); // controller_id
  const topics = r.array(flexible, (x) => {
    const errorCode = x.int16();
    const name = x.str(flexible) ?? "";
    if (version >= 10) x.skip(16); // topic_id
    const internal = x.bool();
    const partitions: MetadataPartition[] = [];
    const n = x.arrayLength(flexible);
    for (let i = 0; i < n; i++) {
      const errorCode = x.int16(), index = x.int32(), leader = x.int32();
      if (version >= 7) x.int32(); // leader_epoch
      for (let k = 0; k < (version >= 5 ? 3 : 2); k++) {
        x.skip(4 * x.arrayLength(flexible)); // replicas, isr, offline replicas
      }
      if (flexible) x.skipTags();
      if (index >= 0 && index < 1 << 20) partitions[index] = { errorCode, index, leader };
    }
    if (version >= 8) x.int32(); // topic_authorized_operations
    if (flexible) x.skipTags();
    return internal ? { errorCode, name, internal, partitions } : { errorCode, name, partitions };
  });
  if (version >= 8 && version <= 10) r.int32(); // cluster_authorized_operations
  if (flexible) r.skipTags();
  return { brokers, topics };
}

/**
 * An InitProducerId request body (no transactional id: an idempotent producer).
 *
 * @param version 0 to 4
 * @param timeoutMs transaction timeout (unused without transactions)
 * @returns the body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { initProducerIdRequest } from "./apis.ts";
 * assertEquals([...initProducerIdRequest(0, 60000)], [255, 255, 0, 0, 234, 96]);
 * ```
 */
export function initProducerIdRequest(version: number, timeoutMs: number): Uint8Array {
  const flexible = version >= 2;
  const w = new KafkaWriter();
  if (flexible) w.compactString(null);
  else w.string(null, true);
  w.int32(timeoutMs);
  if (version >= 3) w.int64(-1n).int16(-1);
  if (flexible) w.noTags();
  return w.bytes();
}

/**
 * Parses an InitProducerId response.
 *
 * @param r the response body
 * @returns the error code, producer id and epoch
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseInitProducerId } from "./apis.ts";
 * import { KafkaReader } from "./codec.ts";
 * const body = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0]);
 * assertEquals(parseInitProducerId(new KafkaReader(body)), {
 *   errorCode: 0, producerId: 7n, producerEpoch: 0,
 * });
 * ```
 */
export function parseInitProducerId(
  r: KafkaReader,
): { errorCode: number; producerId: bigint; producerEpoch: number } {
  r.int32(); // throttle_time_ms
  const errorCode = r.int16();
  const producerId = r.int64();
  const producerEpoch = r.int16();
  return { errorCode, producerId, producerEpoch };
}

/** The outcome of one partition in a Produce response. */
export interface ProducePartitionResponse {
  topic: string;
  partition: number;
  errorCode: number;
  /** The broker's message (v8+), or null. */
  errorMessage: string | null;
}

/**
 * Parses a Produce response.
 *
 * @param r the response body
 * @param version 3 to 11
 * @returns each partition's outcome
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseProduceResponse } from "./apis.ts";
 * import { KafkaReader } from "./codec.ts";
 * // v3: topic "t", partition 0, no error, base offset 5, log append time -1, throttle 0
 * const body = new Uint8Array([
 *   0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
 *   255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0,
 * ]);
 * assertEquals(parseProduceResponse(new KafkaReader(body), 3), [
 *   { topic: "t", partition: 0, errorCode: 0, errorMessage: null },
 * ]);
 * ```
 */
export function parseProduceResponse(r: KafkaReader, version: number): ProducePartitionResponse[] {
  const flexible = version >= 9;
  const out: ProducePartitionResponse[] = [];
  const topics = r.arrayLength(flexible);
  for (let t = 0; t < topics; t++) {
    const topic = r.str(flexible) ?? "";
    const partitions = r.arrayLength(flexible);
    for (let p = 0; p < partitions; p++) {
      const partition = r.int32();
      const errorCode = r.int16();
      r.skip(16); // base_offset, log_append_time_ms
      if (version >= 5) r.skip(8); // log_start_offset
      let errorMessage: string | null = null;
      if (version >= 8) {
        const n = r.arrayLength(flexible);
        for (let i = 0; i < n; i++) {
          r.int32(); // batch_index
          r.str(flexible); // batch_index_error_message
          if (flexible) r.skipTags();
        }
        errorMessage = r.str(flexible);
      }
      if (flexible) r.skipTags();
      out.push({ topic, partition, errorCode, errorMessage });
    }
    if (flexible) r.skipTags();
  }
  return out;
}

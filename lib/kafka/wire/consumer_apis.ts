/**
 * Request bodies and response parsers of the Kafka APIs a consumer speaks, in their last
 * non-flexible versions (every broker from Kafka 2.x to 4.x speaks them): FindCoordinator v1-2,
 * JoinGroup v2-5, SyncGroup v1-3, Heartbeat v1-3, LeaveGroup v1-2, OffsetFetch v1-5,
 * OffsetCommit v2-7, ListOffsets v1-5 and Fetch v4-11; and CreateTopics v2-4 for the admin
 * helper. Pure functions over
 * {@linkcode KafkaWriter} / {@linkcode KafkaReader}; record batches are decoded by
 * `records.ts`.
 *
 * @module
 */
import { KafkaReader, KafkaWriter } from "./codec.ts";
import type { AbortedTransaction } from "./records.ts";

/**
 * API keys of the consumer's requests.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { CONSUMER_API } from "./consumer_apis.ts";
 * assertEquals(CONSUMER_API.Fetch, 1);
 * ```
 */
export const CONSUMER_API = {
  Fetch: 1,
  ListOffsets: 2,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  CreateTopics: 19,
} as const;

/** Partitions by topic. */
export type TopicPartitions = Map<string, number[]>;

/** Writes a classic array of topics, each a name and an array of items written by `each`. */
function writeTopics<T>(
  w: KafkaWriter,
  topics: Map<string, T[]>,
  each: (w: KafkaWriter, item: T) => void,
): void {
  w.arrayLength(topics.size, false);
  for (const [t, items] of topics) {
    w.string(t, false).arrayLength(items.length, false);
    for (const x of items) each(w, x);
  }
}

/** Reads a classic array of topics, each a name and an array of items read by `each`. */
function readTopics(r: KafkaReader, each: (r: KafkaReader, topic: string) => void): void {
  const nt = r.arrayLength(false);
  for (let i = 0; i < nt; i++) {
    const topic = r.string() ?? "";
    const np = r.arrayLength(false);
    for (let j = 0; j < np; j++) each(r, topic);
  }
}

/** Items grouped by their topic, in first-seen order. */
function byTopic<T extends { topic: string }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) {
    const list = out.get(x.topic);
    if (list) list.push(x);
    else out.set(x.topic, [x]);
  }
  return out;
}

const int32 = (w: KafkaWriter, p: number) => void w.int32(p);

/**
 * FindCoordinator request (group coordinator).
 *
 * @param groupId the group
 * @returns the body (v1-2)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { findCoordinatorRequest } from "./consumer_apis.ts";
 * assertEquals([...findCoordinatorRequest("g")], [0, 1, 103, 0]);
 * ```
 */
export function findCoordinatorRequest(groupId: string): Uint8Array {
  return new KafkaWriter().string(groupId, false).int8(0).bytes();
}

/**
 * Parses a FindCoordinator v1-2 response.
 *
 * @param r the response body
 * @returns error code and the coordinator's address
 */
export function parseFindCoordinator(
  r: KafkaReader,
): { errorCode: number; nodeId: number; host: string; port: number } {
  r.int32();
  const errorCode = r.int16();
  r.string();
  const nodeId = r.int32();
  const host = r.string() ?? "";
  const port = r.int32();
  return { errorCode, nodeId, host, port };
}

/**
 * The consumer protocol's subscription (version 0: topics, no user data).
 *
 * @param topics the topics
 * @returns the metadata bytes
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeSubscription, parseSubscription } from "./consumer_apis.ts";
 * assertEquals(parseSubscription(encodeSubscription(["a", "b"])), ["a", "b"]);
 * ```
 */
export function encodeSubscription(topics: string[]): Uint8Array {
  const w = new KafkaWriter().int16(0).arrayLength(topics.length, false);
  for (const t of topics) w.string(t, false);
  return w.int32(-1).bytes().slice();
}

/**
 * The topics of a member's subscription (any version: later fields are ignored).
 *
 * @param b the metadata bytes
 * @returns the topics
 */
export function parseSubscription(b: Uint8Array): string[] {
  if (b.length < 6) return [];
  return afterVersion(b).array(false, (x) => x.string() ?? "");
}

/**
 * The consumer protocol's assignment (version 0).
 *
 * @param parts partitions by topic
 * @returns the assignment bytes
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { encodeAssignment, parseAssignment } from "./consumer_apis.ts";
 * const a = new Map([["t", [0, 2]]]);
 * assertEquals(parseAssignment(encodeAssignment(a)), a);
 * ```
 */
export function encodeAssignment(parts: TopicPartitions): Uint8Array {
  const w = new KafkaWriter().int16(0);
  writeTopics(w, parts, int32);
  return w.int32(-1).bytes().slice();
}

/**
 * Partitions by topic of an assignment (any version).
 *
 * @param b the assignment bytes
 * @returns partitions by topic (empty for an empty assignment)
 */
export function parseAssignment(b: Uint8Array): TopicPartitions {
  const out: TopicPartitions = new Map();
  if (b.length < 6) return out;
  readTopics(afterVersion(b), (r, t) => {
    const ps = out.get(t);
    if (ps) ps.push(r.int32());
    else out.set(t, [r.int32()]);
  });
  return out;
}

/** A reader positioned after the int16 version of consumer-protocol bytes. */
function afterVersion(b: Uint8Array): KafkaReader {
  const r = new KafkaReader(b);
  r.int16();
  return r;
}

/** An empty assignment per member, the member ids and the topics subscribed, sorted. */
function assignmentStart(
  members: Map<string, string[]>,
): { out: Map<string, TopicPartitions>; ids: string[]; topics: string[] } {
  const ids = [...members.keys()].sort();
  const out = new Map<string, TopicPartitions>(ids.map((m) => [m, new Map()]));
  return { out, ids, topics: [...new Set([...members.values()].flat())].sort() };
}

/**
 * The `range` assignor (Kafka's RangeAssignor, librdkafka's `range`): per topic, the members
 * subscribed to it in member-id order each get a consecutive share of its partitions.
 *
 * @param members each member's topics, by member id
 * @param partitionCounts partitions per topic
 * @returns each member's partitions by topic
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { rangeAssign } from "./consumer_apis.ts";
 * const got = rangeAssign(new Map([["b", ["t"]], ["a", ["t"]]]), new Map([["t", 3]]));
 * assertEquals(got.get("a")!.get("t"), [0, 1]);
 * assertEquals(got.get("b")!.get("t"), [2]);
 * ```
 */
export function rangeAssign(
  members: Map<string, string[]>,
  partitionCounts: Map<string, number>,
): Map<string, TopicPartitions> {
  const { out, topics } = assignmentStart(members);
  for (const t of topics) {
    const subs = [...members].filter(([, ts]) => ts.includes(t)).map(([m]) => m).sort();
    const n = partitionCounts.get(t) ?? 0;
    const per = Math.floor(n / subs.length), extra = n % subs.length;
    let next = 0;
    subs.forEach((m, i) => {
      const k = per + (i < extra ? 1 : 0);
      if (k > 0) out.get(m)!.set(t, Array.from({ length: k }, (_, j) => next + j));
      next += k;
    });
  }
  return out;
}

/**
 * The `roundrobin` assignor (Kafka's RoundRobinAssignor): every partition of every topic, in
 * topic then partition order, dealt to the members in member-id order (skipping members not
 * subscribed to its topic).
 *
 * @param members each member's topics, by member id
 * @param partitionCounts partitions per topic
 * @returns each member's partitions by topic
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { roundRobinAssign } from "./consumer_apis.ts";
 * const got = roundRobinAssign(new Map([["a", ["t"]], ["b", ["t"]]]), new Map([["t", 3]]));
 * assertEquals(got.get("a")!.get("t"), [0, 2]);
 * ```
 */
export function roundRobinAssign(
  members: Map<string, string[]>,
  partitionCounts: Map<string, number>,
): Map<string, TopicPartitions> {
  const { out, ids, topics } = assignmentStart(members);
  let i = 0;
  for (const t of topics) {
    for (let p = 0; p < (partitionCounts.get(t) ?? 0); p++) {
      for (let k = 0; k < ids.length; k++) {
        const m = ids[(i + k) % ids.length];
        if (!members.get(m)!.includes(t)) continue;
        const parts = out.get(m)!;
        parts.set(t, [...(parts.get(t) ?? []), p]);
        i = (i + k + 1) % ids.length;
        break;
      }
    }
  }
  return out;
}

/**
 * JoinGroup request (v2-5).
 *
 * @param version 2 to 5
 * @param o group, timeouts, member id, protocols (name and subscription metadata)
 * @returns the body
 */
export function joinGroupRequest(
  version: number,
  o: {
    groupId: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    memberId: string;
    protocols: Array<[string, Uint8Array]>;
  },
): Uint8Array {
  const w = new KafkaWriter().string(o.groupId, false).int32(o.sessionTimeoutMs)
    .int32(o.rebalanceTimeoutMs).string(o.memberId, false);
  if (version >= 5) w.string(null, true);
  w.string("consumer", false).arrayLength(o.protocols.length, false);
  for (const [name, meta] of o.protocols) w.string(name, false).bytesField(meta);
  return w.bytes();
}

/** A JoinGroup answer. */
export interface JoinGroupResponse {
  errorCode: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  /** Members and their metadata (the leader's answer only). */
  members: Array<{ memberId: string; metadata: Uint8Array }>;
}

/**
 * Parses a JoinGroup v2-5 response.
 *
 * @param r the response body
 * @param version 2 to 5
 * @returns the answer
 */
export function parseJoinGroup(r: KafkaReader, version: number): JoinGroupResponse {
  r.int32();
  const errorCode = r.int16();
  const generationId = r.int32();
  const protocolName = r.string() ?? "";
  const leader = r.string() ?? "";
  const memberId = r.string() ?? "";
  const members = r.array(false, (x) => {
    const memberId = x.string() ?? "";
    if (version >= 5) x.string();
    return { memberId, metadata: x.bytesField().slice() };
  });
  return { errorCode, generationId, protocolName, leader, memberId, members };
}

/**
 * SyncGroup request (v1-3).
 *
 * @param version 1 to 3
 * @param o group, generation, member, and (the leader's) assignments
 * @returns the body
 */
export function syncGroupRequest(
  version: number,
  o: {
    groupId: string;
    generationId: number;
    memberId: string;
    assignments: Array<[string, Uint8Array]>;
  },
): Uint8Array {
  const w = new KafkaWriter().string(o.groupId, false).int32(o.generationId)
    .string(o.memberId, false);
  if (version >= 3) w.string(null, true);
  w.arrayLength(o.assignments.length, false);
  for (const [m, a] of o.assignments) w.string(m, false).bytesField(a);
  return w.bytes();
}

/**
 * Parses a SyncGroup v1-3 response.
 *
 * @param r the response body
 * @returns error code and this member's assignment bytes
 */
export function parseSyncGroup(r: KafkaReader): { errorCode: number; assignment: Uint8Array } {
  r.int32();
  const errorCode = r.int16();
  return { errorCode, assignment: r.bytesField().slice() };
}

/**
 * Heartbeat request (v1-3).
 *
 * @param version 1 to 3
 * @param groupId the group
 * @param generationId the generation
 * @param memberId the member
 * @returns the body
 */
export function heartbeatRequest(
  version: number,
  groupId: string,
  generationId: number,
  memberId: string,
): Uint8Array {
  const w = new KafkaWriter().string(groupId, false).int32(generationId).string(memberId, false);
  if (version >= 3) w.string(null, true);
  return w.bytes();
}

/**
 * LeaveGroup request (v1-2).
 *
 * @param groupId the group
 * @param memberId the member
 * @returns the body
 */
export function leaveGroupRequest(groupId: string, memberId: string): Uint8Array {
  return new KafkaWriter().string(groupId, false).string(memberId, false).bytes();
}

/**
 * Parses a Heartbeat, LeaveGroup (v1+) answer: throttle time then error code.
 *
 * @param r the response body
 * @returns the error code
 */
export function parseErrorCode(r: KafkaReader): number {
  r.int32();
  return r.int16();
}

/**
 * OffsetFetch request (v1-5).
 *
 * @param groupId the group
 * @param parts partitions by topic
 * @returns the body
 */
export function offsetFetchRequest(groupId: string, parts: TopicPartitions): Uint8Array {
  const w = new KafkaWriter().string(groupId, false);
  writeTopics(w, parts, int32);
  return w.bytes();
}

/** An offset of one partition in an answer. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  errorCode: number;
}

/**
 * Parses an OffsetFetch v1-5 response.
 *
 * @param r the response body
 * @param version 1 to 5
 * @returns the group-level error and each partition's committed offset (-1: none)
 */
export function parseOffsetFetch(
  r: KafkaReader,
  version: number,
): { errorCode: number; offsets: PartitionOffset[] } {
  if (version >= 3) r.int32();
  const offsets: PartitionOffset[] = [];
  readTopics(r, (r, topic) => {
    const partition = r.int32();
    const offset = r.int64();
    if (version >= 5) r.int32();
    r.string();
    offsets.push({ topic, partition, offset, errorCode: r.int16() });
  });
  const errorCode = version >= 2 ? r.int16() : 0;
  return { errorCode, offsets };
}

/** An offset to commit. */
export interface CommitOffset {
  topic: string;
  partition: number;
  offset: bigint;
  /** The leader epoch of the record before it (-1: unknown). */
  leaderEpoch: number;
}

/**
 * OffsetCommit request (v2-7). A generation of -1 and an empty member id commit for a group
 * without active members.
 *
 * @param version 2 to 7
 * @param o group, generation, member, offsets
 * @returns the body
 */
export function offsetCommitRequest(
  version: number,
  o: { groupId: string; generationId: number; memberId: string; offsets: CommitOffset[] },
): Uint8Array {
  const w = new KafkaWriter().string(o.groupId, false).int32(o.generationId)
    .string(o.memberId, false);
  if (version >= 7) w.string(null, true);
  if (version <= 4) w.int64(-1n);
  writeTopics(w, byTopic(o.offsets), (w, c) => {
    w.int32(c.partition).int64(c.offset);
    if (version >= 6) w.int32(c.leaderEpoch);
    w.string(null, true);
  });
  return w.bytes();
}

/**
 * Parses an OffsetCommit v2-7 response.
 *
 * @param r the response body
 * @param version 2 to 7
 * @returns each partition's error code
 */
export function parseOffsetCommit(r: KafkaReader, version: number): PartitionOffset[] {
  if (version >= 3) r.int32();
  const out: PartitionOffset[] = [];
  readTopics(r, (r, topic) => {
    out.push({ topic, partition: r.int32(), offset: -1n, errorCode: r.int16() });
  });
  return out;
}

/**
 * ListOffsets request (v1-5; read_committed from v2).
 *
 * @param version 1 to 5
 * @param parts partitions by topic
 * @param timestamp -1 latest, -2 earliest, or a time in ms
 * @returns the body
 */
export function listOffsetsRequest(
  version: number,
  parts: TopicPartitions,
  timestamp: bigint,
): Uint8Array {
  const w = new KafkaWriter().int32(-1);
  if (version >= 2) w.int8(1);
  writeTopics(w, parts, (w, p) => {
    w.int32(p);
    if (version >= 4) w.int32(-1);
    w.int64(timestamp);
  });
  return w.bytes();
}

/**
 * Parses a ListOffsets v1-5 response.
 *
 * @param r the response body
 * @param version 1 to 5
 * @returns each partition's offset (-1: no record at or after the time)
 */
export function parseListOffsets(r: KafkaReader, version: number): PartitionOffset[] {
  if (version >= 2) r.int32();
  const out: PartitionOffset[] = [];
  readTopics(r, (r, topic) => {
    const partition = r.int32();
    const errorCode = r.int16();
    r.int64();
    const offset = r.int64();
    if (version >= 4) r.int32();
    out.push({ topic, partition, offset, errorCode });
  });
  return out;
}

/** A partition to fetch. */
export interface FetchPartition {
  topic: string;
  partition: number;
  offset: bigint;
}

/**
 * Fetch request (v4-11, no fetch session, read_committed).
 *
 * @param version 4 to 11
 * @param o wait, sizes, partitions
 * @returns the body
 */
export function fetchRequest(
  version: number,
  o: { maxWaitMs: number; maxBytes: number; partitionMaxBytes: number; parts: FetchPartition[] },
): Uint8Array {
  const w = new KafkaWriter().int32(-1).int32(o.maxWaitMs).int32(1).int32(o.maxBytes).int8(1);
  if (version >= 7) w.int32(0).int32(-1);
  writeTopics(w, byTopic(o.parts), (w, p) => {
    w.int32(p.partition);
    if (version >= 9) w.int32(-1);
    w.int64(p.offset);
    if (version >= 5) w.int64(-1n);
    w.int32(o.partitionMaxBytes);
  });
  if (version >= 7) w.arrayLength(0, false);
  if (version >= 11) w.string("", false);
  return w.bytes();
}

/** One partition of a Fetch answer. */
export interface FetchedPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  aborted: AbortedTransaction[];
  /** The record batches (a view into the response). */
  records: Uint8Array;
}

/**
 * Parses a Fetch v4-11 response.
 *
 * @param r the response body
 * @param version 4 to 11
 * @returns the top-level error (v7+) and each partition's answer
 */
export function parseFetch(
  r: KafkaReader,
  version: number,
): { errorCode: number; partitions: FetchedPartition[] } {
  r.int32();
  let errorCode = 0;
  if (version >= 7) {
    errorCode = r.int16();
    r.int32();
  }
  const partitions: FetchedPartition[] = [];
  readTopics(r, (r, topic) => {
    const partition = r.int32();
    const errorCode = r.int16();
    const highWatermark = r.int64();
    r.int64(); // last_stable_offset
    if (version >= 5) r.int64(); // log_start_offset
    const na = r.int32();
    const aborted: AbortedTransaction[] = [];
    for (let k = 0; k < na; k++) aborted.push({ producerId: r.int64(), firstOffset: r.int64() });
    if (version >= 11) r.int32(); // preferred_read_replica
    const n = r.int32();
    const records = n > 0 ? r.raw(n) : new Uint8Array(0);
    partitions.push({ topic, partition, errorCode, highWatermark, aborted, records });
  });
  return { errorCode, partitions };
}

/** A topic to create: name, partitions and replication factor (-1: the broker's), configs. */
export interface NewTopic {
  name: string;
  partitions: number;
  replicas: number;
  configs: Array<[string, string]>;
}

/**
 * CreateTopics request (v2-4).
 *
 * @param topics the topics
 * @param timeoutMs how long the controller may take
 * @returns the body
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createTopicsRequest } from "./consumer_apis.ts";
 * const body = createTopicsRequest([{ name: "t", partitions: 1, replicas: -1, configs: [] }], 5);
 * assertEquals(body.length, 4 + 3 + 4 + 2 + 4 + 4 + 4 + 1);
 * ```
 */
export function createTopicsRequest(topics: NewTopic[], timeoutMs: number): Uint8Array {
  const w = new KafkaWriter().arrayLength(topics.length, false);
  for (const t of topics) {
    w.string(t.name, false).int32(t.partitions).int16(t.replicas).arrayLength(0, false);
    w.arrayLength(t.configs.length, false);
    for (const [k, v] of t.configs) w.string(k, false).string(v, true);
  }
  return w.int32(timeoutMs).int8(false).bytes();
}

/**
 * Parses a CreateTopics v2-4 response.
 *
 * @param r the response body
 * @returns each topic's error code and message
 */
export function parseCreateTopics(
  r: KafkaReader,
): Array<{ name: string; errorCode: number; errorMessage: string | null }> {
  r.int32();
  return r.array(false, (x) => ({
    name: x.string() ?? "",
    errorCode: x.int16(),
    errorMessage: x.string(),
  }));
}

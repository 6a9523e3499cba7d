/**
 * Membership of a classic Kafka consumer group over the own wire path (`wire/`): the
 * coordinator found with FindCoordinator, JoinGroup (again with the member id the broker hands
 * out: MEMBER_ID_REQUIRED), the assignment computed by the leader with the `range` or
 * `roundrobin` assignor (both offered, `range` first: librdkafka and the Java client offer
 * `range` by default, the client library this replaces offered only `roundrobin`), SyncGroup,
 * Heartbeat on a timer (a rebalance, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID sets
 * {@linkcode GroupMember.rebalancing}), OffsetFetch and OffsetCommit with the member's
 * generation, LeaveGroup.
 *
 * @module
 */
import { sleep } from "../_util/abort.ts";
import { KafkaProtocolError } from "./errors.ts";
import type { ProducerWire } from "./wire/client.ts";
import type { BrokerConnection } from "./wire/connection.ts";
import {
  type CommitOffset,
  CONSUMER_API,
  encodeAssignment,
  encodeSubscription,
  findCoordinatorRequest,
  heartbeatRequest,
  joinGroupRequest,
  leaveGroupRequest,
  offsetCommitRequest,
  offsetFetchRequest,
  parseAssignment,
  parseErrorCode,
  parseFindCoordinator,
  parseJoinGroup,
  parseOffsetCommit,
  parseOffsetFetch,
  parseSubscription,
  parseSyncGroup,
  rangeAssign,
  roundRobinAssign,
  syncGroupRequest,
  type TopicPartitions,
} from "./wire/consumer_apis.ts";
import { ErrorCode, errorName, retriableCode } from "./wire/error_codes.ts";

const { REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, MEMBER_ID_REQUIRED } =
  ErrorCode;
const COORDINATOR_CODES = new Set<number>([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

/** Options of {@linkcode GroupMember}. */
export interface GroupMemberOptions {
  /** The group. */
  groupId: string;
  /** The topics subscribed. */
  topics: string[];
  /** Session timeout, ms. */
  sessionTimeoutMs: number;
  /** The member id of an earlier session, to rejoin as. @default "" (a new member) */
  memberId?: string;
  /** Told about each heartbeat answered. */
  onContact?: () => void;
  /** Told when a heartbeat says the group rebalances (or the member was dropped). */
  onRebalance?: () => void;
}

function protocolError(code: number, what: string): KafkaProtocolError {
  return new KafkaProtocolError(code, errorName(code), retriableCode(code), what);
}

/**
 * One member of a consumer group.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GroupMember } from "./group.ts";
 * import { ProducerWire } from "./wire/client.ts";
 * import { withAdmin } from "./admin.ts";
 * import { KafkaCluster } from "./cluster.ts";
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const topic = `group-${crypto.randomUUID()}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "create", (a) => a.createTopics([{ topic, partitions: 2 }]));
 * const wire = new ProducerWire({
 *   brokers: [broker], clientId: "x", connectTimeoutMs: 5000, requestTimeoutMs: 20000,
 * });
 * const member = new GroupMember(wire, { groupId: topic, topics: [topic], sessionTimeoutMs: 6000 });
 * try {
 *   assertEquals((await member.join()).get(topic), [0, 1]);
 * } finally {
 *   await member.leave();
 *   wire.close();
 * }
 * ```
 */
export class GroupMember {
  readonly #wire: ProducerWire;
  readonly #o: GroupMemberOptions;
  #coordinator: Promise<BrokerConnection> | undefined;
  #memberId = "";
  #generation = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #beating = false;
  /** Set by a heartbeat: the member must join again. */
  rebalancing = false;
  /** A heartbeat's connection failure (the session should end). */
  failure: Error | undefined;

  /**
   * Creates the member; nothing is sent before {@linkcode GroupMember.join}.
   *
   * @param wire the connections
   * @param options group, topics, timeouts, hooks
   */
  constructor(wire: ProducerWire, options: GroupMemberOptions) {
    this.#wire = wire;
    this.#o = options;
    this.#memberId = options.memberId ?? "";
  }

  /** The member id the coordinator gave ("" before joining). */
  get memberId(): string {
    return this.#memberId;
  }

  /** The group generation joined (-1 before). */
  get generation(): number {
    return this.#generation;
  }

  /** The coordinator's connection (found once; again after NOT_COORDINATOR). */
  coordinator(): Promise<BrokerConnection> {
    const known = this.#coordinator;
    if (known) {
      return known.then((c) => c.closed ? this.#drop(known) : c, () => this.#drop(known));
    }
    const p = (async () => {
      for (let i = 0;; i++) {
        const boot = await this.#wire.bootstrap();
        const r = await this.#wire.call(
          boot,
          CONSUMER_API.FindCoordinator,
          "FindCoordinator",
          () => findCoordinatorRequest(this.#o.groupId),
          parseFindCoordinator,
        );
        if (r.errorCode === 0) {
          const host = r.host.includes(":") ? `[${r.host}]` : r.host;
          return await this.#wire.connectTo(`${host}:${r.port}`);
        }
        if (!retriableCode(r.errorCode) || i > 50) {
          throw protocolError(r.errorCode, `FindCoordinator of group ${this.#o.groupId}`);
        }
        await sleep(100);
      }
    })();
    this.#coordinator = p;
    p.catch(() => {});
    return p;
  }

  #drop(old: Promise<BrokerConnection>): Promise<BrokerConnection> {
    if (this.#coordinator === old) this.#coordinator = undefined;
    return this.coordinator();
  }

  /** Forgets the coordinator (after NOT_COORDINATOR). */
  #lostCoordinator(): void {
    this.#coordinator = undefined;
  }

  /**
   * Joins (or rejoins) the group and takes this member's assignment; the leader assigns.
   *
   * @returns partitions by topic
   * @throws KafkaProtocolError (e.g. GROUP_AUTHORIZATION_FAILED), BrokerConnectionError
   */
  async join(): Promise<TopicPartitions> {
    this.#stopHeartbeat();
    const o = this.#o;
    const subscription = encodeSubscription(o.topics);
    for (let attempt = 0;; attempt++) {
      this.rebalancing = false;
      const conn = await this.coordinator();
      const j = await this.#wire.call(
        conn,
        CONSUMER_API.JoinGroup,
        "JoinGroup",
        (v) =>
          joinGroupRequest(v, {
            groupId: o.groupId,
            sessionTimeoutMs: o.sessionTimeoutMs,
            rebalanceTimeoutMs: o.sessionTimeoutMs,
            memberId: this.#memberId,
            protocols: [["range", subscription], ["roundrobin", subscription]],
          }),
        parseJoinGroup,
      );
      if (j.errorCode === MEMBER_ID_REQUIRED) {
        this.#memberId = j.memberId;
        continue;
      }
      if (j.errorCode !== 0) {
        if (j.errorCode === UNKNOWN_MEMBER_ID) this.#memberId = "";
        if (COORDINATOR_CODES.has(j.errorCode)) this.#lostCoordinator();
        if (
          attempt < 100 &&
          (j.errorCode === UNKNOWN_MEMBER_ID || j.errorCode === REBALANCE_IN_PROGRESS ||
            retriableCode(j.errorCode))
        ) {
          await sleep(j.errorCode === REBALANCE_IN_PROGRESS ? 0 : 100);
          continue;
        }
        throw protocolError(j.errorCode, `JoinGroup of group ${o.groupId}`);
      }
      this.#memberId = j.memberId;
      this.#generation = j.generationId;
      const assignments: Array<[string, Uint8Array]> = [];
      if (j.leader === j.memberId) {
        const members = new Map(j.members.map((m) => [m.memberId, parseSubscription(m.metadata)]));
        const topics = [...new Set([...members.values()].flat())];
        const leaders = await this.#wire.metadata(topics, false, true);
        const counts = new Map([...leaders].map(([t, l]) => [t, l.leaders.length]));
        const assign = j.protocolName === "roundrobin" ? roundRobinAssign : rangeAssign;
        for (const [m, parts] of assign(members, counts)) {
          assignments.push([m, encodeAssignment(parts)]);
        }
      }
      const s = await this.#wire.call(
        conn,
        CONSUMER_API.SyncGroup,
        "SyncGroup",
        (v) =>
          syncGroupRequest(v, {
            groupId: o.groupId,
            generationId: this.#generation,
            memberId: this.#memberId,
            assignments,
          }),
        parseSyncGroup,
      );
      if (s.errorCode !== 0) {
        if (s.errorCode === UNKNOWN_MEMBER_ID) this.#memberId = "";
        if (COORDINATOR_CODES.has(s.errorCode)) this.#lostCoordinator();
        if (
          attempt < 100 &&
          (s.errorCode === UNKNOWN_MEMBER_ID || s.errorCode === REBALANCE_IN_PROGRESS ||
            s.errorCode === ILLEGAL_GENERATION || retriableCode(s.errorCode))
        ) continue;
        throw protocolError(s.errorCode, `SyncGroup of group ${o.groupId}`);
      }
      this.#startHeartbeat();
      return parseAssignment(s.assignment);
    }
  }

  #startHeartbeat(): void {
    this.#beating = true;
    const every = Math.min(3000, Math.max(100, Math.floor(this.#o.sessionTimeoutMs / 6)));
    const beat = async () => {
      this.#timer = undefined;
      if (!this.#beating) return;
      const generation = this.#generation;
      try {
        const conn = await this.coordinator();
        const code = await this.#wire.call(
          conn,
          CONSUMER_API.Heartbeat,
          "Heartbeat",
          (v) => heartbeatRequest(v, this.#o.groupId, generation, this.#memberId),
          parseErrorCode,
        );
        if (!this.#beating || generation !== this.#generation) return;
        if (code === 0) this.#o.onContact?.();
        else if (COORDINATOR_CODES.has(code)) this.#lostCoordinator();
        else if (
          code === REBALANCE_IN_PROGRESS || code === ILLEGAL_GENERATION ||
          code === UNKNOWN_MEMBER_ID
        ) {
          if (code === UNKNOWN_MEMBER_ID) this.#memberId = "";
          this.rebalancing = true;
          this.#beating = false;
          this.#o.onRebalance?.();
          return;
        } else {
          this.failure = protocolError(code, `Heartbeat of group ${this.#o.groupId}`);
          this.#beating = false;
          this.#o.onRebalance?.();
          return;
        }
      } catch (e) {
        if (!this.#beating) return;
        this.failure = e as Error;
        this.#beating = false;
        this.#o.onRebalance?.();
        return;
      }
      if (this.#beating) this.#timer = setTimeout(beat, every);
    };
    this.#timer = setTimeout(beat, every);
  }

  #stopHeartbeat(): void {
    this.#beating = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The group's committed offsets of some partitions (-1: none).
   *
   * @param parts partitions by topic
   * @returns offsets by `topic:partition`
   * @throws KafkaProtocolError, BrokerConnectionError
   */
  async committed(parts: TopicPartitions): Promise<Map<string, bigint>> {
    for (let attempt = 0;; attempt++) {
      const conn = await this.coordinator();
      const r = await this.#wire.call(
        conn,
        CONSUMER_API.OffsetFetch,
        "OffsetFetch",
        () => offsetFetchRequest(this.#o.groupId, parts),
        parseOffsetFetch,
      );
      const code = r.errorCode || r.offsets.find((p) => p.errorCode !== 0)?.errorCode || 0;
      if (code === 0) {
        return new Map(r.offsets.map((p) => [`${p.topic}:${p.partition}`, p.offset]));
      }
      if (COORDINATOR_CODES.has(code)) this.#lostCoordinator();
      if (!retriableCode(code) || attempt > 50) {
        throw protocolError(code, `OffsetFetch of group ${this.#o.groupId}`);
      }
      await sleep(100);
    }
  }

  /**
   * Commits offsets with this member's generation (or, with `standalone`, for a group without
   * active members).
   *
   * @param offsets the offsets
   * @param standalone commit outside the group (generation -1)
   * @throws KafkaProtocolError (ILLEGAL_GENERATION and the like also set `rebalancing`),
   *   BrokerConnectionError
   */
  async commit(offsets: CommitOffset[], standalone = false): Promise<void> {
    const conn = await this.coordinator();
    const r = await this.#wire.call(
      conn,
      CONSUMER_API.OffsetCommit,
      "OffsetCommit",
      (v) =>
        offsetCommitRequest(v, {
          groupId: this.#o.groupId,
          generationId: standalone ? -1 : this.#generation,
          memberId: standalone ? "" : this.#memberId,
          offsets,
        }),
      parseOffsetCommit,
    );
    const failed = r.find((p) => p.errorCode !== 0);
    if (!failed) return;
    const code = failed.errorCode;
    if (COORDINATOR_CODES.has(code)) this.#lostCoordinator();
    if (
      !standalone &&
      (code === REBALANCE_IN_PROGRESS || code === ILLEGAL_GENERATION || code === UNKNOWN_MEMBER_ID)
    ) {
      this.rebalancing = true;
    }
    throw protocolError(code, `OffsetCommit of group ${this.#o.groupId}`);
  }

  /** Leaves the group (a restarted member takes over at once). Errors are ignored. */
  async leave(): Promise<void> {
    this.#stopHeartbeat();
    if (!this.#memberId) return;
    const memberId = this.#memberId;
    this.#memberId = "";
    this.#generation = -1;
    try {
      const conn = await this.coordinator();
      await this.#wire.call(
        conn,
        CONSUMER_API.LeaveGroup,
        "LeaveGroup",
        () => leaveGroupRequest(this.#o.groupId, memberId),
        parseErrorCode,
      );
    } catch { /* the session expires instead */ }
  }

  /** Stops the heartbeats. */
  close(): void {
    this.#stopHeartbeat();
  }
}

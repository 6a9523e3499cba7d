/**
 * Kafka protocol error codes the wire path (producer, consumer, group) meets: their names (as the protocol
 * documentation and the client library spell them, e.g. `NOT_LEADER_OR_FOLLOWER`) and whether
 * the same request may succeed later (Kafka's `RetriableException` list).
 *
 * @module
 */

/** The error codes this layer acts on, by their protocol names. */
export const ErrorCode: {
  readonly OFFSET_OUT_OF_RANGE: 1;
  readonly UNKNOWN_TOPIC_OR_PARTITION: 3;
  readonly COORDINATOR_LOAD_IN_PROGRESS: 14;
  readonly COORDINATOR_NOT_AVAILABLE: 15;
  readonly NOT_COORDINATOR: 16;
  readonly ILLEGAL_GENERATION: 22;
  readonly UNKNOWN_MEMBER_ID: 25;
  readonly REBALANCE_IN_PROGRESS: 27;
  readonly TOPIC_ALREADY_EXISTS: 36;
  readonly DUPLICATE_SEQUENCE_NUMBER: 46;
  readonly MEMBER_ID_REQUIRED: 79;
} = {
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  TOPIC_ALREADY_EXISTS: 36,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  MEMBER_ID_REQUIRED: 79,
};

/** Name and retriability by error code. */
const CODES: Record<number, [string, boolean]> = {
  [-1]: ["UNKNOWN_SERVER_ERROR", false],
  1: ["OFFSET_OUT_OF_RANGE", false],
  2: ["CORRUPT_MESSAGE", true],
  3: ["UNKNOWN_TOPIC_OR_PARTITION", true],
  4: ["INVALID_FETCH_SIZE", false],
  5: ["LEADER_NOT_AVAILABLE", true],
  6: ["NOT_LEADER_OR_FOLLOWER", true],
  7: ["REQUEST_TIMED_OUT", true],
  8: ["BROKER_NOT_AVAILABLE", true],
  9: ["REPLICA_NOT_AVAILABLE", true],
  10: ["MESSAGE_TOO_LARGE", false],
  13: ["NETWORK_EXCEPTION", true],
  14: ["COORDINATOR_LOAD_IN_PROGRESS", true],
  15: ["COORDINATOR_NOT_AVAILABLE", true],
  16: ["NOT_COORDINATOR", true],
  17: ["INVALID_TOPIC_EXCEPTION", false],
  18: ["RECORD_LIST_TOO_LARGE", false],
  19: ["NOT_ENOUGH_REPLICAS", true],
  20: ["NOT_ENOUGH_REPLICAS_AFTER_APPEND", true],
  21: ["INVALID_REQUIRED_ACKS", false],
  22: ["ILLEGAL_GENERATION", false],
  23: ["INCONSISTENT_GROUP_PROTOCOL", false],
  24: ["INVALID_GROUP_ID", false],
  25: ["UNKNOWN_MEMBER_ID", false],
  26: ["INVALID_SESSION_TIMEOUT", false],
  27: ["REBALANCE_IN_PROGRESS", false],
  28: ["INVALID_COMMIT_OFFSET_SIZE", false],
  29: ["TOPIC_AUTHORIZATION_FAILED", false],
  30: ["GROUP_AUTHORIZATION_FAILED", false],
  31: ["CLUSTER_AUTHORIZATION_FAILED", false],
  32: ["INVALID_TIMESTAMP", false],
  33: ["UNSUPPORTED_SASL_MECHANISM", false],
  34: ["ILLEGAL_SASL_STATE", false],
  35: ["UNSUPPORTED_VERSION", false],
  36: ["TOPIC_ALREADY_EXISTS", false],
  37: ["INVALID_PARTITIONS", false],
  38: ["INVALID_REPLICATION_FACTOR", false],
  39: ["INVALID_REPLICA_ASSIGNMENT", false],
  40: ["INVALID_CONFIG", false],
  41: ["NOT_CONTROLLER", true],
  44: ["POLICY_VIOLATION", false],
  45: ["OUT_OF_ORDER_SEQUENCE_NUMBER", false],
  46: ["DUPLICATE_SEQUENCE_NUMBER", false],
  47: ["INVALID_PRODUCER_EPOCH", false],
  49: ["INVALID_PRODUCER_ID_MAPPING", false],
  51: ["CONCURRENT_TRANSACTIONS", true],
  53: ["TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false],
  56: ["KAFKA_STORAGE_ERROR", true],
  58: ["SASL_AUTHENTICATION_FAILED", false],
  59: ["UNKNOWN_PRODUCER_ID", false],
  72: ["LISTENER_NOT_FOUND", true],
  74: ["FENCED_LEADER_EPOCH", true],
  75: ["UNKNOWN_LEADER_EPOCH", true],
  79: ["MEMBER_ID_REQUIRED", false],
  82: ["FENCED_INSTANCE_ID", false],
  87: ["INVALID_RECORD", false],
  89: ["THROTTLING_QUOTA_EXCEEDED", true],
  90: ["PRODUCER_FENCED", false],
};

/**
 * The protocol name of a Kafka error code.
 *
 * @param code the error code
 * @returns e.g. `NOT_LEADER_OR_FOLLOWER`, or `KAFKA_ERROR_<code>` for codes not listed
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { errorName } from "./error_codes.ts";
 * assertEquals(errorName(6), "NOT_LEADER_OR_FOLLOWER");
 * ```
 */
export function errorName(code: number): string {
  return CODES[code]?.[0] ?? `KAFKA_ERROR_${code}`;
}

/**
 * Whether Kafka counts an error code as retriable (the same request may succeed later).
 *
 * @param code the error code
 * @returns true for leader changes, time-outs, coordinators loading and the like
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { retriableCode } from "./error_codes.ts";
 * assertEquals([retriableCode(6), retriableCode(58)], [true, false]);
 * ```
 */
export function retriableCode(code: number): boolean {
  return CODES[code]?.[1] ?? false;
}

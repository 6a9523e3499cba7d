/**
 * A posttroll <-> Kafka bridge for durable fan-out between sites: {@linkcode PosttrollToKafka}
 * produces a site's posttroll messages to Kafka topics derived from their subjects, and
 * {@linkcode KafkaToPosttroll} republishes them at another site as a posttroll publisher, at
 * least once and with duplicates suppressed by message identity across restarts. On the same
 * Kafka layer (`lib/kafka/`), credentials and TLS as igwn-alert (hop's auth.toml, `.netrc`, SASL SCRAM over TLS).
 *
 * @example
 * ```ts ignore
 * import { KafkaToPosttroll, PosttrollToKafka } from "./mod.ts";
 * // site A: everything its nameserver knows, to Kafka
 * await using up = await new PosttrollToKafka({ url: "kafka://kafka.example.org/", site: "a" })
 *   .start();
 * // site B: republished as service "kafka_bridge"
 * await using down = await new KafkaToPosttroll({
 *   url: "kafka://kafka.example.org/",
 *   site: "b",
 *   dedupPath: "/var/lib/posttroll-bridge/b.dedup",
 * }).start();
 * ```
 *
 * @module
 */
export {
  DEFAULT_BRIDGE_SERVICE,
  PosttrollToKafka,
  type ToKafkaOptions,
  type ToKafkaStats,
} from "./to_kafka.ts";
export { type FromKafkaOptions, type FromKafkaStats, KafkaToPosttroll } from "./from_kafka.ts";
export {
  DEFAULT_TOPIC_PREFIX,
  MAX_TOPIC_LENGTH,
  subjectToTopic,
  topicHasPrefix,
  type TopicMapping,
  topicToSubject,
  validateTopicMapping,
  validateTopicName,
} from "./topics.ts";
export { formatIdentity, messageIdentity, OccurrenceCounter } from "./identity.ts";
export { DedupStore, type DedupStoreOptions } from "./dedup.ts";
export { bridgeMetrics } from "./metrics.ts";
export {
  type BridgeRecord,
  buildRecord,
  type ConsumedHeaders,
  headerId,
  headerText,
  ORIGIN_HEADER,
  SUBJECT_HEADER,
  TYPE_HEADER,
} from "./record.ts";
export {
  DEFAULT_KAFKA_PORT,
  type KafkaLinkOptions,
  type KafkaUrl,
  parseKafkaUrl,
} from "./kafka_link.ts";
export { Auth, type AuthInit, type EnvLike, type SaslMechanism } from "../hop/auth.ts";
export type { LogLevel, LogSink } from "../kafka/log.ts";
export { HopError } from "../hop/errors.ts";
export type { CredentialFileProblem } from "../hop/errors.ts";
export {
  type Backend,
  type ConfigScope,
  type ConfigValue,
  PosttrollConfig,
  type TcpKeepaliveConfig,
} from "../posttroll/config.ts";
export {
  AuthError,
  BridgeError,
  BridgeOptionError,
  BrokerConnectionError,
  CredentialFileError,
  DedupStoreError,
  KafkaError,
  RecordTooLargeError,
} from "./errors.ts";

/**
 * A posttroll <-> Kafka bridge for durable fan-out between sites: {@linkcode PosttrollToKafka}
 * produces a site's posttroll messages to Kafka topics derived from their subjects, and
 * {@linkcode KafkaToPosttroll} republishes them at another site as a posttroll publisher, at
 * least once and with duplicates suppressed by message identity across restarts. On the same
 * Kafka layer (`lib/kafka/`), credentials and TLS as igwn-alert (hop's auth.toml, `.netrc`, SASL SCRAM over TLS).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaToPosttroll, PosttrollToKafka } from "./mod.ts";
 * import { Message } from "../posttroll/message.ts";
 * import { Publisher } from "../posttroll/publisher.ts";
 * import { Subscriber } from "../posttroll/subscriber.ts";
 * import { PosttrollConfig } from "../posttroll/config.ts";
 * const url = `kafka://${Deno.env.get("KAFKA") ?? "127.0.0.1:9092"}/`; // kafka.example.org
 * const prefix = `example-${crypto.randomUUID().slice(0, 8)}`; // default "posttroll"
 * // site A: a publisher's messages to Kafka (deployed: everything its nameserver knows)
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * await using up = await new PosttrollToKafka({
 *   url,
 *   noauth: true,
 *   prefix,
 *   site: "a",
 *   addresses: [`tcp://127.0.0.1:${pub.portNumber}`],
 *   nameserver: false,
 * }).start();
 * // site B: republished as service "kafka_bridge" (announced by multicast on loopback here)
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * l.close();
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: { multicast_interface: "127.0.0.1", broadcast_port: (l.addr as Deno.NetAddr).port },
 * });
 * await using down = await new KafkaToPosttroll({
 *   url,
 *   noauth: true,
 *   prefix,
 *   site: "b",
 *   start: "earliest",
 *   dedupPath: null, // deployed: "/var/lib/posttroll-bridge/b.dedup"
 *   config,
 * }).start();
 * await using sub = new Subscriber([`tcp://127.0.0.1:${down.port}`]);
 * const timer = setInterval(() => pub.send(new Message("/oper/polar", "info", "hello b")), 200);
 * for await (const msg of sub) {
 *   assertEquals([msg.subject, msg.data], ["/oper/polar", "hello b"]);
 *   break;
 * }
 * clearInterval(timer);
 * ```
 *
 * @module
 */
export { PosttrollToKafka, type ToKafkaStats } from "./to_kafka.ts";
export { type FromKafkaStats, KafkaToPosttroll } from "./from_kafka.ts";
export {
  atLeast,
  DEFAULT_BRIDGE_SERVICE,
  type FromKafkaOptions,
  type ParsedFromKafkaOptions,
  type ParsedToKafkaOptions,
  parseFromKafkaOptions,
  parseToKafkaOptions,
  type SiteOptions,
  type ToKafkaOptions,
} from "./options.ts";
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
  recordHeaders,
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

/**
 * igwn-alert for Deno: the GraceDB alert client (Python `igwn_alert` 0.7.0) on the Kafka layer
 * (`lib/kafka/`, which speaks the Kafka protocol itself), wire compatible with hop-client. See {@linkcode IgwnAlertClient}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { IgwnAlertClient } from "./mod.ts";
 * import { KafkaCluster } from "../kafka/cluster.ts";
 * import { withAdmin } from "../kafka/admin.ts";
 * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them)
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
 * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
 * await client.publish("superevent", JSON.stringify({ uid: "S1" }));
 * for await (const alert of client.alerts({ topics: ["superevent"], start: "earliest" })) {
 *   assertEquals([alert.topic, alert.payload], ["superevent", '{"uid":"S1"}']);
 *   break;
 * }
 * ```
 *
 * @module
 */
export * from "./client.ts";
export * from "./errors.ts";
export {
  alertEnvironment,
  type AlertHandler,
  HANDLER_DEFAULTS,
  handlerFor,
  HandlerRunError,
  parseHandlers,
  runHandler,
  splitCommand,
  topicMatches,
} from "./handlers.ts";
export { alertFileName, payloadBytes, writeAtomically } from "./files.ts";
export { EXIT_WEDGED, type ListenServiceOptions, runListenService } from "./service.ts";

export {
  BatcherClosedError,
  type BatchInfo,
  type Prepared,
  PublishBatcher,
  type PublishBatcherOptions,
  type SendBatch,
  type Settled,
} from "../kafka/batcher.ts";
export { type LogLevel, type LogSink, stderrLogSink } from "../kafka/log.ts";
export { mapKafkaError } from "../kafka/errors.ts";
export {
  KafkaProducer,
  type KafkaProducerOptions,
  type ProducerRecord,
  type RecordSettled,
} from "../kafka/producer.ts";
export {
  Auth,
  type AuthInit,
  type EnvLike,
  loadAuth,
  type LoadAuthOptions,
  type NetrcEntry,
  netrcLookup,
  type SaslMechanism,
  selectMatchingAuth,
} from "../hop/auth.ts";
export type { CredentialFileProblem } from "../hop/errors.ts";
export {
  type AnyHopModel,
  AvroBlob,
  Blob,
  ExternalMessage,
  GCNCircular,
  GCNTextNotice,
  type HopHeaderInfo,
  type HopModel,
  JSONBlob,
  type SerializedModel,
  VOEvent,
} from "../hop/models.ts";
export type { AvroContainer, AvroSchema } from "../hop/avro.ts";

/**
 * Deno-native messaging for scientific alert and production pipelines, wire-compatible with two
 * Python systems so that a running deployment can swap one process at a time:
 *
 * - **PostTroll** (pytroll's messaging, Python `posttroll` 1.16): the `pytroll://` message codec,
 *   ZeroMQ publishers and subscribers, the nameserver with multicast or direct registration, the
 *   `ListenerContainer`, `POSTTROLL_*` configuration and the CurveZMQ `secure_zmq` backend, over a
 *   ZeroMQ (ZMTP 3.1) engine written in TypeScript.
 * - **igwn-alert** (GraceDB alerts, Python `igwn-alert` 0.7 on `hop-client`): the Kafka client with
 *   hop's message format and credentials.
 *
 * This module re-exports what most programs need from each area. Each concern also has its own
 * subpath export with all of its names: `./message`, `./config`, `./publisher`, `./subscriber`,
 * `./nameserver`, `./listener`, `./multicast`, `./secure`, `./zmq` (the sockets), `./hop`
 * (models, `auth.toml`/`.netrc`), `./igwn-alert`, `./bridge`, `./metrics`; `./compat` has the
 * Python names `Publish`, `Subscribe` and `client` for code ported line by line.
 *
 * @example Publish and subscribe through a nameserver
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Message, NameServer, NoisyPublisher, PosttrollConfig, subscribe } from "./mod.ts";
 *
 * // a site's nameserver; this one on loopback and free ports, beside any real one
 * const free = () => {
 *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   l.close();
 *   return (l.addr as Deno.NetAddr).port;
 * };
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: { nameserver_port: free(), address_publish_port: free(), broadcast_port: free() },
 * });
 * const ns = new NameServer({ multicastEnabled: false, config });
 * const serving = ns.run(undefined, "127.0.0.1");
 * await ns.ready;
 * {
 *   await using pub = await new NoisyPublisher("my_service", {
 *     nameservers: ["127.0.0.1"], // registers there (default: announced by multicast)
 *     announceHost: "127.0.0.1",
 *     config,
 *   }).start();
 *   await using sub = await subscribe({
 *     services: "my_service",
 *     topics: "/my/topic",
 *     nameserver: "127.0.0.1",
 *     config,
 *   });
 *   // a new subscription takes a moment to reach the publisher: send until one arrives
 *   const send = () => pub.send(new Message("/my/topic", "file", { uri: "/data/x.h5" }).encode());
 *   const timer = setInterval(send, 100);
 *   for await (const msg of sub) {
 *     assertEquals([msg.subject, msg.data], ["/my/topic", { uri: "/data/x.h5" }]);
 *     break;
 *   }
 *   clearInterval(timer);
 * }
 * await ns.stop();
 * await serving;
 * ```
 *
 * @example Listen to GraceDB alerts with hop's auth.toml credentials
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { IgwnAlertClient } from "./mod.ts";
 * import { KafkaCluster } from "./lib/kafka/cluster.ts";
 * import { withAdmin } from "./lib/kafka/admin.ts";
 *
 * // a broker on this machine and a fresh group with a "superevent" topic (GraceDB has them);
 * // GraceDB's: new IgwnAlertClient({ group: "gracedb-playground" }) with hop's auth.toml
 * const broker = Deno.env.get("KAFKA") ?? "127.0.0.1:9092";
 * const group = `example-${crypto.randomUUID().slice(0, 8)}`;
 * const cluster = new KafkaCluster({ url: `kafka://${broker}/`, noauth: true });
 * await withAdmin(cluster, "topics", (a) => a.createTopics([{ topic: `${group}.superevent` }]));
 * await using client = new IgwnAlertClient({ server: `kafka://${broker}/`, noauth: true, group });
 * await client.publish("superevent", JSON.stringify({ uid: "S1" }));
 * await client.listen((topic, payload) => {
 *   assertEquals([topic, payload], ["superevent", '{"uid":"S1"}']);
 *   client.stop();
 * }, { topics: ["superevent"], start: "earliest" });
 * ```
 *
 * @module
 */

// PostTroll message codec.
export {
  type CodecDefaults,
  CURRENT_MESSAGE_VERSION,
  Message,
  MessageError,
  type MessageOptions,
  PosttrollError,
  PyDateTime,
  pyDict,
  PyFloat,
  setCodecDefaults,
} from "./lib/posttroll/message.ts";

// PostTroll configuration.
export {
  type Backend,
  config,
  ConfigError,
  type ConfigScope,
  type ConfigValue,
  MissingPermissionError,
  PosttrollConfig,
  type PosttrollConfigOptions,
  type TcpKeepaliveConfig,
  UnsupportedBackendError,
} from "./lib/posttroll/config.ts";

// Publishers.
export {
  type BroadcasterOptions,
  createPublisherFromDictConfig,
  getOwnIp,
  NoisyPublisher,
  type NoisyPublisherOptions,
  type OwnIpOptions,
  publish,
  Publisher,
  PublisherError,
  type PublisherOptions,
  type PublisherSettings,
  type PublishOptions,
  type SecurityLogger,
} from "./lib/posttroll/publisher.ts";

// Subscribers.
export {
  type AddressInfo,
  type AddressLike,
  AuthRefusedError,
  createSubscriberFromDictConfig,
  type Logger,
  NSSubscriber,
  type NSSubscriberOptions,
  subscribe,
  type SubscribeOptions,
  Subscriber,
  type SubscriberOptions,
  type SubscriberSettings,
  type SubscriberStatus,
} from "./lib/posttroll/subscriber.ts";

// Nameserver and address look-ups.
export {
  type AddressBook,
  type AddressBookOptions,
  AddressReceiver,
  type AddressReceiverOptions,
  type AddressSource,
  getPubAddress,
  getPubAddresses,
  NameServer,
  type NameServerOptions,
  NameserverTimeoutError,
  type PubAddressOptions,
  type ReceiveResult,
} from "./lib/posttroll/nameserver.ts";

// Background listener.
export {
  ListenerContainer,
  type ListenerContainerOptions,
  MessageQueue,
  QueueEmptyError,
} from "./lib/posttroll/listener.ts";

// Multicast address broadcasting.
export { type Datagram, MulticastReceiver, MulticastSender } from "./lib/posttroll/multicast.ts";

// Secure backend key files.
export {
  type Certificate,
  type GeneratedKeys,
  generateKeyFiles,
  type GenerateKeyOptions,
  KeyFileError,
  loadCertificate,
  loadPublicKeys,
} from "./lib/posttroll/secure_keys.ts";

// igwn-alert client.
export {
  type Alert,
  type AlertCallback,
  Auth,
  type EnvLike,
  IgwnAlertClient,
  type IgwnAlertClientOptions,
  IgwnAlertError,
  type IgwnAlertWarning,
  type ListenOptions,
  type LogLevel,
  type LogSink,
  type PublishSession,
  type StartPosition,
} from "./lib/igwn_alert/mod.ts";

// hop message models (the `model` of an alert).
export {
  type AnyHopModel,
  AvroBlob,
  type AvroContainer,
  type AvroSchema,
  Blob as HopBlob,
  ExternalMessage,
  GCNCircular,
  GCNTextNotice,
  type HopHeaderInfo,
  type HopModel,
  JSONBlob,
  type SaslMechanism,
  type SerializedModel,
  VOEvent,
} from "./lib/hop/mod.ts";

// The ZeroMQ socket type behind subscribers.
export type { Multipart, PeerInfo, SocketEvent, ZmqSocket } from "./lib/zmq/mod.ts";

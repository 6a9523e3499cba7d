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
 * ```ts ignore
 * import { Message, NoisyPublisher, subscribe } from "@pytroll-deno/messaging";
 *
 * await using pub = await new NoisyPublisher("my_service", { nameservers: ["localhost"] }).start();
 * await using sub = await subscribe({ services: "my_service", topics: "/my/topic" });
 * await pub.send(new Message("/my/topic", "file", { uri: "/data/x.h5" }).encode());
 * for await (const msg of sub) {
 *   console.log(msg.subject, msg.data);
 *   break;
 * }
 * ```
 *
 * @example Listen to GraceDB alerts with hop's auth.toml credentials
 * ```ts ignore
 * import { IgwnAlertClient } from "@pytroll-deno/messaging";
 *
 * await using client = new IgwnAlertClient({ group: "gracedb-playground" });
 * await client.listen((topic, payload) => console.log(topic, payload), ["superevent"]);
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

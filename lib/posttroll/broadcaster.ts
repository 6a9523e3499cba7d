/**
 * Periodic announcements, equivalent to posttroll's `message_broadcaster`: a
 * {@linkcode MessageBroadcaster} re-sends one encoded message every `interval` seconds, by UDP
 * multicast or — when designated receivers (nameservers) are named — by a ZeroMQ REQ to each
 * `tcp://<host>:<broadcast_port>` expecting the reply `ok` (direct registration, for networks
 * without multicast).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AddressServiceBroadcaster } from "./broadcaster.ts";
 * import { AddressReceiver } from "./address_receiver.ts";
 * import { PosttrollConfig } from "./config.ts";
 * // private ports on loopback, multicast on 127.0.0.1: beside any real nameserver
 * const free = () => {
 *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   l.close();
 *   return (l.addr as Deno.NetAddr).port;
 * };
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: {
 *     nameserver_port: free(),
 *     address_publish_port: free(),
 *     broadcast_port: free(),
 *     multicast_interface: "127.0.0.1",
 *   },
 * });
 * // a nameserver's address receiver taking direct registrations
 * await using receiver = await new AddressReceiver({ multicastEnabled: false, config }).start();
 * const b = new AddressServiceBroadcaster("pub", "tcp://127.0.0.1:40000", ["pub"], 2, ["127.0.0.1"], {
 *   config,
 * });
 * b.start(); // registers now and every 2 s
 * while (receiver.get("pub").length === 0) await new Promise((r) => setTimeout(r, 20));
 * assertEquals(receiver.get("pub")[0].URI, "tcp://127.0.0.1:40000");
 * await b.stop();
 * ```
 * @module
 */
import { config as sharedConfig, ConfigError, type PosttrollConfig } from "./config.ts";
import { CURRENT_MESSAGE_VERSION, Message } from "./message.ts";
import { MulticastSender } from "./multicast.ts";
import { ReqSocket } from "../zmq/req.ts";
import { clientSocketOptions, refusalLogger, sleep, stderrWarnings } from "./_sockets.ts";
import { deadline } from "../_util/abort.ts";
import { RegistrationError } from "./errors.ts";
export { RegistrationError } from "./errors.ts";

/** Options shared by the broadcasters. */
export interface BroadcasterOptions {
  /** Configuration (ports, group, backend). @default the shared config */
  config?: PosttrollConfig;
  /**
   * Called with errors that do not stop the broadcaster (nameserver unreachable or silent, bad
   * ack, network unreachable).
   * @default a warning on stderr, each kind of error at most once a minute
   */
  onError?: (error: Error) => void;
  /** Seconds to wait for a nameserver's `ok` before retrying at the next interval. @default 10 */
  registrationTimeout?: number;
}

/** Errors as warnings on stderr, each kind of error (its class) at most once a minute. */
function defaultOnError(): (error: Error) => void {
  const log = refusalLogger(stderrWarnings);
  return (e) => log(`announcement ${e.name}`, `announcement: ${e.message}`);
}

/** Something that can send one announcement. */
interface Sender {
  send(data: string, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Endpoint of a designated receiver: `host` -> `tcp://host:<port>`, `host:port` -> `tcp://host:port`. */
export function designatedReceiverEndpoint(address: string, defaultPort: number): string {
  if (/^[a-z]+:\/\//.test(address)) return address;
  if (address.startsWith("[")) {
    return address.includes("]:") ? `tcp://${address}` : `tcp://${address}:${defaultPort}`;
  }
  const colons = (address.match(/:/g) ?? []).length;
  if (colons === 0) return `tcp://${address}:${defaultPort}`;
  if (colons > 1) return `tcp://[${address}]:${defaultPort}`; // bare IPv6
  return `tcp://${address}`;
}

class DesignatedReceiversSender implements Sender {
  constructor(
    readonly port: number,
    readonly receivers: string[],
    readonly config: PosttrollConfig,
    readonly timeoutSeconds: number,
    readonly onError: (e: Error) => void,
  ) {}

  async send(data: string, signal: AbortSignal): Promise<void> {
    await Promise.all(this.receivers.map((r) => this.#sendTo(r, data, signal)));
  }

  async #sendTo(receiver: string, data: string, signal: AbortSignal): Promise<void> {
    const endpoint = designatedReceiverEndpoint(receiver, this.port);
    let opts;
    try {
      opts = clientSocketOptions(this.config, { endpoint, linger: 0 });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.onError(
        new RegistrationError(
          `registering with the nameserver at ${endpoint} under secure_zmq needs this ` +
            `client's keys: ${e.message}`,
          { cause: e },
        ),
      );
      return;
    }
    const sock = new ReqSocket(opts);
    try {
      sock.connect(endpoint);
      using limit = deadline(this.timeoutSeconds * 1000, signal);
      await sock.send(data, { signal: limit.signal });
      const reply = await sock.receive({ signal: limit.signal });
      const text = new TextDecoder().decode(reply[0] ?? new Uint8Array());
      if (text !== "ok") {
        this.onError(
          new RegistrationError(`invalid acknowledge received from ${endpoint}: ${text}`),
        );
      }
    } catch (e) {
      if (!signal.aborted) {
        this.onError(
          new RegistrationError(
            `no acknowledge from the nameserver at ${endpoint} within ${this.timeoutSeconds} s ` +
              `(is one running there, with direct registration on?)`,
            { cause: e, retriable: true },
          ),
        );
      }
    } finally {
      await sock.close();
    }
  }

  async close(): Promise<void> {}
}

class McastSender implements Sender {
  readonly #sender: MulticastSender;
  constructor(port: number, config: PosttrollConfig) {
    this.#sender = new MulticastSender(port, undefined, { config });
  }
  async send(data: string): Promise<void> {
    await this.#sender.send(data);
  }
  close(): Promise<void> {
    return this.#sender.close();
  }
}

/**
 * Sends `msg` every `interval` seconds (no sending when `interval <= 0`) by multicast on `port`,
 * or to each of `designatedReceivers` by direct registration.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MessageBroadcaster } from "./broadcaster.ts";
 * import { MulticastReceiver } from "./multicast.ts";
 * import { PosttrollConfig } from "./config.ts";
 * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
 * await using rx = await MulticastReceiver.open(0, undefined, { config }); // stands for 21200
 * const msg = "pytroll://address/x info u@h 2020-01-01T00:00:00 v1.01";
 * const b = new MessageBroadcaster(msg, rx.port, 2, undefined, { config });
 * b.start(); // now and every 2 s, to the configured multicast group
 * assertEquals((await rx.settimeout(5).receive()).data, msg);
 * await b.stop();
 * ```
 */
export class MessageBroadcaster implements AsyncDisposable {
  readonly #sender: Sender;
  readonly #interval: number;
  readonly #message: string;
  readonly #ctl = new AbortController();
  readonly #onError: (e: Error) => void;
  #loop: Promise<void> | undefined;
  #stopped = false;

  /**
   * Creates a broadcaster of a fixed message; nothing is sent until it is started.
   *
   * @param msg the encoded message
   * @param port UDP port for multicast, or the default TCP port of designated receivers
   * @param interval seconds between sends
   * @param designatedReceivers nameserver hosts (`host`, `host:port`); empty/undefined: multicast
   * @param options configuration and error callback
   */
  constructor(
    msg: string,
    port: number,
    interval: number,
    designatedReceivers?: string[] | null,
    options: BroadcasterOptions = {},
  ) {
    const config = options.config ?? sharedConfig;
    this.#onError = options.onError ?? defaultOnError();
    this.#sender = designatedReceivers && designatedReceivers.length
      ? new DesignatedReceiversSender(
        port,
        designatedReceivers,
        config,
        options.registrationTimeout ?? 10,
        this.#onError,
      )
      : new McastSender(port, config);
    this.#interval = interval;
    this.#message = msg;
  }

  /**
   * Starts sending in the background (once; no-op when `interval <= 0`).
   *
   * @returns this
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MessageBroadcaster } from "./broadcaster.ts";
   * const b = new MessageBroadcaster("m", 21299, 0).start(); // interval 0: sends nothing
   * assertEquals(b.isRunning(), false);
   * await b.stop();
   * ```
   */
  start(): this {
    if (this.#interval > 0 && !this.#loop && !this.#stopped) this.#loop = this.#run();
    return this;
  }

  /**
   * True while sending.
   *
   * @returns whether the loop runs
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MessageBroadcaster } from "./broadcaster.ts";
   * assertEquals(new MessageBroadcaster("m", 21299, 0).isRunning(), false);
   * ```
   */
  isRunning(): boolean {
    return this.#loop !== undefined && !this.#stopped;
  }

  async #run(): Promise<void> {
    const signal = this.#ctl.signal;
    while (!signal.aborted) {
      try {
        await this.#sender.send(this.#message, signal);
      } catch (e) {
        this.#onError(e as Error);
      }
      await sleep(this.#interval * 1000, signal);
    }
  }

  /**
   * Stops sending and closes the sockets; resolves when the loop has ended.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MessageBroadcaster } from "./broadcaster.ts";
   * import { PosttrollConfig } from "./config.ts";
   * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
   * const b = new MessageBroadcaster("m", 21299, 1, undefined, { config }).start();
   * await b.stop(); // the loop has ended when this resolves
   * assertEquals(b.isRunning(), false);
   * ```
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ctl.abort();
    await this.#loop;
    await this.#sender.close();
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Announces `/address/<name> info {"URI": "<host>:<port>"}` (posttroll's `AddressBroadcaster`,
 * `sendaddress`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AddressBroadcaster } from "./broadcaster.ts";
 * import { AddressReceiver } from "./address_receiver.ts";
 * import { PosttrollConfig } from "./config.ts";
 * // private ports on loopback, multicast on 127.0.0.1: beside any real nameserver
 * const free = () => {
 *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   l.close();
 *   return (l.addr as Deno.NetAddr).port;
 * };
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: {
 *     nameserver_port: free(),
 *     address_publish_port: free(),
 *     broadcast_port: free(),
 *     multicast_interface: "127.0.0.1",
 *   },
 * });
 * await using receiver = await new AddressReceiver({ multicastEnabled: false, config }).start();
 * const b = new AddressBroadcaster("x", ["127.0.0.1", 40000], 2, ["127.0.0.1"], { config }).start();
 * const listed = () => receiver.get("").map((a) => a.URI); // no service names: listed under ""
 * while (!listed().includes("127.0.0.1:40000")) await new Promise((r) => setTimeout(r, 20));
 * assertEquals(receiver.get("x"), []); // posttroll's "host:port" form names no service
 * await b.stop();
 * ```
 */
export class AddressBroadcaster extends MessageBroadcaster {
  /**
   * Creates a broadcaster of one publisher's address; nothing is sent until it is started.
   *
   * @param name publisher name
   * @param address host and port
   * @param interval seconds between announcements
   * @param nameservers designated receivers, or none for multicast
   * @param options configuration
   */
  constructor(
    name: string,
    address: [string, number],
    interval: number,
    nameservers?: string[] | null,
    options: BroadcasterOptions = {},
  ) {
    const config = options.config ?? sharedConfig;
    const msg = new Message(`/address/${name}`, "info", { URI: `${address[0]}:${address[1]}` })
      .encode();
    super(msg, config.broadcastPort(), interval, nameservers, { ...options, config });
  }
}

/**
 * Announces `/address/<name> info {"URI", "service", "supported_message_version", "backend"}`
 * as a NoisyPublisher does (posttroll's `AddressServiceBroadcaster`, `sendaddressservice`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AddressServiceBroadcaster } from "./broadcaster.ts";
 * import { AddressReceiver } from "./address_receiver.ts";
 * import { PosttrollConfig } from "./config.ts";
 * // private ports on loopback, multicast on 127.0.0.1: beside any real nameserver
 * const free = () => {
 *   const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   l.close();
 *   return (l.addr as Deno.NetAddr).port;
 * };
 * const config = new PosttrollConfig({
 *   env: {},
 *   defaults: {
 *     nameserver_port: free(),
 *     address_publish_port: free(),
 *     broadcast_port: free(),
 *     multicast_interface: "127.0.0.1",
 *   },
 * });
 * await using receiver = await new AddressReceiver({ config }).start(); // multicast on 127.0.0.1
 * const b = new AddressServiceBroadcaster("x", "tcp://127.0.0.1:40000", ["x", "alias"], 2, undefined, {
 *   config,
 * }).start(); // no nameservers: announced by multicast
 * while (receiver.get("alias").length === 0) await new Promise((r) => setTimeout(r, 20));
 * assertEquals(receiver.get("alias")[0].service, ["x", "alias"]);
 * await b.stop();
 * ```
 */
export class AddressServiceBroadcaster extends MessageBroadcaster {
  /** The announcement, encoded once (its header time never changes, like posttroll's). */
  readonly announcement: string;
  /**
   * Creates a broadcaster of a publisher's address and services; nothing is sent until it is
   * started.
   *
   * @param name publisher name
   * @param address the publisher's URI
   * @param service the service names
   * @param interval seconds between announcements @default 2
   * @param nameservers designated receivers, or none for multicast
   * @param options configuration
   */
  constructor(
    name: string,
    address: string,
    service: string | string[],
    interval = 2,
    nameservers?: string[] | null,
    options: BroadcasterOptions = {},
  ) {
    const config = options.config ?? sharedConfig;
    const msg = new Message(`/address/${name}`, "info", {
      URI: address,
      service,
      supported_message_version: CURRENT_MESSAGE_VERSION,
      backend: config.backend(),
    }).encode();
    super(msg, config.broadcastPort(), interval, nameservers, { ...options, config });
    this.announcement = msg;
  }
}

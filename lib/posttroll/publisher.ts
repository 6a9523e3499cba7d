/**
 * Publishing posttroll messages, equivalent to `posttroll.publisher`: {@linkcode Publisher} (a
 * ZeroMQ PUB socket bound to an address), {@linkcode NoisyPublisher} (a publisher that announces
 * its name and address to nameservers), {@linkcode publish} (posttroll's `Publish` context
 * manager; that name is in `./compat`) and {@linkcode createPublisherFromDictConfig} with
 * posttroll's selection rules.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Publisher } from "./publisher.ts";
 * import { Message } from "./message.ts";
 * import { Subscriber } from "./subscriber.ts";
 * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
 * await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], { topics: "/counter" });
 * while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10)); // joined
 * await pub.send(new Message("/counter", "info", "1"));
 * for await (const msg of sub) {
 *   assertEquals(msg.data, "1");
 *   break;
 * }
 * ```
 * @module
 */
import { config as sharedConfig, type PosttrollConfig } from "./config.ts";
import { Message } from "./message.ts";
import { PubSocket } from "../zmq/pub.ts";
import {
  bindServer,
  ensureNet,
  logServerEvents,
  refusalLogger,
  type SecurityLogger,
  serverSocketOptions,
  splitTcp,
  stderrWarnings,
  tcpEndpoint,
} from "./_sockets.ts";
import { isBroadcastGroup } from "./multicast.ts";
import {
  AddressServiceBroadcaster,
  type BroadcasterOptions,
  designatedReceiverEndpoint,
} from "./broadcaster.ts";
import { getOwnIp } from "./own_ip.ts";

export { getOwnIp } from "./own_ip.ts";
import { PublisherError } from "./errors.ts";
export { PosttrollError, PublisherError } from "./errors.ts";
export type { OwnIpOptions } from "./own_ip.ts";
export type { SecurityLogger } from "./_sockets.ts";
export type { BroadcasterOptions } from "./broadcaster.ts";
export {
  AddressBroadcaster,
  AddressServiceBroadcaster,
  MessageBroadcaster,
  RegistrationError,
} from "./broadcaster.ts";

/** Options of {@linkcode Publisher}. */
export interface PublisherOptions {
  /** Publisher name (used in heartbeat subjects). @default "" */
  name?: string;
  /** Lowest random port when the address has port 0. @default config `pub_min_port` (49152) */
  minPort?: number | null;
  /** One past the highest random port. @default config `pub_max_port` (65536) */
  maxPort?: number | null;
  /** Configuration. @default the shared config */
  config?: PosttrollConfig;
  /**
   * Where refused clients are logged (`secure_zmq`: unknown CURVE keys, plain clients; any
   * backend: addresses outside `authorized_client_addresses`), one warning per refusal.
   * @default silent
   */
  logger?: SecurityLogger;
}

/**
 * A PUB socket bound to `address` (`tcp://host:port`, port 0 for a random port in
 * [min_port, max_port), or `ipc://path`). Messages are sent as single UTF-8 frames. Host `*`
 * listens on all addresses of both IPv4 and IPv6 (posttroll's `*` is IPv4 only).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Publisher } from "./publisher.ts";
 * const pub = await new Publisher("tcp://127.0.0.1:0", { name: "demo" }).start();
 * assert(pub.portNumber! > 0); // the free port the system gave
 * await pub.heartbeat(30); // "/heartbeat/demo" beat, at most every 30 s
 * await pub.stop();
 * ```
 */
export class Publisher implements AsyncDisposable {
  /** The bind address as given. */
  readonly destination: string;
  readonly #name: string;
  readonly #config: PosttrollConfig;
  readonly #minPort: number;
  readonly #maxPort: number;
  readonly #logger: SecurityLogger | undefined;
  #socket: PubSocket | undefined;
  #watch: Promise<void> | undefined;
  #port: number | undefined;
  #lastBeat = -Infinity;

  /**
   * Creates a publisher for an address; the socket binds when {@linkcode Publisher.start} is
   * called.
   *
   * @param address where to bind
   * @param options name, port range, configuration
   * @throws {UnsupportedBackendError} for an unknown backend
   */
  constructor(address: string, options: PublisherOptions = {}) {
    this.#config = options.config ?? sharedConfig;
    this.#config.backend(); // throws for unknown backends, like posttroll
    this.destination = address;
    this.#name = options.name ?? "";
    this.#minPort = options.minPort || this.#config.pubMinPort();
    this.#maxPort = options.maxPort || this.#config.pubMaxPort();
    this.#logger = options.logger;
  }

  /** The publisher's name. */
  get name(): string {
    return this.#name;
  }

  /** The bound port (after {@linkcode start}); undefined for ipc. */
  get portNumber(): number | undefined {
    return this.#port;
  }

  /**
   * Binds the socket.
   *
   * @returns this
   * @throws {ZmqError} when the address cannot be bound
   * @throws {MissingPermissionError} without `--allow-net` for the address
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Publisher } from "./publisher.ts";
   * const pub = new Publisher("tcp://127.0.0.1:0");
   * assertEquals(pub.portNumber, undefined); // bound by start()
   * await using started = await pub.start();
   * assertEquals(started, pub);
   * ```
   */
  async start(): Promise<this> {
    if (this.#socket) return this;
    const what = `Publisher ${this.#name || this.destination}`;
    ensureNet(this.destination, `${what} (binding ${this.destination})`);
    const opts = await serverSocketOptions(this.#config, {
      endpoint: this.destination,
      logger: this.#logger,
      what,
    });
    const sock = new PubSocket(opts);
    try {
      const [concrete] = await bindServer(sock, this.destination, {
        min: this.#minPort,
        max: this.#maxPort,
      });
      this.#port = splitTcp(concrete)?.port;
    } catch (e) {
      await sock.close();
      throw e;
    }
    this.#socket = sock;
    this.#watch = logServerEvents(sock, this.#logger, what);
    return this;
  }

  /**
   * Sends an encoded message (text, or its UTF-8 bytes: large byte messages are not copied, so
   * leave them unmodified) or a {@linkcode Message}, encoded here (cheaper than sending its
   * `encode()`: the payload is converted to UTF-8 from its own string, without a joined copy).
   *
   * @param msg the message
   * @throws {PublisherError} before start or after stop
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Publisher } from "./publisher.ts";
   * import { Subscriber } from "./subscriber.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
   * await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`]);
   * while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10));
   * await pub.send("pytroll://x info u@h 2020-01-01T00:00:00 v1.01"); // an encoded message
   * for await (const msg of sub) {
   *   assertEquals([msg.subject, msg.sender], ["/x", "u@h"]);
   *   break;
   * }
   * ```
   */
  send(msg: string | Uint8Array | Message): Promise<void> {
    // not an async function: one promise per message instead of two (errors still reject)
    try {
      if (!this.#socket) throw new PublisherError("Cannot 'send' before the publisher is started.");
      if (!(msg instanceof Message)) return this.#socket.send(msg);
      // header and payload go to UTF-8 one after the other: a long payload is never copied into
      // a joined string first
      const parts = msg.encodeParts();
      return this.#socket.sendText(parts[0], parts[1]);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Number of connected subscribers whose subscriptions match `message` (an encoded message or
   * its start, e.g. `pytroll://oper/polar`), or that subscribe to anything when it is absent.
   *
   * @param message encoded message, or a prefix of one
   * @returns the count (0 before start)
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Publisher } from "./publisher.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
   * assertEquals(pub.subscriberCount(), 0);
   * ```
   */
  subscriberCount(message?: string): number {
    return this.#socket?.subscriberCount(message) ?? 0;
  }

  /**
   * Resolves when every message sent so far has been written to the subscribers' connections.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Publisher } from "./publisher.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0").start();
   * await pub.send("pytroll://x info u@h 2020-01-01T00:00:00 v1.01");
   * assertEquals(await pub.flushed(), undefined); // handed to the subscribers' connections
   * ```
   */
  async flushed(): Promise<void> {
    await this.#socket?.flushed();
  }

  /**
   * Sends `/heartbeat/<name> beat {"min_interval": n}`, but only when `minInterval` seconds have
   * passed since the last beat (always when `minInterval` is 0).
   *
   * @param minInterval seconds @default 0
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Publisher } from "./publisher.ts";
   * import { Subscriber } from "./subscriber.ts";
   * await using pub = await new Publisher("tcp://127.0.0.1:0", { name: "x" }).start();
   * await using sub = new Subscriber([`tcp://127.0.0.1:${pub.portNumber}`], { topics: "/heartbeat" });
   * while (pub.subscriberCount() === 0) await new Promise((r) => setTimeout(r, 10));
   * await pub.heartbeat(10); // sends a beat (then none until 10 s have passed)
   * for await (const msg of sub) {
   *   assertEquals([msg.subject, msg.type], ["/heartbeat/x", "beat"]);
   *   break;
   * }
   * ```
   */
  async heartbeat(minInterval = 0): Promise<void> {
    const now = Date.now();
    if (!minInterval || now - this.#lastBeat >= minInterval * 1000) {
      this.#lastBeat = now;
      await this.send(
        new Message("/heartbeat/" + this.#name, "beat", { min_interval: minInterval }),
      );
    }
  }

  /**
   * Closes the socket (idempotent).
   *
   * @example
   * ```ts
   * import { assertRejects } from "@std/assert";
   * import { Publisher, PublisherError } from "./publisher.ts";
   * const pub = await new Publisher("tcp://127.0.0.1:0").start();
   * await pub.stop();
   * await assertRejects(() => pub.send("pytroll://x info u@h 2020-01-01T00:00:00 v1.01"), PublisherError);
   * ```
   */
  async stop(): Promise<void> {
    const s = this.#socket;
    const w = this.#watch;
    this.#socket = undefined;
    this.#watch = undefined;
    await s?.close();
    await w;
  }

  /** Same as {@linkcode stop}. */
  close(): Promise<void> {
    return this.stop();
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Options of {@linkcode NoisyPublisher}. */
export interface NoisyPublisherOptions {
  /** Port to bind (0: random in [minPort, maxPort)). @default 0 */
  port?: number;
  /** Other service names, announced after `name`. @default none */
  aliases?: string | string[] | null;
  /** Seconds between announcements (<= 0: none). @default 2 */
  broadcastInterval?: number;
  /** Nameserver hosts to register with directly; empty/undefined: multicast. */
  nameservers?: string[] | null | false;
  /** Lowest random port. @default config `pub_min_port` (49152) */
  minPort?: number | null;
  /** One past the highest random port. @default config `pub_max_port` (65536) */
  maxPort?: number | null;
  /**
   * Host put into the announced URI.
   * @default config `announce_host`; else, when announcing by multicast from a configured
   * `multicast_interface`, that interface's address (where the announcements are heard);
   * else {@linkcode getOwnIp}()
   */
  announceHost?: string;
  /** Address to listen on (`*`: every address, IPv4 and IPv6). @default "*" */
  bindHost?: string;
  /** Configuration. @default the shared config */
  config?: PosttrollConfig;
  /**
   * Called with announcement errors (nameserver unreachable or silent...).
   * @default a warning on stderr naming this publisher, the same message at most once a minute
   */
  onError?: BroadcasterOptions["onError"];
  /** Where refused clients are logged (see {@linkcode PublisherOptions.logger}). */
  logger?: SecurityLogger;
}

/**
 * A {@linkcode Publisher} on `tcp://*:<port>` that announces `/address/<name>` with URI
 * `tcp://<own ip>:<port>` and services `[name, ...aliases]` every `broadcastInterval` seconds.
 * The announced host is the `announceHost` option, else config `announce_host`, else (multicast
 * announcements out of a configured `multicast_interface`) that interface's address, else
 * {@linkcode getOwnIp}().
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NoisyPublisher } from "./publisher.ts";
 * import { getPubAddress, NameServer } from "./nameserver.ts";
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
 * const ns = new NameServer({ multicastEnabled: false, config }); // stands for "localhost"'s
 * const serving = ns.run(undefined, "127.0.0.1");
 * await ns.ready;
 * {
 *   await using pub = await new NoisyPublisher("my_service", {
 *     nameservers: ["127.0.0.1"],
 *     announceHost: "127.0.0.1",
 *     config,
 *   }).start();
 *   await pub.send("pytroll://x info u@h 2020-01-01T00:00:00 v1.01");
 *   const lookUp = () => getPubAddress("my_service", { nameserver: "127.0.0.1", config });
 *   while ((await lookUp()).length === 0) await new Promise((r) => setTimeout(r, 20));
 *   assertEquals((await lookUp())[0].URI, `tcp://127.0.0.1:${pub.portNumber}`);
 * }
 * await ns.stop();
 * await serving;
 * ```
 */
export class NoisyPublisher implements AsyncDisposable {
  readonly #name: string;
  readonly #aliases: string[];
  readonly #opts: NoisyPublisherOptions;
  readonly #config: PosttrollConfig;
  #publisher: Publisher | undefined;
  #broadcaster: AddressServiceBroadcaster | undefined;

  /**
   * Creates a publisher that announces itself; nothing binds until
   * {@linkcode NoisyPublisher.start} is called.
   *
   * @param name the name to announce
   * @param options port, aliases, interval, nameservers, port range, configuration
   */
  constructor(name: string, options: NoisyPublisherOptions = {}) {
    this.#name = name;
    const a = options.aliases;
    this.#aliases = [name, ...(a ? (typeof a === "string" ? [a] : a) : [])];
    this.#opts = options;
    this.#config = options.config ?? sharedConfig;
  }

  /** The publisher's name. */
  get name(): string {
    return this.#name;
  }

  /** `[name, ...aliases]`. */
  get services(): string[] {
    return [...this.#aliases];
  }

  /** The bound port (after start). */
  get portNumber(): number | undefined {
    return this.#publisher?.portNumber;
  }

  /** The announcement as sent (after start). */
  get announcement(): string | undefined {
    return this.#broadcaster?.announcement;
  }

  /**
   * Binds the publisher and starts announcing. Announcements that fail (a nameserver that does
   * not answer, registering under secure_zmq without this client's keys) go to `onError`, by
   * default a warning on stderr.
   *
   * @returns this
   * @throws {MissingPermissionError} without `--allow-net` for the bind or a nameserver
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { NoisyPublisher } from "./publisher.ts";
   * const pub = await new NoisyPublisher("x", { broadcastInterval: 0 }).start(); // 0: not announced
   * assert(pub.portNumber! > 0);
   * await pub.stop();
   * ```
   */
  async start(): Promise<this> {
    if (this.#publisher) return this;
    const ns = this.#opts.nameservers;
    for (const host of ns || []) this.#checkRegistration(host);
    const host = this.#opts.announceHost ?? this.#config.announceHost() ??
      (!(ns && ns.length) && !isBroadcastGroup(this.#config.mcGroup())
        ? this.#config.multicastInterface()
        : undefined) ??
      await getOwnIp();
    const bindHost = this.#opts.bindHost ?? "*";
    const bh = bindHost.includes(":") && !bindHost.startsWith("[") ? `[${bindHost}]` : bindHost;
    const pub = new Publisher(`tcp://${bh}:${this.#opts.port ?? 0}`, {
      name: this.#name,
      minPort: this.#opts.minPort,
      maxPort: this.#opts.maxPort,
      config: this.#config,
      logger: this.#opts.logger,
    });
    await pub.start();
    this.#publisher = pub;
    const warn = refusalLogger(stderrWarnings);
    this.#broadcaster = new AddressServiceBroadcaster(
      this.#name,
      tcpEndpoint(host, pub.portNumber!),
      this.#aliases,
      this.#opts.broadcastInterval ?? 2,
      ns ? ns : [],
      {
        config: this.#config,
        onError: this.#opts.onError ??
          ((e) => warn(`announcement ${e.name}`, `NoisyPublisher ${this.#name}: ${e.message}`)),
      },
    );
    this.#broadcaster.start();
    return this;
  }

  /** Names a missing `--allow-net` for registering with `host` at start, not at every try. */
  #checkRegistration(host: string): void {
    const endpoint = designatedReceiverEndpoint(host, this.#config.broadcastPort());
    ensureNet(
      endpoint,
      `NoisyPublisher ${this.#name} (registering with the nameserver at ${endpoint})`,
    );
  }

  /**
   * Sends a message.
   *
   * @param msg encoded message or {@linkcode Message}
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NoisyPublisher } from "./publisher.ts";
   * await using pub = await new NoisyPublisher("x", { broadcastInterval: 0 }).start();
   * assertEquals(await pub.send("pytroll://x info u@h 2020-01-01T00:00:00 v1.01"), undefined); // sent
   * ```
   */
  async send(msg: string | Uint8Array | Message): Promise<void> {
    if (!this.#publisher) {
      throw new PublisherError("Cannot 'send' before the publisher is started.");
    }
    await this.#publisher.send(msg);
  }

  /**
   * See {@linkcode Publisher.subscriberCount}.
   *
   * @param message encoded message, or a prefix of one
   * @returns the count (0 before start)
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NoisyPublisher } from "./publisher.ts";
   * await using pub = await new NoisyPublisher("x", { broadcastInterval: 0 }).start();
   * assertEquals(pub.subscriberCount(), 0);
   * ```
   */
  subscriberCount(message?: string): number {
    return this.#publisher?.subscriberCount(message) ?? 0;
  }

  /**
   * See {@linkcode Publisher.flushed}.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NoisyPublisher } from "./publisher.ts";
   * await using pub = await new NoisyPublisher("x", { broadcastInterval: 0 }).start();
   * assertEquals(await pub.flushed(), undefined); // nothing queued
   * ```
   */
  async flushed(): Promise<void> {
    await this.#publisher?.flushed();
  }

  /**
   * Sends a heartbeat (see {@linkcode Publisher.heartbeat}).
   *
   * @param minInterval seconds @default 0
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NoisyPublisher } from "./publisher.ts";
   * await using pub = await new NoisyPublisher("x", { broadcastInterval: 0 }).start();
   * assertEquals(await pub.heartbeat(5), undefined); // a "/heartbeat/x" beat at most every 5 s
   * ```
   */
  async heartbeat(minInterval = 0): Promise<void> {
    if (!this.#publisher) {
      throw new PublisherError("Cannot 'heartbeat' before the publisher is started.");
    }
    await this.#publisher.heartbeat(minInterval);
  }

  /**
   * Stops publishing and announcing (idempotent).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NoisyPublisher } from "./publisher.ts";
   * const pub = await new NoisyPublisher("x", { broadcastInterval: 0 }).start();
   * await pub.stop();
   * assertEquals(pub.portNumber, undefined); // unbound
   * ```
   */
  async stop(): Promise<void> {
    const p = this.#publisher;
    const b = this.#broadcaster;
    this.#publisher = undefined;
    this.#broadcaster = undefined;
    await Promise.all([p?.stop(), b?.stop()]);
  }

  /** Same as {@linkcode stop}. */
  close(): Promise<void> {
    return this.stop();
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Settings of {@linkcode createPublisherFromDictConfig} (posttroll's dict keys). */
export interface PublisherSettings {
  /** Publisher name (required for a NoisyPublisher). */
  name?: string;
  /** Port to bind. */
  port?: number | null;
  /** Full bind address (plain Publisher only). */
  address?: string | null;
  /** Service aliases. */
  aliases?: string | string[] | null;
  /** Announcement interval in seconds. */
  broadcast_interval?: number;
  /** `false`: no nameserver (plain Publisher when a port/address is given); a list: direct registration. */
  nameservers?: string[] | null | false;
  /** Lowest random port. */
  min_port?: number | null;
  /** One past the highest random port. */
  max_port?: number | null;
}

const PUBLISHER_KEYS = new Set([
  "name",
  "port",
  "address",
  "nameservers",
  "aliases",
  "broadcast_interval",
  "min_port",
  "max_port",
]);

/**
 * Chooses and creates (not starts) a publisher like posttroll: a truthy `port` or `address` with
 * `nameservers === false` gives a plain {@linkcode Publisher} (unknown keys raise `TypeError`, as
 * Python's keyword arguments do); anything else a {@linkcode NoisyPublisher}, which needs `name`.
 *
 * @param settings the settings
 * @param options configuration and extra NoisyPublisher options
 * @returns the publisher
 * @throws {TypeError} for unknown keys of a plain publisher
 * @throws {PublisherError} when a NoisyPublisher has no name
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createPublisherFromDictConfig, Publisher } from "./publisher.ts";
 * const pub = createPublisherFromDictConfig({ port: 40000, nameservers: false });
 * assertEquals(pub instanceof Publisher, true);
 * ```
 */
export function createPublisherFromDictConfig(
  settings: PublisherSettings & Record<string, unknown>,
  options: { config?: PosttrollConfig; announceHost?: string; logger?: SecurityLogger } = {},
): Publisher | NoisyPublisher {
  if ((settings.port || settings.address) && settings.nameservers === false) {
    for (const k of Object.keys(settings)) {
      if (!PUBLISHER_KEYS.has(k)) {
        throw new TypeError(`Publisher got an unexpected keyword argument '${k}'`);
      }
    }
    const address = settings.address || `tcp://*:${settings.port}`;
    return new Publisher(address, {
      name: settings.name,
      minPort: settings.min_port,
      maxPort: settings.max_port,
      config: options.config,
      logger: options.logger,
    });
  }
  if (settings.name === undefined) throw new PublisherError("NoisyPublisher requires a name");
  return new NoisyPublisher(settings.name, {
    port: settings.port ?? 0,
    aliases: settings.aliases,
    broadcastInterval: settings.broadcast_interval ?? 2,
    nameservers: settings.nameservers,
    minPort: settings.min_port,
    maxPort: settings.max_port,
    config: options.config,
    announceHost: options.announceHost,
    logger: options.logger,
  });
}

/** Options of {@linkcode publish}: the NoisyPublisher options plus a configuration. */
export interface PublishOptions extends Omit<NoisyPublisherOptions, "nameservers"> {
  /** `false`: a plain Publisher when a port is given; a list: direct registration. */
  nameservers?: string[] | null | false;
}

/**
 * Creates and starts a publisher chosen by posttroll's rules (the `Publish` context manager):
 * use with `await using pub = await publish("name", {...})`.
 *
 * @param name publisher name
 * @param options port, aliases, interval, nameservers, port range, configuration
 * @returns the started publisher
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { publish } from "./publisher.ts";
 * import { getPubAddress, NameServer } from "./nameserver.ts";
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
 * const ns = new NameServer({ multicastEnabled: false, config }); // stands for "localhost"'s
 * const serving = ns.run(undefined, "127.0.0.1");
 * await ns.ready;
 * {
 *   await using pub = await publish("data_provider", { port: 0, nameservers: ["127.0.0.1"], config });
 *   const lookUp = () => getPubAddress("data_provider", { nameserver: "127.0.0.1", config });
 *   while ((await lookUp()).length === 0) await new Promise((r) => setTimeout(r, 20));
 *   assertEquals((await lookUp())[0].service, ["data_provider"]);
 *   assertEquals(pub.name, "data_provider");
 * }
 * await ns.stop();
 * await serving;
 * ```
 */
export async function publish(
  name: string,
  options: PublishOptions = {},
): Promise<Publisher | NoisyPublisher> {
  const settings: PublisherSettings = {
    name,
    port: options.port ?? 0,
    min_port: options.minPort,
    max_port: options.maxPort,
    aliases: options.aliases,
    broadcast_interval: options.broadcastInterval ?? 2,
    nameservers: options.nameservers,
  };
  const pub = createPublisherFromDictConfig(
    settings as PublisherSettings & Record<string, unknown>,
    {
      config: options.config,
      announceHost: options.announceHost,
      logger: options.logger,
    },
  );
  return await pub.start();
}

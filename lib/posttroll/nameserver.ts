/**
 * The posttroll nameserver and its clients, equivalent to `posttroll.ns`: {@linkcode NameServer}
 * answers `/oper/ns request {"service": name}` on a REP socket (port `nameserver_port`, 5557)
 * from the addresses an {@linkcode AddressReceiver} collects; {@linkcode getPubAddress} and
 * {@linkcode getPubAddresses} ask it.
 *
 * Beyond posttroll: the nameserver keeps answering through undecodable requests (it replies with
 * an empty `/oper/ns info`), binds IPv6 addresses, and {@linkcode NameServer.stop} never hangs.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getPubAddress, NameServer } from "./nameserver.ts";
 * import { NoisyPublisher } from "./publisher.ts";
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
 * const ns = new NameServer({ multicastEnabled: false, config });
 * const running = ns.run(undefined, "127.0.0.1");
 * await ns.ready;
 * assertEquals(await getPubAddress("some_service", { timeout: 1, nameserver: "127.0.0.1", config }), []);
 * const pub = await new NoisyPublisher("some_service", {
 *   nameservers: ["127.0.0.1"], // direct registration
 *   announceHost: "127.0.0.1",
 *   config,
 * }).start();
 * let found = await getPubAddress("some_service", { timeout: 1, nameserver: "127.0.0.1", config });
 * while (found.length === 0) { // registering takes a moment
 *   await new Promise((r) => setTimeout(r, 20));
 *   found = await getPubAddress("some_service", { timeout: 1, nameserver: "127.0.0.1", config });
 * }
 * assertEquals(found[0].URI, `tcp://127.0.0.1:${pub.portNumber}`);
 * await pub.stop();
 * await ns.stop();
 * await running;
 * ```
 * @module
 */
import { config as sharedConfig, type PosttrollConfig } from "./config.ts";
import { Message } from "./message.ts";
import { RepSocket } from "../zmq/rep.ts";
import { ReqSocket } from "../zmq/req.ts";
import {
  type AddressSource,
  getActiveAddress as activeAddress,
  nameserverReply,
} from "./address_book.ts";
import { NameserverReplyError } from "./errors.ts";
import { limitedLog } from "../_util/log_limit.ts";
import { AddressReceiver } from "./address_receiver.ts";
import type { NameServerEvents, RefusingSocket } from "./nameserver_events.ts";
import { deadline } from "../_util/abort.ts";
import {
  bindServer,
  clientSocketOptions,
  ensureNet,
  localAddresses,
  logServerEvents,
  refusalOf,
  serverSocketOptions,
  sleep,
  splitTcp,
} from "./_sockets.ts";

export { AddressReceiver } from "./address_receiver.ts";
export { nameServerMetrics } from "./nameserver_metrics.ts";
export { combineEvents } from "./nameserver_events.ts";
import { NameserverTimeoutError } from "./errors.ts";
export { NameserverTimeoutError, PosttrollError } from "./errors.ts";
export type {
  AnnouncementVia,
  LookupResult,
  NameServerEvents,
  RefusingSocket,
} from "./nameserver_events.ts";
export { NameserverReplyError } from "./errors.ts";
export { AuthRefusedError } from "./_sockets.ts";
export type { AddressReceiverOptions } from "./address_receiver.ts";
export type {
  AddressBook,
  AddressBookOptions,
  AddressSource,
  ReceiveResult,
} from "./address_book.ts";

/**
 * Default port of the plain (`unsecure_zmq`) nameserver.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_UNSECURE_ZMQ_NAMESERVER_PORT } from "./nameserver.ts";
 * assertEquals(`tcp://localhost:${DEFAULT_UNSECURE_ZMQ_NAMESERVER_PORT}`, "tcp://localhost:5557");
 * ```
 */
export const DEFAULT_UNSECURE_ZMQ_NAMESERVER_PORT = 5557;
/**
 * Default port of the secure (`secure_zmq`, CURVE) nameserver.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_SECURE_ZMQ_NAMESERVER_PORT } from "./nameserver.ts";
 * assertEquals(`tcp://localhost:${DEFAULT_SECURE_ZMQ_NAMESERVER_PORT}`, "tcp://localhost:5558");
 * ```
 */
export const DEFAULT_SECURE_ZMQ_NAMESERVER_PORT = 5558;

/**
 * The configured plain nameserver port (`nameserver_port`, legacy `NAMESERVER_PORT`, 5557).
 *
 * @param config configuration
 * @returns the port
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getConfiguredNameserverPort } from "./nameserver.ts";
 * import { PosttrollConfig } from "./config.ts";
 * assertEquals(getConfiguredNameserverPort(new PosttrollConfig({ env: {} })), 5557);
 * assertEquals(getConfiguredNameserverPort(new PosttrollConfig({ env: { NAMESERVER_PORT: "7000" } })), 7000);
 * ```
 */
export function getConfiguredNameserverPort(config: PosttrollConfig = sharedConfig): number {
  return config.nameserverPort();
}

/**
 * The nameserver endpoint for `nameserver`: a bare host gets `tcp://` and the configured port,
 * `tcp://host` gets the port, anything else (ipc://, tcp://host:port) is kept. Bare IPv6
 * addresses get brackets.
 *
 * @param nameserver host or endpoint
 * @param port the port to add
 * @returns the endpoint
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createNameserverAddress } from "./nameserver.ts";
 * assertEquals(createNameserverAddress("somehost", 5557), "tcp://somehost:5557");
 * ```
 */
export function createNameserverAddress(nameserver: string, port: number): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(nameserver);
  if (!m) {
    const host = nameserver.includes(":") && !nameserver.startsWith("[")
      ? `[${nameserver}]`
      : nameserver;
    return `tcp://${host}:${port}`;
  }
  if (m[1] === "tcp" && !/(\]|^[^\[\]:]*):\d+\/?$/.test(m[2])) return `${nameserver}:${port}`;
  return nameserver;
}

/** Options of the nameserver clients. */
export interface PubAddressOptions {
  /** Seconds to wait. @default 10 */
  timeout?: number;
  /** Nameserver host or endpoint. @default "localhost" */
  nameserver?: string;
  /** Configuration (port, backend). @default the shared config */
  config?: PosttrollConfig;
  /** Aborts the look-up. */
  signal?: AbortSignal;
}

/**
 * Sends one request to a nameserver on a fresh REQ socket (closed afterwards, also on timeout)
 * and returns the decoded reply. When the nameserver refuses us (under `secure_zmq`: our key is
 * not in its `clients_public_keys_directory`; or our address is not in its
 * `authorized_client_addresses`; or one side is secure and the other plain) it fails at once with
 * {@linkcode AuthRefusedError} instead of waiting for the timeout.
 *
 * @param nameserverAddress endpoint
 * @param request the request message
 * @param timeout seconds
 * @param options configuration and signal
 * @returns the reply
 * @throws {NameserverTimeoutError} when no reply comes in time
 * @throws {AuthRefusedError} when the nameserver refuses us
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NameServer, requestToNameserver } from "./nameserver.ts";
 * import { Message } from "./message.ts";
 * const ns = new NameServer(); // on a free loopback port, knowing one service
 * const serving = ns.run({ svc: [{ URI: "tcp://127.0.0.1:40000" }] }, "tcp://127.0.0.1:0");
 * const [endpoint] = await ns.ready; // stands for tcp://localhost:5557
 * const reply = await requestToNameserver(endpoint, new Message("/oper/ns", "request", { service: "svc" }), 1);
 * assertEquals(reply.data, [{ URI: "tcp://127.0.0.1:40000" }]);
 * await ns.stop();
 * await serving;
 * ```
 */
export async function requestToNameserver(
  nameserverAddress: string,
  request: Message,
  timeout: number,
  options: { config?: PosttrollConfig; signal?: AbortSignal } = {},
): Promise<Message> {
  const config = options.config ?? sharedConfig;
  ensureNet(nameserverAddress, `asking the nameserver at ${nameserverAddress}`);
  const sock = new ReqSocket(
    clientSocketOptions(config, { endpoint: nameserverAddress, linger: 0 }),
  );
  const refused = new AbortController();
  const watch = (async () => {
    for await (const ev of sock.events()) {
      const r = refusalOf(ev);
      if (r) refused.abort(r);
    }
  })();
  try {
    sock.connect(nameserverAddress);
    using limit = deadline(
      timeout * 1000,
      options.signal ? AbortSignal.any([refused.signal, options.signal]) : refused.signal,
    );
    const signal = limit.signal;
    try {
      await sock.send(request.encode(), { signal });
      while (true) {
        const frames = await sock.receive({ signal });
        try {
          return Message.decode(frames[0]);
        } catch {
          // invalid reply: dropped, like posttroll; keep waiting until the timeout
        }
      }
    } catch (e) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (refused.signal.aborted) throw refused.signal.reason;
      throw new NameserverTimeoutError(timeout, { cause: e });
    }
  } finally {
    await sock.close();
    await watch;
  }
}

/**
 * Asks the nameserver for the addresses of publishers of `name` (`""`: all).
 *
 * @param name service name
 * @param options timeout (s), nameserver, configuration
 * @returns the address records (empty when none)
 * @throws {NameserverTimeoutError} "Didn't get an address after N seconds."
 * @throws {AuthRefusedError} when the nameserver refuses us (see {@linkcode requestToNameserver})
 * @throws {NameserverReplyError} when the nameserver answers with an error (its reply would
 *   exceed its size limit)
 * @throws {UnsupportedBackendError} for an unknown backend
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getPubAddress, NameServer } from "./nameserver.ts";
 * const ns = new NameServer(); // on a free loopback port, knowing one service
 * const serving = ns.run({ this_data: [{ URI: "tcp://127.0.0.1:40000" }] }, "tcp://127.0.0.1:0");
 * const [endpoint] = await ns.ready;
 * const addrs = await getPubAddress("this_data", { timeout: 1, nameserver: endpoint });
 * assertEquals(addrs.map((a) => a.URI), ["tcp://127.0.0.1:40000"]);
 * await ns.stop();
 * await serving;
 * ```
 */
export async function getPubAddress(
  name: string,
  options: PubAddressOptions = {},
): Promise<Array<Record<string, unknown>>> {
  const config = options.config ?? sharedConfig;
  const backend = config.backend();
  const port = backend === "secure_zmq" ? config.secureNameserverPort() : config.nameserverPort();
  const address = createNameserverAddress(options.nameserver ?? "localhost", port);
  const timeout = options.timeout ?? 10;
  const request = new Message("/oper/ns", "request", { service: name });
  const reply = await requestToNameserver(address, request, timeout, {
    config,
    signal: options.signal,
  });
  if (reply.type === "error") throw new NameserverReplyError(address, name);
  const data = reply.data;
  if (Array.isArray(data)) return data as Array<Record<string, unknown>>;
  return [];
}

/**
 * Addresses of several services: each name is retried (every `timeout/20` s) until the nameserver
 * lists something or `timeout` passes; timeouts of single requests propagate as in posttroll.
 *
 * @param names names (`undefined`/`null`: all)
 * @param options timeout (s), nameserver, configuration
 * @returns all records found
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getPubAddresses, NameServer } from "./nameserver.ts";
 * const ns = new NameServer(); // on a free loopback port, knowing two services
 * const serving = ns.run({
 *   a: [{ URI: "tcp://127.0.0.1:40000" }],
 *   b: [{ URI: "tcp://127.0.0.1:40001" }],
 * }, "tcp://127.0.0.1:0");
 * const [endpoint] = await ns.ready;
 * const addrs = await getPubAddresses(["a", "b"], { timeout: 1, nameserver: endpoint });
 * assertEquals(addrs.map((a) => a.URI), ["tcp://127.0.0.1:40000", "tcp://127.0.0.1:40001"]);
 * await ns.stop();
 * await serving;
 * ```
 */
export async function getPubAddresses(
  names?: string | string[] | null,
  options: PubAddressOptions = {},
): Promise<Array<Record<string, unknown>>> {
  const list = names === undefined || names === null
    ? [""]
    : typeof names === "string"
    ? [names]
    : names;
  const timeout = options.timeout ?? 10;
  const addrs: Array<Record<string, unknown>> = [];
  for (const name of list) {
    const end = Date.now() + timeout * 1000;
    while (Date.now() < end) {
      addrs.push(...await getPubAddress(name, options));
      if (addrs.length) break;
      await sleep((timeout / 20) * 1000, options.signal);
      options.signal?.throwIfAborted();
    }
  }
  return addrs;
}

/**
 * The reply a nameserver gives for `name` (posttroll's `get_active_address`).
 *
 * @param name service name
 * @param source address book (anything with `get(name)`, or a plain object of lists)
 * @param messageVersion version of the reply
 * @returns the reply message
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getActiveAddress } from "./nameserver.ts";
 * assertEquals(getActiveAddress("x", { x: ["tcp://127.0.0.1:1"] }, "v1.2").version, "v1.2");
 * ```
 */
export function getActiveAddress(
  name: string,
  source: AddressSource | Record<string, unknown>,
  messageVersion: string,
): Message {
  return activeAddress(name, source, messageVersion);
}

/** Options of {@linkcode NameServer}. */
export interface NameServerOptions {
  /** Seconds an address stays listed without a new announcement. @default 600 */
  maxAge?: number;
  /** Receive announcements by multicast; false: direct registration (REQ/REP) only. @default true */
  multicastEnabled?: boolean;
  /**
   * With multicast on, also accept direct registrations on TCP `broadcast_port` (beyond
   * posttroll, so publishers in containers can register). @default false
   */
  directRegistration?: boolean;
  /** Accept announcements and requests from this host's addresses only. @default false */
  restrictToLocalhost?: boolean;
  /** Configuration (ports, backend). @default the shared config */
  config?: PosttrollConfig;
  /**
   * Log lines (requests, addresses, errors; each refused client as a warning: unknown CURVE key
   * on the secure port, address outside `authorized_client_addresses`, plain client on the
   * secure port). @default silent
   */
  logger?: (level: "debug" | "info" | "warning" | "error", message: string) => void;
  /**
   * Hooks told of announcements, expiries, look-ups and refused clients: the nameserver's
   * metrics ({@linkcode nameServerMetrics}) and web view listen here. @default none
   */
  events?: NameServerEvents;
}

/**
 * The nameserver: collects addresses with an {@linkcode AddressReceiver} and answers requests.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NameServer } from "./nameserver.ts";
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
 * const ns = new NameServer({ multicastEnabled: false, config });
 * const done = ns.run(); // on every address; "127.0.0.1" as 2nd argument: loopback only
 * assertEquals((await ns.ready).length > 0, true);
 * await ns.stop();
 * await done;
 * ```
 */
export class NameServer {
  readonly #opts: NameServerOptions;
  readonly #config: PosttrollConfig;
  #running = true;
  #sockets: RepSocket[] = [];
  #watches: Array<Promise<void>> = [];
  #ready = Promise.withResolvers<string[]>();
  #stopCtl = new AbortController();
  #receiver: AddressReceiver | undefined;

  /**
   * Creates a nameserver; nothing listens until {@linkcode NameServer.run} is called.
   *
   * @param options max age, multicast, restriction, configuration
   * @throws {UnsupportedBackendError} for an unknown backend
   */
  constructor(options: NameServerOptions = {}) {
    this.#opts = options;
    this.#config = options.config ?? sharedConfig;
    this.#config.backend();
    this.#ready.promise.catch(() => {});
  }

  /** Resolves with the bound endpoints once the nameserver answers requests. */
  get ready(): Promise<string[]> {
    return this.#ready.promise;
  }

  /** The address receiver (while running, when the nameserver made it). */
  get addressReceiver(): AddressReceiver | undefined {
    return this.#receiver;
  }

  /**
   * Serves until {@linkcode stop}. `addressReceiver` may be given (or any `get(name)` source, or a
   * plain object of lists); otherwise one is made and started. `nameserverAddress` is the host or
   * endpoint to bind (default `*`).
   *
   * @param addressReceiver where addresses come from
   * @param nameserverAddress bind host or endpoint
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { getPubAddress, NameServer } from "./nameserver.ts";
   * const dir = await Deno.makeTempDir();
   * const ns = new NameServer();
   * const done = ns.run({ cool_service: ["some", "addresses"] }, `ipc://${dir}/ns`);
   * const [endpoint] = await ns.ready;
   * assertEquals(await getPubAddress("cool_service", { nameserver: endpoint }), ["some", "addresses"] as never);
   * await ns.stop();
   * await done;
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async run(
    addressReceiver?: AddressSource | Record<string, unknown>,
    nameserverAddress?: string,
  ): Promise<void> {
    const log = this.#opts.logger ?? (() => {});
    let own: AddressReceiver | undefined;
    try {
      if (!this.#running) return;
      let source = addressReceiver;
      const bindTo = nameserverAddress ?? "*";
      const unsecure = createNameserverAddress(bindTo, this.#config.nameserverPort());
      if (source === undefined) {
        own = new AddressReceiver({
          bindHost: splitTcp(unsecure)?.host ?? "*",
          maxAge: this.#opts.maxAge ?? 600,
          multicastEnabled: this.#opts.multicastEnabled ?? true,
          directRegistration: this.#opts.directRegistration,
          restrictToLocalhost: this.#opts.restrictToLocalhost ?? false,
          config: this.#config,
          logger: log,
          events: this.#opts.events,
        });
        this.#receiver = own;
        await own.start();
        source = own;
      }
      const endpoints: string[] = [];
      const local = this.#opts.restrictToLocalhost ? localAddresses() : undefined;
      const filter = local ? (a: string) => a.startsWith("127.") || local.has(a) : undefined;
      const events = this.#opts.events;
      // one REP socket per port, its limit/refusal events logged and counted under `socket`
      const serve = async (
        backend: "unsecure_zmq" | "secure_zmq",
        endpoint: string,
        what: string,
        socket: RefusingSocket,
      ) => {
        const rep = new RepSocket(
          await serverSocketOptions(this.#config, {
            backend,
            endpoint,
            filter,
            logger: log,
            what,
            role: "nameserver",
          }),
        );
        this.#sockets.push(rep);
        this.#watches.push(logServerEvents(rep, log, what, () => events?.refused?.(socket)));
        endpoints.push((await bindServer(rep, endpoint))[0]);
      };
      await serve("unsecure_zmq", unsecure, "Nameserver", "nameserver");
      const secretKey = this.#config.keyFile("server_secret_key_file");
      const clientKeys = this.#config.keyFile("clients_public_keys_directory");
      if (/^(ipc|inproc):/.test(bindTo)) {
        log("debug", "No secure access to the nameserver on ipc/inproc endpoints");
      } else if (secretKey || clientKeys || this.#config.backend() === "secure_zmq") {
        // keys configured (or the secure backend asked for): the secure port must come up; a
        // missing or damaged key is a configuration error, not a reason to run without it
        const secure = createNameserverAddress(bindTo, this.#config.secureNameserverPort());
        await serve("secure_zmq", secure, "Nameserver (secure)", "nameserver_secure");
      } else {
        log("debug", "Cannot create secure access to nameserver: no server keys configured");
      }
      if (!this.#running) return;
      log("info", `Nameserver listening on ${endpoints.join(", ")}`);
      this.#ready.resolve(endpoints);
      const src = source;
      await Promise.all(this.#sockets.map((s) => this.#serve(s, src, log)));
    } catch (e) {
      this.#ready.reject(e);
      throw e;
    } finally {
      // no-op once resolved; otherwise waiters on `ready` learn that it never will be
      this.#ready.reject(new Error("NameServer stopped before it was ready"));
      await Promise.allSettled(this.#sockets.map((s) => s.close()));
      this.#sockets = [];
      await Promise.allSettled(this.#watches.splice(0));
      if (own) await own.stop();
      this.#receiver = undefined;
    }
  }

  async #serve(
    sock: RepSocket,
    source: AddressSource | Record<string, unknown>,
    log: NonNullable<NameServerOptions["logger"]>,
  ): Promise<void> {
    const signal = this.#stopCtl.signal;
    const say = limitedLog(log);
    const maxReplySize = this.#config.nameserverMaxBufferedBytes();
    while (this.#running) {
      let frames: Uint8Array[];
      try {
        frames = await sock.receive({ signal });
      } catch {
        return; // closed or stopped
      }
      let reply: string;
      try {
        const r = nameserverReply(frames[0] ?? new Uint8Array(), source, { maxReplySize });
        reply = r.reply;
        if (r.kind === "too-large") {
          say(
            "too-large",
            "warning",
            `Error reply to a request: ${r.error} (nameserver_max_buffered_bytes)`,
          );
        } else if (r.error) say("invalid", "warning", `Invalid nameserver request: ${r.error}`);
        else log("debug", `Replying to request for ${JSON.stringify(r.service)}`);
        this.#opts.events?.lookup?.(
          r.kind === "too-large"
            ? "too_large"
            : r.error
            ? "invalid"
            : r.found
            ? "found"
            : "not_found",
        );
      } catch (e) {
        // nameserverReply does not throw; whatever happens, the REP socket must stay in step
        say(`failure ${(e as Error).name}`, "error", `Request failed: ${(e as Error).message}`);
        reply = new Message("/oper/ns", "error", "", { version: "v1.01" }).encode();
      }
      try {
        await sock.send(reply, { signal });
      } catch {
        if (!this.#running) return;
      }
    }
  }

  /**
   * Stops serving: `run()` resolves soon after (sockets and the address receiver closed).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NameServer } from "./nameserver.ts";
   * const ns = new NameServer();
   * await ns.stop(); // before run(): run() then returns at once
   * assertEquals(await ns.run(), undefined);
   * ```
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopCtl.abort();
    await Promise.allSettled(this.#sockets.map((s) => s.close()));
  }
}

/**
 * Collecting publisher addresses, equivalent to posttroll's `address_receiver`: announcements
 * arrive by UDP multicast on `broadcast_port` or — with multicast off — as direct registrations on
 * a ZeroMQ REP socket `tcp://*:<broadcast_port>` (answered `ok`). New addresses are re-published
 * (as v1.01) on `tcp://*:<address_publish_port>` (16543), expired ones with `status: false`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AddressReceiver } from "./address_receiver.ts";
 * import { AddressServiceBroadcaster } from "./broadcaster.ts";
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
 * await using rec = await new AddressReceiver({ multicastEnabled: false, maxAge: 60, config }).start();
 * assertEquals(rec.get(""), []);
 * // a publisher registering directly (what NoisyPublisher does with `nameservers`)
 * await using _ = new AddressServiceBroadcaster("pub", "tcp://127.0.0.1:40000", ["pub"], 2, ["127.0.0.1"], {
 *   config,
 * }).start();
 * while (rec.get("pub").length === 0) await new Promise((r) => setTimeout(r, 20));
 * assertEquals(rec.get("pub").map((a) => a.URI), ["tcp://127.0.0.1:40000"]); // listed for 60 s
 * ```
 * @module
 */
import { config as sharedConfig, type PosttrollConfig } from "./config.ts";
import { RepSocket } from "../zmq/rep.ts";
import { AddressBook } from "./address_book.ts";
import { Message } from "./message.ts";
import type { AnnouncementVia, NameServerEvents } from "./nameserver_events.ts";
import { MulticastReceiver, SocketTimeoutError } from "./multicast.ts";
import { NoisyPublisher, Publisher } from "./publisher.ts";
import { limitedLog } from "../_util/log_limit.ts";
import {
  bindServer,
  isLocalAddress,
  localAddresses,
  logServerEvents,
  serverSocketOptions,
  sleep,
  tcpEndpoint,
} from "./_sockets.ts";

/** How many times an add notice is published again after the first (1, 3, 7, 15, 31 s later). */
const ADD_REPEATS = 5;

/** Bind hosts that mean "every address": the announced host is then found by getOwnIp. */
const WILDCARDS = new Set(["*", "", "::", "0.0.0.0"]);

/** Add notices kept for their one repetition (a restarted site re-announces well within it). */
const ECHO_MAX = 1024;

/** Options of {@linkcode AddressReceiver}. */
export interface AddressReceiverOptions {
  /** Seconds an address stays listed without a new announcement. @default 600 */
  maxAge?: number;
  /** Port to re-publish addresses on. @default config `address_publish_port` (16543) */
  port?: number | null;
  /** Publish `/heartbeat/address_receiver` beats. @default true */
  doHeartbeat?: boolean;
  /** Seconds between heartbeats (posttroll: 29). @default 29 */
  heartbeatInterval?: number;
  /** Receive by multicast; false: direct registration on TCP `broadcast_port`. @default true */
  multicastEnabled?: boolean;
  /**
   * Also accept direct registrations while multicast is on (beyond posttroll).
   * @default !multicastEnabled
   */
  directRegistration?: boolean;
  /** Drop announcements from other hosts. @default false */
  restrictToLocalhost?: boolean;
  /**
   * Address the TCP ports (direct registration on `broadcast_port`, re-publishing on
   * `address_publish_port`) listen on: `*` every address of both families, `::` IPv6 (and IPv4
   * where the kernel maps it), or one address, which is then also the address announced for the
   * `addresses` service. Multicast is IPv4 and joins on `multicast_interface`. @default "*"
   */
  bindHost?: string;
  /** Configuration. @default the shared config */
  config?: PosttrollConfig;
  /** Log lines. @default silent */
  logger?: (level: "debug" | "info" | "warning" | "error", message: string) => void;
  /** Hooks told of announcements, expiries and refused clients (metrics, web view). */
  events?: NameServerEvents;
}

/**
 * Receives address announcements and keeps the address book.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
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
 * const rec = new AddressReceiver({ multicastEnabled: false, config });
 * await rec.start(); // listening on address_publish_port and, for registrations, broadcast_port
 * assertEquals(rec.isRunning(), true);
 * await rec.stop();
 * ```
 */
export class AddressReceiver implements AsyncDisposable {
  readonly #opts: AddressReceiverOptions;
  readonly #config: PosttrollConfig;
  readonly #book: AddressBook;
  readonly #log: NonNullable<AddressReceiverOptions["logger"]>;
  /** Rate-limited lines by kind: new addresses, refused announcements, failures. */
  readonly #say: (
    kind: string,
    level: "debug" | "info" | "warning" | "error",
    m: string | (() => string),
  ) => void;
  /** New addresses logged at info: the first 100 a minute, then a count. */
  readonly #sayAdd: (kind: string, level: "info", m: string | (() => string)) => void;
  #ctl = new AbortController();
  #running = false;
  #started = false;
  #tasks: Array<Promise<void>> = [];
  #mc: MulticastReceiver | undefined;
  #rep: RepSocket | undefined;
  #pub: Publisher | NoisyPublisher | undefined;
  #local = new Set<string>();
  /**
   * Add notices to publish once more at the URI's second announcement (see #handle); at most
   * `ECHO_MAX`, the oldest dropped (a flood of one-off announcements must not pile them up).
   */
  #echo = new Map<string, string>();
  /**
   * Add notices to publish again 1, 3, 7, 15 and 31 s after the URI appeared (see #handle); at
   * most `ECHO_MAX`, the oldest dropped.
   */
  #repeats = new Map<string, { add: string; due: number; step: number }>();

  /**
   * Creates a receiver; nothing listens until it is started.
   *
   * @param options max age, ports, multicast, restriction, configuration
   */
  constructor(options: AddressReceiverOptions = {}) {
    this.#opts = options;
    this.#config = options.config ?? sharedConfig;
    this.#config.backend();
    this.#book = new AddressBook({
      maxAgeMs: (options.maxAge ?? 600) * 1000,
      maxEntries: this.#config.addressBookMaxEntries(),
      maxEntrySize: this.#config.addressBookMaxEntrySize(),
    });
    this.#log = options.logger ?? (() => {});
    this.#say = limitedLog(options.logger);
    this.#sayAdd = limitedLog(options.logger, { perWindow: 100, quiet: true });
  }

  /** The address book. */
  get book(): AddressBook {
    return this.#book;
  }

  /** Port addresses are re-published on (after start). */
  get publishPort(): number | undefined {
    return this.#pub?.portNumber;
  }

  /**
   * Address records of publishers of `name` (`""`: all).
   *
   * @param name service name
   * @returns records with `receive_time` as ISO text
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressReceiver } from "./address_receiver.ts";
   * assertEquals(new AddressReceiver().get("x"), []);
   * ```
   */
  get(name = ""): Array<Record<string, unknown>> {
    return this.#book.get(name);
  }

  /**
   * True while receiving.
   *
   * @returns whether it runs
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressReceiver } from "./address_receiver.ts";
   * assertEquals(new AddressReceiver().isRunning(), false);
   * ```
   */
  isRunning(): boolean {
    return this.#running;
  }

  /**
   * Opens the sockets and starts receiving; resolves when ready.
   *
   * @returns this
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
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
   * const rec = await new AddressReceiver({ multicastEnabled: false, config }).start();
   * await rec.stop();
   * assertEquals(rec.isRunning(), false);
   * ```
   */
  async start(): Promise<this> {
    if (this.#started) return this;
    this.#started = true;
    const cfg = this.#config;
    const multicast = this.#opts.multicastEnabled ?? true;
    const direct = this.#opts.directRegistration ?? !multicast;
    const bport = cfg.broadcastPort();
    const restrict = this.#opts.restrictToLocalhost ?? false;
    const bindHost = (this.#opts.bindHost ?? "*").replace(/^\[(.*)\]$/, "$1");
    if (restrict) this.#local = localAddresses();
    try {
      if (multicast) {
        this.#mc = await MulticastReceiver.open(bport, undefined, { config: cfg });
        this.#mc.settimeout(2);
      }
      if (direct) {
        const filter = restrict ? (a: string) => isLocalAddress(a, this.#local) : undefined;
        const endpoint = tcpEndpoint(bindHost, bport);
        const what = "Address receiver";
        this.#rep = new RepSocket(
          await serverSocketOptions(cfg, {
            endpoint,
            filter,
            logger: this.#log,
            what,
            role: "nameserver",
          }),
        );
        const events = this.#opts.events;
        this.#tasks.push(
          logServerEvents(this.#rep, this.#log, what, () => events?.refused?.("registration")),
        );
        await bindServer(this.#rep, endpoint);
      }
      const port = this.#opts.port || cfg.addressPublishPort();
      // posttroll: Publish("address_receiver", port, ["addresses"], nameservers=...)
      if (!multicast) {
        this.#pub = await new NoisyPublisher("address_receiver", {
          port,
          aliases: ["addresses"],
          nameservers: ["localhost"],
          bindHost,
          announceHost: WILDCARDS.has(bindHost) ? undefined : bindHost,
          config: cfg,
          logger: this.#log,
        }).start();
      } else {
        this.#pub = await new Publisher(tcpEndpoint(bindHost, port), {
          name: "address_receiver",
          config: cfg,
          logger: this.#log,
        }).start();
      }
    } catch (e) {
      await this.#closeAll();
      this.#started = false;
      throw e;
    }
    this.#running = true;
    if (this.#mc) this.#tasks.push(this.#multicastLoop(this.#mc, restrict));
    if (this.#rep) this.#tasks.push(this.#repLoop(this.#rep));
    this.#tasks.push(this.#maintenanceLoop());
    return this;
  }

  /** Handles one announcement; never throws (whatever the input, the loops go on). */
  async #process(data: string | Uint8Array, from: string, via: AnnouncementVia): Promise<void> {
    try {
      await this.#handle(data, from, via);
    } catch (e) {
      this.#say(
        `failure ${(e as Error).name}`,
        "error",
        `failed to handle an announcement from ${from}: ${(e as Error).message}`,
      );
    }
  }

  async #handle(data: string | Uint8Array, from: string, via: AnnouncementVia): Promise<void> {
    const r = this.#book.receive(data);
    this.#opts.events?.announcement?.(via, r);
    if (r.status === "invalid" || r.status === "ignored") {
      this.#log("debug", `dropped announcement from ${from}: ${r.reason}`);
      return;
    }
    if (r.status === "refused") {
      this.#say("refused", "warning", `refused an announcement from ${from}: ${r.reason}`);
      return;
    }
    if (r.evicted) {
      this.#say(
        "evicted",
        "warning",
        `address book full (address_book_max_entries ${this.#book.maxEntries}): the entry ` +
          `announced least recently makes room for ${r.uri}`,
      );
      await this.#pub?.send(r.evicted).catch(() => {});
    }
    let add = r.republish;
    // Beyond posttroll: the add notice goes out again at the URI's second announcement (one
    // broadcast interval later). Subscribers whose address-port socket was still (re)connecting
    // the first time, e.g. right after this nameserver (re)started, would otherwise never hear
    // of that publisher; a repeated add is a no-op for subscribers that have it.
    // And again about 1, 3, 7, 15 and 31 s after it appeared (from the maintenance loop): a
    // subscriber whose connection to the address port died with the network (keepalive) may take
    // seconds to reconnect once the network is back (SYN retries back off), and Python's
    // subscribers do not ask the nameserver again after reconnecting.
    const uri = r.uri;
    if (add && uri !== undefined) {
      this.#echo.set(uri, add);
      this.#repeats.set(uri, { add, due: Date.now() + 1000, step: 0 });
      // a flood of one-off announcements must not pile notices up: the oldest go first
      if (this.#echo.size > ECHO_MAX) this.#echo.delete(this.#echo.keys().next().value!);
      if (this.#repeats.size > ECHO_MAX) this.#repeats.delete(this.#repeats.keys().next().value!);
    } else if (uri !== undefined && this.#echo.has(uri)) {
      add = this.#echo.get(uri);
      this.#echo.delete(uri);
    }
    if (add) {
      if (r.republish) this.#sayAdd("add", "info", () => `nameserver: publish add '${add}'`);
      await this.#pub?.send(add).catch(() => {});
    }
  }

  async #multicastLoop(mc: MulticastReceiver, restrict: boolean): Promise<void> {
    while (!this.#ctl.signal.aborted) {
      let d;
      try {
        d = await mc.receive({ signal: this.#ctl.signal });
      } catch (e) {
        if (e instanceof SocketTimeoutError) continue;
        return;
      }
      if (restrict && !isLocalAddress(d.address, this.#local)) {
        this.#log("debug", "Discard external message");
        continue;
      }
      await this.#process(d.data, d.address, "multicast");
    }
  }

  /** Runs `step` until stopped; a failure is logged (rate limited) and the loop goes on. */
  async #guard(what: string, step: () => Promise<boolean>): Promise<void> {
    while (!this.#ctl.signal.aborted) {
      try {
        if (!await step()) return;
      } catch (e) {
        this.#say(`${what} ${(e as Error).name}`, "error", `${what}: ${(e as Error).message}`);
        await sleep(100, this.#ctl.signal);
      }
    }
  }

  #repLoop(rep: RepSocket): Promise<void> {
    const signal = this.#ctl.signal;
    return this.#guard("direct registration", async () => {
      let frames: Uint8Array[];
      try {
        frames = await rep.receive({ signal });
      } catch {
        return false; // closed or stopped
      }
      try {
        await rep.send("ok", { signal });
      } catch {
        if (signal.aborted) return false;
      }
      await this.#process(frames[0] ?? new Uint8Array(), "a direct registration", "direct");
      return true;
    });
  }

  async #maintenanceLoop(): Promise<void> {
    const signal = this.#ctl.signal;
    const beat = (this.#opts.heartbeatInterval ?? 29) * 1000;
    const every = Math.min(2000, beat, Math.max(10, this.#book.maxAgeMs / 20));
    const heartbeat = this.#opts.doHeartbeat ?? true;
    await this.#guard("address book maintenance", async () => {
      const removals = this.#book.expire();
      if (removals.length && this.#opts.events?.expired) {
        this.#opts.events.expired(
          removals.map((r) => (Message.decode(r).data as { URI: string }).URI),
        );
      }
      for (const removal of removals) {
        this.#sayAdd("remove", "info", () => `publish remove '${removal}'`);
        await this.#pub?.send(removal).catch(() => {});
      }
      if (this.#echo.size || this.#repeats.size) {
        // Which notices are due is decided without awaiting, then they are sent: an address
        // announced while they are being sent is not in `listed` and, decided after an await,
        // would be dropped as unlisted before its first repeat.
        const listed = new Set(this.#book.uris);
        for (const uri of this.#echo.keys()) if (!listed.has(uri)) this.#echo.delete(uri);
        const now = Date.now();
        const due: string[] = [];
        for (const [uri, r] of this.#repeats) {
          if (!listed.has(uri)) this.#repeats.delete(uri);
          else if (r.due <= now) {
            due.push(r.add);
            r.step++;
            if (r.step >= ADD_REPEATS) this.#repeats.delete(uri);
            else r.due = now + 1000 * 2 ** r.step;
          }
        }
        for (const add of due) await this.#pub?.send(add).catch(() => {});
      }
      if (heartbeat) {
        await this.#pub?.heartbeat(this.#opts.heartbeatInterval ?? 29).catch(() => {});
      }
      await sleep(every, signal);
      return true;
    });
  }

  async #closeAll(): Promise<void> {
    const mc = this.#mc, rep = this.#rep, pub = this.#pub;
    this.#mc = undefined;
    this.#rep = undefined;
    this.#pub = undefined;
    await Promise.allSettled([mc?.close(), rep?.close(), pub?.stop()]);
  }

  /**
   * Stops receiving and closes the sockets (idempotent; never hangs).
   *
   * @returns this
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressReceiver } from "./address_receiver.ts";
   * const rec = new AddressReceiver();
   * await rec.stop(); // never started: nothing to do
   * assertEquals(rec.isRunning(), false);
   * ```
   */
  async stop(): Promise<this> {
    this.#ctl.abort();
    this.#running = false;
    await this.#closeAll();
    await Promise.allSettled(this.#tasks);
    this.#tasks = [];
    return this;
  }

  /** Same as {@linkcode stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

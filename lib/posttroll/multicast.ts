/**
 * UDP multicast (and broadcast) senders and receivers, equivalent to posttroll's `bbmcast`.
 *
 * - Group `225.0.0.212` by default (config `mc_group`, legacy `PYTROLL_MC_GROUP`); `0.0.0.0`,
 *   `255.255.255.255` or an empty group switch to UDP broadcast; other groups must have a first
 *   octet in 224–239.
 * - TTL 31 (`PYTROLL_MC_TTL`); `multicast_interface` picks the interface for sending and joining.
 * - A receiver binds `0.0.0.0:<port>` with address reuse, loops multicast back, and returns at
 *   most 1024 bytes per datagram: longer datagrams are truncated, as Python's `recvfrom(1024)`
 *   truncates them (the rest is discarded).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MulticastReceiver, MulticastSender } from "./multicast.ts";
 * import { PosttrollConfig } from "./config.ts";
 * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
 * await using rx = await MulticastReceiver.open(0, "225.0.0.212", { config }); // a free port
 * await using tx = new MulticastSender(rx.port, "225.0.0.212", { config });
 * await tx.send("hello");
 * const { data } = await rx.settimeout(2).receive();
 * assertEquals(data, "hello");
 * ```
 * @module
 */
import dgram from "node:dgram";
import { config as sharedConfig, type PosttrollConfig } from "./config.ts";
import { Channel } from "../_util/channel.ts";
import { MulticastError, SocketTimeoutError } from "./errors.ts";
export { MulticastError, PosttrollError, SocketTimeoutError } from "./errors.ts";

/**
 * The multicast group posttroll uses when none is configured.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_MC_GROUP } from "./multicast.ts";
 * assertEquals(DEFAULT_MC_GROUP, "225.0.0.212");
 * ```
 */
export const DEFAULT_MC_GROUP = "225.0.0.212";
/**
 * The UDP port posttroll uses when none is configured.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_BROADCAST_PORT } from "./multicast.ts";
 * assertEquals(DEFAULT_BROADCAST_PORT, 21200);
 * ```
 */
export const DEFAULT_BROADCAST_PORT = 21200;
/**
 * Bytes returned per datagram at most, like Python's `recvfrom(1024)`; longer datagrams are cut.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RECEIVE_BUFFER_SIZE } from "./multicast.ts";
 * assertEquals(RECEIVE_BUFFER_SIZE, 1024);
 * ```
 */
export const RECEIVE_BUFFER_SIZE = 1024;

/** Options shared by the senders and receivers. */
export interface MulticastOptions {
  /** Configuration to read `mc_group`, `multicast_interface`, TTL from. @default the shared config */
  config?: PosttrollConfig;
}

/**
 * True when `group` means UDP broadcast (empty, `0.0.0.0` or `255.255.255.255`).
 *
 * @param group the group
 * @returns whether it is a broadcast group
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isBroadcastGroup } from "./multicast.ts";
 * assert(isBroadcastGroup("0.0.0.0"));
 * ```
 */
export function isBroadcastGroup(group: string | undefined | null): boolean {
  return !group || group === "0.0.0.0" || group === "255.255.255.255";
}

/**
 * Checks that `group` is an IPv4 multicast address (first octet 224–239).
 *
 * @param group the address
 * @throws {MulticastError} when it is not
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { MulticastError, validateMulticastGroup } from "./multicast.ts";
 * validateMulticastGroup("225.0.0.212");
 * assertThrows(() => validateMulticastGroup("10.0.0.1"), MulticastError);
 * ```
 */
export function validateMulticastGroup(group: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(group);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) {
    throw new MulticastError(`Invalid multicast address ${group}`);
  }
  const first = Number(m[1]);
  if (first < 224 || first > 239) throw new MulticastError(`Invalid multicast address ${group}`);
}

/**
 * The configured multicast group: config `mc_group`, else `PYTROLL_MC_GROUP`, else the default.
 *
 * @param options where to read the configuration
 * @returns the group
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getMcGroup } from "./multicast.ts";
 * import { PosttrollConfig } from "./config.ts";
 * assertEquals(getMcGroup({ config: new PosttrollConfig({ env: {} }) }), "225.0.0.212");
 * const config = new PosttrollConfig({ env: { POSTTROLL_MC_GROUP: "239.1.2.3" } });
 * assertEquals(getMcGroup({ config }), "239.1.2.3");
 * ```
 */
export function getMcGroup(options: MulticastOptions = {}): string {
  return (options.config ?? sharedConfig).mcGroup();
}

/**
 * The configured broadcast (UDP) port: config `broadcast_port`, else 21200.
 *
 * @param options where to read the configuration
 * @returns the port
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getConfiguredBroadcastPort } from "./multicast.ts";
 * import { PosttrollConfig } from "./config.ts";
 * assertEquals(getConfiguredBroadcastPort({ config: new PosttrollConfig({ env: {} }) }), 21200);
 * ```
 */
export function getConfiguredBroadcastPort(options: MulticastOptions = {}): number {
  return (options.config ?? sharedConfig).broadcastPort();
}

function bindSocket(sock: dgram.Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    sock.once("error", onError);
    sock.bind({ port, address, exclusive: false }, () => {
      sock.off("error", onError);
      resolve();
    });
  });
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** An open sender socket and the group it sends to (`"<broadcast>"` for broadcast). */
export interface SenderSocket {
  /** The UDP socket (bound, options set). */
  socket: dgram.Socket;
  /** The destination group, or `"<broadcast>"`. */
  group: string;
  /** Resolves once the socket is bound and its options are set. */
  ready: Promise<void>;
}

/**
 * Opens a UDP socket for sending to `mcgroup` (posttroll's `mcast_sender`). The group is validated
 * at once; the socket is bound in the background (`ready`).
 *
 * @param mcgroup the group; default from the configuration
 * @param options configuration
 * @returns the socket and the destination group
 * @throws {MulticastError} for a group outside 224–239 that is not a broadcast address
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { mcastSender } from "./multicast.ts";
 * const { socket, group, ready } = mcastSender("0.0.0.0");
 * assertEquals(group, "<broadcast>");
 * await ready;
 * socket.close();
 * ```
 */
export function mcastSender(mcgroup?: string, options: MulticastOptions = {}): SenderSocket {
  const cfg = options.config ?? sharedConfig;
  const group0 = mcgroup ?? cfg.mcGroup();
  const broadcast = isBroadcastGroup(group0);
  if (!broadcast) validateMulticastGroup(group0);
  const iface = broadcast ? undefined : cfg.multicastInterface();
  const ttl = cfg.mcTtl();
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  socket.on("error", () => {/* reported through send() */});
  const ready = bindSocket(socket, 0, iface).then(() => {
    if (broadcast) socket.setBroadcast(true);
    else {
      socket.setMulticastTTL(ttl);
      if (iface) socket.setMulticastInterface(iface);
      socket.setMulticastLoopback(true);
    }
  });
  ready.catch(() => {});
  return { socket, group: broadcast ? "<broadcast>" : group0, ready };
}

/**
 * Sends strings to a multicast group (or by broadcast) on a port (posttroll's `MulticastSender`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MulticastReceiver, MulticastSender } from "./multicast.ts";
 * import { PosttrollConfig } from "./config.ts";
 * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
 * await using rx = await MulticastReceiver.open(0, undefined, { config });
 * await using tx = new MulticastSender(rx.port, undefined, { config }); // the configured group
 * await tx.send("hello");
 * assertEquals((await rx.settimeout(2).receive()).data, "hello");
 * ```
 */
export class MulticastSender implements AsyncDisposable {
  /** Destination port. */
  readonly port: number;
  /** Destination group, or `"<broadcast>"`. */
  readonly group: string;
  readonly #sock: SenderSocket;
  #closed = false;

  /**
   * Creates a sender of datagrams to a UDP port and multicast group.
   *
   * @param port destination UDP port
   * @param mcgroup destination group; default from the configuration
   * @param options configuration
   */
  constructor(port: number, mcgroup?: string, options: MulticastOptions = {}) {
    this.port = port;
    this.#sock = mcastSender(mcgroup, options);
    this.group = this.#sock.group;
  }

  /**
   * Sends `data` (UTF-8) as one datagram.
   *
   * @param data the text
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MulticastReceiver, MulticastSender } from "./multicast.ts";
   * import { PosttrollConfig } from "./config.ts";
   * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
   * await using rx = await MulticastReceiver.open(0, "225.0.0.212", { config });
   * await using tx = new MulticastSender(rx.port, "225.0.0.212", { config });
   * await tx.send(new TextEncoder().encode("pytroll://address/x info ..."));
   * assertEquals((await rx.settimeout(2).receive()).data, "pytroll://address/x info ...");
   * ```
   */
  async send(data: string | Uint8Array): Promise<void> {
    if (this.#closed) throw new MulticastError("MulticastSender is closed");
    try {
      await this.#sock.ready;
    } catch (e) {
      throw new MulticastError(`cannot set up multicast sender: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const host = this.group === "<broadcast>" ? "255.255.255.255" : this.group;
    const buf = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await new Promise<void>((resolve, reject) => {
      this.#sock.socket.send(buf, this.port, host, (err) => {
        if (err) {
          reject(
            new MulticastError(`send to ${host}:${this.port} failed: ${err.message}`, {
              cause: err,
            }),
          );
        } else resolve();
      });
    });
  }

  /**
   * Closes the socket (idempotent).
   *
   * @example
   * ```ts
   * import { assertRejects } from "@std/assert";
   * import { MulticastError, MulticastSender } from "./multicast.ts";
   * const tx = new MulticastSender(21299);
   * await tx.close();
   * await assertRejects(() => tx.send("late"), MulticastError);
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sock.ready.catch(() => {});
    await closeSocket(this.#sock.socket);
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A datagram as returned by {@linkcode MulticastReceiver.receive}. */
export interface Datagram {
  /** The payload decoded as UTF-8 (invalid bytes replaced), at most 1024 bytes of it. */
  data: string;
  /** Sender's IP address. */
  address: string;
  /** Sender's UDP port. */
  port: number;
  /** True when the datagram was longer than 1024 bytes and was cut. */
  truncated: boolean;
}

/** Options of {@linkcode mcastReceiver} and {@linkcode MulticastReceiver}. */
export interface ReceiverOptions extends MulticastOptions {
  /** Local address to bind. @default "0.0.0.0" (Python binds `""`) */
  bindAddress?: string;
  /** Datagrams queued while nobody receives; beyond it the oldest are dropped. @default 1024 */
  queueSize?: number;
}

/** An open receiver socket and the group it joined (`"<broadcast>"` for broadcast). */
export interface ReceiverSocket {
  /** The bound UDP socket. */
  socket: dgram.Socket;
  /** The joined group, or `"<broadcast>"`. */
  group: string;
}

/**
 * Opens a UDP socket bound to `port` that joined `mcgroup` (posttroll's `mcast_receiver`).
 *
 * @param port UDP port to bind
 * @param mcgroup the group; default from the configuration
 * @param options configuration and bind address
 * @returns the socket and group
 * @throws {MulticastError} for an invalid group or a failed bind/join
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { mcastReceiver } from "./multicast.ts";
 * const { socket, group } = await mcastReceiver(0, "0.0.0.0");
 * assertEquals(group, "<broadcast>");
 * socket.close();
 * ```
 */
export async function mcastReceiver(
  port: number,
  mcgroup?: string,
  options: ReceiverOptions = {},
): Promise<ReceiverSocket> {
  const cfg = options.config ?? sharedConfig;
  const group0 = mcgroup ?? cfg.mcGroup();
  const broadcast = isBroadcastGroup(group0);
  if (!broadcast) validateMulticastGroup(group0);
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  try {
    await bindSocket(socket, port, options.bindAddress ?? "0.0.0.0");
    if (!broadcast) {
      socket.setMulticastTTL(cfg.mcTtl());
      socket.setMulticastLoopback(true);
      const iface = cfg.multicastInterface();
      if (iface) socket.addMembership(group0, iface);
      else socket.addMembership(group0);
    }
  } catch (e) {
    await closeSocket(socket);
    if (e instanceof MulticastError) throw e;
    throw new MulticastError(
      `cannot receive on ${group0}:${port}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return { socket, group: broadcast ? "<broadcast>" : group0 };
}

/**
 * Receives datagrams sent to a multicast group (or broadcast) on a port (posttroll's
 * `MulticastReceiver`). Open it with {@linkcode MulticastReceiver.open}.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { MulticastReceiver, SocketTimeoutError } from "./multicast.ts";
 * await using rx = await MulticastReceiver.open(0);
 * await assertRejects(() => rx.settimeout(0.05).receive(), SocketTimeoutError); // nobody sends
 * ```
 */
export class MulticastReceiver implements AsyncDisposable, AsyncIterable<Datagram> {
  /** Maximum bytes per datagram. */
  static readonly BUFSIZE: number = RECEIVE_BUFFER_SIZE;
  /** The bound port. */
  readonly port: number;
  /** The joined group or `"<broadcast>"`. */
  readonly group: string;
  readonly #socket: dgram.Socket;
  readonly #queue: Channel<Datagram>;
  #timeout: number | null = null;

  private constructor(rs: ReceiverSocket, port: number, queueSize: number) {
    this.#socket = rs.socket;
    this.group = rs.group;
    this.port = port;
    this.#queue = new Channel({ capacity: queueSize });
    this.#socket.on("message", (buf: Uint8Array, rinfo: dgram.RemoteInfo) => {
      const truncated = buf.length > RECEIVE_BUFFER_SIZE;
      const bytes = truncated ? buf.subarray(0, RECEIVE_BUFFER_SIZE) : buf;
      this.#queue.push({
        data: new TextDecoder().decode(bytes),
        address: rinfo.address,
        port: rinfo.port,
        truncated,
      });
    });
    this.#socket.on("error", () => {/* surfaced as closed */});
  }

  /**
   * Binds `port`, joins `mcgroup` and returns the receiver.
   *
   * @param port UDP port (0: any free port, see {@linkcode port})
   * @param mcgroup the group; default from the configuration
   * @param options configuration, bind address, queue size
   * @returns the receiver
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { MulticastReceiver } from "./multicast.ts";
   * const rx = await MulticastReceiver.open(0, "225.0.0.212");
   * assert(rx.port > 0); // the free port the system gave
   * await rx.close();
   * ```
   */
  static async open(
    port: number,
    mcgroup?: string,
    options: ReceiverOptions = {},
  ): Promise<MulticastReceiver> {
    const rs = await mcastReceiver(port, mcgroup, options);
    return new MulticastReceiver(rs, rs.socket.address().port, options.queueSize ?? 1024);
  }

  /**
   * Sets the receive timeout in seconds (`null`: wait forever) and returns this receiver.
   *
   * @param seconds the timeout
   * @returns this
   * @example
   * ```ts
   * import { assertStrictEquals } from "@std/assert";
   * import { MulticastReceiver } from "./multicast.ts";
   * await using rx = await MulticastReceiver.open(0);
   * assertStrictEquals(rx.settimeout(2), rx);
   * ```
   */
  settimeout(seconds: number | null = null): this {
    this.#timeout = seconds;
    return this;
  }

  /**
   * The next datagram (at most 1024 bytes of it).
   *
   * @param options `signal` to abort waiting
   * @returns the datagram
   * @throws {SocketTimeoutError} when the timeout passes
   * @throws {MulticastError} when the receiver is closed
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MulticastReceiver, MulticastSender } from "./multicast.ts";
   * import { PosttrollConfig } from "./config.ts";
   * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
   * await using rx = await MulticastReceiver.open(0, undefined, { config });
   * await using tx = new MulticastSender(rx.port, undefined, { config });
   * await tx.send("x");
   * const d = await rx.settimeout(1).receive();
   * assertEquals([d.data, d.address, d.truncated], ["x", "127.0.0.1", false]);
   * ```
   */
  async receive(options: { signal?: AbortSignal } = {}): Promise<Datagram> {
    const timeout = this.#timeout;
    return await this.#queue.receiveWithin(
      timeout,
      options.signal,
      (closed) =>
        closed
          ? new MulticastError("MulticastReceiver is closed")
          : new SocketTimeoutError(timeout ?? 0),
    );
  }

  /**
   * Yields datagrams until the receiver is closed (timeouts are ignored here).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { MulticastReceiver, MulticastSender } from "./multicast.ts";
   * import { PosttrollConfig } from "./config.ts";
   * const config = new PosttrollConfig({ env: { POSTTROLL_MULTICAST_INTERFACE: "127.0.0.1" } });
   * const rx = await MulticastReceiver.open(0, undefined, { config });
   * await using tx = new MulticastSender(rx.port, undefined, { config });
   * await tx.send("a");
   * await tx.send("b");
   * const got: string[] = [];
   * for await (const d of rx) {
   *   got.push(d.data);
   *   if (got.length === 2) await rx.close(); // ends the loop
   * }
   * assertEquals(got, ["a", "b"]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Datagram> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#queue.closed;
  }

  /**
   * Closes the socket and wakes pending receives (idempotent).
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { MulticastReceiver } from "./multicast.ts";
   * const rx = await MulticastReceiver.open(0);
   * await rx.close();
   * assert(rx.closed);
   * ```
   */
  async close(): Promise<void> {
    if (this.#queue.closed) return;
    this.#queue.close();
    await closeSocket(this.#socket);
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

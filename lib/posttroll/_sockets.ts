/**
 * Internal: ZeroMQ socket options from a posttroll configuration (TCP keepalive, the IP allow
 * list `authorized_client_addresses`, CURVE keys for the `secure_zmq` backend), and endpoint
 * helpers shared by the publisher, subscriber, nameserver and address receiver.
 *
 * @module
 */
import dns from "node:dns";
import type { Backend, PosttrollConfig } from "./config.ts";
import { ConfigError } from "./config.ts";
import type { SocketEvent, SocketOptions } from "../zmq/types.ts";
import type { ZmqSocket } from "../zmq/socket.ts";
import { KeyFileError, loadCertificate, loadPublicKeys, parseCertificate } from "./secure_keys.ts";
import { ensurePermission } from "../_util/permissions.ts";
import { AuthRefusedError } from "./errors.ts";
export { AuthRefusedError } from "./errors.ts";
import { limitedLog } from "../_util/log_limit.ts";

/** TCP keepalive option for a socket from `tcp_keepalive*` (undefined: not configured). */
export function keepaliveOption(config: PosttrollConfig): SocketOptions["tcpKeepalive"] {
  const k = config.tcpKeepalive();
  if (k.keepalive === undefined || k.keepalive < 0) return undefined;
  if (k.keepalive === 0) return false;
  return { idleSeconds: k.idle, intervalSeconds: k.interval, count: k.count };
}

/**
 * ZMTP heartbeats standing in for the keepalive timings Deno cannot set on a socket
 * (`tcp_keepalive_idle`, `_intvl`, `_cnt`; Deno only switches SO_KEEPALIVE on, so the kernel's
 * 2-hour default applies). A PING goes out after `idle` seconds and a peer that stays silent for
 * `idle + intvl * cnt` more seconds is dropped and reconnected, so a subscriber whose publisher's
 * host vanished without a FIN (power cut, partition) recovers when it comes back. libzmq peers
 * (ZMTP 3.1) answer PINGs. Unset when keepalive is off or no timing is configured.
 */
export function keepaliveHeartbeat(
  config: PosttrollConfig,
): Pick<SocketOptions, "heartbeatInterval" | "heartbeatTimeout"> {
  const k = config.tcpKeepalive();
  if (k.keepalive === undefined || k.keepalive <= 0) return {};
  if (k.idle === undefined && k.interval === undefined && k.count === undefined) return {};
  // Linux defaults for what is not set (tcp_keepalive_time, _intvl, _probes)
  const idle = k.idle ?? 7200, interval = k.interval ?? 75, count = k.count ?? 9;
  // the timeout doubles as the TTL announced to the peer: it must exceed our PING interval
  return { heartbeatInterval: idle * 1000, heartbeatTimeout: (idle + interval * count) * 1000 };
}

function lookupAll(host: string): Promise<string[]> {
  return new Promise((resolve) => {
    dns.lookup(host, { all: true, family: 4 }, (err, addrs) => {
      resolve(err ? [] : addrs.map((a) => a.address));
    });
  });
}

/**
 * Resolves host names to IPv4 addresses (unresolvable names are skipped, like posttroll, and
 * reported through `onUnresolved`).
 */
export async function resolveToIps(
  hosts: string[],
  onUnresolved?: (host: string) => void,
): Promise<string[]> {
  const out = new Set<string>();
  for (const h of hosts) {
    const ips = await lookupAll(h);
    if (ips.length === 0) onUnresolved?.(h);
    for (const ip of ips) out.add(ip);
  }
  return [...out];
}

function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/** Extra authorization applied on top of the configured allow list. */
export type PeerFilter = (address: string) => boolean;

/** Where refusals and security events are logged (a component's `logger` option). */
export type SecurityLogger = (level: "debug" | "info" | "warning", message: string) => void;

/**
 * The default logger of publishers, subscribers and broadcasters: warnings to stderr, debug and
 * info dropped, as Python's `logging` does for posttroll without configuration (its last-resort
 * handler prints WARNING and above). Pass a `logger` (or `onError`) to route them elsewhere.
 */
export const stderrWarnings: SecurityLogger = (level, message) => {
  if (level === "warning") console.error(`WARNING posttroll: ${message}`);
};

/** The refusal a `handshake-failed` event stands for (undefined for other failures). */
export function refusalOf(ev: SocketEvent): AuthRefusedError | undefined {
  if (ev.type !== "handshake-failed") return undefined;
  if (ev.authRefused) return new AuthRefusedError(ev.endpoint, ev.reason, "auth");
  if (/mechanism mismatch/i.test(ev.reason)) {
    return new AuthRefusedError(ev.endpoint, ev.reason, "mechanism");
  }
  return undefined;
}

/** A refused client retries every 100 ms: each kind of refusal is a warning once a minute. */
const REPEAT_MS = 60_000;

/**
 * A logger for refusals and limits: the first of each *kind* in a minute as a warning (with its
 * details: address, key), the rest of that minute as debug lines, and the next warning says how
 * many were left out. Keyed by kind, not text, so clients with ever new keys or addresses (a
 * flood) cannot flood the log.
 */
export function refusalLogger(
  logger: SecurityLogger | undefined,
): (kind: string, message: string) => void {
  const log = limitedLog<"warning">(logger, { windowMs: REPEAT_MS });
  return (kind, message) => log(kind, "warning", message);
}

/**
 * Follows a server socket's events until it closes and logs, rate limited by kind: handshakes
 * its authorizer did not already log (clients of the other mechanism as warnings; port probes,
 * wrong server keys as debug), peers that ran into a limit (`maxMessageSize`, `maxConnections`,
 * `maxSubscriptions`...) and failed accepts (descriptors exhausted: the socket retries).
 * `onRefused` is called for every refused client (authorizer refusals and mechanism mismatches).
 */
export async function logServerEvents(
  socket: ZmqSocket,
  logger: SecurityLogger | undefined,
  what: string,
  onRefused?: () => void,
): Promise<void> {
  if (!logger && !onRefused) return;
  const warn = refusalLogger(logger);
  for await (const ev of socket.events()) {
    if (ev.type === "handshake-failed") {
      const mismatch = /mechanism mismatch/i.test(ev.reason);
      // refusals by the authorizer (key, address) are logged there; counted here with mismatches
      if (ev.authRefused || mismatch) onRefused?.();
      if (ev.authRefused || !logger) continue;
      const message = `${what}: refused a client on ${ev.endpoint}: ${ev.reason}`;
      if (mismatch) warn("mechanism", message);
      else logger("debug", message);
    } else if (ev.type === "limit") {
      warn(`limit ${ev.limit}`, `${what}: ${ev.limit} on ${ev.endpoint}: ${ev.detail}`);
    } else if (ev.type === "accept-failed") {
      warn(
        "accept",
        `${what}: cannot accept connections on ${ev.endpoint} (${ev.reason}); ` +
          `retrying in ${ev.retryMs} ms`,
      );
    }
  }
}

/** What a server socket is for: its limits come from the configuration accordingly. */
export type ServerRole = "nameserver" | "publisher";

/** Options of {@linkcode serverSocketOptions}. */
export interface ServerSocketSettings {
  /** Backend of this socket. @default the configured backend */
  backend?: Backend;
  /** The bind endpoint (inproc gets no security). */
  endpoint?: string;
  /** Extra address filter (e.g. the nameserver's restrict-to-localhost). */
  filter?: PeerFilter;
  /** Linger in ms. @default 1 */
  linger?: number;
  /** Where each refusal is logged (as a warning). */
  logger?: SecurityLogger;
  /** Names the socket in log lines. @default "server socket" */
  what?: string;
  /**
   * `nameserver`: request/registration ports (`nameserver_max_message_size`,
   * `nameserver_max_buffered_bytes`); `publisher`: PUB ports (`max_subscriptions`,
   * `max_subscription_bytes`). Both get `max_connections`. @default "publisher"
   */
  role?: ServerRole;
}

/**
 * Options for a binding (server) socket: keepalive, limits, allow list, CURVE server keys.
 *
 * @throws {ConfigError} naming the setting: an `authorized_client_addresses` list of which no host
 *   resolves (posttroll would then admit every client), a secure backend without usable server
 *   keys (missing or damaged `server_secret_key_file`, missing `clients_public_keys_directory`),
 *   a limit that is not a positive integer
 */
export async function serverSocketOptions(
  config: PosttrollConfig,
  options: ServerSocketSettings = {},
): Promise<SocketOptions> {
  const backend = options.backend ?? config.backend();
  const out: SocketOptions = { linger: options.linger ?? 1 };
  const ka = keepaliveOption(config);
  if (ka !== undefined) out.tcpKeepalive = ka;
  Object.assign(out, keepaliveHeartbeat(config));
  out.maxConnections = config.maxConnections();
  if ((options.role ?? "publisher") === "nameserver") {
    out.maxMessageSize = config.nameserverMaxMessageSize();
    out.maxBufferedBytes = config.nameserverMaxBufferedBytes();
  } else {
    out.maxSubscriptions = config.maxSubscriptions();
    out.maxSubscriptionBytes = config.maxSubscriptionBytes();
  }
  if (options.endpoint?.startsWith("inproc://")) return out;
  const what = options.what ?? "server socket";
  const allowed = config.authorizedClientAddresses();
  let ips: Set<string> | undefined;
  if (allowed.length) {
    const unresolved: string[] = [];
    ips = new Set(await resolveToIps(allowed, (h) => unresolved.push(h)));
    if (ips.size === 0) {
      throw new ConfigError(
        `config authorized_client_addresses: none of ${JSON.stringify(allowed)} resolves to an ` +
          `IPv4 address, so no client could be admitted (posttroll would admit every client)`,
        { key: "authorized_client_addresses" },
      );
    }
    for (const h of unresolved) {
      options.logger?.("warning", `${what}: authorized_client_addresses: cannot resolve ${h}`);
    }
  }
  let keys: Set<string> | undefined;
  let dir: string | undefined;
  if (backend === "secure_zmq") {
    const secretFile = config.keyFile("server_secret_key_file");
    if (!secretFile) {
      throw new ConfigError("Missing config parameter 'server_secret_key_file'", {
        key: "server_secret_key_file",
      });
    }
    dir = config.keyFile("clients_public_keys_directory");
    if (!dir) {
      throw new ConfigError("Missing config parameter 'clients_public_keys_directory'", {
        key: "clients_public_keys_directory",
      });
    }
    const cert = await keySetting("server_secret_key_file", () => loadCertificate(secretFile));
    if (!cert.secretKey) {
      throw new ConfigError(`config server_secret_key_file: ${secretFile} has no secret key`, {
        key: "server_secret_key_file",
      });
    }
    out.curve = { server: true, secretKey: cert.secretKey, publicKey: cert.publicKey };
    const d = dir;
    keys = await keySetting("clients_public_keys_directory", () => loadPublicKeys(d));
  }
  const filter = options.filter;
  const refused = refusalLogger(options.logger);
  if ((ips && ips.size) || keys || filter) {
    out.authorize = (peer) => {
      const addr = normalizeIp(peer.address);
      const from = addr === "" ? "an ipc peer" : addr;
      if (ips && ips.size && addr !== "" && !ips.has(addr)) {
        refused("address", `${what}: refused ${from}: not in authorized_client_addresses`);
        return false;
      }
      if (filter && addr !== "" && !filter(addr)) {
        refused("local", `${what}: refused ${from}: not a local address`);
        return false;
      }
      if (keys && (!peer.publicKey || !keys.has(peer.publicKey))) {
        refused(
          "key",
          `${what}: refused CURVE client key ${peer.publicKey ?? "(none)"} from ${from}: ` +
            `not in clients_public_keys_directory ${dir}`,
        );
        return false;
      }
      return true;
    };
  }
  return out;
}

/** Runs a key loader; its failure becomes a {@linkcode ConfigError} naming the setting. */
async function keySetting<T>(key: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw new ConfigError(`config ${key}: ${(e as Error).message}`, { key, cause: e });
  }
}

function loadCertificateSync(path: string) {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new KeyFileError(`Invalid certificate file: ${path} (${(e as Error).message})`, {
      cause: e,
    });
  }
  return parseCertificate(text, path);
}

/** Options for a connecting (client) socket: keepalive, CURVE client keys (read synchronously). */
export function clientSocketOptions(
  config: PosttrollConfig,
  options: { backend?: string; endpoint?: string; linger?: number } = {},
): SocketOptions {
  let backend = options.backend ?? config.backend();
  if (options.endpoint?.startsWith("inproc://")) backend = "unsecure_zmq";
  const out: SocketOptions = { linger: options.linger ?? 1 };
  const ka = keepaliveOption(config);
  if (ka !== undefined) out.tcpKeepalive = ka;
  Object.assign(out, keepaliveHeartbeat(config));
  if (backend === "secure_zmq") {
    const secretFile = config.keyFile("client_secret_key_file");
    if (!secretFile) throw new ConfigError("Missing config parameter 'client_secret_key_file'");
    const serverFile = config.keyFile("server_public_key_file");
    if (!serverFile) throw new ConfigError("Missing config parameter 'server_public_key_file'");
    const own = loadCertificateSync(secretFile);
    if (!own.secretKey) throw new ConfigError(`${secretFile} has no secret key`);
    const server = loadCertificateSync(serverFile);
    out.curve = { serverKey: server.publicKey, publicKey: own.publicKey, secretKey: own.secretKey };
  }
  return out;
}

/** Splits `tcp://host:port` (IPv6 in brackets) into host and port; undefined for other forms. */
export function splitTcp(endpoint: string): { host: string; port: number | undefined } | undefined {
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:/]*)(?::(\d+))?\/?$/.exec(endpoint);
  if (!m) return undefined;
  return { host: m[1], port: m[2] === undefined ? undefined : Number(m[2]) };
}

function errorText(e: unknown): string {
  const parts: string[] = [];
  for (let c = e; c instanceof Error && parts.length < 5; c = c.cause) parts.push(c.message);
  return parts.join(": ");
}

/** The kernel has no IPv6 (EAFNOSUPPORT) or no IPv6 address to bind (EADDRNOTAVAIL). */
function noIpv6(e: unknown): boolean {
  return /os error (97|99)\b|address family not supported|cannot assign requested/i.test(
    errorText(e),
  );
}

/**
 * Binds a server socket. `tcp://*:<port>` listens on every address of both families (beyond
 * posttroll, whose `*` is IPv4 only; libzmq does the same with `ZMQ_IPV6`): the IPv6 wildcard,
 * which the kernel makes dual-stack, plus the IPv4 wildcard on the same port where the kernel
 * keeps the families apart (`net.ipv6.bindv6only=1`); IPv4 alone on hosts without IPv6. Port 0
 * picks a random port in `range` when given (pyzmq's `bind_to_random_port`), else any free port.
 *
 * @returns the bound endpoints, the main one first
 */
export async function bindServer(
  sock: ZmqSocket,
  endpoint: string,
  range?: { min: number; max: number },
): Promise<string[]> {
  const tcp = splitTcp(endpoint);
  if (!tcp || tcp.port === undefined) return [await sock.bind(endpoint)];
  const port = tcp.port;
  const one = async (host: string, p: number): Promise<string> => {
    if (p === 0 && range) {
      return tcpEndpoint(host, await sock.bindRandomPort(`tcp://${host}`, range.min, range.max));
    }
    return await sock.bind(`tcp://${host}:${p}`);
  };
  if (tcp.host !== "*") return [await one(tcp.host, port)];
  let main: string;
  try {
    main = await one("[::]", port);
  } catch (e) {
    if (!noIpv6(e)) throw e;
    return [await one("0.0.0.0", port)];
  }
  try {
    // in use: the IPv6 listener is dual-stack already (the usual case)
    return [main, await sock.bind(`tcp://0.0.0.0:${splitTcp(main)!.port}`)];
  } catch {
    return [main];
  }
}

/**
 * Names a missing `--allow-net` before a socket binds or connects to a `tcp://` endpoint (instead of
 * a bind that fails on every random port, or a connection retried forever); other transports pass.
 *
 * @param endpoint `tcp://host:port` (`*`: every address, IPv4 and IPv6; port 0: any port)
 * @param what what binds or connects, for the error message
 * @throws {MissingPermissionError} when the permission is missing
 */
export function ensureNet(endpoint: string, what: string): void {
  const tcp = splitTcp(endpoint);
  if (!tcp) return;
  // `*` listens on the IPv6 and the IPv4 wildcard (see bindServer)
  for (const host of tcp.host === "*" ? ["0.0.0.0", "[::]"] : [tcp.host]) {
    ensurePermission({ name: "net", host: tcp.port ? `${host}:${tcp.port}` : host }, what);
  }
}

/** Formats a host (IPv6 gets brackets) and port as a tcp endpoint. */
export function tcpEndpoint(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `tcp://${h}:${port}`;
}

/** Resolves after `ms`, or at once when `signal` aborts (the shared helper). */
export { sleep } from "../_util/abort.ts";

/** Local IPv4/IPv6 addresses of this host (127.0.0.0/8 and ::1 always included). */
export function localAddresses(): Set<string> {
  const out = new Set<string>(["127.0.0.1", "::1"]);
  try {
    for (const i of Deno.networkInterfaces()) out.add(i.address);
  } catch { /* no --allow-sys: loopback only */ }
  return out;
}

/** True for an address of this host. */
export function isLocalAddress(address: string, local: Set<string>): boolean {
  const a = normalizeIp(address);
  return a.startsWith("127.") || local.has(a);
}

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
import type { SocketOptions } from "../zmq/mod.ts";
import { KeyFileError, loadCertificate, loadPublicKeys, parseCertificate } from "./secure_keys.ts";

/** TCP keepalive option for a socket from `tcp_keepalive*` (undefined: not configured). */
export function keepaliveOption(config: PosttrollConfig): SocketOptions["tcpKeepalive"] {
  const k = config.tcpKeepalive();
  if (k.keepalive === undefined || k.keepalive < 0) return undefined;
  if (k.keepalive === 0) return false;
  return { idleSeconds: k.idle, intervalSeconds: k.interval, count: k.count };
}

function lookupAll(host: string): Promise<string[]> {
  return new Promise((resolve) => {
    dns.lookup(host, { all: true, family: 4 }, (err, addrs) => {
      resolve(err ? [] : addrs.map((a) => a.address));
    });
  });
}

/** Resolves host names to IPv4 addresses (unresolvable names are skipped, like posttroll). */
export async function resolveToIps(hosts: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const h of hosts) for (const ip of await lookupAll(h)) out.add(ip);
  return [...out];
}

function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/** Extra authorization applied on top of the configured allow list. */
export type PeerFilter = (address: string) => boolean;

/** Options for a binding (server) socket: keepalive, allow list, CURVE server keys. */
export async function serverSocketOptions(
  config: PosttrollConfig,
  options: { backend?: Backend; endpoint?: string; filter?: PeerFilter; linger?: number } = {},
): Promise<SocketOptions> {
  const backend = options.backend ?? config.backend();
  const out: SocketOptions = { linger: options.linger ?? 1 };
  const ka = keepaliveOption(config);
  if (ka !== undefined) out.tcpKeepalive = ka;
  if (options.endpoint?.startsWith("inproc://")) return out;
  const allowed = config.authorizedClientAddresses();
  const ips = allowed.length ? new Set(await resolveToIps(allowed)) : undefined;
  let keys: Set<string> | undefined;
  if (backend === "secure_zmq") {
    const secretFile = config.keyFile("server_secret_key_file");
    if (!secretFile) throw new ConfigError("Missing config parameter 'server_secret_key_file'");
    const dir = config.keyFile("clients_public_keys_directory");
    if (!dir) throw new ConfigError("Missing config parameter 'clients_public_keys_directory'");
    const cert = await loadCertificate(secretFile);
    if (!cert.secretKey) throw new ConfigError(`${secretFile} has no secret key`);
    out.curve = { server: true, secretKey: cert.secretKey, publicKey: cert.publicKey };
    keys = await loadPublicKeys(dir);
  }
  const filter = options.filter;
  if ((ips && ips.size) || keys || filter) {
    out.authorize = (peer) => {
      const addr = normalizeIp(peer.address);
      if (ips && ips.size && addr !== "" && !ips.has(addr)) return false;
      if (filter && addr !== "" && !filter(addr)) return false;
      if (keys && (!peer.publicKey || !keys.has(peer.publicKey))) return false;
      return true;
    };
  }
  return out;
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

/** Formats a host (IPv6 gets brackets) and port as a tcp endpoint. */
export function tcpEndpoint(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `tcp://${h}:${port}`;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

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

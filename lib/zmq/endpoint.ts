/**
 * Endpoint strings: `tcp://host:port` (IPv4, `[IPv6]`, `*` for all interfaces, port 0 or `*` for
 * any free port) and `ipc://path` (Unix domain sockets).
 *
 * @module
 */
import { ZmqError } from "./errors.ts";

/** A parsed endpoint. */
export type Endpoint =
  | { transport: "tcp"; host: string; port: number }
  | { transport: "ipc"; path: string };

/**
 * Parses an endpoint string.
 *
 * @param endpoint e.g. "tcp://127.0.0.1:5555", "tcp://[::1]:0", "tcp://*:*", "ipc:///tmp/s"
 * @returns the transport and address; `*` host becomes "0.0.0.0", port `*` becomes 0
 * @throws {ZmqError} on an unsupported transport or a malformed address
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseEndpoint } from "./endpoint.ts";
 * const ep = parseEndpoint("tcp://[::1]:5555");
 * assert(ep.transport === "tcp" && ep.host === "::1" && ep.port === 5555);
 * ```
 */
export function parseEndpoint(endpoint: string): Endpoint {
  const m = /^([a-z]+):\/\/(.*)$/.exec(endpoint);
  if (!m) throw new ZmqError(`invalid endpoint ${JSON.stringify(endpoint)}`);
  const [, transport, rest] = m;
  if (transport === "ipc") {
    if (!rest) throw new ZmqError(`ipc endpoint needs a path: ${JSON.stringify(endpoint)}`);
    return { transport: "ipc", path: rest };
  }
  if (transport !== "tcp") {
    throw new ZmqError(`unsupported transport ${JSON.stringify(transport)} (tcp and ipc only)`);
  }
  const colon = rest.lastIndexOf(":");
  if (colon < 0) throw new ZmqError(`tcp endpoint needs a port: ${JSON.stringify(endpoint)}`);
  let host = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "*" || host === "") host = "0.0.0.0";
  const port = portText === "*" ? 0 : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ZmqError(`invalid port ${JSON.stringify(portText)} in ${JSON.stringify(endpoint)}`);
  }
  return { transport: "tcp", host, port };
}

/**
 * Formats a TCP endpoint, bracketing IPv6 addresses.
 *
 * @param host address
 * @param port port
 * @returns e.g. "tcp://[::1]:5555"
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { formatTcp } from "./endpoint.ts";
 * assert(formatTcp("::1", 1) === "tcp://[::1]:1");
 * ```
 */
export function formatTcp(host: string, port: number): string {
  return host.includes(":") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}

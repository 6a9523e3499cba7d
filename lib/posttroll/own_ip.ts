/**
 * The host's own IP address as posttroll's `get_own_ip` finds it: the source address of a UDP
 * "connect" towards an outside address (no packet is sent), else the address the host name
 * resolves to (unless it is 127.0.0.1), else `127.0.0.1`.
 *
 * @example
 * ```ts
 * import { getOwnIp } from "./own_ip.ts";
 * console.log(await getOwnIp());
 * ```
 * @module
 */
import dgram from "node:dgram";
import dns from "node:dns";

/** Options of {@linkcode getOwnIp} (mostly to test the fallbacks). */
export interface OwnIpOptions {
  /** Address the UDP socket "connects" to. @default "8.8.8.8" */
  probeAddress?: string;
  /** Port the UDP socket "connects" to. @default 80 */
  probePort?: number;
  /** Returns the host name. @default Deno.hostname */
  hostname?: () => string;
  /** Resolves a host name to an IPv4 address. @default node:dns lookup (uses /etc/hosts) */
  lookup?: (host: string) => Promise<string>;
}

function udpSourceAddress(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const finish = (err: Error | null, value?: string) => {
      try {
        sock.close();
      } catch { /* closed */ }
      if (err) reject(err);
      else resolve(value!);
    };
    sock.on("error", (e) => finish(e));
    try {
      sock.connect(port, address, () => {
        try {
          finish(null, sock.address().address);
        } catch (e) {
          finish(e as Error);
        }
      });
    } catch (e) {
      finish(e as Error);
    }
  });
}

function defaultLookup(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    dns.lookup(host, { family: 4 }, (err, address) => {
      if (err) reject(err);
      else resolve(address);
    });
  });
}

/**
 * Finds the host's IP address (see the module doc for the order of methods).
 *
 * @param options probe address and replaceable look-ups
 * @returns an IPv4 address
 * @example
 * ```ts
 * import { getOwnIp } from "./own_ip.ts";
 * const ip = await getOwnIp(); // e.g. "10.1.2.3", or "127.0.0.1" without a network
 * ```
 */
export async function getOwnIp(options: OwnIpOptions = {}): Promise<string> {
  try {
    const ip = await udpSourceAddress(options.probeAddress ?? "8.8.8.8", options.probePort ?? 80);
    if (ip && ip !== "0.0.0.0") return ip;
  } catch {
    // network unreachable: next method
  }
  try {
    const host = (options.hostname ?? Deno.hostname)();
    const ip = await (options.lookup ?? defaultLookup)(host);
    if (ip && ip !== "127.0.0.1") return ip;
  } catch {
    // lookup failed: fall back
  }
  return "127.0.0.1";
}

/**
 * The host's own IP address, as posttroll's `get_own_ip` finds it. Python asks the kernel with a
 * UDP `connect()` towards 8.8.8.8 (nothing is sent) and reads the socket's source address; Deno has
 * no real UDP connect, so this module answers the same question from the same tables:
 *
 * 1. **the route to 8.8.8.8** in the kernel's main routing table (`/proc/net/route`: longest
 *    prefix, lowest metric), and the address the kernel picks on that route's interface (the
 *    address whose subnet holds the gateway, else the interface's first one); when there is no
 *    IPv4 route, the route to 2001:4860:4860::8888 (`/proc/net/ipv6_route`) and that interface's
 *    global address (beyond Python, which then falls back: IPv6-only hosts get a usable address);
 * 2. **where the routing table cannot be read** — Deno reads `/proc` only with all permissions
 *    (`--allow-all`), and the executables run with narrow ones — the first global address of the
 *    interfaces (`Deno.networkInterfaces()`, IPv4 before IPv6), with a warning when several
 *    interfaces have one (the kernel's choice is then unknown);
 * 3. the address the host name resolves to, unless it is a loopback address (Python also accepts
 *    `127.0.1.1`, Debian's host-name address, which no other host can reach);
 * 4. `127.0.0.1`, with a warning that names the settings that override the announced address.
 *
 * Policy routing (`ip rule`) and a route's preferred source (`ip route ... src`) are not visible in
 * `/proc`; on such hosts set the address to announce (`POSTTROLL_ANNOUNCE_HOST`, see
 * `NoisyPublisher`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isIP } from "node:net";
 * import { getOwnIp } from "./own_ip.ts";
 * const ip = await getOwnIp({ warn: () => {} });
 * assert(isIP(ip), ip); // this host's address towards the outside
 * ```
 * @module
 */
import dns from "node:dns";

/** What the loopback fallback's warning tells the user to set. */
const OVERRIDE_HINT = "set POSTTROLL_ANNOUNCE_HOST (config key announce_host) or the " +
  "announceHost option to the address other hosts reach this one at";

/** Options of {@linkcode getOwnIp} (the system look-ups, replaceable to test each method). */
export interface OwnIpOptions {
  /**
   * Reads a routing table file (`/proc/net/route`, `/proc/net/ipv6_route`); a rejection means the
   * table cannot be read (not Linux, or Deno without all permissions).
   * @default Deno.readTextFile
   */
  readRoutes?: (path: string) => Promise<string>;
  /** Lists the interfaces' addresses. @default Deno.networkInterfaces (none without --allow-sys) */
  interfaces?: () => Deno.NetworkInterfaceInfo[];
  /** Returns the host name. @default Deno.hostname */
  hostname?: () => string;
  /** Resolves a host name to an IPv4 address. @default node:dns lookup (uses /etc/hosts) */
  lookup?: (host: string) => Promise<string>;
  /** Receives the warnings (several candidate interfaces; loopback fallback). @default console.warn */
  warn?: (message: string) => void;
}

/** Where Python's `get_own_ip` "connects" to, and the IPv6 counterpart. */
const PROBE_V4 = [8, 8, 8, 8];
const PROBE_V6 = "2001:4860:4860::8888";

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;
const RTF_REJECT = 0x200;

interface Route {
  iface: string;
  /** Prefix length. */
  bits: number;
  metric: number;
  /** Gateway address, when an IPv4 route has one. */
  gateway?: string;
}

function defaultLookup(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    dns.lookup(host, { family: 4 }, (err, address) => {
      if (err) reject(err);
      else resolve(address);
    });
  });
}

function defaultInterfaces(): Deno.NetworkInterfaceInfo[] {
  try {
    return Deno.networkInterfaces();
  } catch {
    return []; // no --allow-sys=networkInterfaces
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A `/proc/net/route` field (a 32-bit address in host byte order, as hex) as four octets. */
function v4Octets(hex: string): number[] {
  const n = parseInt(hex, 16);
  const o = [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return LITTLE_ENDIAN ? o.reverse() : o;
}

function prefixBits(mask: number[]): number {
  let bits = 0;
  for (const o of mask) for (let b = 7; b >= 0; b--) if (o & (1 << b)) bits++;
  return bits;
}

/** The best IPv4 route to `dest` in `/proc/net/route` text (undefined: none, or a reject). */
function routeToV4(table: string, dest: number[] = PROBE_V4): Route | undefined {
  let best: (Route & { flags: number }) | undefined;
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const flags = parseInt(f[3], 16);
    if (!(flags & RTF_UP)) continue;
    const net = v4Octets(f[1]), mask = v4Octets(f[7]);
    if (!dest.every((o, i) => (o & mask[i]) === net[i])) continue;
    const route = {
      iface: f[0],
      bits: prefixBits(mask),
      metric: parseInt(f[6], 10),
      gateway: flags & RTF_GATEWAY ? v4Octets(f[2]).join(".") : undefined,
      flags,
    };
    if (
      !best || route.bits > best.bits || (route.bits === best.bits && route.metric < best.metric)
    ) {
      best = route;
    }
  }
  return best && !(best.flags & RTF_REJECT) ? best : undefined;
}

/** An IPv6 address as 16 bytes (undefined when malformed). */
function v6Bytes(address: string): number[] | undefined {
  const a = address.replace(/%.*$/, "");
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s ? s.split(":") : []);
  const head = groups(halves[0]), tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...Array(Math.max(0, fill)).fill("0"), ...tail];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
}

function hexBytes(hex: string): number[] {
  return Array.from(
    { length: hex.length / 2 },
    (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}

function samePrefix(a: number[], b: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3, bit = 7 - (i & 7);
    if (((a[byte] >> bit) & 1) !== ((b[byte] >> bit) & 1)) return false;
  }
  return true;
}

/** The best IPv6 route to `dest` in `/proc/net/ipv6_route` text (undefined: none). */
function routeToV6(table: string, dest: string = PROBE_V6): Route | undefined {
  const d = v6Bytes(dest)!;
  let best: (Route & { flags: number }) | undefined;
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const flags = parseInt(f[8], 16);
    if (!(flags & RTF_UP)) continue;
    const bits = parseInt(f[1], 16);
    if (!samePrefix(hexBytes(f[0]), d, bits)) continue;
    const route = { iface: f[9], bits, metric: parseInt(f[5], 16), flags };
    if (
      !best || route.bits > best.bits || (route.bits === best.bits && route.metric < best.metric)
    ) {
      best = route;
    }
  }
  return best && !(best.flags & RTF_REJECT) && best.iface !== "lo" ? best : undefined;
}

/**
 * True for a loopback address: 127.0.0.0/8, `::1`, and IPv4-mapped `::ffff:127.x.y.z`.
 *
 * @param address an IP address
 * @returns whether only this host can reach it
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { isLoopbackAddress } from "./own_ip.ts";
 * assert(isLoopbackAddress("127.0.1.1"));
 * assertEquals(isLoopbackAddress("192.0.2.2"), false);
 * ```
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^::ffff:/i, "");
  return a.startsWith("127.") || a === "::1";
}

/** A global unicast address: not loopback, not link-local. */
function isGlobal(i: Deno.NetworkInterfaceInfo): boolean {
  if (isLoopbackAddress(i.address)) return false;
  if (i.family === "IPv4") return !i.address.startsWith("169.254.");
  return !/^fe[89ab]/i.test(i.address);
}

function inSubnet(i: Deno.NetworkInterfaceInfo, address: string): boolean {
  const bits = Number(i.cidr.split("/")[1]);
  return samePrefix(i.address.split(".").map(Number), address.split(".").map(Number), bits);
}

/**
 * The source address the kernel gives a route: for IPv4 the interface's address whose subnet holds
 * the gateway, else its first; for IPv6 (RFC 6724: matching scope and label) a global unicast
 * address before a unique-local one (fc00::/7).
 */
function sourceFor(
  route: Route,
  family: "IPv4" | "IPv6",
  all: Deno.NetworkInterfaceInfo[],
): string | undefined {
  const mine = all.filter((i) => i.name === route.iface && i.family === family && isGlobal(i));
  if (family === "IPv6") {
    const ula = (i: Deno.NetworkInterfaceInfo) => Number(/^f[cd]/i.test(i.address));
    return mine.sort((a, b) => ula(a) - ula(b))[0]?.address;
  }
  const gw = route.gateway;
  const onGatewaySubnet = gw ? mine.find((i) => inSubnet(i, gw)) : undefined;
  return (onGatewaySubnet ?? mine[0])?.address;
}

/**
 * Finds the host's IP address (see the module doc for the order of methods).
 *
 * @param options replaceable system look-ups and the warning sink
 * @returns an IPv4 address, or an IPv6 address on hosts whose only route out is IPv6
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getOwnIp } from "./own_ip.ts";
 * // a host with no route out, no usable interface and a host name that resolves to loopback
 * const warnings: string[] = [];
 * const ip = await getOwnIp({
 *   readRoutes: () => Promise.reject(new Error("no /proc")),
 *   interfaces: () => [],
 *   hostname: () => "localhost",
 *   lookup: () => Promise.resolve("127.0.1.1"),
 *   warn: (m) => warnings.push(m),
 * });
 * assertEquals(ip, "127.0.0.1"); // the last resort, with a warning naming the setting to use
 * assertEquals(warnings.length, 1);
 * ```
 */
export async function getOwnIp(options: OwnIpOptions = {}): Promise<string> {
  const read = options.readRoutes ?? ((p: string) => Deno.readTextFile(p));
  const all = (options.interfaces ?? defaultInterfaces)();
  const warn = options.warn ?? ((m: string) => console.warn(m));
  let v4: string | undefined;
  try {
    v4 = await read("/proc/net/route");
  } catch {
    // unreadable: method 2
  }
  if (v4 !== undefined) {
    const r4 = routeToV4(v4);
    if (r4) {
      // a route without an address on its interface: the kernel takes one from another interface
      const ip = sourceFor(r4, "IPv4", all) ??
        all.find((i) => i.family === "IPv4" && isGlobal(i))?.address;
      if (ip) return ip;
    }
    const r6 = r4 ? undefined : routeToV6(await read("/proc/net/ipv6_route").catch(() => ""));
    const ip6 = r6 && sourceFor(r6, "IPv6", all);
    if (ip6) return ip6;
  } else {
    const candidates = [
      ...all.filter((i) => i.family === "IPv4" && isGlobal(i)),
      ...all.filter((i) => i.family === "IPv6" && isGlobal(i)),
    ];
    if (candidates.length) {
      const chosen = candidates[0];
      const names = new Set(
        candidates.filter((c) => c.family === chosen.family).map((c) => c.name),
      );
      if (names.size > 1) {
        warn(
          `getOwnIp: the routing table cannot be read (Deno reads /proc/net/route only with ` +
            `--allow-all) and interfaces ${[...names].join(", ")} all have addresses; using ` +
            `${chosen.address} (${chosen.name}) — if other hosts reach this one elsewhere, ` +
            OVERRIDE_HINT,
        );
      }
      return chosen.address;
    }
  }
  try {
    const host = (options.hostname ?? Deno.hostname)();
    const ip = await (options.lookup ?? defaultLookup)(host);
    if (ip && !isLoopbackAddress(ip)) return ip;
  } catch {
    // no host name access or lookup failed: fall back
  }
  warn(
    "getOwnIp: no route out of this host and its host name resolves to loopback; using " +
      `127.0.0.1, which no other host can reach — ${OVERRIDE_HINT}`,
  );
  return "127.0.0.1";
}

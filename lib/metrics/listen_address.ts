/**
 * Parsing `HOST:PORT` settings such as `--metrics`, failing with a message that names the setting.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseListenAddress } from "./listen_address.ts";
 * assertEquals(parseListenAddress("127.0.0.1:9557"), { hostname: "127.0.0.1", port: 9557 });
 * ```
 * @module
 */
import { ListenAddressError } from "./errors.ts";

/** Where to listen. */
export interface ListenAddress {
  /** Host name or address (`0.0.0.0` for every IPv4 interface, `::` for every interface). */
  hostname: string;
  /** TCP port (0: any free port). */
  port: number;
}

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (every IPv4 interface, as Prometheus exporters
 * listen by default).
 *
 * @param value the text given
 * @param setting the setting's name, for the error message @default "--metrics"
 * @returns host and port
 * @throws {ListenAddressError} for anything else, naming the setting
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseListenAddress } from "./listen_address.ts";
 * assertEquals(parseListenAddress(":9557").hostname, "0.0.0.0");
 * assertEquals(parseListenAddress("[::1]:9557").hostname, "::1");
 * ```
 */
export function parseListenAddress(value: string, setting = "--metrics"): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.%a-zA-Z]+)\]|([^:\[\]\s]*)):(\d+)$/.exec(value);
  if (!m) {
    const reason = /^\d+$/.test(value)
      ? "no host: write :PORT for every interface"
      : value.includes(":") && !value.startsWith("[")
      ? "an IPv6 address goes in brackets, e.g. [::1]:9557"
      : "no port";
    throw new ListenAddressError(setting, value, reason);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new ListenAddressError(setting, value, "port above 65535");
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

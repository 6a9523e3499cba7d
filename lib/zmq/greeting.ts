/**
 * The 64-byte ZMTP 3.x greeting (RFC 37): signature, version, mechanism, as-server flag.
 *
 * @module
 */
import { ZmqProtocolError } from "./errors.ts";

/** Length of a ZMTP 3.x greeting. */
export const GREETING_SIZE = 64;

/** A parsed greeting. */
export interface Greeting {
  /** Major version (3). */
  major: number;
  /** Minor version (0 or 1). */
  minor: number;
  /** Mechanism name ("NULL", "PLAIN", "CURVE"). */
  mechanism: string;
  /** The as-server flag. */
  asServer: boolean;
}

/**
 * Builds our greeting (version 3.1).
 *
 * @param mechanism mechanism name, at most 20 ASCII characters
 * @param asServer the as-server flag (CURVE/PLAIN server side)
 * @returns 64 bytes
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildGreeting } from "./greeting.ts";
 * const g = buildGreeting("NULL", false);
 * assert(g.length === 64 && g[0] === 0xff && g[10] === 3);
 * ```
 */
export function buildGreeting(mechanism: string, asServer: boolean): Uint8Array {
  const g = new Uint8Array(GREETING_SIZE);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  for (let i = 0; i < mechanism.length && i < 20; i++) g[12 + i] = mechanism.charCodeAt(i);
  g[32] = asServer ? 1 : 0;
  return g;
}

/**
 * Parses a peer's greeting.
 *
 * @param g the 64 bytes received
 * @returns the greeting fields
 * @throws {ZmqProtocolError} on a bad signature or a version before 3.0
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildGreeting, parseGreeting } from "./greeting.ts";
 * assert(parseGreeting(buildGreeting("CURVE", true)).mechanism === "CURVE");
 * ```
 */
export function parseGreeting(g: Uint8Array): Greeting {
  if (g.length < GREETING_SIZE) {
    throw new ZmqProtocolError(`greeting must be 64 bytes, got ${g.length}`);
  }
  if (g[0] !== 0xff || (g[9] & 1) !== 1) {
    throw new ZmqProtocolError("bad ZMTP signature (not a ZeroMQ 3.x peer)");
  }
  if (g[10] < 3) throw new ZmqProtocolError(`unsupported ZMTP version ${g[10]}.${g[11]}`);
  let mech = "";
  for (let i = 12; i < 32 && g[i] !== 0; i++) mech += String.fromCharCode(g[i]);
  return { major: g[10], minor: g[11], mechanism: mech, asServer: g[32] === 1 };
}

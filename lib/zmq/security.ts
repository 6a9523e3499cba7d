/**
 * Picks the security mechanism (NULL or CURVE) and role of a connection from socket options.
 *
 * @module
 */
import {
  type HandshakeContext,
  type HandshakeIO,
  type HandshakeResult,
  nullHandshake,
} from "./mechanism.ts";
import type { SocketOptions } from "./types.ts";

/** The mechanism a connection runs. */
export interface MechanismChoice {
  /** Greeting mechanism name. */
  name: "NULL" | "CURVE";
  /** Role: CURVE server, or the accepting side under NULL. */
  asServer: boolean;
  /** The handshake to run. */
  handshake: (io: HandshakeIO, ctx: HandshakeContext) => Promise<HandshakeResult>;
}

/**
 * Chooses the mechanism: CURVE when `options.curve` is set (server role when `curve.server`),
 * otherwise NULL with the accepting side as server.
 *
 * @param options socket options
 * @param accepted true for a connection accepted on a bound endpoint
 * @returns the mechanism
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { selectMechanism } from "./security.ts";
 * assert(selectMechanism({}, true).name === "NULL");
 * ```
 */
export function selectMechanism(options: SocketOptions, accepted: boolean): MechanismChoice {
  const curve = options.curve;
  if (curve) {
    const server = "server" in curve && curve.server === true;
    return {
      name: "CURVE",
      asServer: server,
      // CURVE code (and @noble's curves and ciphers) loads with the first CURVE connection:
      // ~9 MiB of RSS that NULL-only processes never pay (bench/README.md "memory").
      handshake: async (io, ctx) =>
        (await import("./curve_handshake.ts")).curveHandshake(io, ctx, curve),
    };
  }
  return { name: "NULL", asServer: accepted, handshake: nullHandshake };
}

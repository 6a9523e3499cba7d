/**
 * CURVE handshake driver (placeholder until the CURVE mechanism lands).
 *
 * @module
 */
import { HandshakeError } from "./mechanism.ts";
import type { HandshakeContext, HandshakeIO, HandshakeResult } from "./mechanism.ts";
import type { CurveClientOptions, CurveServerOptions } from "./types.ts";

/**
 * Runs the CURVE handshake.
 *
 * @param _io handshake I/O
 * @param _ctx our side
 * @param _curve keys
 * @returns the handshake result
 * @example
 * ```ts ignore
 * await curveHandshake(io, ctx, { server: true, secretKey });
 * ```
 */
export function curveHandshake(
  _io: HandshakeIO,
  _ctx: HandshakeContext,
  _curve: CurveServerOptions | CurveClientOptions,
): Promise<HandshakeResult> {
  return Promise.reject(new HandshakeError("CURVE not implemented yet"));
}

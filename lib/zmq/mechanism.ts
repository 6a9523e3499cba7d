/**
 * Security-mechanism plumbing shared by NULL and CURVE: the handshake I/O interface, the result of
 * a handshake, the per-message codec CURVE installs, and the NULL mechanism itself.
 *
 * @module
 */
import {
  buildError,
  buildReady,
  compatibleSocketTypes,
  decodeProperties,
  errorReason,
  parseCommand,
  socketTypeOf,
} from "./command.ts";
import { ZmqError } from "./errors.ts";
import type { PeerInfo } from "./types.ts";

/** What a mechanism needs from the connection during the handshake. */
export interface HandshakeIO {
  /** Body of the next COMMAND frame from the peer. */
  readCommand(): Promise<Uint8Array>;
  /** Sends a COMMAND frame body now. */
  writeCommand(body: Uint8Array): Promise<void>;
}

/** Who we are in a handshake. */
export interface HandshakeContext {
  /** Our socket type, e.g. "PUB". */
  socketType: string;
  /** True on the accepting (bound) side. */
  asServer: boolean;
  /** The peer's IP address ("" for ipc). */
  peerAddress: string;
  /** Authorization hook (server side). */
  authorize?: (peer: PeerInfo) => boolean | Promise<boolean>;
}

/** Per-frame transform installed by CURVE after its handshake. */
export interface MessageCodec {
  /** Wraps one frame (flags: bit 0 MORE, bit 1 COMMAND) into a MESSAGE body. */
  encode(body: Uint8Array, flags: number): Uint8Array;
  /** Size of the MESSAGE body that wraps a frame of `bodyLength` bytes. */
  encodedLength(bodyLength: number): number;
  /** Like `encode`, writing the MESSAGE body into `out[offset, offset + encodedLength)`. */
  encodeInto(body: Uint8Array, flags: number, out: Uint8Array, offset: number): void;
  /** Unwraps a MESSAGE body into flags (bit 0 MORE, bit 1 COMMAND) and the frame body. */
  decode(body: Uint8Array): { flags: number; body: Uint8Array };
}

/** Outcome of a successful handshake. */
export interface HandshakeResult {
  /** The peer's Socket-Type. */
  peerSocketType: string;
  /** Who the peer is. */
  peer: PeerInfo;
  /** Frame codec (CURVE), absent for NULL. */
  codec?: MessageCodec;
}

/**
 * A handshake that did not complete; `authRefused` when the server refused the peer (ZAP-like
 * `authorize` hook said no, or the peer sent an ERROR command).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { HandshakeError } from "./mechanism.ts";
 * assert(new HandshakeError("no", true).authRefused);
 * ```
 */
export class HandshakeError extends ZmqError {
  /** True when refused by authorization. */
  readonly authRefused: boolean;
  /**
   * @param message reason
   * @param authRefused refused by authorization
   * @param options `cause`
   */
  constructor(message: string, authRefused = false, options?: ErrorOptions) {
    super(message, options);
    this.name = "HandshakeError";
    this.authRefused = authRefused;
  }
}

/**
 * Checks metadata from READY (or CURVE INITIATE/READY) and returns the peer's socket type.
 *
 * @param ourType our socket type
 * @param metadata encoded properties
 * @returns the peer's Socket-Type
 * @throws {HandshakeError} when the socket types do not match
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkPeerMetadata } from "./mechanism.ts";
 * import { buildMetadata } from "./command.ts";
 * assert(checkPeerMetadata("SUB", buildMetadata("PUB")) === "PUB");
 * ```
 */
export function checkPeerMetadata(ourType: string, metadata: Uint8Array): string {
  const theirs = socketTypeOf(decodeProperties(metadata));
  if (!compatibleSocketTypes(ourType, theirs)) {
    throw new HandshakeError(`socket type ${theirs} cannot talk to ${ourType}`);
  }
  return theirs;
}

/**
 * Runs the NULL mechanism: both sides send READY with metadata; a server with `authorize` reads
 * the client's READY first and answers ERROR "400" when refused.
 *
 * @param io handshake I/O
 * @param ctx our side
 * @returns the peer socket type and info
 * @throws {HandshakeError} on ERROR, refusal or incompatible socket types
 * @example
 * ```ts
 * import { assertEquals, assertRejects } from "@std/assert";
 * import { HandshakeError, type HandshakeIO, nullHandshake } from "./mechanism.ts";
 * import { Channel } from "../_util/channel.ts";
 * // two ends of an in-memory pipe stand for the TCP connection
 * const pipe = () => {
 *   const [a, b] = [new Channel<Uint8Array>(), new Channel<Uint8Array>()];
 *   const io = (rx: Channel<Uint8Array>, tx: Channel<Uint8Array>): HandshakeIO => ({
 *     readCommand: () => rx.receive(),
 *     writeCommand: (body) => Promise.resolve(void tx.push(body)),
 *   });
 *   return [io(a, b), io(b, a)];
 * };
 * const [pubSide, subSide] = pipe();
 * const [server, client] = await Promise.all([
 *   nullHandshake(pubSide, { socketType: "PUB", asServer: true, peerAddress: "" }),
 *   nullHandshake(subSide, { socketType: "SUB", asServer: false, peerAddress: "" }),
 * ]);
 * assertEquals([server.peerSocketType, client.peerSocketType], ["SUB", "PUB"]);
 * // PUB cannot talk to PUSH: the handshake fails
 * const [x, y] = pipe();
 * await assertRejects(() =>
 *   Promise.all([
 *     nullHandshake(x, { socketType: "PUB", asServer: true, peerAddress: "" }),
 *     nullHandshake(y, { socketType: "PUSH", asServer: false, peerAddress: "" }),
 *   ]), HandshakeError);
 * ```
 */
export async function nullHandshake(
  io: HandshakeIO,
  ctx: HandshakeContext,
): Promise<HandshakeResult> {
  const peer: PeerInfo = { address: ctx.peerAddress, mechanism: "NULL" };
  const gate = ctx.asServer && ctx.authorize;
  if (!gate) await io.writeCommand(buildReady(ctx.socketType));
  const cmd = parseCommand(await io.readCommand());
  if (cmd.name === "ERROR") {
    throw new HandshakeError(`peer refused: ${errorReason(cmd.data)}`, true);
  }
  if (cmd.name !== "READY") throw new HandshakeError(`expected READY, got ${cmd.name}`);
  const peerSocketType = checkPeerMetadata(ctx.socketType, cmd.data);
  if (gate) {
    let ok = false;
    try {
      ok = await ctx.authorize!(peer);
    } catch {
      ok = false;
    }
    if (!ok) {
      await io.writeCommand(buildError("400"));
      throw new HandshakeError("peer refused by authorize()", true);
    }
    await io.writeCommand(buildReady(ctx.socketType));
  }
  return { peerSocketType, peer };
}

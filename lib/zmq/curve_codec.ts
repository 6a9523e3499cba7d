/**
 * CURVE MESSAGE codec (RFC 26): each ZMTP frame travels as a MESSAGE command body
 * `\x07MESSAGE` + 8-byte nonce + box(flags byte + frame), with strictly increasing nonces.
 *
 * @module
 */
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { ZmqProtocolError } from "./errors.ts";
import type { MessageCodec } from "./mechanism.ts";

const HEADER = [7, 0x4d, 0x45, 0x53, 0x53, 0x41, 0x47, 0x45]; // \x07MESSAGE

/**
 * Encrypts and decrypts frames of one CURVE connection.
 *
 * @example
 * ```ts
 * import { CurveCodec } from "./curve_codec.ts";
 * const key = new Uint8Array(32);
 * const client = new CurveCodec(key, "CurveZMQMESSAGEC", "CurveZMQMESSAGES", 3n, 1n);
 * const server = new CurveCodec(key, "CurveZMQMESSAGES", "CurveZMQMESSAGEC", 2n, 2n);
 * const out = server.decode(client.encode(new Uint8Array([1, 2]), 1));
 * console.assert(out.flags === 1 && out.body.length === 2);
 * ```
 */
export class CurveCodec implements MessageCodec {
  readonly #key: Uint8Array;
  readonly #sendNonce = new Uint8Array(24);
  readonly #recvNonce = new Uint8Array(24);
  readonly #sendView: DataView;
  #next: bigint;
  #peerLast: bigint;

  /**
   * @param key precomputed box key of the short-term keys
   * @param sendPrefix nonce prefix for what we send ("CurveZMQMESSAGEC" on the client)
   * @param recvPrefix nonce prefix for what we receive
   * @param nextNonce our next short nonce
   * @param peerLastNonce the last nonce the peer used (received nonces must exceed it)
   */
  constructor(
    key: Uint8Array,
    sendPrefix: string,
    recvPrefix: string,
    nextNonce: bigint,
    peerLastNonce: bigint,
  ) {
    this.#key = key;
    for (let i = 0; i < 16; i++) {
      this.#sendNonce[i] = sendPrefix.charCodeAt(i);
      this.#recvNonce[i] = recvPrefix.charCodeAt(i);
    }
    this.#sendView = new DataView(this.#sendNonce.buffer);
    this.#next = nextNonce;
    this.#peerLast = peerLastNonce;
  }

  /**
   * Wraps one frame.
   *
   * @param body frame body
   * @param flags bit 0 MORE, bit 1 COMMAND
   * @returns MESSAGE body
   */
  encode(body: Uint8Array, flags: number): Uint8Array {
    this.#sendView.setBigUint64(16, this.#next++);
    // plaintext lives at out[32..]; encrypt leaves tag+ciphertext at out[16..]; header goes first
    const out = new Uint8Array(body.length + 1 + 32);
    out[32] = flags;
    out.set(body, 33);
    xsalsa20poly1305(this.#key, this.#sendNonce).encrypt(out.subarray(32), out);
    for (let i = 0; i < 8; i++) out[i] = HEADER[i];
    out.set(this.#sendNonce.subarray(16), 8);
    return out;
  }

  /**
   * Unwraps a MESSAGE body.
   *
   * @param msg MESSAGE body
   * @returns flags and frame body
   * @throws {ZmqProtocolError} on a malformed message, a replayed nonce or failed authentication
   */
  decode(msg: Uint8Array): { flags: number; body: Uint8Array } {
    if (msg.length < 8 + 8 + 16 + 1) throw new ZmqProtocolError("CURVE MESSAGE too short");
    for (let i = 0; i < 8; i++) {
      if (msg[i] !== HEADER[i]) throw new ZmqProtocolError("expected a CURVE MESSAGE");
    }
    const n = new DataView(msg.buffer, msg.byteOffset + 8, 8).getBigUint64(0);
    if (n <= this.#peerLast) throw new ZmqProtocolError("CURVE MESSAGE nonce not increasing");
    this.#peerLast = n;
    this.#recvNonce.set(msg.subarray(8, 16), 16);
    let pt: Uint8Array;
    try {
      pt = xsalsa20poly1305(this.#key, this.#recvNonce).decrypt(msg.subarray(16));
    } catch (e) {
      throw new ZmqProtocolError("CURVE MESSAGE failed authentication", { cause: e });
    }
    return { flags: pt[0], body: pt.subarray(1) };
  }
}

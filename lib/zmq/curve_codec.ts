/**
 * CURVE MESSAGE codec (RFC 26): each ZMTP frame travels as a MESSAGE command body
 * `\x07MESSAGE` + 8-byte nonce + box(flags byte + frame), with strictly increasing nonces.
 *
 * @module
 */
import { ZmqProtocolError } from "./errors.ts";
import type { MessageCodec } from "./mechanism.ts";
import { SalsaBox } from "./salsa_box.ts";

const HEADER = [7, 0x4d, 0x45, 0x53, 0x53, 0x41, 0x47, 0x45]; // \x07MESSAGE
const enc = new TextEncoder();

/**
 * Encrypts and decrypts frames of one CURVE connection.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CurveCodec } from "./curve_codec.ts";
 * const key = new Uint8Array(32);
 * const client = new CurveCodec(key, "CurveZMQMESSAGEC", "CurveZMQMESSAGES", 3, 1);
 * const server = new CurveCodec(key, "CurveZMQMESSAGES", "CurveZMQMESSAGEC", 2, 2);
 * const out = server.decode(client.encode(new Uint8Array([1, 2]), 1));
 * assert(out.flags === 1 && out.body.length === 2);
 * ```
 */
export class CurveCodec implements MessageCodec {
  readonly #send: SalsaBox;
  readonly #recv: SalsaBox;
  #next: number;
  #peerLast: number;
  #arena = new Uint8Array(0);
  #arenaPos = 0;

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
    nextNonce: number | bigint,
    peerLastNonce: number | bigint,
  ) {
    this.#send = new SalsaBox(key, enc.encode(sendPrefix));
    this.#recv = new SalsaBox(key, enc.encode(recvPrefix));
    this.#next = Number(nextNonce);
    this.#peerLast = Number(peerLastNonce);
  }

  /**
   * Wraps one frame.
   *
   * @param body frame body
   * @param flags bit 0 MORE, bit 1 COMMAND
   * @returns MESSAGE body
   */
  encode(body: Uint8Array, flags: number): Uint8Array {
    const out = new Uint8Array(this.encodedLength(body.length));
    this.encodeInto(body, flags, out, 0);
    return out;
  }

  /**
   * Size of the MESSAGE body for a frame of `bodyLength` bytes.
   *
   * @param bodyLength frame body length
   * @returns MESSAGE body length
   */
  encodedLength(bodyLength: number): number {
    return 32 + 1 + bodyLength;
  }

  /**
   * Wraps one frame into `out[offset, offset + encodedLength(body.length))`.
   *
   * @param body frame body
   * @param flags bit 0 MORE, bit 1 COMMAND
   * @param out destination
   * @param offset where the MESSAGE body starts
   */
  encodeInto(body: Uint8Array, flags: number, out: Uint8Array, offset: number): void {
    const n = this.#next++;
    const len = body.length + 1;
    const o = offset;
    out[o + 32] = flags;
    out.set(body, o + 33);
    for (let i = 0; i < 8; i++) out[o + i] = HEADER[i];
    const hi = Math.floor(n / 0x100000000);
    out[o + 8] = hi >>> 24;
    out[o + 9] = (hi >>> 16) & 0xff;
    out[o + 10] = (hi >>> 8) & 0xff;
    out[o + 11] = hi & 0xff;
    out[o + 12] = n >>> 24;
    out[o + 13] = (n >>> 16) & 0xff;
    out[o + 14] = (n >>> 8) & 0xff;
    out[o + 15] = n & 0xff;
    this.#send.sealInPlace(n, out, o + 16, len);
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
    const hi = ((msg[8] << 24) | (msg[9] << 16) | (msg[10] << 8) | msg[11]) >>> 0;
    const lo = ((msg[12] << 24) | (msg[13] << 16) | (msg[14] << 8) | msg[15]) >>> 0;
    const n = hi * 0x100000000 + lo;
    if (n <= this.#peerLast) throw new ZmqProtocolError("CURVE MESSAGE nonce not increasing");
    // plaintexts of small frames share an arena (one allocation per 64 KiB)
    const len = msg.length - 32;
    let out: Uint8Array;
    let p = 0;
    if (len <= 2048) {
      this.#arenaPos = (this.#arenaPos + 3) & ~3;
      if (this.#arena.length - this.#arenaPos < len) {
        this.#arena = new Uint8Array(65536);
        this.#arenaPos = 0;
      }
      out = this.#arena;
      p = this.#arenaPos;
    } else out = new Uint8Array(len);
    if (!this.#recv.openInto(n, msg.subarray(16), out, p)) {
      throw new ZmqProtocolError("CURVE MESSAGE failed authentication");
    }
    if (out === this.#arena) this.#arenaPos = p + len;
    this.#peerLast = n;
    return { flags: out[p], body: out.subarray(p + 1, p + len) };
  }
}

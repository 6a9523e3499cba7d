/**
 * Fast XSalsa20-Poly1305 (NaCl secretbox) for CurveZMQ MESSAGE traffic, where every nonce is a
 * fixed 16-byte prefix plus an 8-byte big-endian counter: the XSalsa20 subkey (HSalsa20 of the
 * key and the prefix, from @noble/ciphers) is computed once per connection direction, and each
 * message runs only Salsa20 (in place, no per-message setup) and an allocation-free Poly1305.
 * Output is byte-identical to `xsalsa20poly1305(key, prefix + counter).encrypt()` (tag first).
 *
 * @module
 */
import { hsalsa } from "@noble/ciphers/salsa.js";
import { poly1305Into } from "./poly1305.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/**
 * Secretbox for one key and one 16-byte nonce prefix.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SalsaBox } from "./salsa_box.ts";
 * const box = new SalsaBox(new Uint8Array(32), new TextEncoder().encode("CurveZMQMESSAGEC"));
 * const sealed = new Uint8Array(16 + 3);
 * box.seal(1, new Uint8Array([1, 2, 3]), sealed, 0);
 * assert(box.open(1, sealed)?.[2] === 3);
 * ```
 */
export class SalsaBox {
  readonly #k = new Uint32Array(8);
  readonly #ksw = new Uint32Array(16);
  readonly #ks = LITTLE_ENDIAN ? new Uint8Array(this.#ksw.buffer) : new Uint8Array(64);
  readonly #polyKey = new Uint8Array(32);
  readonly #tag = new Uint8Array(16);

  /**
   * @param key 32-byte box key (crypto_box_beforenm)
   * @param prefix the fixed first 16 bytes of every nonce
   */
  constructor(key: Uint8Array, prefix: Uint8Array) {
    const kw = new Uint32Array(8);
    for (let i = 0; i < 8; i++) kw[i] = le32(key, 4 * i);
    const nw = new Uint32Array(4);
    for (let i = 0; i < 4; i++) nw[i] = le32(prefix, 4 * i);
    hsalsa(SIGMA, kw, nw, this.#k);
  }

  /** Salsa20 block `ctr` for nonce words n0, n1 into #ks. */
  #block(n0: number, n1: number, ctr: number): void {
    const k = this.#k;
    const j0 = 0x61707865, j1 = k[0], j2 = k[1], j3 = k[2], j4 = k[3], j5 = 0x3320646e;
    const j6 = n0, j7 = n1, j8 = ctr >>> 0, j9 = 0, j10 = 0x79622d32;
    const j11 = k[4], j12 = k[5], j13 = k[6], j14 = k[7], j15 = 0x6b206574;
    let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
    let x8 = j8, x9 = j9, x10 = j10, x11 = j11, x12 = j12, x13 = j13, x14 = j14, x15 = j15;
    let u: number;
    for (let i = 0; i < 10; i++) {
      u = (x0 + x12) | 0;
      x4 ^= (u << 7) | (u >>> 25);
      u = (x4 + x0) | 0;
      x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x4) | 0;
      x12 ^= (u << 13) | (u >>> 19);
      u = (x12 + x8) | 0;
      x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x1) | 0;
      x9 ^= (u << 7) | (u >>> 25);
      u = (x9 + x5) | 0;
      x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x9) | 0;
      x1 ^= (u << 13) | (u >>> 19);
      u = (x1 + x13) | 0;
      x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x6) | 0;
      x14 ^= (u << 7) | (u >>> 25);
      u = (x14 + x10) | 0;
      x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x14) | 0;
      x6 ^= (u << 13) | (u >>> 19);
      u = (x6 + x2) | 0;
      x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x11) | 0;
      x3 ^= (u << 7) | (u >>> 25);
      u = (x3 + x15) | 0;
      x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x3) | 0;
      x11 ^= (u << 13) | (u >>> 19);
      u = (x11 + x7) | 0;
      x15 ^= (u << 18) | (u >>> 14);
      u = (x0 + x3) | 0;
      x1 ^= (u << 7) | (u >>> 25);
      u = (x1 + x0) | 0;
      x2 ^= (u << 9) | (u >>> 23);
      u = (x2 + x1) | 0;
      x3 ^= (u << 13) | (u >>> 19);
      u = (x3 + x2) | 0;
      x0 ^= (u << 18) | (u >>> 14);
      u = (x5 + x4) | 0;
      x6 ^= (u << 7) | (u >>> 25);
      u = (x6 + x5) | 0;
      x7 ^= (u << 9) | (u >>> 23);
      u = (x7 + x6) | 0;
      x4 ^= (u << 13) | (u >>> 19);
      u = (x4 + x7) | 0;
      x5 ^= (u << 18) | (u >>> 14);
      u = (x10 + x9) | 0;
      x11 ^= (u << 7) | (u >>> 25);
      u = (x11 + x10) | 0;
      x8 ^= (u << 9) | (u >>> 23);
      u = (x8 + x11) | 0;
      x9 ^= (u << 13) | (u >>> 19);
      u = (x9 + x8) | 0;
      x10 ^= (u << 18) | (u >>> 14);
      u = (x15 + x14) | 0;
      x12 ^= (u << 7) | (u >>> 25);
      u = (x12 + x15) | 0;
      x13 ^= (u << 9) | (u >>> 23);
      u = (x13 + x12) | 0;
      x14 ^= (u << 13) | (u >>> 19);
      u = (x14 + x13) | 0;
      x15 ^= (u << 18) | (u >>> 14);
    }
    const o = this.#ks;
    const w = [
      x0 + j0,
      x1 + j1,
      x2 + j2,
      x3 + j3,
      x4 + j4,
      x5 + j5,
      x6 + j6,
      x7 + j7,
      x8 + j8,
      x9 + j9,
      x10 + j10,
      x11 + j11,
      x12 + j12,
      x13 + j13,
      x14 + j14,
      x15 + j15,
    ];
    for (let i = 0; i < 16; i++) {
      const v = w[i];
      o[4 * i] = v;
      o[4 * i + 1] = v >>> 8;
      o[4 * i + 2] = v >>> 16;
      o[4 * i + 3] = v >>> 24;
    }
  }

  /** XORs buf[off, off + n) in place with the stream from byte 32 of block 0. */
  #xor(n0: number, n1: number, buf: Uint8Array, off: number, n: number): void {
    const ks = this.#ks;
    // block 0 is already in #ks: its first 32 bytes were the Poly1305 key
    let p = Math.min(32, n);
    for (let i = 0; i < p; i++) buf[off + i] ^= ks[32 + i];
    let ctr = 0;
    const full = (n - p) >>> 6;
    if (LITTLE_ENDIAN && full >= 2 && ((buf.byteOffset + off + p) & 3) === 0) {
      // word-wise over whole blocks
      const bw = new Uint32Array(buf.buffer, buf.byteOffset + off + p, full * 16);
      const kw = this.#ksw;
      for (let b = 0; b < full; b++) {
        this.#block(n0, n1, ++ctr);
        const o = b * 16;
        for (let j = 0; j < 16; j++) bw[o + j] ^= kw[j];
      }
      p += full * 64;
    }
    while (p < n) {
      this.#block(n0, n1, ++ctr);
      const m = Math.min(64, n - p);
      const q = off + p;
      for (let i = 0; i < m; i++) buf[q + i] ^= ks[i];
      p += m;
    }
  }

  #start(counter: number): [number, number] {
    const hi = Math.floor(counter / 0x100000000) >>> 0;
    const lo = counter >>> 0;
    const n0 = bswap(hi);
    const n1 = bswap(lo);
    this.#block(n0, n1, 0);
    this.#polyKey.set(this.#ks.subarray(0, 32));
    return [n0, n1];
  }

  /**
   * Seals in place: the plaintext at `buf[off + 16, off + 16 + len)` becomes ciphertext and the
   * 16-byte tag is written at `buf[off, off + 16)`; nonce = prefix + `counter`.
   *
   * @param counter the nonce counter (below 2^53)
   * @param buf buffer holding the plaintext after 16 free bytes
   * @param off where the tag goes
   * @param len plaintext length
   */
  sealInPlace(counter: number, buf: Uint8Array, off: number, len: number): void {
    const [n0, n1] = this.#start(counter);
    this.#xor(n0, n1, buf, off + 16, len);
    poly1305Into(this.#polyKey, buf, off + 16, len, buf, off);
  }

  /**
   * Seals `plaintext` into `out[outOff..]`: 16-byte tag, then the ciphertext.
   *
   * @param counter the nonce counter (below 2^53)
   * @param plaintext message
   * @param out destination with room for 16 + plaintext.length bytes
   * @param outOff where to write
   */
  seal(counter: number, plaintext: Uint8Array, out: Uint8Array, outOff: number): void {
    out.set(plaintext, outOff + 16);
    this.sealInPlace(counter, out, outOff, plaintext.length);
  }

  /**
   * Opens a box (tag + ciphertext) sealed with nonce prefix + `counter`.
   *
   * @param counter the nonce counter
   * @param box tag + ciphertext
   * @returns the plaintext, or null when authentication fails
   */
  open(counter: number, box: Uint8Array): Uint8Array | null {
    if (box.length < 16) return null;
    const out = new Uint8Array(box.length - 16);
    return this.openInto(counter, box, out, 0) ? out : null;
  }

  /**
   * Opens a box into `out[outOff, outOff + box.length - 16)`.
   *
   * @param counter the nonce counter
   * @param box tag + ciphertext
   * @param out destination
   * @param outOff where the plaintext goes
   * @returns false when authentication fails (nothing written)
   */
  openInto(counter: number, box: Uint8Array, out: Uint8Array, outOff: number): boolean {
    if (box.length < 16) return false;
    const [n0, n1] = this.#start(counter);
    const tag = this.#tag;
    poly1305Into(this.#polyKey, box, 16, box.length - 16, tag, 0);
    let d = 0;
    for (let i = 0; i < 16; i++) d |= tag[i] ^ box[i];
    if (d !== 0) return false;
    out.set(box.subarray(16), outOff);
    this.#xor(n0, n1, out, outOff, box.length - 16);
    return true;
  }
}

/**
 * Poly1305 one-time authenticator (RFC 8439), allocation-free, in radix 2^22 on float64: six
 * 22-bit limbs, 2^132 = 20 (mod 2^130 - 5), so every partial product (< 2^50) and every column
 * sum (< 2^53) is exact in a double; 36 multiplications per 16-byte block. The whole message is
 * processed in one call with the state in local variables. Used by the CURVE MESSAGE fast path;
 * tested for equality with @noble/ciphers' Poly1305.
 *
 * @module
 */

const last = new Uint8Array(16);
const M22 = 0x3fffff;
const B22 = 4194304; // 2^22
const I22 = 1 / B22;

function le32(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
}

/**
 * Computes the Poly1305 tag of `msg[from, from + len)` under the 32-byte one-time `key` into
 * `out[outOff, outOff + 16)`.
 *
 * @param key 32-byte one-time key (r, s)
 * @param msg message bytes
 * @param from start offset in `msg`
 * @param len message length
 * @param out destination
 * @param outOff where the 16-byte tag goes
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { poly1305Into } from "./poly1305.ts";
 * const tag = new Uint8Array(16);
 * poly1305Into(new Uint8Array(32), new Uint8Array(5), 0, 5, tag, 0);
 * assert(tag.every((b) => b === 0)); // r = s = 0
 * ```
 */
export function poly1305Into(
  key: Uint8Array,
  msg: Uint8Array,
  from: number,
  len: number,
  out: Uint8Array,
  outOff: number,
): void {
  // r, clamped (RFC 8439 2.5)
  const k0 = le32(key, 0) & 0x0fffffff;
  const k1 = le32(key, 4) & 0x0ffffffc;
  const k2 = le32(key, 8) & 0x0ffffffc;
  const k3 = le32(key, 12) & 0x0ffffffc;
  const r0 = k0 & M22;
  const r1 = (k0 >>> 22) | ((k1 & 0xfff) << 10);
  const r2 = (k1 >>> 12) | ((k2 & 0x3) << 20);
  const r3 = (k2 >>> 2) & M22;
  const r4 = (k2 >>> 24) | ((k3 & 0x3fff) << 8);
  const r5 = k3 >>> 14;
  const s1 = 20 * r1, s2 = 20 * r2, s3 = 20 * r3, s4 = 20 * r4, s5 = 20 * r5;
  let h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0;
  let pos = from;
  let left = len;
  while (left > 0) {
    let m: Uint8Array = msg;
    let p = pos;
    let hibit = 1 << 18;
    if (left >= 16) {
      pos += 16;
      left -= 16;
    } else {
      last.fill(0);
      for (let i = 0; i < left; i++) last[i] = msg[pos + i];
      last[left] = 1;
      m = last;
      p = 0;
      hibit = 0;
      left = 0;
    }
    const w0 = le32(m, p), w1 = le32(m, p + 4), w2 = le32(m, p + 8), w3 = le32(m, p + 12);
    h0 += w0 & M22;
    h1 += (w0 >>> 22) | ((w1 & 0xfff) << 10);
    h2 += (w1 >>> 12) | ((w2 & 0x3) << 20);
    h3 += (w2 >>> 2) & M22;
    h4 += (w2 >>> 24) | ((w3 & 0x3fff) << 8);
    h5 += (w3 >>> 14) | hibit;

    let d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;

    let c = Math.floor(d0 * I22);
    d0 -= c * B22;
    d1 += c;
    c = Math.floor(d1 * I22);
    d1 -= c * B22;
    d2 += c;
    c = Math.floor(d2 * I22);
    d2 -= c * B22;
    d3 += c;
    c = Math.floor(d3 * I22);
    d3 -= c * B22;
    d4 += c;
    c = Math.floor(d4 * I22);
    d4 -= c * B22;
    d5 += c;
    c = Math.floor(d5 * I22);
    d5 -= c * B22;
    d0 += c * 20;
    c = Math.floor(d0 * I22);
    d0 -= c * B22;
    d1 += c;
    h0 = d0;
    h1 = d1;
    h2 = d2;
    h3 = d3;
    h4 = d4;
    h5 = d5;
  }
  // full carry: limbs < 2^22 and h < 2^130 (bits from 130 up fold back as * 5)
  for (let round = 0; round < 2; round++) {
    let c = Math.floor(h0 * I22);
    h0 -= c * B22;
    h1 += c;
    c = Math.floor(h1 * I22);
    h1 -= c * B22;
    h2 += c;
    c = Math.floor(h2 * I22);
    h2 -= c * B22;
    h3 += c;
    c = Math.floor(h3 * I22);
    h3 -= c * B22;
    h4 += c;
    c = Math.floor(h4 * I22);
    h4 -= c * B22;
    h5 += c;
    c = Math.floor(h5 / 1048576); // 2^20: the limb holds bits 110..129
    h5 -= c * 1048576;
    h0 += c * 5;
  }
  // h >= p = 2^130 - 5 exactly when h + 5 >= 2^130: then take h + 5 - 2^130
  let g0 = h0 + 5;
  let c = Math.floor(g0 * I22);
  g0 -= c * B22;
  let g1 = h1 + c;
  c = Math.floor(g1 * I22);
  g1 -= c * B22;
  let g2 = h2 + c;
  c = Math.floor(g2 * I22);
  g2 -= c * B22;
  let g3 = h3 + c;
  c = Math.floor(g3 * I22);
  g3 -= c * B22;
  let g4 = h4 + c;
  c = Math.floor(g4 * I22);
  g4 -= c * B22;
  const g5 = h5 + c;
  if (g5 >= 1048576) {
    h0 = g0;
    h1 = g1;
    h2 = g2;
    h3 = g3;
    h4 = g4;
    h5 = g5 - 1048576;
  }
  // to 32-bit words (mod 2^128), then + s
  const w = [
    (h0 | (h1 << 22)) >>> 0,
    ((h1 >>> 10) | (h2 << 12)) >>> 0,
    ((h2 >>> 20) | (h3 << 2) | (h4 << 24)) >>> 0,
    ((h4 >>> 8) | (h5 << 14)) >>> 0,
  ];
  let f = 0;
  for (let i = 0; i < 4; i++) {
    f = w[i] + (le32(key, 16 + 4 * i) >>> 0) + f;
    const v = f >>> 0;
    f = f >= 4294967296 ? 1 : 0;
    const o = outOff + 4 * i;
    out[o] = v & 0xff;
    out[o + 1] = (v >>> 8) & 0xff;
    out[o + 2] = (v >>> 16) & 0xff;
    out[o + 3] = v >>> 24;
  }
}

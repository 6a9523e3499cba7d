/**
 * Poly1305 one-time authenticator (RFC 8439) in 13-bit limbs, allocation-free: the whole message
 * is processed in one call with the state in local variables. Used by the CURVE MESSAGE fast
 * path; tested for equality with @noble/ciphers' Poly1305.
 *
 * @module
 */

const last = new Uint8Array(16);

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
 * import { poly1305Into } from "./poly1305.ts";
 * const tag = new Uint8Array(16);
 * poly1305Into(new Uint8Array(32), new Uint8Array(5), 0, 5, tag, 0);
 * console.assert(tag.every((b) => b === 0)); // r = s = 0
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
  let t0 = key[0] | (key[1] << 8), t1 = key[2] | (key[3] << 8);
  let t2 = key[4] | (key[5] << 8), t3 = key[6] | (key[7] << 8);
  let t4 = key[8] | (key[9] << 8), t5 = key[10] | (key[11] << 8);
  let t6 = key[12] | (key[13] << 8), t7 = key[14] | (key[15] << 8);
  const r0 = t0 & 0x1fff;
  const r1 = ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
  const r2 = ((t1 >>> 10) | (t2 << 6)) & 0x1f03;
  const r3 = ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
  const r4 = ((t3 >>> 4) | (t4 << 12)) & 0x00ff;
  const r5 = (t4 >>> 1) & 0x1ffe;
  const r6 = ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
  const r7 = ((t5 >>> 11) | (t6 << 5)) & 0x1f81;
  const r8 = ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
  const r9 = (t7 >>> 5) & 0x007f;
  const s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4, s5 = 5 * r5;
  const s6 = 5 * r6, s7 = 5 * r7, s8 = 5 * r8, s9 = 5 * r9;
  let h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0, h6 = 0, h7 = 0, h8 = 0, h9 = 0;
  let pos = from;
  let left = len;
  while (left > 0) {
    let m: Uint8Array = msg;
    let p = pos;
    let hibit = 1 << 11;
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
    t0 = m[p] | (m[p + 1] << 8);
    t1 = m[p + 2] | (m[p + 3] << 8);
    t2 = m[p + 4] | (m[p + 5] << 8);
    t3 = m[p + 6] | (m[p + 7] << 8);
    t4 = m[p + 8] | (m[p + 9] << 8);
    t5 = m[p + 10] | (m[p + 11] << 8);
    t6 = m[p + 12] | (m[p + 13] << 8);
    t7 = m[p + 14] | (m[p + 15] << 8);
    h0 += t0 & 0x1fff;
    h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
    h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
    h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
    h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
    h5 += (t4 >>> 1) & 0x1fff;
    h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
    h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
    h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
    h9 += (t7 >>> 5) | hibit;

    let c = 0;
    let d0 = c + h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6;
    c = d0 >>> 13;
    d0 &= 0x1fff;
    d0 += h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
    c += d0 >>> 13;
    d0 &= 0x1fff;

    let d1 = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7;
    c = d1 >>> 13;
    d1 &= 0x1fff;
    d1 += h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
    c += d1 >>> 13;
    d1 &= 0x1fff;

    let d2 = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8;
    c = d2 >>> 13;
    d2 &= 0x1fff;
    d2 += h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
    c += d2 >>> 13;
    d2 &= 0x1fff;

    let d3 = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9;
    c = d3 >>> 13;
    d3 &= 0x1fff;
    d3 += h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
    c += d3 >>> 13;
    d3 &= 0x1fff;

    let d4 = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
    c = d4 >>> 13;
    d4 &= 0x1fff;
    d4 += h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
    c += d4 >>> 13;
    d4 &= 0x1fff;

    let d5 = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1;
    c = d5 >>> 13;
    d5 &= 0x1fff;
    d5 += h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
    c += d5 >>> 13;
    d5 &= 0x1fff;

    let d6 = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2;
    c = d6 >>> 13;
    d6 &= 0x1fff;
    d6 += h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
    c += d6 >>> 13;
    d6 &= 0x1fff;

    let d7 = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3;
    c = d7 >>> 13;
    d7 &= 0x1fff;
    d7 += h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
    c += d7 >>> 13;
    d7 &= 0x1fff;

    let d8 = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4;
    c = d8 >>> 13;
    d8 &= 0x1fff;
    d8 += h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
    c += d8 >>> 13;
    d8 &= 0x1fff;

    let d9 = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5;
    c = d9 >>> 13;
    d9 &= 0x1fff;
    d9 += h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
    c += d9 >>> 13;
    d9 &= 0x1fff;

    c = ((c << 2) + c) | 0;
    c = (c + d0) | 0;
    d0 = c & 0x1fff;
    c = c >>> 13;
    d1 += c;

    h0 = d0;
    h1 = d1;
    h2 = d2;
    h3 = d3;
    h4 = d4;
    h5 = d5;
    h6 = d6;
    h7 = d7;
    h8 = d8;
    h9 = d9;
  }
  // full carry, then h mod 2^130 - 5
  const h = [h0, h1, h2, h3, h4, h5, h6, h7, h8, h9];
  let c = h[1] >>> 13;
  h[1] &= 0x1fff;
  for (let i = 2; i < 10; i++) {
    h[i] += c;
    c = h[i] >>> 13;
    h[i] &= 0x1fff;
  }
  h[0] += c * 5;
  c = h[0] >>> 13;
  h[0] &= 0x1fff;
  h[1] += c;
  c = h[1] >>> 13;
  h[1] &= 0x1fff;
  h[2] += c;
  const g = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  g[0] = h[0] + 5;
  c = g[0] >>> 13;
  g[0] &= 0x1fff;
  for (let i = 1; i < 10; i++) {
    g[i] = h[i] + c;
    c = g[i] >>> 13;
    g[i] &= 0x1fff;
  }
  // c = 1 when h + 5 >= 2^130, i.e. h >= p: take g = h - p
  let mask = (c ^ 1) - 1;
  for (let i = 0; i < 10; i++) g[i] &= mask;
  mask = ~mask;
  for (let i = 0; i < 10; i++) h[i] = (h[i] & mask) | g[i];
  const w0 = (h[0] | (h[1] << 13)) & 0xffff;
  const w1 = ((h[1] >>> 3) | (h[2] << 10)) & 0xffff;
  const w2 = ((h[2] >>> 6) | (h[3] << 7)) & 0xffff;
  const w3 = ((h[3] >>> 9) | (h[4] << 4)) & 0xffff;
  const w4 = ((h[4] >>> 12) | (h[5] << 1) | (h[6] << 14)) & 0xffff;
  const w5 = ((h[6] >>> 2) | (h[7] << 11)) & 0xffff;
  const w6 = ((h[7] >>> 5) | (h[8] << 8)) & 0xffff;
  const w7 = ((h[8] >>> 8) | (h[9] << 5)) & 0xffff;
  const ws = [w0, w1, w2, w3, w4, w5, w6, w7];
  let f = 0;
  for (let i = 0; i < 8; i++) {
    const pad = key[16 + 2 * i] | (key[17 + 2 * i] << 8);
    f = (((ws[i] + pad) | 0) + (f >>> 16)) | 0;
    out[outOff + 2 * i] = f & 0xff;
    out[outOff + 2 * i + 1] = (f >>> 8) & 0xff;
  }
}

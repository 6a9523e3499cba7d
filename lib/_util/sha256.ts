/**
 * SHA-256 (FIPS 180-4) of bytes, synchronously and without a native call: for the short inputs of
 * a hot path (a message identity per forwarded message), where `node:crypto`'s hash object and
 * its two or three ops cost several times the hashing itself. Same digest as any SHA-256.
 *
 * @module
 */

/** Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
// deno-fmt-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The message schedule of the block being compressed (reused: no allocation per hash). */
const W = new Int32Array(64);
/** The chaining state (reused). */
const H = new Int32Array(8);
/** The last one or two blocks, with the padding and the length (reused). */
const TAIL = new Uint8Array(128);

/** Compresses the 64-byte blocks of `b` from `off` to `end` (a multiple of 64 after `off`) into H. */
function blocks(bytes: Uint8Array, off: number, end: number): void {
  const w = W, k = K, st = H;
  let h0 = st[0],
    h1 = st[1],
    h2 = st[2],
    h3 = st[3],
    h4 = st[4],
    h5 = st[5],
    h6 = st[6],
    h7 = st[7];
  for (; off < end; off += 64) {
    for (let i = 0, j = off; i < 16; i++, j += 4) {
      w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15], y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7, t = 0;
    // eight rounds per pass: the variables' roles rotate back to where they started
    for (let i = 0; i < 64; i += 8) {
      t = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        (g ^ (e & (f ^ g))) + k[i] + w[i]) | 0;
      d = (d + t) | 0;
      h = (t + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) | (c & (a | b)))) | 0;
      t = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        (f ^ (d & (e ^ f))) + k[i + 1] + w[i + 1]) | 0;
      c = (c + t) | 0;
      g = (t + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
        ((h & a) | (b & (h | a)))) | 0;
      t = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        (e ^ (c & (d ^ e))) + k[i + 2] + w[i + 2]) | 0;
      b = (b + t) | 0;
      f = (t + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
        ((g & h) | (a & (g | h)))) | 0;
      t = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        (d ^ (b & (c ^ d))) + k[i + 3] + w[i + 3]) | 0;
      a = (a + t) | 0;
      e = (t + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
        ((f & g) | (h & (f | g)))) | 0;
      t = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        (c ^ (a & (b ^ c))) + k[i + 4] + w[i + 4]) | 0;
      h = (h + t) | 0;
      d = (t + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
        ((e & f) | (g & (e | f)))) | 0;
      t = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        (b ^ (h & (a ^ b))) + k[i + 5] + w[i + 5]) | 0;
      g = (g + t) | 0;
      c = (t + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
        ((d & e) | (f & (d | e)))) | 0;
      t = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        (a ^ (g & (h ^ a))) + k[i + 6] + w[i + 6]) | 0;
      f = (f + t) | 0;
      b = (t + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
        ((c & d) | (e & (c | d)))) | 0;
      t = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        (h ^ (f & (g ^ h))) + k[i + 7] + w[i + 7]) | 0;
      e = (e + t) | 0;
      a = (t + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
        ((b & c) | (d & (b | c)))) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  st[0] = h0;
  st[1] = h1;
  st[2] = h2;
  st[3] = h3;
  st[4] = h4;
  st[5] = h5;
  st[6] = h6;
  st[7] = h7;
}

/**
 * The SHA-256 digest of `data`, followed by `suffix` if given (as if the two were one array).
 *
 * @param data the bytes to hash
 * @param suffix more bytes hashed after `data` (short: at most 55 bytes) @default none
 * @param out where the 32-byte digest goes @default a new array
 * @returns `out`
 * @throws RangeError when `suffix` is longer than 55 bytes
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sha256 } from "./sha256.ts";
 * const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
 * assertEquals(
 *   hex(sha256(new TextEncoder().encode("abc"))),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export function sha256(
  data: Uint8Array,
  suffix?: Uint8Array,
  out: Uint8Array = new Uint8Array(32),
): Uint8Array {
  const extra = suffix?.length ?? 0;
  if (extra > 55) throw new RangeError(`sha256: suffix of ${extra} bytes (at most 55)`);
  H[0] = 0x6a09e667;
  H[1] = 0xbb67ae85 | 0;
  H[2] = 0x3c6ef372;
  H[3] = 0xa54ff53a | 0;
  H[4] = 0x510e527f;
  H[5] = 0x9b05688c | 0;
  H[6] = 0x1f83d9ab;
  H[7] = 0x5be0cd19;
  const n = data.length;
  const whole = n - (n & 63);
  blocks(data, 0, whole);
  // the rest of data, the suffix, 0x80, zeros and the bit length: one or two blocks
  const tail = TAIL;
  const rest = n - whole;
  for (let i = 0; i < rest; i++) tail[i] = data[whole + i];
  let used = rest;
  for (let i = 0; i < extra; i++) tail[used++] = suffix![i];
  tail[used] = 0x80;
  const len = used + 9 <= 64 ? 64 : 128;
  tail.fill(0, used + 1, len);
  const bits = (n + extra) * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  tail[len - 8] = hi >>> 24;
  tail[len - 7] = hi >>> 16;
  tail[len - 6] = hi >>> 8;
  tail[len - 5] = hi;
  tail[len - 4] = lo >>> 24;
  tail[len - 3] = lo >>> 16;
  tail[len - 2] = lo >>> 8;
  tail[len - 1] = lo;
  blocks(tail, 0, len);
  for (let i = 0; i < 8; i++) {
    const v = H[i];
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
  return out;
}

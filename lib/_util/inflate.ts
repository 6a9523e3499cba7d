/**
 * Raw DEFLATE decoding (RFC 1951: stored, fixed and dynamic Huffman blocks), synchronous, for the
 * `deflate` codec of Avro container files. It replaces `node:zlib`'s `inflateRawSync`: importing
 * any `node:` module starts Deno's Node compatibility layer, and `node:zlib` with it cost about
 * 9 MiB of resident memory in every process that loaded lib/hop (every igwn-alert publisher and
 * listener), used only for the rare Avro message. Speed is secondary (one code bit at a time, as
 * zlib's `puff.c`). Pure functions, no I/O.
 *
 * @module
 */

/** Thrown for data that is not a valid raw DEFLATE stream. */
export class InflateError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "InflateError";
  }
}

/** A canonical Huffman code: how many codes of each length, and the symbols in code order. */
interface Code {
  counts: Uint16Array;
  symbols: Uint16Array;
}

const LENGTH_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LENGTH_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
/** The order in which a dynamic block lists the code length code's lengths. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Builds the code of `lengths`; an over-subscribed set of lengths is an error. */
function code(lengths: ArrayLike<number>): Code {
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]]++;
  counts[0] = 0;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - counts[len];
    if (left < 0) throw new InflateError("over-subscribed Huffman code");
  }
  const offsets = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len] + counts[len];
  const symbols = new Uint16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] !== 0) symbols[offsets[lengths[i]]++] = i;
  }
  return { counts, symbols };
}

/** The fixed codes of block type 1, built on first use. */
let fixed: { lit: Code; dist: Code } | undefined;

function fixedCodes(): { lit: Code; dist: Code } {
  if (fixed) return fixed;
  const lit = new Uint8Array(288);
  lit.fill(8, 0, 144);
  lit.fill(9, 144, 256);
  lit.fill(7, 256, 280);
  lit.fill(8, 280, 288);
  fixed = { lit: code(lit), dist: code(new Uint8Array(30).fill(5)) };
  return fixed;
}

/** Reads bits (least significant first) and writes the output. */
class Inflater {
  readonly #in: Uint8Array;
  #at = 0;
  #bits = 0;
  #count = 0;
  out: Uint8Array;
  size = 0;

  constructor(data: Uint8Array) {
    this.#in = data;
    this.out = new Uint8Array(Math.max(1024, data.length * 4));
  }

  bits(n: number): number {
    while (this.#count < n) {
      if (this.#at >= this.#in.length) throw new InflateError("unexpected end of data");
      this.#bits |= this.#in[this.#at++] << this.#count;
      this.#count += 8;
    }
    const v = this.#bits & ((1 << n) - 1);
    this.#bits >>>= n;
    this.#count -= n;
    return v;
  }

  /** Room for `n` more output bytes. */
  room(n: number): void {
    if (this.size + n <= this.out.length) return;
    const next = new Uint8Array(Math.max(this.out.length * 2, this.size + n));
    next.set(this.out.subarray(0, this.size));
    this.out = next;
  }

  stored(): void {
    // the rest of the current byte is skipped
    this.#bits = 0;
    this.#count = 0;
    if (this.#at + 4 > this.#in.length) throw new InflateError("unexpected end of data");
    const d = this.#in;
    const len = d[this.#at] | (d[this.#at + 1] << 8);
    const nlen = d[this.#at + 2] | (d[this.#at + 3] << 8);
    this.#at += 4;
    if (len !== (~nlen & 0xffff)) throw new InflateError("stored block length check failed");
    if (this.#at + len > d.length) throw new InflateError("unexpected end of data");
    this.room(len);
    this.out.set(d.subarray(this.#at, this.#at + len), this.size);
    this.size += len;
    this.#at += len;
  }

  decode(c: Code): number {
    let value = 0, first = 0, index = 0;
    for (let len = 1; len < 16; len++) {
      value |= this.bits(1);
      const count = c.counts[len];
      if (value - first < count) return c.symbols[index + value - first];
      index += count;
      first = (first + count) << 1;
      value <<= 1;
    }
    throw new InflateError("invalid Huffman code");
  }

  codes(lit: Code, dist: Code): void {
    while (true) {
      const sym = this.decode(lit);
      if (sym < 256) {
        this.room(1);
        this.out[this.size++] = sym;
        continue;
      }
      if (sym === 256) return;
      const li = sym - 257;
      if (li >= 29) throw new InflateError("invalid length code");
      const length = LENGTH_BASE[li] + this.bits(LENGTH_EXTRA[li]);
      const di = this.decode(dist);
      if (di >= 30) throw new InflateError("invalid distance code");
      const distance = DIST_BASE[di] + this.bits(DIST_EXTRA[di]);
      if (distance > this.size) throw new InflateError("distance too far back");
      this.room(length);
      const out = this.out;
      // byte by byte: a copy may overlap what it writes (a run)
      for (let i = 0, from = this.size - distance; i < length; i++) {
        out[this.size++] = out[from + i];
      }
    }
  }

  dynamic(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw new InflateError("too many length or distance codes");
    const clen = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) clen[CLEN_ORDER[i]] = this.bits(3);
    const lencode = code(clen);
    const lengths = new Uint8Array(nlen + ndist);
    for (let i = 0; i < nlen + ndist;) {
      const sym = this.decode(lencode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let repeat: number, value = 0;
      if (sym === 16) {
        if (i === 0) throw new InflateError("repeat with no first length");
        value = lengths[i - 1];
        repeat = 3 + this.bits(2);
      } else if (sym === 17) repeat = 3 + this.bits(3);
      else repeat = 11 + this.bits(7);
      if (i + repeat > nlen + ndist) throw new InflateError("too many lengths");
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw new InflateError("no end-of-block code");
    this.codes(code(lengths.subarray(0, nlen)), code(lengths.subarray(nlen)));
  }
}

/**
 * Decompresses a raw DEFLATE stream (no zlib or gzip header), as zlib's `inflateRaw`.
 *
 * @param data the compressed bytes (what follows the last block is ignored)
 * @returns the decompressed bytes
 * @throws InflateError when the data is not a valid stream or ends early
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { inflateRaw } from "./inflate.ts";
 * // "hi" in a stored block
 * const stored = new Uint8Array([0x01, 0x02, 0x00, 0xfd, 0xff, 0x68, 0x69]);
 * assertEquals(new TextDecoder().decode(inflateRaw(stored)), "hi");
 * ```
 */
export function inflateRaw(data: Uint8Array): Uint8Array {
  const f = new Inflater(data);
  let last = 0;
  while (last === 0) {
    last = f.bits(1);
    const type = f.bits(2);
    if (type === 0) f.stored();
    else if (type === 1) {
      const c = fixedCodes();
      f.codes(c.lit, c.dist);
    } else if (type === 2) f.dynamic();
    else throw new InflateError("invalid block type");
  }
  return f.out.slice(0, f.size);
}

/**
 * Kafka protocol primitive types for the small requests and responses of the producer's wire
 * path (ApiVersions, SASL, Metadata, InitProducerId, Produce responses): big-endian integers,
 * unsigned varints, strings and arrays in their classic (int16/int32 length) and compact
 * (varint length + 1, "flexible" versions) forms, and tagged fields (skipped when read).
 * Produce request bodies are written by `../produce_request.ts` in one pass instead.
 *
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Builds a request body in a growing buffer.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaWriter } from "./codec.ts";
 * const w = new KafkaWriter().int16(3).string("ab", false).compactString("c");
 * assertEquals([...w.bytes()], [0, 3, 0, 2, 97, 98, 2, 99]);
 * ```
 */
export class KafkaWriter {
  // fields are written after #room() returns: it may replace the buffer
  #buf = new Uint8Array(64);
  #view = new DataView(this.#buf.buffer);
  #at = 0;

  #room(n: number): number {
    const at = this.#at;
    if (at + n > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, at + n));
      next.set(this.#buf.subarray(0, at));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#at = at + n;
    return at;
  }

  /** Appends an int8 (or a boolean as 0/1). */
  int8(v: number | boolean): this {
    const at = this.#room(1);
    this.#view.setInt8(at, Number(v));
    return this;
  }

  /** Appends an int16. */
  int16(v: number): this {
    const at = this.#room(2);
    this.#view.setInt16(at, v);
    return this;
  }

  /** Appends an int32. */
  int32(v: number): this {
    const at = this.#room(4);
    this.#view.setInt32(at, v);
    return this;
  }

  /** Appends an int64. */
  int64(v: bigint): this {
    const at = this.#room(8);
    this.#view.setBigInt64(at, v);
    return this;
  }

  /** Appends an unsigned varint. */
  uvarint(v: number): this {
    while (v >= 0x80) {
      const at = this.#room(1);
      this.#buf[at] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    const at = this.#room(1);
    this.#buf[at] = v;
    return this;
  }

  /** Appends raw bytes. */
  raw(b: Uint8Array): this {
    const at = this.#room(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** Appends a string with an int16 length (null: length -1 when `nullable`). */
  string(s: string | null, nullable: boolean): this {
    if (s === null) {
      if (!nullable) throw new TypeError("null in a non-nullable string");
      return this.int16(-1);
    }
    const b = enc.encode(s);
    return this.int16(b.length).raw(b);
  }

  /** Appends a compact string (varint length + 1; null: 0). */
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const b = enc.encode(s);
    return this.uvarint(b.length + 1).raw(b);
  }

  /** Appends bytes with an int32 length. */
  bytesField(b: Uint8Array): this {
    return this.int32(b.length).raw(b);
  }

  /** Appends compact bytes (varint length + 1). */
  compactBytes(b: Uint8Array): this {
    return this.uvarint(b.length + 1).raw(b);
  }

  /** Appends an array length: int32, or compact (varint + 1); null is -1 / 0. */
  arrayLength(n: number | null, compact: boolean): this {
    if (compact) return this.uvarint(n === null ? 0 : n + 1);
    return this.int32(n === null ? -1 : n);
  }

  /** Appends an empty tagged-field section (flexible versions). */
  noTags(): this {
    return this.uvarint(0);
  }

  /** The bytes written so far (a view, valid until the next append). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }
}

/**
 * A Kafka protocol decoding error: the response ended early or held an impossible length.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { KafkaReader, ResponseFormatError } from "./codec.ts";
 * assertThrows(() => new KafkaReader(new Uint8Array(1)).int32(), ResponseFormatError);
 * ```
 */
export class ResponseFormatError extends Error {
  /**
   * Creates the error.
   *
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "ResponseFormatError";
  }
}

/**
 * Reads a response body.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KafkaReader } from "./codec.ts";
 * const r = new KafkaReader(new Uint8Array([0, 3, 0, 2, 97, 98, 2, 99, 0]));
 * assertEquals([r.int16(), r.string(), r.compactString(), r.uvarint()], [3, "ab", "c", 0]);
 * ```
 */
export class KafkaReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #at = 0;

  /**
   * Reads `buf` from its start.
   *
   * @param buf the response body
   */
  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  #take(n: number): number {
    const at = this.#at;
    if (n < 0 || at + n > this.#buf.length) {
      throw new ResponseFormatError(
        `Kafka response ends early: ${n} bytes wanted at ${at} of ${this.#buf.length}`,
      );
    }
    this.#at = at + n;
    return at;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#buf.length - this.#at;
  }

  /** Reads an int8. */
  int8(): number {
    return this.#view.getInt8(this.#take(1));
  }

  /** Reads a boolean. */
  bool(): boolean {
    return this.int8() !== 0;
  }

  /** Reads an int16. */
  int16(): number {
    return this.#view.getInt16(this.#take(2));
  }

  /** Reads an int32. */
  int32(): number {
    return this.#view.getInt32(this.#take(4));
  }

  /** Reads an int64. */
  int64(): bigint {
    return this.#view.getBigInt64(this.#take(8));
  }

  /** Reads an unsigned varint (at most 5 bytes). */
  uvarint(): number {
    let v = 0, mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.#buf[this.#take(1)];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new ResponseFormatError("Kafka response holds a varint longer than 5 bytes");
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    this.#take(n);
  }

  /** Reads `n` raw bytes (a view). */
  raw(n: number): Uint8Array {
    const at = this.#take(n);
    return this.#buf.subarray(at, at + n);
  }

  /** Reads a string with an int16 length (null for -1). */
  string(): string | null {
    const n = this.int16();
    return n < 0 ? null : dec.decode(this.raw(n));
  }

  /** Reads a compact string (null for 0). */
  compactString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : dec.decode(this.raw(n));
  }

  /** Reads a string in the classic or the compact form. */
  str(compact: boolean): string | null {
    return compact ? this.compactString() : this.string();
  }

  /** Reads bytes with an int32 length (empty for null). */
  bytesField(): Uint8Array {
    const n = this.int32();
    return n < 0 ? new Uint8Array(0) : this.raw(n);
  }

  /** Reads compact bytes (empty for null). */
  compactBytes(): Uint8Array {
    const n = this.uvarint() - 1;
    return n < 0 ? new Uint8Array(0) : this.raw(n);
  }

  /** Reads an array length (int32, or compact); null arrays read as 0. */
  arrayLength(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n > this.remaining) {
      throw new ResponseFormatError(`Kafka response holds an array of ${n} in ${this.remaining} B`);
    }
    return Math.max(0, n);
  }

  /** Reads `n` items with `read`. */
  array<T>(compact: boolean, read: (r: KafkaReader) => T): T[] {
    const n = this.arrayLength(compact);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }

  /** Skips a tagged-field section. */
  skipTags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}

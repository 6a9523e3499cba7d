/**
 * ZMTP 3.x framing (RFC 37), free of I/O: a frame decoder over one growing read buffer and an
 * output buffer that frames are appended to and written out in large batches.
 *
 * Frame layout: one flags byte (bit 0 MORE, bit 1 LONG, bit 2 COMMAND), then the body size as one
 * byte (short) or eight bytes big-endian (long), then the body.
 *
 * @module
 */
import { ZmqLimitError, ZmqProtocolError } from "./errors.ts";
import { BLOCK_SIZE, blockBytes, BodyBlock, type BodyReturns, giveBack } from "./body_blocks.ts";

const ARENA_SIZE = 65536;
const ARENA_MAX_BODY = 2048;
/** A read buffer this large (a busy connection's) hands out its small bodies as views. */
const VIEWS_MIN = 65536;
/**
 * Buffers a decoder leaves to bodies handed out as views before one of them comes back: then its
 * reader is taken for one that does not give bodies back, and they are copies again (a buffer left
 * to its bodies per read would cost more than the arena).
 */
const VIEWS_TRIAL = 4;

/**
 * Small bodies are copied into one arena shared by every decoder of the process (one allocation
 * per 64 KiB of small frames, and none per idle connection); a new arena replaces a full one, and
 * an old one lives as long as a body still points into it.
 */
let arena = new Uint8Array(0);
let arenaPos = 0;

/**
 * Large bodies (from `directMin` bytes on) get arrays of their own. An array handed back with
 * {@linkcode recycleBody} once its reader is done with it backs the next large body of about its
 * size: fresh 64 KiB arrays cost more than the read into them (the kernel maps and zeroes new
 * pages: memory of dropped arrays returns only at a garbage collection, ~60 MiB later), while a
 * recycled one is warm. Process-wide, like the arena; bounded in count and bytes.
 */
const POOL_MAX = 8;
const POOL_MAX_BYTES = 1 << 20;
const bodyPool: ArrayBuffer[] = [];
let bodyPoolBytes = 0;

/** An array of `size` bytes for a large body (contents undefined: the caller fills all of it). */
function largeBody(size: number): Uint8Array {
  for (let i = bodyPool.length - 1; i >= 0; i--) {
    const b = bodyPool[i];
    if (b.byteLength >= size && b.byteLength <= 2 * size) {
      bodyPool[i] = bodyPool[bodyPool.length - 1];
      bodyPool.pop();
      bodyPoolBytes -= b.byteLength;
      return new Uint8Array(b, 0, size);
    }
  }
  return new Uint8Array(size);
}

/**
 * Hands a received frame body back for reuse by the next large frame (see
 * {@linkcode FrameDecoder}): call it once nothing reads or keeps `body` any more (e.g. after
 * decoding it into a string), at most once per body. Bodies that cannot back a large body (small
 * ones, views into other arrays) are ignored.
 *
 * @param body a frame body from {@linkcode FrameDecoder.body}
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeFrame, FrameDecoder, recycleBody } from "./frame.ts";
 * const d = new FrameDecoder({ directMin: 1024 });
 * d.push(encodeFrame(new Uint8Array(4096).fill(1), 0));
 * assert(d.next() && d.body.length === 4096);
 * const first = d.body;
 * recycleBody(first); // done with it
 * d.push(encodeFrame(new Uint8Array(4096).fill(2), 0));
 * assert(d.next() && d.body.buffer === first.buffer && d.body[0] === 2); // same memory, new bytes
 * ```
 */
export function recycleBody(body: Uint8Array): void {
  if (body.length <= ARENA_MAX_BODY) return giveBack(body);
  const b = body.buffer;
  const n = b.byteLength;
  // a whole buffer of its own (not the arena, not a view into a read buffer), not already here
  if (
    body.byteOffset !== 0 || body.length < 1024 || n > 2 * body.length ||
    bodyPool.length >= POOL_MAX || bodyPoolBytes + n > POOL_MAX_BYTES ||
    !(b instanceof ArrayBuffer) || bodyPool.includes(b)
  ) return;
  bodyPool.push(b);
  bodyPoolBytes += n;
}

/** Flag bit: more frames of the same message follow. */
export const FLAG_MORE = 0x01;
/** Flag bit: the size is 8 bytes (long frame). */
export const FLAG_LONG = 0x02;
/** Flag bit: the frame is a command. */
export const FLAG_COMMAND = 0x04;

const encoder = new TextEncoder();

/**
 * Converts a frame given as text or bytes to bytes (text as UTF-8).
 *
 * @param frame bytes or text
 * @returns the bytes
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { toBytes } from "./frame.ts";
 * assert(toBytes("ab").length === 2);
 * ```
 */
export function toBytes(frame: Uint8Array | string): Uint8Array {
  return typeof frame === "string" ? encoder.encode(frame) : frame;
}

/**
 * Incremental ZMTP frame decoder over one growing buffer. Read bytes straight into
 * {@linkcode FrameDecoder.writable} and {@linkcode FrameDecoder.commit} them (or
 * {@linkcode FrameDecoder.push} a chunk), then call {@linkcode FrameDecoder.next} until it returns
 * false; after each true, {@linkcode FrameDecoder.flags} and {@linkcode FrameDecoder.body} describe
 * the frame.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FrameDecoder, encodeFrame } from "./frame.ts";
 * const d = new FrameDecoder();
 * d.push(encodeFrame(new Uint8Array([1, 2, 3]), 0));
 * assert(d.next() && d.body.length === 3);
 * ```
 */
export class FrameDecoder {
  #buf: Uint8Array;
  /** A view of all of #buf, what writable() gives when the buffer is empty (one per buffer). */
  #whole: Uint8Array | undefined;
  #start = 0;
  #end = 0;
  #need = 0;
  /** The bodies handed out as views of #buf (a busy connection's: see VIEWS_MIN). */
  #block: BodyBlock | undefined;
  readonly #returns: BodyReturns = { any: false };
  /** Buffers left to bodies while none came back, counted down from VIEWS_TRIAL. */
  #trial = VIEWS_TRIAL;
  /** Frames announcing more bytes than this are a {@linkcode ZmqLimitError} (settable). */
  maxFrameSize: number;
  readonly #directMin: number;
  #big: Uint8Array | null = null;
  #bigFilled = 0;
  #bigFlags = 0;
  /** Flags byte of the last decoded frame. */
  flags = 0;
  /**
   * Body of the last decoded frame: bytes no later read overwrites, owned by the caller (bodies
   * up to 2 KiB are views into a 64 KiB arena shared by all decoders, or, once the read buffer
   * is 64 KiB or more, views into it, which is then not written where a body is out until it was
   * given back with {@linkcode recycleBody}; a large body may be a view of a somewhat larger
   * recycled buffer: mind `byteOffset` and `byteLength` when using `.buffer`), or, when `copy`
   * is false, a view into the read buffer valid until the next read.
   */
  body: Uint8Array = new Uint8Array(0);
  /** When false, `body` is a view into the read buffer, valid until the next read. */
  copy = true;
  /** When true, command frames' bodies are always such views (for callers that consume them at once). */
  commandViews = false;

  /**
   * @param options `initialSize` of the buffer (default 64 KiB), `maxFrameSize` above which a
   *   frame is a {@linkcode ZmqLimitError} (default 256 MiB), `directMin`: bodies this large that are not
   *   yet complete get their own array which {@linkcode FrameDecoder.writable} then reads into
   *   directly, saving a copy (default: never)
   */
  constructor(
    options: { initialSize?: number; maxFrameSize?: number; directMin?: number } = {},
  ) {
    this.#buf = new Uint8Array(options.initialSize ?? 65536);
    this.maxFrameSize = options.maxFrameSize ?? 256 * 1024 * 1024;
    this.#directMin = options.directMin ?? Infinity;
  }

  /** Number of bytes buffered and not yet decoded. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Capacity of the read buffer in bytes. */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * Gives a read buffer grown beyond `max` bytes back when nothing is buffered (after a burst of
   * traffic, so an idle connection does not keep a burst-sized buffer).
   *
   * @param max capacity to keep
   */
  shrink(max: number): void {
    if (this.#buf.length > max && this.#start === this.#end && !this.#big && this.#need === 0) {
      this.#block?.retire();
      this.#block = undefined;
      this.#buf = new Uint8Array(max);
      this.#start = this.#end = 0;
    }
  }

  /**
   * A view of free buffer space to read into, at least `min` bytes (and enough for the frame that
   * is waiting for its body).
   *
   * @param min minimum free bytes wanted
   * @returns writable view; pass the number of bytes written to {@linkcode FrameDecoder.commit}
   */
  writable(min = 16384): Uint8Array {
    if (this.#big && this.#bigFilled < this.#big.length) return this.#big.subarray(this.#bigFilled);
    const pinned = !this.#rewindable();
    if (this.#start === this.#end && !pinned) this.#start = this.#end = 0;
    const used = this.#end - this.#start;
    // with bodies out, reads go after them while there is room, then into a new buffer
    const want = Math.max(min, this.#need - used);
    if (this.#buf.length - this.#end < want) {
      if (!pinned && this.#buf.length - used >= want && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let size = pinned ? BLOCK_SIZE : Math.max(64, this.#buf.length * 2);
        while (size - used < want) size *= 2;
        const nb = size === BLOCK_SIZE ? blockBytes() : new Uint8Array(size);
        nb.set(this.#buf.subarray(this.#start, this.#end));
        // the old buffer is reused once its bodies are all back
        if (pinned && !this.#returns.any) this.#trial--;
        this.#block?.retire();
        this.#block = undefined;
        this.#buf = nb;
      }
      this.#start = 0;
      this.#end = used;
    }
    if (this.#end !== 0) return this.#buf.subarray(this.#end);
    // an empty buffer (every message of the last read taken): one view of all of it, kept
    if (this.#whole?.buffer !== this.#buf.buffer || this.#whole.length !== this.#buf.length) {
      this.#whole = this.#buf.subarray(0);
    }
    return this.#whole;
  }

  /** Whether no body is out as a view of #buf, which may then be written anywhere again. */
  #rewindable(): boolean {
    const b = this.#block;
    if (b === undefined) return true;
    if (b.live > 0) return false;
    b.clear();
    return true;
  }

  /** Marks `n` bytes written into the last {@linkcode FrameDecoder.writable} view. */
  commit(n: number): void {
    if (this.#big && this.#bigFilled < this.#big.length) this.#bigFilled += n;
    else this.#end += n;
  }

  /** Appends a chunk of received bytes. */
  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const w = this.writable(chunk.length - off);
      const n = Math.min(w.length, chunk.length - off);
      w.set(chunk.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
  }

  /**
   * Takes exactly `n` raw bytes (greeting), or returns null when fewer are buffered.
   *
   * @param n byte count
   * @returns a copy of the bytes, or null
   */
  take(n: number): Uint8Array | null {
    if (this.#end - this.#start < n) {
      this.#need = n;
      return null;
    }
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    this.#need = 0;
    return out;
  }

  /**
   * Decodes the next complete frame.
   *
   * @returns true when a frame was decoded into `flags`/`body`, false when more bytes are needed
   * @throws {ZmqProtocolError} on reserved flag bits or an oversized frame
   */
  next(): boolean {
    if (this.#big) {
      if (this.#bigFilled < this.#big.length) return false;
      this.flags = this.#bigFlags;
      this.body = this.#big;
      this.#big = null;
      return true;
    }
    const avail = this.#end - this.#start;
    if (avail < 2) return false;
    const b = this.#buf;
    const s = this.#start;
    const flags = b[s];
    if (flags & 0xf8) {
      throw new ZmqProtocolError(`invalid frame flags 0x${flags.toString(16)}`);
    }
    let size: number;
    let hdr: number;
    if (flags & FLAG_LONG) {
      if (avail < 9) return false;
      const hi = (b[s + 1] << 24 | b[s + 2] << 16 | b[s + 3] << 8 | b[s + 4]) >>> 0;
      const lo = (b[s + 5] << 24 | b[s + 6] << 16 | b[s + 7] << 8 | b[s + 8]) >>> 0;
      size = hi * 0x100000000 + lo;
      hdr = 9;
    } else {
      size = b[s + 1];
      hdr = 2;
    }
    if (size > this.maxFrameSize) {
      throw new ZmqLimitError(
        "maxMessageSize",
        `frame of ${size} bytes exceeds the limit of ${this.maxFrameSize}`,
      );
    }
    if (avail < hdr + size) {
      if (size >= this.#directMin) {
        const have = avail - hdr;
        const body = largeBody(size);
        body.set(b.subarray(s + hdr, s + hdr + have));
        this.#start = this.#end = this.#rewindable() ? 0 : s;
        this.#big = body;
        this.#bigFilled = have;
        this.#bigFlags = flags;
        this.#need = 0;
        return false;
      }
      this.#need = hdr + size;
      return false;
    }
    this.#need = 0;
    this.flags = flags;
    if (!this.copy || (this.commandViews && flags & FLAG_COMMAND)) {
      this.body = b.subarray(s + hdr, s + hdr + size);
    } else if (
      size <= ARENA_MAX_BODY && size > 0 && b.length >= VIEWS_MIN &&
      (this.#trial > 0 || this.#returns.any)
    ) {
      // a busy connection's buffer: a view, and the buffer is not written there until it is back
      const body = b.subarray(s + hdr, s + hdr + size);
      (this.#block ??= new BodyBlock(b, this.#returns)).add(body);
      this.body = body;
    } else if (size <= ARENA_MAX_BODY) {
      // small bodies are copied into the shared arena (one allocation per 64 KiB, not per frame)
      if (arena.length - arenaPos < size) {
        arena = new Uint8Array(ARENA_SIZE);
        arenaPos = 0;
      }
      const a = arena;
      const p = arenaPos;
      const from = s + hdr;
      if (size < 64) { for (let i = 0; i < size; i++) a[p + i] = b[from + i]; }
      else a.set(b.subarray(from, from + size), p);
      this.body = a.subarray(p, p + size);
      arenaPos = p + size;
    } else if (size >= this.#directMin) {
      const body = largeBody(size);
      body.set(b.subarray(s + hdr, s + hdr + size));
      this.body = body;
    } else this.body = b.slice(s + hdr, s + hdr + size);
    this.#start = s + hdr + size;
    return true;
  }
}

/**
 * A growing output buffer that ZMTP frames are appended to. Small frames are copied in, so many
 * of them leave in one write; bodies of at least `zeroCopyMin` bytes are not copied but queued by
 * reference between the buffered parts. The owner writes {@linkcode OutBuffer.chunks} in order
 * and then {@linkcode OutBuffer.reset}s the buffer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { OutBuffer } from "./frame.ts";
 * const o = new OutBuffer();
 * o.frame(new Uint8Array(300), 0);
 * assert(o.length === 309 && o.size === 309);
 * ```
 */
export class OutBuffer {
  /** Underlying storage (valid up to `length`). */
  bytes: Uint8Array;
  /** Number of bytes in use in `bytes`. */
  length = 0;
  readonly #zeroCopyMin: number;
  readonly #initial: number;
  readonly #blockSize: number;
  #cut = 0;
  #chunks: Uint8Array[] = [];
  #chunkBytes = 0;
  /** Blocks filled since the last reset, and written blocks kept for reuse. */
  #full: Uint8Array[] = [];
  readonly #free: Uint8Array[];

  /**
   * @param initialSize initial capacity in bytes (default 64 KiB)
   * @param zeroCopyMin bodies this large are queued by reference (default: never)
   * @param blockSize the storage doubles up to this size; beyond it a full block is queued as it
   *   is and a new one started, so a long queue is never copied to grow (default: no limit)
   * @param pool written blocks for reuse, shared by the buffers of one connection (a burst then
   *   recycles its blocks instead of leaving each written one to the garbage collector, whose
   *   external-memory trigger lets tens of MiB of them pile up); the owner trims it once idle
   */
  constructor(
    initialSize = 65536,
    zeroCopyMin = Infinity,
    blockSize = Infinity,
    pool: Uint8Array[] = [],
  ) {
    this.bytes = new Uint8Array(initialSize);
    this.#initial = initialSize;
    this.#zeroCopyMin = zeroCopyMin;
    this.#blockSize = blockSize;
    this.#free = pool;
  }

  /** Total bytes queued (buffered and by reference). */
  get size(): number {
    return this.length - this.#cut + this.#chunkBytes;
  }

  #reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    if (this.length + n > this.#blockSize) {
      // a full block: queue what it holds and start a new one (nothing is copied)
      if (this.length > this.#cut) {
        this.#chunks.push(this.bytes.subarray(this.#cut, this.length));
        this.#chunkBytes += this.length - this.#cut;
      }
      if (this.bytes.length === this.#blockSize) this.#full.push(this.bytes);
      const spare = n <= this.#blockSize ? this.#free.pop() : undefined;
      this.bytes = spare ?? new Uint8Array(Math.max(this.#blockSize, n));
      this.length = this.#cut = 0;
      return;
    }
    let size = Math.max(64, this.bytes.length * 2);
    while (size < this.length + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.bytes.subarray(0, this.length));
    this.bytes = nb;
  }

  /**
   * Appends one frame.
   *
   * @param body frame body (not copied when at least `zeroCopyMin` bytes: do not modify it until
   *   written)
   * @param flags FLAG_MORE and/or FLAG_COMMAND (LONG is set as needed)
   * @param copy copy the body whatever its size (the caller reuses its array)
   */
  frame(body: Uint8Array, flags: number, copy = false): void {
    const n = body.length;
    const byRef = !copy && n >= this.#zeroCopyMin;
    if (n > 255) {
      this.#reserve(9 + (byRef ? 0 : n));
      const b = this.bytes;
      const p = this.length + writeFrameHeader(b, this.length, n, flags);
      if (byRef) {
        this.length = p;
        this.#chunks.push(this.bytes.subarray(this.#cut, p), body);
        this.#chunkBytes += p - this.#cut + n;
        this.#cut = p;
        return;
      }
      b.set(body, p);
      this.length = p + n;
    } else {
      this.#reserve(2 + n);
      const b = this.bytes;
      const p = this.length;
      b[p] = flags;
      b[p + 1] = n;
      if (n > 0) b.set(body, p + 2);
      this.length = p + 2 + n;
    }
  }

  /**
   * Appends one frame whose body is the UTF-8 of `head + tail`, encoded straight into the buffer
   * (no intermediate array, no copy). Join `head` and `tail` first when `head` ends in a high
   * surrogate and `tail` starts with a low one: each part is encoded on its own.
   *
   * @param head the start of the text
   * @param tail the rest of the text
   * @param flags FLAG_MORE and/or FLAG_COMMAND (LONG is set as needed)
   * @returns the body: a view of the buffer, valid until the buffer is written or grows
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { OutBuffer } from "./frame.ts";
   * const o = new OutBuffer();
   * const body = o.text("topic ", "é".repeat(200), 0);
   * assertEquals([body.length, o.length], [406, 415]); // 2-byte characters, 9-byte header
   * ```
   */
  text(head: string, tail: string, flags: number): Uint8Array {
    const chars = head.length + tail.length;
    // room for ASCII first; text with other characters is encoded again with room for the worst
    for (let room = chars;; room = chars * 3) {
      this.#reserve(9 + room);
      const b = this.bytes;
      const p = this.length;
      const body = b.subarray(p + 9, p + 9 + room);
      const h = encoder.encodeInto(head, body);
      const t = h.read === head.length
        ? encoder.encodeInto(tail, body.subarray(h.written))
        : undefined;
      if (t !== undefined && t.read === tail.length) {
        const n = h.written + t.written;
        if (n <= 255) b.copyWithin(p + 2, p + 9, p + 9 + n); // short header
        const at = p + writeFrameHeader(b, p, n, flags);
        this.length = at + n;
        return b.subarray(at, at + n);
      }
    }
  }

  /**
   * Appends the header of a frame of `n` bytes and reserves its body, which the caller fills at
   * `bytes[offset, offset + n)` (read `bytes` after this call: it may have been reallocated).
   *
   * @param n body length
   * @param flags FLAG_MORE and/or FLAG_COMMAND
   * @returns offset of the body in `bytes`
   */
  reserveFrame(n: number, flags: number): number {
    this.#reserve(frameHeaderLength(n) + n);
    const p = this.length + writeFrameHeader(this.bytes, this.length, n, flags);
    this.length = p + n;
    return p;
  }

  /**
   * Appends already framed bytes by reference (not copied; leave them unmodified).
   *
   * @param framed one or more complete frames
   */
  chunk(framed: Uint8Array): void {
    if (this.length > this.#cut) this.#chunks.push(this.bytes.subarray(this.#cut, this.length));
    this.#chunks.push(framed);
    this.#chunkBytes += this.length - this.#cut + framed.length;
    this.#cut = this.length;
  }

  /** Appends raw bytes (greeting). */
  raw(data: Uint8Array): void {
    this.#reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /**
   * Everything queued as one view when it all sits in the buffer (nothing was queued by
   * reference), else undefined (then see {@linkcode OutBuffer.chunks}).
   */
  single(): Uint8Array | undefined {
    return this.#chunks.length === 0 ? this.bytes.subarray(0, this.length) : undefined;
  }

  /** Everything queued, in write order. */
  chunks(): Uint8Array[] {
    if (this.#chunks.length === 0) return [this.bytes.subarray(0, this.length)];
    const out = this.#chunks.slice();
    if (this.length > this.#cut) out.push(this.bytes.subarray(this.#cut, this.length));
    return out;
  }

  /**
   * Empties the buffer. It keeps its capacity for the next burst, up to `keep` bytes; beyond that
   * it goes back to its initial size.
   *
   * @param keep largest capacity kept (default 4 MiB)
   */
  reset(keep = 4 * 1024 * 1024): void {
    // the written blocks go to the pool for the next ones
    // (the lists are emptied in place: no two new arrays per write)
    const full = this.#full;
    if (full.length > 0) {
      for (let i = 0; i < full.length; i++) this.#free.push(full[i]);
      full.length = 0;
    }
    if (this.bytes.length > keep) this.bytes = new Uint8Array(this.#initial);
    this.length = 0;
    this.#cut = 0;
    if (this.#chunks.length > 0) this.#chunks.length = 0;
    this.#chunkBytes = 0;
  }
}

/**
 * Writes a frame header for a body of `n` bytes at `out[offset]`.
 *
 * @param out destination
 * @param offset where the header starts
 * @param n body length
 * @param flags FLAG_MORE and/or FLAG_COMMAND (LONG is set as needed)
 * @returns the header length (2 or 9)
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { frameHeaderLength, writeFrameHeader } from "./frame.ts";
 * const b = new Uint8Array(frameHeaderLength(300));
 * assert(writeFrameHeader(b, 0, 300, 0) === 9 && b[0] === 2);
 * ```
 */
export function writeFrameHeader(
  out: Uint8Array,
  offset: number,
  n: number,
  flags: number,
): number {
  let p = offset;
  if (n > 255) {
    out[p++] = flags | FLAG_LONG;
    const hi = Math.floor(n / 0x100000000);
    out[p++] = hi >>> 24;
    out[p++] = (hi >>> 16) & 0xff;
    out[p++] = (hi >>> 8) & 0xff;
    out[p++] = hi & 0xff;
    out[p++] = n >>> 24;
    out[p++] = (n >>> 16) & 0xff;
    out[p++] = (n >>> 8) & 0xff;
    out[p++] = n & 0xff;
  } else {
    out[p++] = flags;
    out[p++] = n;
  }
  return p - offset;
}

/**
 * Length of the header of a frame with an `n`-byte body.
 *
 * @param n body length
 * @returns 2 (short frame) or 9 (long frame)
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { frameHeaderLength } from "./frame.ts";
 * assert(frameHeaderLength(255) === 2 && frameHeaderLength(256) === 9);
 * ```
 */
export function frameHeaderLength(n: number): number {
  return n > 255 ? 9 : 2;
}

/**
 * Encodes one frame into a new array (for tests and one-off commands).
 *
 * @param body frame body
 * @param flags FLAG_MORE and/or FLAG_COMMAND
 * @returns the encoded frame
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeFrame, FLAG_MORE } from "./frame.ts";
 * assert(encodeFrame(new Uint8Array(1), FLAG_MORE)[0] === 1);
 * ```
 */
export function encodeFrame(body: Uint8Array, flags: number): Uint8Array {
  const o = new OutBuffer(body.length + 9);
  o.frame(body, flags);
  return o.bytes.slice(0, o.length);
}

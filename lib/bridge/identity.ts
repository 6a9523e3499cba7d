/**
 * Message identity: the same posttroll message (same bytes) has the same 16-byte id wherever and
 * however often it is forwarded, so copies from two bridge instances, or a record redelivered
 * after a restart, are recognised. The id is a name-based UUID (version 8, RFC 9562) from the
 * SHA-256 of the message bytes, and travels as hop's `_id` header.
 *
 * posttroll messages carry no id of their own, and a publisher may send the same bytes twice (the
 * same content within one microsecond, or a deliberate repeat). {@linkcode OccurrenceCounter}
 * numbers such repeats as a forwarder sees them, and the n-th repeat gets the id of the bytes
 * plus `n`, so repeats stay distinct while copies of one send still agree.
 *
 * @module
 */
import { sha256 } from "../_util/sha256.ts";

const enc = new TextEncoder();
/** The digest of the message being identified (reused; 16 bytes of it are copied out). */
const digest = new Uint8Array(32);

/**
 * The identity of a message: the first 16 bytes of SHA-256 over its bytes (followed, for the
 * n-th repeat of the same bytes, by a zero byte and `n` in decimal), with the UUID version (8)
 * and variant bits set.
 *
 * @param raw the message as sent on the wire
 * @param occurrence 0 for the first send of these bytes, n for the n-th repeat @default 0
 * @param out 16 bytes to write it into @default a new array
 * @returns 16 bytes (a UUID): `out` if given
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { messageIdentity, formatIdentity } from "./identity.ts";
 * const id = messageIdentity(new TextEncoder().encode("pytroll://a info u@h 2020-01-01T00:00:00 v1.01"));
 * assertEquals(formatIdentity(id)[14], "8");
 * ```
 */
export function messageIdentity(
  raw: Uint8Array,
  occurrence = 0,
  out?: Uint8Array,
): Uint8Array {
  sha256(raw, occurrence > 0 ? enc.encode(`\0${occurrence}`) : undefined, digest);
  let id: Uint8Array;
  if (out === undefined) id = digest.slice(0, 16);
  else {
    id = out;
    for (let i = 0; i < 16; i++) id[i] = digest[i];
  }
  id[6] = (id[6] & 0x0f) | 0x80;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

/** Bytes of the blocks {@linkcode OccurrenceCounter.identity} hands ids out of. */
const ID_BLOCK = 4096;

/**
 * Numbers repeated sends of identical bytes within a recent window: the first is occurrence 0,
 * the next identical one 1, and so on. Bounded: the oldest distinct messages are forgotten beyond
 * `capacity`.
 *
 * @example
 * ```ts
 * import { assertEquals, assertNotEquals } from "@std/assert";
 * import { OccurrenceCounter } from "./identity.ts";
 * const raw = new TextEncoder().encode("pytroll://a info u@h 2020-01-01T00:00:00 v1.01");
 * const c = new OccurrenceCounter();
 * const first = c.identity(raw); // occurrence 0
 * const second = c.identity(raw); // occurrence 1: a different id
 * assertNotEquals(first, second);
 * assertEquals(new OccurrenceCounter().identity(raw), first); // the same at another site
 * ```
 */
export class OccurrenceCounter {
  // Repeats seen so far, by the first 53 bits of the message's identity, in an open-addressing
  // table (linear probing, at most half full): a Map with keys beyond 31 bits boxes each key as a
  // heap number, and a message's few Map operations cost as much as its SHA-256.
  /** Per slot: the key's upper 21 bits plus one (0 = empty). */
  readonly #hi: Int32Array;
  /** Per slot: the key's lower 32 bits. */
  readonly #lo: Int32Array;
  /** Per slot: the repeats seen. */
  readonly #count: Int32Array;
  readonly #mask: number;
  /** The keys in the order they came (upper part plus one, 0 = none; lower part), to forget the oldest. */
  readonly #orderHi: Int32Array;
  readonly #orderLo: Int32Array;
  #next = 0;
  /** The block ids are handed out of, and the offset of the next. */
  #block = new Uint8Array(0);
  #blockAt = ID_BLOCK;

  /**
   * Creates a counter.
   *
   * @param capacity distinct messages remembered @default 100000
   */
  constructor(capacity = 100_000) {
    const n = Math.max(1, Math.floor(capacity));
    let size = 2;
    while (size < 2 * n) size *= 2;
    this.#hi = new Int32Array(size);
    this.#lo = new Int32Array(size);
    this.#count = new Int32Array(size);
    this.#mask = size - 1;
    this.#orderHi = new Int32Array(n);
    this.#orderLo = new Int32Array(n);
  }

  /**
   * The identity of this send of `raw`.
   *
   * @param raw the message bytes
   * @param out 16 bytes to write it into @default a view into a block shared with other ids
   * @returns 16 bytes: `out` if given (do not modify the shared ones)
   */
  identity(raw: Uint8Array, out?: Uint8Array): Uint8Array {
    if (out === undefined) {
      // ids are views into shared 4 KiB blocks: a message's own 16-byte ArrayBuffer (a JS
      // object, an extension and a malloc'd store, freed only by a GC after the record was
      // acknowledged) would cost more than the id
      let at = this.#blockAt;
      if (at === ID_BLOCK) {
        this.#block = new Uint8Array(ID_BLOCK);
        at = 0;
      }
      this.#blockAt = at + 16;
      out = this.#block.subarray(at, at + 16);
    }
    const first = messageIdentity(raw, 0, out);
    // a 53-bit key of SHA-256 bits; two different messages sharing them (about one chance in
    // 10^11 among 100,000) would only number the second as a repeat: its id is still its own
    const hi = (((first[0] & 0x1f) << 16) | (first[1] << 8) | first[2]) + 1;
    const lo = (first[3] << 24) | (first[4] << 16) | (first[5] << 8) | first[7];
    const slot = this.#find(hi, lo);
    if (slot < 0) {
      const at = this.#next;
      const oldHi = this.#orderHi[at];
      if (oldHi !== 0) this.#remove(this.#find(oldHi, this.#orderLo[at]));
      this.#orderHi[at] = hi;
      this.#orderLo[at] = lo;
      this.#next = at + 1 === this.#orderHi.length ? 0 : at + 1;
      // the slot found free may have moved with the removal: look again
      const free = ~this.#find(hi, lo);
      this.#hi[free] = hi;
      this.#lo[free] = lo;
      this.#count[free] = 0;
      return first;
    }
    const n = ++this.#count[slot];
    return messageIdentity(raw, n, first);
  }

  /** The slot holding the key, or `~slot` of the free slot where it would go. */
  #find(hi: number, lo: number): number {
    const his = this.#hi, los = this.#lo, mask = this.#mask;
    let i = lo & mask;
    for (let h = his[i]; h !== 0; h = his[i]) {
      if (h === hi && los[i] === lo) return i;
      i = (i + 1) & mask;
    }
    return ~i;
  }

  /** Empties a slot, moving later entries of its probe run back (no tombstones). */
  #remove(i: number): void {
    const his = this.#hi, los = this.#lo, counts = this.#count, mask = this.#mask;
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      if (his[j] === 0) break;
      const home = los[j] & mask;
      // an entry whose home lies cyclically in (i, j] stays where it is
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      his[i] = his[j];
      los[i] = los[j];
      counts[i] = counts[j];
      i = j;
    }
    his[i] = 0;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Formats a 16-byte id as a UUID string (`xxxxxxxx-xxxx-8xxx-...`).
 *
 * @param id 16 bytes
 * @returns the canonical UUID text
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatIdentity } from "./identity.ts";
 * assertEquals(formatIdentity(new Uint8Array(16)), "00000000-0000-0000-0000-000000000000");
 * ```
 */
export function formatIdentity(id: Uint8Array): string {
  let s = "";
  for (let i = 0; i < id.length; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
    s += HEX[id[i]];
  }
  return s;
}

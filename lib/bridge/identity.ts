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
import { createHash } from "node:crypto";

const enc = new TextEncoder();

/**
 * The identity of a message: the first 16 bytes of SHA-256 over its bytes (followed, for the
 * n-th repeat of the same bytes, by a zero byte and `n` in decimal), with the UUID version (8)
 * and variant bits set.
 *
 * @param raw the message as sent on the wire
 * @param occurrence 0 for the first send of these bytes, n for the n-th repeat @default 0
 * @returns 16 bytes (a UUID)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { messageIdentity, formatIdentity } from "./identity.ts";
 * const id = messageIdentity(new TextEncoder().encode("pytroll://a info u@h 2020-01-01T00:00:00 v1.01"));
 * assertEquals(formatIdentity(id)[14], "8");
 * ```
 */
export function messageIdentity(raw: Uint8Array, occurrence = 0): Uint8Array {
  const h = createHash("sha256").update(raw);
  if (occurrence > 0) h.update(enc.encode(`\0${occurrence}`));
  const digest = h.digest();
  const id = new Uint8Array(digest.buffer, digest.byteOffset, 16).slice();
  id[6] = (id[6] & 0x0f) | 0x80;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

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
  /** Repeats seen so far, by the first 53 bits of the message's identity. */
  readonly #seen = new Map<number, number>();
  /** The keys in the order they came, to forget the oldest. */
  readonly #order: number[];
  #next = 0;

  /**
   * Creates a counter.
   *
   * @param capacity distinct messages remembered @default 100000
   */
  constructor(capacity = 100_000) {
    this.#order = new Array<number>(Math.max(1, capacity));
  }

  /**
   * The identity of this send of `raw`.
   *
   * @param raw the message bytes
   * @returns 16 bytes
   */
  identity(raw: Uint8Array): Uint8Array {
    const first = messageIdentity(raw);
    // a number key (53 bits of SHA-256) costs less than text; two different messages sharing
    // them (about one chance in 10^11 among 100,000) would only number the second as a repeat:
    // its id is still its own
    const key = (first[0] & 0x1f) * 2 ** 48 + first[1] * 2 ** 40 + first[2] * 2 ** 32 +
      ((first[3] << 24) >>> 0) + (first[4] << 16) + (first[5] << 8) + first[7];
    const n = this.#seen.get(key);
    if (n === undefined) {
      const old = this.#order[this.#next];
      if (old !== undefined) this.#seen.delete(old);
      this.#order[this.#next] = key;
      this.#next = (this.#next + 1) % this.#order.length;
      this.#seen.set(key, 0);
      return first;
    }
    this.#seen.set(key, n + 1);
    return messageIdentity(raw, n + 1);
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

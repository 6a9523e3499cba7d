/**
 * A counted set of subscription prefixes with prefix matching (libzmq semantics: subscribing twice
 * needs two unsubscribes; the empty prefix matches everything).
 *
 * @module
 */

function keyOf(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/**
 * Counted prefix set.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SubscriptionSet } from "./subscriptions.ts";
 * const s = new SubscriptionSet();
 * s.add(new TextEncoder().encode("/a"));
 * assert(s.matches(new TextEncoder().encode("/a/b")));
 * ```
 */
export class SubscriptionSet {
  readonly #map = new Map<string, { prefix: Uint8Array; count: number }>();
  #list: Uint8Array[] = [];
  #all = 0;

  /**
   * Adds a prefix.
   *
   * @param prefix bytes
   * @returns true when the prefix is new
   */
  add(prefix: Uint8Array): boolean {
    const k = keyOf(prefix);
    const e = this.#map.get(k);
    if (e) {
      e.count++;
      return false;
    }
    this.#map.set(k, { prefix: prefix.slice(), count: 1 });
    if (prefix.length === 0) this.#all++;
    this.#list = [...this.#map.values()].map((v) => v.prefix);
    return true;
  }

  /**
   * Removes one count of a prefix.
   *
   * @param prefix bytes
   * @returns true when the prefix is gone
   */
  remove(prefix: Uint8Array): boolean {
    const k = keyOf(prefix);
    const e = this.#map.get(k);
    if (!e) return false;
    if (--e.count > 0) return false;
    this.#map.delete(k);
    if (prefix.length === 0) this.#all--;
    this.#list = [...this.#map.values()].map((v) => v.prefix);
    return true;
  }

  /** Distinct prefixes. */
  get prefixes(): Uint8Array[] {
    return this.#list;
  }

  /**
   * True when some prefix matches the start of `topic`.
   *
   * @param topic first frame of a message
   * @returns match
   */
  matches(topic: Uint8Array | undefined): boolean {
    if (this.#all > 0) return true;
    if (!topic) return false;
    outer: for (const p of this.#list) {
      if (p.length > topic.length) continue;
      for (let i = 0; i < p.length; i++) if (p[i] !== topic[i]) continue outer;
      return true;
    }
    return false;
  }
}

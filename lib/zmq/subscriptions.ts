/**
 * A counted set of subscription prefixes with prefix matching (libzmq semantics: subscribing twice
 * needs two unsubscribes; the empty prefix matches everything). Prefixes live in a radix tree over
 * bytes, so adding, removing and matching take time in the length of the prefix or topic, not in
 * the number of subscriptions.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/** A node of the radix tree: the bytes on the edge from its parent, and its children by first byte. */
interface Node {
  label: Uint8Array;
  end: boolean;
  kids: Map<number, Node> | undefined;
}

function keyOf(b: Uint8Array): string {
  if (b.length <= 64) {
    let s = "";
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 8192)));
  }
  return s;
}

/**
 * Counted prefix set.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SubscriptionSet } from "./subscriptions.ts";
 * const enc = new TextEncoder();
 * const s = new SubscriptionSet();
 * s.add(enc.encode("/a"));
 * assertEquals(s.matches(enc.encode("/a/b")), true);
 * assertEquals(s.matches(enc.encode("/b")), false);
 * ```
 */
export class SubscriptionSet {
  readonly #counts = new Map<string, { prefix: Uint8Array; count: number }>();
  readonly #root: Node = { label: EMPTY, end: false, kids: undefined };
  #bytes = 0;
  #list: Uint8Array[] | undefined = [];

  /** Number of distinct prefixes. */
  get size(): number {
    return this.#counts.size;
  }

  /** Bytes of all distinct prefixes together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Distinct prefixes. */
  get prefixes(): Uint8Array[] {
    if (!this.#list) this.#list = [...this.#counts.values()].map((v) => v.prefix);
    return this.#list;
  }

  /**
   * True when `prefix` is subscribed.
   *
   * @param prefix bytes
   * @returns whether it is in the set
   */
  has(prefix: Uint8Array): boolean {
    return this.#counts.has(keyOf(prefix));
  }

  /**
   * Adds a prefix.
   *
   * @param prefix bytes
   * @returns true when the prefix is new
   */
  add(prefix: Uint8Array): boolean {
    const k = keyOf(prefix);
    const e = this.#counts.get(k);
    if (e) {
      e.count++;
      return false;
    }
    const p = prefix.slice();
    this.#counts.set(k, { prefix: p, count: 1 });
    this.#bytes += p.length;
    this.#list = undefined;
    this.#insert(p);
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
    const e = this.#counts.get(k);
    if (!e) return false;
    if (--e.count > 0) return false;
    this.#counts.delete(k);
    this.#bytes -= e.prefix.length;
    this.#list = undefined;
    this.#delete(e.prefix);
    return true;
  }

  /**
   * True when some prefix matches the start of `topic`.
   *
   * @param topic first frame of a message
   * @returns match
   */
  matches(topic: Uint8Array | undefined): boolean {
    // the whole message is known: a subscription reaching past its end does not match
    return topic ? this.matchesStart(topic) === true : this.#root.end;
  }

  /**
   * {@linkcode SubscriptionSet.matches} for a message of which only its first bytes are known:
   * undefined when a subscription reaches past them and could still match.
   *
   * @param start the first bytes of the message
   * @returns whether a subscription matches, or undefined when the bytes do not decide it
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { SubscriptionSet } from "./subscriptions.ts";
   * const s = new SubscriptionSet();
   * s.add(new TextEncoder().encode("pytroll://a/b"));
   * const start = (t: string) => s.matchesStart(new TextEncoder().encode(t));
   * assertEquals([start("pytroll://a/b c"), start("pytroll://x"), start("pytroll://a")], [
   *   true,
   *   false,
   *   undefined,
   * ]);
   * ```
   */
  matchesStart(start: Uint8Array): boolean | undefined {
    let node = this.#root;
    if (node.end) return true;
    let i = 0;
    while (true) {
      if (!node.kids) return false;
      if (i >= start.length) return undefined;
      const child = node.kids.get(start[i]);
      if (!child) return false;
      const l = child.label;
      const n = l.length;
      const m = Math.min(n, start.length - i);
      for (let k = 1; k < m; k++) if (start[i + k] !== l[k]) return false;
      if (m < n) return undefined;
      i += n;
      if (child.end) return true;
      node = child;
    }
  }

  #insert(p: Uint8Array): void {
    let node = this.#root;
    let i = 0;
    while (true) {
      if (i === p.length) {
        node.end = true;
        return;
      }
      const kids = node.kids ??= new Map();
      const child = kids.get(p[i]);
      if (!child) {
        kids.set(p[i], { label: p.subarray(i), end: true, kids: undefined });
        return;
      }
      const l = child.label;
      let n = 1;
      while (n < l.length && i + n < p.length && l[n] === p[i + n]) n++;
      if (n < l.length) {
        // split the edge: a new node for the common part, the old child below it
        const mid: Node = { label: l.subarray(0, n), end: false, kids: new Map() };
        child.label = l.subarray(n);
        mid.kids!.set(child.label[0], child);
        kids.set(p[i], mid);
        node = mid;
      } else node = child;
      i += n;
    }
  }

  #delete(p: Uint8Array): void {
    const path: Node[] = [this.#root];
    let node = this.#root;
    let i = 0;
    while (i < p.length) {
      const child = node.kids?.get(p[i]);
      if (!child) return;
      i += child.label.length;
      node = child;
      path.push(node);
    }
    node.end = false;
    // prune: drop empty leaves, merge a node that is no end and has one child into that child
    for (let d = path.length - 1; d > 0; d--) {
      const n = path[d];
      const parent = path[d - 1];
      if (n.end) break;
      const kids = n.kids?.size ?? 0;
      if (kids === 0) {
        parent.kids!.delete(n.label[0]);
        if (parent.kids!.size === 0) parent.kids = undefined;
        continue;
      }
      if (kids === 1) {
        const only = n.kids!.values().next().value as Node;
        const label = new Uint8Array(n.label.length + only.label.length);
        label.set(n.label);
        label.set(only.label, n.label.length);
        only.label = label;
        parent.kids!.set(label[0], only);
      }
      break;
    }
  }
}

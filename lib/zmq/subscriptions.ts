/**
 * A counted set of subscription prefixes with prefix matching (libzmq semantics: subscribing twice
 * needs two unsubscribes; the empty prefix matches everything). Prefixes live in a radix tree over
 * bytes, so adding, removing and matching take time in the length of the prefix or topic, not in
 * the number of subscriptions.
 *
 * The tree is all there is: each node counts the subscriptions that end at it, and the bytes on
 * its edge sit in one byte array per set (a node holds their offset and length). A subscription so
 * costs a node and a map entry, about 100 bytes, where an array per prefix and a string key beside
 * it cost about 600; and looking a prefix up ({@linkcode SubscriptionSet.has}, an add that only
 * counts, a subscription a capped PUB ignores) allocates nothing: a subscriber flooding a PUB with
 * SUBSCRIBE commands leaves little for the garbage collector.
 *
 * @module
 */

/** A node of the radix tree: where its edge's bytes are, and its children by first byte. */
interface Node {
  /** Offset of the edge's bytes in the set's byte array. */
  off: number;
  /** Length of the edge. */
  len: number;
  /** Subscriptions to the prefix that ends here (0: none, an inner node). */
  count: number;
  kids: Map<number, Node> | undefined;
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
  readonly #root: Node = { off: 0, len: 0, count: 0, kids: undefined };
  /** Edge bytes: [0, #used) holds every node's, and #dead bytes no node uses any more. */
  #edges = new Uint8Array(0);
  #used = 0;
  #dead = 0;
  #size = 0;
  #bytes = 0;
  #list: Uint8Array[] | undefined = [];

  /** Number of distinct prefixes. */
  get size(): number {
    return this.#size;
  }

  /** Bytes of all distinct prefixes together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Distinct prefixes (in the tree's order). */
  get prefixes(): Uint8Array[] {
    if (!this.#list) {
      // iteratively (a tree may be as deep as its longest prefix)
      const list: Uint8Array[] = [];
      const stack: [Node, Uint8Array][] = [[this.#root, new Uint8Array(0)]];
      for (let top = stack.pop(); top; top = stack.pop()) {
        const [n, path] = top;
        const p = new Uint8Array(path.length + n.len);
        p.set(path);
        p.set(this.#edges.subarray(n.off, n.off + n.len), path.length);
        if (n.count > 0) list.push(p);
        if (n.kids) { for (const k of n.kids.values()) stack.push([k, p]); }
      }
      this.#list = list;
    }
    return this.#list;
  }

  /**
   * True when `prefix` is subscribed.
   *
   * @param prefix bytes
   * @returns whether it is in the set
   */
  has(prefix: Uint8Array): boolean {
    return (this.#find(prefix)?.count ?? 0) > 0;
  }

  /**
   * Adds a prefix (its bytes are copied: `prefix` may be reused after the call).
   *
   * @param prefix bytes
   * @returns true when the prefix is new
   */
  add(prefix: Uint8Array): boolean {
    const node = this.#find(prefix) ?? this.#insert(prefix);
    if (node.count++ > 0) return false;
    this.#size++;
    this.#bytes += prefix.length;
    this.#list = undefined;
    return true;
  }

  /**
   * Removes one count of a prefix.
   *
   * @param prefix bytes
   * @returns true when the prefix is gone
   */
  remove(prefix: Uint8Array): boolean {
    const node = this.#find(prefix);
    if (!node || node.count === 0) return false;
    if (--node.count > 0) return false;
    this.#size--;
    this.#bytes -= prefix.length;
    this.#list = undefined;
    this.#prune(prefix);
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
    return topic ? this.matchesStart(topic) === true : this.#root.count > 0;
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
    if (node.count > 0) return true;
    const e = this.#edges;
    let i = 0;
    while (true) {
      if (!node.kids) return false;
      if (i >= start.length) return undefined;
      const child = node.kids.get(start[i]);
      if (!child) return false;
      const n = child.len;
      const off = child.off;
      const m = Math.min(n, start.length - i);
      for (let k = 1; k < m; k++) if (start[i + k] !== e[off + k]) return false;
      if (m < n) return undefined;
      i += n;
      if (child.count > 0) return true;
      node = child;
    }
  }

  /** The node where exactly `p` ends, if the tree has one (allocates nothing). */
  #find(p: Uint8Array): Node | undefined {
    const e = this.#edges;
    let node = this.#root;
    let i = 0;
    while (i < p.length) {
      const child = node.kids?.get(p[i]);
      if (!child) return undefined;
      const n = child.len;
      if (i + n > p.length) return undefined;
      const d = child.off - i;
      for (let k = i + 1; k < i + n; k++) if (p[k] !== e[d + k]) return undefined;
      i += n;
      node = child;
    }
    return node;
  }

  /** Makes a node where `p` ends (it has none: see #find), splitting an edge if need be. */
  #insert(p: Uint8Array): Node {
    let node = this.#root;
    let i = 0;
    while (true) {
      if (i === p.length) return node;
      const kids = node.kids ??= new Map();
      const child = kids.get(p[i]);
      if (!child) {
        const leaf: Node = {
          off: this.#append(p, i, p.length),
          len: p.length - i,
          count: 0,
          kids: undefined,
        };
        kids.set(p[i], leaf);
        return leaf;
      }
      const e = this.#edges;
      let n = 1;
      while (n < child.len && i + n < p.length && e[child.off + n] === p[i + n]) n++;
      if (n < child.len) {
        // split the edge: a node for the common part (the same bytes), the old child below it
        const mid: Node = { off: child.off, len: n, count: 0, kids: new Map() };
        child.off += n;
        child.len -= n;
        mid.kids!.set(e[child.off], child);
        kids.set(p[i], mid);
        node = mid;
      } else node = child;
      i += n;
    }
  }

  /** Drops the nodes `p` no longer needs (its count just reached 0). */
  #prune(p: Uint8Array): void {
    const path: Node[] = [this.#root];
    let node = this.#root;
    let i = 0;
    while (i < p.length) {
      node = node.kids!.get(p[i])!;
      i += node.len;
      path.push(node);
    }
    // drop empty leaves, merge a node that is no end and has one child into that child
    for (let d = path.length - 1; d > 0; d--) {
      const n = path[d];
      const parent = path[d - 1];
      if (n.count > 0) break;
      const kids = n.kids?.size ?? 0;
      if (kids === 0) {
        parent.kids!.delete(this.#edges[n.off]);
        if (parent.kids!.size === 0) parent.kids = undefined;
        this.#dead += n.len;
        continue;
      }
      if (kids === 1) {
        const only = n.kids!.values().next().value as Node;
        if (n.off + n.len === only.off) only.off = n.off; // still side by side: no copy
        else {
          const off = this.#append(this.#edges, n.off, n.off + n.len, only.off, only.len);
          this.#dead += n.len + only.len;
          only.off = off;
        }
        only.len += n.len;
        parent.kids!.set(this.#edges[only.off], only);
      }
      break;
    }
    this.#compactIfSparse();
  }

  /**
   * Appends `src[from, to)` (and, for a merge, the set's own bytes `[off2, off2 + len2)`) to the
   * edge bytes; returns where they start.
   */
  #append(src: Uint8Array, from: number, to: number, off2 = 0, len2 = 0): number {
    const n = to - from + len2;
    if (this.#used + n > this.#edges.length) {
      const grown = new Uint8Array(Math.max(64, this.#edges.length * 2, this.#used + n));
      grown.set(this.#edges.subarray(0, this.#used));
      if (src === this.#edges) src = grown;
      this.#edges = grown;
    }
    const at = this.#used;
    this.#edges.set(src.subarray(from, to), at);
    if (len2 > 0) this.#edges.copyWithin(at + to - from, off2, off2 + len2);
    this.#used += n;
    return at;
  }

  /** Rewrites the edge bytes without the dead ones once they are most of them. */
  #compactIfSparse(): void {
    if (this.#dead < 4096 || this.#dead * 2 < this.#used) return;
    const old = this.#edges;
    const live = this.#used - this.#dead;
    const edges = new Uint8Array(Math.max(64, live * 2));
    let used = 0;
    const stack: Node[] = [this.#root];
    for (let n = stack.pop(); n; n = stack.pop()) {
      edges.set(old.subarray(n.off, n.off + n.len), used);
      n.off = used;
      used += n.len;
      if (n.kids) { for (const k of n.kids.values()) stack.push(k); }
    }
    this.#edges = edges;
    this.#used = used;
    this.#dead = 0;
  }
}

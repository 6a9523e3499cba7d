/**
 * Seeded randomness for the tests (mulberry32): the same seed gives the same inputs on every run,
 * so a failing random case can be replayed.
 *
 * @module
 */

/** A mulberry32 generator with helpers for picking test inputs. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** an integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** one element of `a` */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  /** true with probability `p` */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A function giving uniform numbers in [0, 1) from `seed` (an {@linkcode Rng}'s `next`). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/**
 * Internal: the one way library code parks callers until some state changes (a queue has room,
 * a write completed, a peer arrived): a list of wake-up functions called together.
 *
 * @module
 */

/**
 * Callers waiting for the next {@linkcode WakeList.wakeAll}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { WakeList } from "./wake.ts";
 * const space = new WakeList();
 * const waiting = space.wait();
 * assertEquals(space.size, 1);
 * space.wakeAll(); // e.g. an item was taken
 * await waiting;
 * assertEquals(space.size, 0);
 * ```
 */
export class WakeList {
  #fns: Array<() => void> = [];

  /** Callers waiting. */
  get size(): number {
    return this.#fns.length;
  }

  /**
   * Resolves at the next {@linkcode wakeAll}.
   *
   * @returns the wait
   */
  wait(): Promise<void> {
    return new Promise((r) => this.#fns.push(r));
  }

  /**
   * Calls `fn` (once) at the next {@linkcode wakeAll}, unless {@linkcode remove}d first.
   *
   * @param fn the wake-up function
   */
  add(fn: () => void): void {
    this.#fns.push(fn);
  }

  /**
   * Forgets `fn` (a caller that gave up waiting).
   *
   * @param fn a function given to {@linkcode add}
   */
  remove(fn: () => void): void {
    const i = this.#fns.indexOf(fn);
    if (i >= 0) this.#fns.splice(i, 1);
  }

  /** Wakes every caller waiting now (those that wait again from a wake-up wait for the next). */
  wakeAll(): void {
    if (this.#fns.length === 0) return;
    const fns = this.#fns;
    this.#fns = [];
    for (const f of fns) f();
  }
}

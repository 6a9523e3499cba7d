/**
 * A push queue with one consumer side: `get()` waits for an item (abortable), `full` tells producers
 * to pause, `space()` resolves when they may go on.
 *
 * @module
 */
import { ZmqClosedError } from "./errors.ts";

/**
 * Unbounded FIFO with a soft high-water mark (items, and optionally bytes) used for back-pressure.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AsyncQueue } from "./queue.ts";
 * const q = new AsyncQueue<number>(10);
 * q.push(1);
 * assert((await q.get()) === 1);
 * ```
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #head = 0;
  #getters: Array<{ resolve: (v: T) => void; reject: (e: unknown) => void }> = [];
  #spaceWaiters: Array<() => void> = [];
  #error: Error | undefined;
  readonly #hwm: number;
  readonly #maxBytes: number;
  readonly #sizeOf: ((item: T) => number) | undefined;
  #bytes = 0;

  /**
   * @param hwm soft limit of items used by {@linkcode AsyncQueue.full}
   * @param bytes soft limit of bytes (`max`) with the size of an item (`sizeOf`)
   */
  constructor(hwm: number, bytes?: { max: number; sizeOf: (item: T) => number }) {
    this.#hwm = Math.max(1, hwm);
    this.#maxBytes = bytes?.max ?? Infinity;
    this.#sizeOf = bytes?.sizeOf;
  }

  /** Bytes of the items waiting (0 without a byte limit). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** True when producers should pause. */
  get full(): boolean {
    return this.length >= this.#hwm || this.#bytes >= this.#maxBytes;
  }

  /** Adds an item (hands it straight to a waiting getter if any). */
  push(item: T): void {
    if (this.#error) return;
    const g = this.#getters.shift();
    if (g) g.resolve(item);
    else {
      this.#items.push(item);
      if (this.#sizeOf) this.#bytes += this.#sizeOf(item);
    }
  }

  /** Takes an item without waiting, or undefined. */
  tryGet(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    (this.#items as unknown[])[this.#head] = undefined;
    this.#head++;
    if (this.#sizeOf) this.#bytes -= this.#sizeOf(item);
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (this.#spaceWaiters.length && !this.full) {
      const w = this.#spaceWaiters;
      this.#spaceWaiters = [];
      for (const f of w) f();
    }
    return item;
  }

  /**
   * Waits for the next item.
   *
   * @param signal aborts the wait (rejects with `signal.reason`)
   * @returns the item
   */
  get(signal?: AbortSignal): Promise<T> {
    if (this.length > 0) return Promise.resolve(this.tryGet() as T);
    if (this.#error) return Promise.reject(this.#error);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const entry = {
        resolve: (v: T) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(v);
        },
        reject: (e: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = this.#getters.indexOf(entry);
        if (i >= 0) this.#getters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#getters.push(entry);
    });
  }

  /** Resolves when the queue is below its high-water mark (or closed). */
  space(): Promise<void> {
    if (!this.full || this.#error) return Promise.resolve();
    return new Promise((r) => this.#spaceWaiters.push(r));
  }

  /** Fails waiting and future getters with `error` (default ZmqClosedError); drops items. */
  close(error: Error = new ZmqClosedError()): void {
    if (this.#error) return;
    this.#error = error;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    for (const g of this.#getters.splice(0)) g.reject(error);
    for (const f of this.#spaceWaiters.splice(0)) f();
  }

  /** Drops every queued item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    for (const f of this.#spaceWaiters.splice(0)) f();
  }
}

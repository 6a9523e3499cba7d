/**
 * Read buffers whose small frame bodies are handed out as views, uncopied (a busy connection's:
 * see `FrameDecoder.body`), and the reuse of such a buffer once every one of those bodies was
 * given back ({@linkcode giveBack}, through `recycleBody`): fresh 128 KiB arrays cost more than
 * the reads into them (the kernel maps and zeroes new pages), while a reused one is warm. A buffer
 * whose bodies are not all given back is left to the garbage collector, as a copy would be.
 * Process-wide; bounded in count.
 *
 * @module
 */

/** Size of the buffers kept for reuse (and of a busy connection's reads, at most). */
export const BLOCK_SIZE = 131072;
/** Buffers with bodies out that are looked up when a body comes back, at most. */
const MAX_LISTED = 16;
/** Buffers kept for reuse, at most. */
const MAX_FREE = 4;

/** Whether any body that a decoder handed out as a view of its buffers came back. */
export interface BodyReturns {
  /** True once one came back. */
  any: boolean;
}

const listed: BodyBlock[] = [];
const free: Uint8Array[] = [];

/**
 * A read buffer and the bodies handed out as views of it: while one is out, nothing may write
 * where it lies (its decoder reads into the free space after it, or into another buffer).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BodyBlock, giveBack } from "./body_blocks.ts";
 * const returns = { any: false };
 * const block = new BodyBlock(new Uint8Array(65536), returns);
 * const body = block.bytes.subarray(2, 10);
 * block.add(body);
 * assertEquals(block.live, 1);
 * giveBack(body);
 * giveBack(body); // again: ignored
 * assertEquals([block.live, returns.any], [0, true]);
 * ```
 */
export class BodyBlock {
  /** The buffer. */
  readonly bytes: Uint8Array;
  /** The buffer's ArrayBuffer. */
  readonly buffer: ArrayBufferLike;
  /** Bodies out (handed out, not given back). */
  live = 0;
  /** Bodies handed out since the buffer was last free, in the order of their offsets. */
  #views: Array<Uint8Array | undefined> = [];
  #offsets: number[] = [];
  /** Index of the first body out (they mostly come back in the order they went). */
  #first = 0;
  /** Still the read buffer of its decoder. */
  #owned = true;
  #listed = false;
  readonly #returns: BodyReturns;

  /**
   * @param bytes the buffer (a whole ArrayBuffer's view)
   * @param returns set when one of its bodies comes back
   */
  constructor(bytes: Uint8Array, returns: BodyReturns) {
    this.bytes = bytes;
    this.buffer = bytes.buffer;
    this.#returns = returns;
  }

  /** Records `body`, a view of this buffer after every body recorded before it. */
  add(body: Uint8Array): void {
    if (!this.#listed) {
      this.#listed = true;
      listed.push(this);
      // beyond the bound the oldest is no longer looked up: its bodies stay out (never reused)
      if (listed.length > MAX_LISTED) listed.shift()!.#listed = false;
    }
    this.#views.push(body);
    this.#offsets.push(body.byteOffset);
    this.live++;
  }

  /** Forgets the bodies given back (call when none is out: the buffer is free again). */
  clear(): void {
    this.#views.length = 0;
    this.#offsets.length = 0;
    this.#first = 0;
  }

  /**
   * Its decoder reads into another buffer from now on: this one is kept for reuse once its
   * bodies are all back.
   */
  retire(): void {
    this.#owned = false;
    if (this.live === 0) this.#free();
  }

  /** Takes `body`, a view of this buffer, back if it is out (else ignores it). */
  take(body: Uint8Array): void {
    const views = this.#views;
    let k = this.#first;
    if (views[k] !== body) {
      // not the oldest out: look it up by its offset
      const offsets = this.#offsets;
      const at = body.byteOffset;
      let hi = offsets.length - 1;
      while (k < hi) {
        const mid = (k + hi) >>> 1;
        if (offsets[mid] < at) k = mid + 1;
        else hi = mid;
      }
      if (views[k] !== body) return; // not out (given back before)
    }
    views[k] = undefined;
    this.#returns.any = true;
    if (k === this.#first) {
      const n = views.length;
      while (k < n && views[k] === undefined) k++;
      this.#first = k;
    }
    if (--this.live === 0 && !this.#owned) this.#free();
  }

  #free(): void {
    if (this.#listed) {
      this.#listed = false;
      listed.splice(listed.indexOf(this), 1);
    }
    this.clear();
    if (free.length < MAX_FREE && this.bytes.length === BLOCK_SIZE) free.push(this.bytes);
  }
}

/**
 * Gives back a body handed out as a view of a read buffer (see {@linkcode BodyBlock}); others,
 * and bodies given back before, are ignored.
 *
 * @param body the body
 * @example
 * ```ts
 * import { giveBack } from "./body_blocks.ts";
 * giveBack(new Uint8Array(8)); // not one: ignored
 * ```
 */
export function giveBack(body: Uint8Array): void {
  const buffer = body.buffer;
  // oldest first: bodies mostly come back in the order they went out
  for (let i = 0; i < listed.length; i++) {
    if (listed[i].buffer === buffer) return listed[i].take(body);
  }
}

/**
 * A buffer of {@linkcode BLOCK_SIZE} bytes: one whose bodies all came back, else a new one
 * (contents undefined).
 *
 * @returns the buffer
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BLOCK_SIZE, blockBytes } from "./body_blocks.ts";
 * assertEquals(blockBytes().length, BLOCK_SIZE);
 * ```
 */
export function blockBytes(): Uint8Array {
  return free.pop() ?? new Uint8Array(BLOCK_SIZE);
}

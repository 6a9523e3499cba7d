/**
 * Memory for many short byte strings that are held for a while and then released, in any order:
 * they are carved out of shared blocks, and a block is used again once everything carved out of
 * it was released. A copy costs a view and no ArrayBuffer of its own (a JS object, an extension
 * and a malloc'd store, freed only by a garbage collection after the last reference died: for
 * messages held until Kafka acknowledged them, that is after a full collection, and the process
 * heap grows meanwhile).
 *
 * @module
 */

/**
 * Memory that hands out byte arrays and takes them back once they are no longer read
 * ({@linkcode ByteArena} is one).
 */
export interface ByteMemory {
  /** `n` bytes, not zeroed (the caller writes all of them). */
  take(n: number): Uint8Array;
  /** Gives back what `take` gave (once, when nothing reads it any more); others are ignored. */
  release(piece: Uint8Array): void;
}

/** One block and the number of pieces carved out of it not yet released. */
interface Block {
  bytes: Uint8Array;
  live: number;
}

/**
 * Shared blocks for short byte strings with an explicit release.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ByteArena } from "./byte_arena.ts";
 * const arena = new ByteArena();
 * const a = arena.copy(new TextEncoder().encode("held until acknowledged"));
 * assertEquals(new TextDecoder().decode(a), "held until acknowledged");
 * arena.release(a); // a must not be used any more: its bytes may be given out again
 * ```
 */
export class ByteArena implements ByteMemory {
  /** Bytes per block. */
  readonly blockBytes: number;
  /** Pieces above this size get memory of their own (not from a block). */
  readonly maxPiece: number;
  /** Released blocks kept for reuse at most (more are left to the garbage collector). */
  readonly maxFree: number;
  readonly #blocks = new Map<ArrayBufferLike, Block>();
  readonly #free: Block[] = [];
  #current: Block | undefined;
  #at = 0;

  /**
   * Creates an arena.
   *
   * @param blockBytes bytes per block @default 65536
   * @param maxFree released blocks kept for reuse @default 16
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ByteArena } from "./byte_arena.ts";
   * assertEquals(new ByteArena(4096).maxPiece, 1024);
   * ```
   */
  constructor(blockBytes = 64 * 1024, maxFree = 16) {
    this.blockBytes = blockBytes;
    this.maxPiece = blockBytes >>> 2;
    this.maxFree = maxFree;
  }

  /** Blocks with pieces not yet released (the current one included). */
  get blocksInUse(): number {
    return this.#blocks.size - this.#free.length;
  }

  /**
   * `n` bytes (not zeroed: the caller writes all of them), to give back with
   * {@linkcode ByteArena.release} once nothing reads them any more.
   *
   * @param n length
   * @returns a view into a block, or an array of its own when `n` > `maxPiece`
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { ByteArena } from "./byte_arena.ts";
   * const arena = new ByteArena();
   * const piece = arena.take(16);
   * piece.fill(7);
   * assertEquals(piece.length, 16);
   * arena.release(piece);
   * ```
   */
  take(n: number): Uint8Array {
    if (n > this.maxPiece) return new Uint8Array(n);
    let b = this.#current;
    let at = this.#at;
    if (b === undefined || at + n > b.bytes.length) {
      if (b !== undefined && b.live === 0) this.#retire(b);
      b = this.#current = this.#free.pop() ?? this.#newBlock();
      at = 0;
    }
    b.live++;
    this.#at = at + n;
    return b.bytes.subarray(at, at + n);
  }

  /**
   * A copy of `bytes` (see {@linkcode ByteArena.take}).
   *
   * @param bytes what to copy
   * @returns the copy
   */
  copy(bytes: Uint8Array): Uint8Array {
    const out = this.take(bytes.length);
    out.set(bytes);
    return out;
  }

  /**
   * Gives back a piece from {@linkcode ByteArena.take} or {@linkcode ByteArena.copy} (or any
   * view of it: the block is found by its buffer); once all pieces of a block are back, it is
   * used again. Release each piece exactly once, and only when nothing reads it any more.
   * Arrays not from this arena are ignored.
   *
   * @param piece the piece
   */
  release(piece: Uint8Array): void {
    const b = this.#blocks.get(piece.buffer);
    if (b === undefined || b.live === 0) return;
    if (--b.live > 0) return;
    // the current block starts over; an earlier one goes back for reuse
    if (b === this.#current) this.#at = 0;
    else this.#retire(b);
  }

  #newBlock(): Block {
    const b: Block = { bytes: new Uint8Array(this.blockBytes), live: 0 };
    this.#blocks.set(b.bytes.buffer, b);
    return b;
  }

  /** A block with nothing in use: kept for reuse, or forgotten. */
  #retire(b: Block): void {
    if (this.#free.length < this.maxFree) this.#free.push(b);
    else this.#blocks.delete(b.bytes.buffer);
  }
}

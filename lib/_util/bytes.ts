/**
 * Internal: joining byte arrays (the ZeroMQ engine's metadata and CURVE handshake commands).
 *
 * @module
 */

/**
 * Copies `parts` one after the other into one new array.
 *
 * @param parts the arrays, in order
 * @returns a new array of their total length
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { concatBytes } from "./bytes.ts";
 * assertEquals(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A cheap way to let Deno's event loop run (I/O completions) from a tight async loop:
 * `setImmediate` (about 1.5 µs), where `setTimeout(0)` is clamped to milliseconds.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * Resolves after one turn of the event loop.
 *
 * @returns a promise resolved from the check phase
 * @example
 * ```ts
 * import { macrotask } from "./yield.ts";
 * await macrotask();
 * ```
 */
export function macrotask(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

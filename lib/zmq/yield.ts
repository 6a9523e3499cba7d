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
 * import { assertEquals } from "@std/assert";
 * import { macrotask } from "./yield.ts";
 * const order: string[] = [];
 * queueMicrotask(() => order.push("microtask"));
 * await macrotask(); // a full turn of the event loop, not just the microtask queue
 * order.push("after");
 * assertEquals(order, ["microtask", "after"]);
 * ```
 */
export function macrotask(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

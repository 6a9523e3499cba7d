/**
 * Internal: waiting that an `AbortSignal` cuts short, shared by the ZeroMQ engine, the posttroll
 * transport and the igwn-alert client (reconnect back-off, announcement intervals, deadlines).
 *
 * @module
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts; never rejects, and leaves no timer or
 * listener behind either way.
 *
 * @example
 * ```ts
 * import { assertLess } from "@std/assert";
 * import { sleep } from "./abort.ts";
 * const ctl = new AbortController();
 * const t0 = performance.now();
 * setTimeout(() => ctl.abort(), 10);
 * await sleep(60_000, ctl.signal); // cut short by the signal
 * assertLess(performance.now() - t0, 30_000);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A signal that aborts after a time limit or with a parent signal; dispose it when done. */
export interface Deadline extends Disposable {
  /** Aborts with a `TimeoutError` DOMException after the limit, or with the parent's reason. */
  readonly signal: AbortSignal;
}

/**
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])` without its cost: under Deno a timeout
 * signal that has listeners keeps the process alive until it fires, even after the work is done
 * (a program that registered with a nameserver then lingered for the whole registration timeout).
 * This one's timer and listener go away when it is disposed.
 *
 * @param ms time limit in milliseconds
 * @param signal parent signal
 * @returns the deadline: `using d = deadline(1000, signal); await work({ signal: d.signal });`
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { deadline } from "./abort.ts";
 * {
 *   using d = deadline(1000);
 *   assertEquals(d.signal.aborted, false);
 * } // timer cleared here
 * ```
 */
export function deadline(ms: number, signal?: AbortSignal): Deadline {
  const ctl = new AbortController();
  const t = setTimeout(
    () => ctl.abort(new DOMException("The operation timed out.", "TimeoutError")),
    ms,
  );
  const onAbort = () => ctl.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: ctl.signal,
    [Symbol.dispose]() {
      clearTimeout(t);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * Races `p` against a timer: the timer's error when `ms` pass first. The timer is cleared either
 * way; `p` itself is not cancelled.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { withTimeout } from "./abort.ts";
 * assertEquals(await withTimeout(Promise.resolve(1), 100, () => new Error("late")), 1);
 * ```
 */
export async function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

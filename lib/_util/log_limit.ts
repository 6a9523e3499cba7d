/**
 * Rate limiting of log lines by *kind* (not by text): a peer that makes the same kind of trouble
 * again and again, with a different key, address or payload each time, gets a few lines per window
 * and then one line saying how many were left out.
 *
 * @module
 */

/** Options of {@linkcode LogLimiter}. */
export interface LogLimiterOptions {
  /** Length of a window in ms. @default 60000 */
  windowMs?: number;
  /** Lines of one kind logged per window; the rest are counted. @default 1 */
  perWindow?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** What {@linkcode LogLimiter.admit} decided for one line. */
export interface Admission {
  /** Log this line. */
  log: boolean;
  /** Lines of this kind left out since the last one logged (say so with this line). */
  suppressed: number;
}

const MAX_KINDS = 1000;

/**
 * Decides, per kind of event, which lines are logged: the first `perWindow` of a window, then
 * none until the window ends; the first line after that carries the count of those left out.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { LogLimiter } from "./log_limit.ts";
 * let t = 0;
 * const l = new LogLimiter({ windowMs: 1000, now: () => t });
 * assertEquals(l.admit("refused-key").log, true);
 * assertEquals(l.admit("refused-key").log, false); // same kind, same window
 * t = 1500;
 * assertEquals(l.admit("refused-key"), { log: true, suppressed: 1 });
 * ```
 */
export class LogLimiter {
  readonly #windowMs: number;
  readonly #perWindow: number;
  readonly #now: () => number;
  readonly #kinds = new Map<string, { start: number; logged: number; suppressed: number }>();

  /** @param options window length, lines per window, clock */
  constructor(options: LogLimiterOptions = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
    this.#perWindow = Math.max(1, options.perWindow ?? 1);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts one line of `kind` and says whether to log it.
   *
   * @param kind what happened, e.g. "refused CURVE key" (never text that varies per event)
   * @returns whether to log, and how many lines of the kind were left out before it
   */
  admit(kind: string): Admission {
    const now = this.#now();
    let k = this.#kinds.get(kind);
    if (!k || now - k.start >= this.#windowMs) {
      const suppressed = k?.suppressed ?? 0;
      if (!k && this.#kinds.size >= MAX_KINDS) this.#kinds.clear();
      k = { start: now, logged: 1, suppressed: 0 };
      this.#kinds.set(kind, k);
      return { log: true, suppressed };
    }
    if (k.logged < this.#perWindow) {
      k.logged++;
      return { log: true, suppressed: 0 };
    }
    k.suppressed++;
    return { log: false, suppressed: 0 };
  }
}

/** A logger as the components take it. */
export type LevelLogger<L extends string = "debug" | "info" | "warning" | "error"> = (
  level: L,
  message: string,
) => void;

/**
 * Wraps a logger so that each kind of line is rate limited: lines beyond the budget go out at
 * debug level (or nowhere when `quiet`), and the next admitted line says how many were left out.
 *
 * @param logger where admitted lines go
 * @param options window, lines per window; `quiet` drops suppressed lines instead of demoting them
 * @returns `(kind, level, message) => void`; `message` may be a function, called only when the
 *   line is written
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { limitedLog } from "./log_limit.ts";
 * const lines: string[] = [];
 * const log = limitedLog((level, m) => lines.push(`${level} ${m}`));
 * log("refused", "warning", "refused key A");
 * log("refused", "warning", "refused key B");
 * assertEquals(lines, ["warning refused key A", "debug refused key B"]);
 * ```
 */
export function limitedLog<L extends string>(
  logger: LevelLogger<L | "debug"> | undefined,
  options: LogLimiterOptions & { quiet?: boolean } = {},
): (kind: string, level: L | "debug", message: string | (() => string)) => void {
  if (!logger) return () => {};
  const limiter = new LogLimiter(options);
  return (kind, level, message) => {
    const a = limiter.admit(kind);
    if (!a.log && options.quiet) return; // the text is not even built
    const text = typeof message === "function" ? message() : message;
    if (a.log) {
      logger(
        level,
        a.suppressed > 0
          ? `${text} (${a.suppressed} more like this were not logged in the last window)`
          : text,
      );
    } else logger("debug", text);
  };
}

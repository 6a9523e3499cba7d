/**
 * What a nameserver reports as it works ({@linkcode NameServerEvents}): announcements received,
 * addresses expired, look-ups answered, clients refused. Its metrics and its web view listen to
 * these; a nameserver without listeners does no extra work.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { combineEvents, type NameServerEvents } from "./nameserver_events.ts";
 * let lookups = 0;
 * const events: NameServerEvents = combineEvents({ lookup: () => lookups++ }, {});
 * events.lookup?.("found");
 * assertEquals(lookups, 1);
 * ```
 * @module
 */
import type { ReceiveResult } from "./address_book.ts";

/** How an announcement reached the nameserver. */
export type AnnouncementVia = "multicast" | "direct";

/**
 * Outcome of an address request (`too_large`: answered with an error reply, the reply would
 * exceed `nameserver_max_buffered_bytes`).
 */
export type LookupResult = "found" | "not_found" | "invalid" | "too_large";

/** Which server socket refused a client. */
export type RefusingSocket = "nameserver" | "nameserver_secure" | "registration";

/** Hooks a nameserver calls (synchronously: keep them short). */
export interface NameServerEvents {
  /**
   * An announcement was handled (`result.status`: added, refreshed, ignored, invalid, refused).
   */
  announcement?(via: AnnouncementVia, result: ReceiveResult): void;
  /** Addresses were dropped after `max_age` without an announcement. */
  expired?(uris: string[]): void;
  /** A request was answered. */
  lookup?(result: LookupResult): void;
  /** A client's connection was refused. */
  refused?(socket: RefusingSocket): void;
}

/**
 * One set of hooks calling each of `parts` in turn.
 *
 * @param parts the hook sets
 * @returns the combined hooks
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { combineEvents } from "./nameserver_events.ts";
 * const expired: string[] = [];
 * const both = combineEvents({ expired: (u) => expired.push(...u) }, { expired: (u) => expired.push(...u) });
 * both.expired?.(["tcp://x:1"]);
 * assertEquals(expired, ["tcp://x:1", "tcp://x:1"]); // each hook told
 * ```
 */
export function combineEvents(...parts: NameServerEvents[]): NameServerEvents {
  const all = <K extends keyof NameServerEvents>(k: K) =>
    parts.map((p) => p[k]?.bind(p)).filter((f) => f !== undefined) as Array<
      NonNullable<NameServerEvents[K]>
    >;
  const ann = all("announcement"), exp = all("expired"), look = all("lookup"), ref = all("refused");
  return {
    announcement: (via, result) => ann.forEach((f) => f(via, result)),
    expired: (uris) => exp.forEach((f) => f(uris)),
    lookup: (result) => look.forEach((f) => f(result)),
    refused: (socket) => ref.forEach((f) => f(socket)),
  };
}

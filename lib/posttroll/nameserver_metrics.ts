/**
 * Prometheus metrics of a nameserver, fed by its {@linkcode NameServerEvents}:
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `posttroll_nameserver_addresses` | gauge: publisher addresses listed now | |
 * | `posttroll_nameserver_services` | gauge: distinct service names listed now | |
 * | `posttroll_nameserver_lookups_total` | counter: requests answered | `result`: `found`, `not_found`, `invalid`, `too_large` (error reply) |
 * | `posttroll_nameserver_announcements_total` | counter: announcements received | `via`: `multicast`, `direct`; `result`: `added`, `refreshed`, `ignored`, `invalid`, `refused` (over `address_book_max_entry_size`) |
 * | `posttroll_nameserver_expiries_total` | counter: addresses dropped after `max_age` | |
 * | `posttroll_nameserver_refused_clients_total` | counter: connections refused (CURVE key, address allow list, wrong mechanism, localhost-only) | `socket`: `nameserver`, `nameserver_secure`, `registration` |
 *
 * The gauges are computed when scraped, from the address book; the counters are field updates on
 * paths that already do far more work (a ZeroMQ request, a datagram).
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { NameServer } from "./nameserver.ts";
 * import { nameServerMetrics } from "./nameserver_metrics.ts";
 * const registry = new Registry();
 * let ns: NameServer | undefined = undefined;
 * const events = nameServerMetrics(registry, () => ns?.addressReceiver?.book);
 * ns = new NameServer({ multicastEnabled: false, events }); // then ns.run()
 * events.lookup?.("found"); // what the nameserver calls per answered look-up
 * assertStringIncludes(registry.render(), 'posttroll_nameserver_lookups_total{result="found"} 1');
 * ```
 * @module
 */
import type { CounterSeries, Registry } from "../metrics/mod.ts";
import type { AddressBook } from "./address_book.ts";
import type { NameServerEvents } from "./nameserver_events.ts";

/**
 * Registers the nameserver's metrics in `registry` and returns the event hooks that feed them.
 *
 * @param registry where to register
 * @param book the address book to measure when scraped (undefined while the nameserver is not
 *   running: the gauges read 0)
 * @returns hooks for {@linkcode NameServerOptions.events}
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry } from "../metrics/mod.ts";
 * import { nameServerMetrics } from "./nameserver_metrics.ts";
 * const registry = new Registry();
 * const events = nameServerMetrics(registry, () => undefined);
 * events.lookup?.("found");
 * assertStringIncludes(registry.render(), 'posttroll_nameserver_lookups_total{result="found"} 1');
 * ```
 */
export function nameServerMetrics(
  registry: Registry,
  book: () => AddressBook | undefined,
): NameServerEvents {
  registry.gauge({
    name: "posttroll_nameserver_addresses",
    help: "Publisher addresses listed now.",
    collect: (g) => g.set(book()?.size ?? 0),
  });
  registry.gauge({
    name: "posttroll_nameserver_services",
    help: "Distinct service names listed now (names and aliases).",
    collect: (g) => {
      const names = new Set<string>();
      for (const r of book()?.get("") ?? []) {
        const s = r.service;
        if (Array.isArray(s)) { for (const n of s) names.add(String(n)); }
        else if (typeof s === "string") names.add(s);
      }
      g.set(names.size);
    },
  });
  const lookups = registry.counter({
    name: "posttroll_nameserver_lookups_total",
    help: "Address requests answered, by result (found, not_found, invalid).",
    labelNames: ["result"],
  });
  const byResult: Record<string, CounterSeries> = {};
  for (const r of ["found", "not_found", "invalid", "too_large"]) {
    byResult[r] = lookups.labels({ result: r });
  }
  const announcements = registry.counter({
    name: "posttroll_nameserver_announcements_total",
    help: "Address announcements received, by transport (multicast, direct) and outcome.",
    labelNames: ["via", "result"],
  });
  const byAnnouncement: Record<string, CounterSeries> = {};
  for (const via of ["multicast", "direct"]) {
    for (const result of ["added", "refreshed", "ignored", "invalid", "refused"]) {
      byAnnouncement[`${via} ${result}`] = announcements.labels({ via, result });
    }
  }
  const expiries = registry.counter({
    name: "posttroll_nameserver_expiries_total",
    help: "Addresses removed because no announcement came within max_age.",
  });
  const refused = registry.counter({
    name: "posttroll_nameserver_refused_clients_total",
    help: "Client connections refused (unknown CURVE key, address not allowed, other mechanism).",
    labelNames: ["socket"],
  });
  const bySocket: Record<string, CounterSeries> = {};
  for (const socket of ["nameserver", "nameserver_secure", "registration"]) {
    bySocket[socket] = refused.labels({ socket });
  }
  return {
    lookup: (result) => byResult[result].inc(),
    announcement: (via, result) => byAnnouncement[`${via} ${result.status}`]?.inc(),
    expired: (uris) => expiries.inc(uris.length),
    refused: (socket) => bySocket[socket]?.inc(),
  };
}

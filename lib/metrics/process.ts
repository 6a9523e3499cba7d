/**
 * The usual process metrics (`process_start_time_seconds`, `process_resident_memory_bytes`,
 * `process_heap_bytes`), read when scraped: an operator sees restarts and memory growth without
 * another exporter.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * import { addProcessMetrics } from "./process.ts";
 * const registry = new Registry();
 * addProcessMetrics(registry);
 * assert(registry.render().includes("process_resident_memory_bytes"));
 * ```
 * @module
 */
import { Registry } from "./registry.ts";

/**
 * Registers the process metrics in `registry` (values read at each scrape; no permission needed).
 *
 * @param registry where to register them
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * import { addProcessMetrics } from "./process.ts";
 * const registry = new Registry();
 * addProcessMetrics(registry);
 * assertMatch(registry.render(), /^process_resident_memory_bytes \d+$/m);
 * ```
 */
export function addProcessMetrics(registry: Registry): void {
  const started = Date.now() / 1000;
  registry.gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch in seconds.",
    collect: (g) => g.set(started),
  });
  registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    collect: (g) => g.set(Deno.memoryUsage().rss),
  });
  registry.gauge({
    name: "process_heap_bytes",
    help: "JavaScript heap in use, in bytes.",
    collect: (g) => g.set(Deno.memoryUsage().heapUsed),
  });
}

/**
 * A new registry with the process metrics in it: what every program's `/metrics` starts with.
 *
 * @returns the registry
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * import { processRegistry } from "./process.ts";
 * assertMatch(processRegistry().render(), /^process_start_time_seconds \d+/m);
 * ```
 */
export function processRegistry(): Registry {
  const registry = new Registry();
  addProcessMetrics(registry);
  return registry;
}

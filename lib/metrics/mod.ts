/**
 * Prometheus metrics for the project's programs: a small registry ({@linkcode Registry} with
 * {@linkcode Counter}, {@linkcode Gauge}, {@linkcode Histogram} and labels) rendered in the text
 * exposition format 0.0.4, a hardened HTTP server ({@linkcode HttpServer}) with server-sent event
 * streams ({@linkcode EventStream}), {@linkcode serveMetrics} for `--metrics HOST:PORT`, and
 * {@linkcode parseExposition} to read another exporter's scrape.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Registry, serveMetrics } from "./mod.ts";
 * const registry = new Registry();
 * const sent = registry.counter({ name: "sent_total", help: "Messages sent.", labelNames: ["topic"] });
 * sent.labels({ topic: "/a" }).inc();
 * await using server = serveMetrics({ listen: "127.0.0.1:0", registry });
 * const scrape = await (await fetch(new URL("/metrics", server.url))).text();
 * assertStringIncludes(scrape, 'sent_total{topic="/a"} 1');
 * ```
 * @module
 */
export {
  CONTENT_TYPE,
  Counter,
  type CounterSeries,
  DEFAULT_BUCKETS,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  Gauge,
  type GaugeSeries,
  Histogram,
  type HistogramOptions,
  type HistogramSeries,
  type Labels,
  MetricFamily,
  type MetricOptions,
  Registry,
} from "./registry.ts";
export { ListenAddressError, MetricDefinitionError, MetricsError } from "./errors.ts";
export {
  EventStream,
  type EventStreamOptions,
  formatEvent,
  type HttpBody,
  type HttpRequest,
  type HttpResponse,
  HttpServer,
  type HttpServerOptions,
  type HttpServerStats,
  type HttpStream,
  type Route,
  type StreamClient,
} from "./http.ts";
export { type ListenAddress, parseListenAddress } from "./listen_address.ts";
export { parseExposition, type Sample } from "./parse.ts";
export { addProcessMetrics, processRegistry } from "./process.ts";
export { serveMetrics, type ServeMetricsOptions } from "./serve.ts";

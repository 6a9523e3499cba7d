/**
 * {@linkcode serveMetrics}: the `--metrics HOST:PORT` endpoint of the project's programs, an
 * {@linkcode HttpServer} answering `/metrics` with a registry's exposition text (and any other
 * routes the program adds, such as the nameserver's web view).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * import { serveMetrics } from "./serve.ts";
 * const registry = new Registry();
 * registry.counter({ name: "hello_total", help: "Hellos." }).inc();
 * await using server = serveMetrics({ listen: "127.0.0.1:0", registry });
 * const text = await (await fetch(`${server.url}metrics`)).text();
 * assertEquals(text.includes("hello_total 1"), true);
 * ```
 * @module
 */
import { MetricsError } from "./errors.ts";
import { HttpServer, type HttpServerOptions, type Route } from "./http.ts";
import { type ListenAddress, parseListenAddress } from "./listen_address.ts";
import { CONTENT_TYPE, type Registry } from "./registry.ts";

/** Options of {@linkcode serveMetrics}. */
export interface ServeMetricsOptions
  extends Omit<HttpServerOptions, "routes" | "hostname" | "port"> {
  /** `HOST:PORT` text (see {@linkcode parseListenAddress}) or a parsed address. */
  listen: string | ListenAddress;
  /** The registry rendered at `/metrics`. */
  registry: Registry;
  /** More routes (a `/metrics` given here is replaced). @default none */
  routes?: Record<string, Route>;
  /** The setting's name in error messages. @default "--metrics" */
  setting?: string;
}

/**
 * Listens on `listen` and serves `registry` at `/metrics` (text format 0.0.4).
 *
 * @param options address, registry, extra routes, limits
 * @returns the running server
 * @throws {ListenAddressError} for an address that does not parse
 * @throws {MetricsError} when the address cannot be listened on (in use, not local), naming the
 *   setting
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { Registry } from "./registry.ts";
 * import { serveMetrics } from "./serve.ts";
 * import { ListenAddressError } from "./errors.ts";
 * const server = serveMetrics({ listen: "127.0.0.1:0", registry: new Registry() });
 * assertEquals((await fetch(new URL("/metrics", server.url))).status, 200);
 * await server.close();
 * assertThrows(() => serveMetrics({ listen: "nope", registry: new Registry() }), ListenAddressError);
 * ```
 */
export function serveMetrics(options: ServeMetricsOptions): HttpServer {
  const setting = options.setting ?? "--metrics";
  const addr = typeof options.listen === "string"
    ? parseListenAddress(options.listen, setting)
    : options.listen;
  const { registry } = options;
  const routes: Record<string, Route> = {
    ...options.routes,
    "/metrics": () => ({ contentType: CONTENT_TYPE, body: registry.render() }),
  };
  try {
    return HttpServer.listen({ ...options, hostname: addr.hostname, port: addr.port, routes });
  } catch (e) {
    const where = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    throw new MetricsError(
      `${setting} ${where}:${addr.port}: cannot listen (${(e as Error).message})`,
      { cause: e },
    );
  }
}

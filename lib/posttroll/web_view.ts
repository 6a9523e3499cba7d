/**
 * The nameserver's live web view: a page served on its metrics port (`/`) listing the registered
 * services and addresses with their ages, updated over server-sent events (`/events`), plus a
 * per-subject message rate chart when fed by an exporter of per-subject counters
 * (`posttroll listen --metrics`, or MET Norway's pytroll-messages-prom: `ratesFrom`).
 *
 * The page and its script are part of the package (`web_view_page.ts`): no CDN, nothing fetched
 * from elsewhere, usable offline and on a phone. Nothing is computed while no page is open, except
 * the rate feed's scrape every `ratesIntervalMs` when one is configured.
 *
 * @example
 * ```ts
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * import { NameServer } from "./nameserver.ts";
 * import { NameServerWebView } from "./web_view.ts";
 * import { HttpServer } from "../metrics/mod.ts";
 * let ns: NameServer | undefined = undefined;
 * const view = new NameServerWebView({ book: () => ns?.addressReceiver?.book });
 * ns = new NameServer({ multicastEnabled: false, events: view }); // then ns.run()
 * await using server = HttpServer.listen({ routes: view.routes() });
 * const page = await fetch(server.url);
 * assertEquals(page.status, 200);
 * assertStringIncludes(await page.text(), "<html");
 * assertEquals(await (await fetch(new URL("/services.json", server.url))).json(), []); // not running
 * view.close();
 * ```
 * @module
 */
import { EventStream, parseExposition, type Route } from "../metrics/mod.ts";
import { deadline } from "../_util/abort.ts";
import type { AddressBook, ReceiveResult } from "./address_book.ts";
import type { AnnouncementVia, NameServerEvents } from "./nameserver_events.ts";
import { APP_JS, INDEX_HTML, STYLE_CSS } from "./web_view_page.ts";

/** Options of {@linkcode NameServerWebView}. */
export interface WebViewOptions {
  /** The address book shown (undefined while the nameserver is not running). */
  book: () => AddressBook | undefined;
  /** Seconds an address stays listed, shown on the page. @default 600 */
  maxAge?: number;
  /** A title for the page (e.g. the host name). @default "posttroll nameserver" */
  title?: string;
  /**
   * `/metrics` URL of an exporter of `posttroll_message_counter_total{message_type,topic}`
   * (`posttroll listen --metrics`, pytroll-messages-prom) to chart per-subject rates from.
   * @default none (no chart)
   */
  ratesFrom?: string;
  /** Milliseconds between scrapes of `ratesFrom`. @default 5000 */
  ratesIntervalMs?: number;
  /** Points of rate history kept per subject. @default 120 */
  ratesHistory?: number;
  /** Subjects charted at most (the busiest). @default 50 */
  maxSubjects?: number;
  /** Largest scrape read from `ratesFrom`, in bytes. @default 4194304 */
  maxScrapeBytes?: number;
  /** Milliseconds between updates sent to pages (changes are gathered). @default 1000 */
  updateIntervalMs?: number;
  /** Log lines (rate feed failures). @default silent */
  logger?: (level: "debug" | "info" | "warning" | "error", message: string) => void;
}

/** Security headers for the page: only our own script and styles, no framing. */
export const WEB_VIEW_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
});

interface RatePoint {
  t: number;
  rates: Record<string, number>;
}

async function readLimited(res: Response, limit: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) throw new Error(`scrape larger than ${limit} bytes`);
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
    await res.body?.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Serves the live view and takes the nameserver's events (pass it as
 * {@linkcode NameServerOptions.events}, or combine it with the metrics' hooks).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { NameServerWebView } from "./web_view.ts";
 * const view = new NameServerWebView({ book: () => undefined });
 * assertEquals(Object.keys(view.routes()), ["/", "/app.js", "/style.css", "/events", "/services.json"]);
 * view.close();
 * ```
 */
export class NameServerWebView implements NameServerEvents {
  readonly #opts: WebViewOptions;
  readonly #stream: EventStream;
  readonly #changed = new Set<string>();
  readonly #removed = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ratesTimer: ReturnType<typeof setTimeout> | undefined;
  #ratesCtl = new AbortController();
  #lastTotals: { t: number; totals: Map<string, number> } | undefined;
  #history: RatePoint[] = [];
  #ratesError: string | undefined;
  #closed = false;

  /**
   * Creates the view; with `ratesFrom`, starts scraping it.
   *
   * @param options address book, title, rate feed
   */
  constructor(options: WebViewOptions) {
    this.#opts = options;
    this.#stream = new EventStream({ onConnect: () => this.#snapshotEvent() });
    this.#timer = setInterval(() => this.#flush(), options.updateIntervalMs ?? 1000);
    if (options.ratesFrom) {
      new URL(options.ratesFrom); // a bad URL fails here, at start-up
      this.#scheduleRates(0);
    }
  }

  /** Pages connected now. */
  get clients(): number {
    return this.#stream.clients;
  }

  /**
   * The routes to serve: the page, its script and styles, the event stream, and the address book
   * as JSON.
   *
   * @returns routes for {@linkcode HttpServer} or {@linkcode serveMetrics}
   * @example
   * ```ts
   * import { assertStringIncludes } from "@std/assert";
   * import { NameServerWebView } from "./web_view.ts";
   * const view = new NameServerWebView({ book: () => undefined });
   * const page = await view.routes()["/"]({} as never); // the page (no request fields used)
   * assertStringIncludes(String("body" in page && page.body), '<script src="app.js"');
   * view.close();
   * ```
   */
  routes(): Record<string, Route> {
    const h = WEB_VIEW_HEADERS;
    return {
      "/": () => ({ contentType: "text/html; charset=utf-8", body: INDEX_HTML, headers: h }),
      "/app.js": () => ({
        contentType: "text/javascript; charset=utf-8",
        body: APP_JS,
        headers: h,
      }),
      "/style.css": () => ({ contentType: "text/css; charset=utf-8", body: STYLE_CSS, headers: h }),
      "/events": () => ({ stream: this.#stream }),
      "/services.json": () => ({
        contentType: "application/json",
        body: JSON.stringify(this.#records()),
        headers: h,
      }),
    };
  }

  /** @ignore */
  announcement(_via: AnnouncementVia, result: ReceiveResult): void {
    if (!this.#stream.clients || result.uri === undefined) return;
    if (result.status === "added" || result.status === "refreshed") {
      this.#changed.add(result.uri);
      this.#removed.delete(result.uri);
    }
  }

  /** @ignore */
  expired(uris: string[]): void {
    if (!this.#stream.clients) return;
    for (const u of uris) {
      this.#removed.add(u);
      this.#changed.delete(u);
    }
  }

  #records(): Array<Record<string, unknown>> {
    return this.#opts.book()?.get("") ?? [];
  }

  #snapshotEvent(): string {
    const body = JSON.stringify({
      now: Date.now(),
      title: this.#opts.title ?? "posttroll nameserver",
      maxAge: this.#opts.maxAge ?? 600,
      records: this.#records(),
      rates: this.#opts.ratesFrom
        ? { source: this.#opts.ratesFrom, history: this.#history, error: this.#ratesError }
        : null,
    });
    // the changes gathered so far are in this snapshot
    return `event: snapshot\ndata: ${body}\n\n`;
  }

  #flush(): void {
    if (!this.#changed.size && !this.#removed.size) return;
    if (!this.#stream.clients) {
      this.#changed.clear();
      this.#removed.clear();
      return;
    }
    const changed = this.#changed;
    const upsert = changed.size ? this.#records().filter((r) => changed.has(r.URI as string)) : [];
    const remove = [...this.#removed];
    this.#changed.clear();
    this.#removed.clear();
    this.#stream.send("update", JSON.stringify({ now: Date.now(), upsert, remove }));
  }

  #scheduleRates(ms: number): void {
    if (this.#closed) return;
    this.#ratesTimer = setTimeout(async () => {
      await this.#scrapeRates();
      this.#scheduleRates(this.#opts.ratesIntervalMs ?? 5000);
    }, ms);
  }

  async #scrapeRates(): Promise<void> {
    const url = this.#opts.ratesFrom!;
    const t = Date.now();
    let text: string;
    // a deadline whose timer is cleared when the scrape ends (AbortSignal.timeout would keep
    // the process alive until it fires)
    using limit = deadline(
      Math.max(1000, (this.#opts.ratesIntervalMs ?? 5000) - 100),
      this.#ratesCtl.signal,
    );
    try {
      const res = await fetch(url, { signal: limit.signal });
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      text = await readLimited(res, this.#opts.maxScrapeBytes ?? 4 * 1024 * 1024);
    } catch (e) {
      if (this.#closed) return;
      const msg = `rate feed ${url}: ${(e as Error).message}`;
      if (msg !== this.#ratesError) this.#opts.logger?.("warning", msg);
      this.#ratesError = msg;
      this.#stream.send("rates-error", JSON.stringify({ error: msg }));
      return;
    }
    const totals = new Map<string, number>();
    try {
      for (const s of parseExposition(text)) {
        if (s.name !== "posttroll_message_counter_total" || s.labels.topic === undefined) continue;
        totals.set(s.labels.topic, (totals.get(s.labels.topic) ?? 0) + s.value);
      }
    } catch (e) {
      this.#ratesError = `rate feed ${url}: ${(e as Error).message}`;
      return;
    }
    this.#ratesError = undefined;
    const last = this.#lastTotals;
    this.#lastTotals = { t, totals };
    if (!last) return;
    const dt = (t - last.t) / 1000;
    const rates: Record<string, number> = {};
    const ranked = [...totals].map(([topic, total]) => {
      const before = last.totals.get(topic) ?? 0;
      const delta = total >= before ? total - before : total; // a restarted exporter
      return [topic, dt > 0 ? delta / dt : 0] as const;
    }).sort((a, b) => b[1] - a[1]).slice(0, this.#opts.maxSubjects ?? 50);
    for (const [topic, r] of ranked) rates[topic] = Math.round(r * 1000) / 1000;
    const point = { t, rates };
    this.#history.push(point);
    const keep = this.#opts.ratesHistory ?? 120;
    if (this.#history.length > keep) this.#history.splice(0, this.#history.length - keep);
    this.#stream.send("rates", JSON.stringify(point));
  }

  /**
   * Stops the timers and the rate feed and disconnects every page (idempotent).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { NameServerWebView } from "./web_view.ts";
   * const view = new NameServerWebView({ book: () => undefined });
   * view.close(); // its update timer is gone: nothing keeps the process alive
   * assertEquals(view.clients, 0);
   * ```
   */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#ratesTimer !== undefined) clearTimeout(this.#ratesTimer);
    this.#timer = this.#ratesTimer = undefined;
    this.#ratesCtl.abort();
    this.#stream.close();
  }
}

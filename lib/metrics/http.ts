/**
 * A small HTTP/1.1 server for metrics and status pages, hardened for an open port:
 * {@linkcode HttpServer} answers `GET`/`HEAD` on fixed routes with in-memory responses or
 * server-sent event streams ({@linkcode EventStream}), and bounds what a hostile or broken client
 * can take:
 *
 * - a request head must arrive whole within `headTimeoutMs` and fit in `maxHeadBytes`;
 *   requests with a body are refused (413) and the connection closed;
 * - a kept-alive connection idle for `idleTimeoutMs` is closed, and a response not written within
 *   `writeTimeoutMs` (a client that does not read) closes its connection;
 * - at most `maxConnections` connections: beyond, the oldest that has not sent a byte (else the
 *   oldest that is not streaming) is closed to make room, so a flood of idle connections cannot
 *   lock out a scraper (a request caught in the flood may be cut: the scraper's next try is
 *   answered);
 * - an event-stream client whose unsent events exceed `maxStreamBufferBytes` is dropped, and at
 *   most `maxStreams` streams are kept (the oldest goes).
 *
 * Responses are built synchronously from memory, so a scrape never waits on the message path and
 * the message path never waits on a scrape.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HttpServer } from "./http.ts";
 * await using server = HttpServer.listen({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   routes: { "/hello": () => ({ contentType: "text/plain", body: "hi\n" }) },
 * });
 * const res = await fetch(`${server.url}hello`);
 * assertEquals(await res.text(), "hi\n");
 * ```
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A parsed request. */
export interface HttpRequest {
  /** `GET` or `HEAD`. */
  method: "GET" | "HEAD";
  /** The path, without the query. */
  path: string;
  /** The query parameters. */
  query: URLSearchParams;
  /** Header values by lower-cased name (the last one wins). */
  headers: Map<string, string>;
  /** The client's address. */
  remoteAddress: string;
}

/** A complete response held in memory. */
export interface HttpBody {
  /** Status code. @default 200 */
  status?: number;
  /** Content type. @default "text/plain; charset=utf-8" */
  contentType?: string;
  /** The body. */
  body: string | Uint8Array;
  /** Extra headers. */
  headers?: Record<string, string>;
}

/** A response that turns the connection into a server-sent event stream. */
export interface HttpStream {
  /** The stream the client joins. */
  stream: EventStream;
}

/** What a route answers. */
export type HttpResponse = HttpBody | HttpStream;

/** A route handler; errors become 500 responses. */
export type Route = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** Options of {@linkcode HttpServer.listen}. */
export interface HttpServerOptions {
  /** Address to listen on. @default "127.0.0.1" */
  hostname?: string;
  /** Port (0: any free port). @default 0 */
  port?: number;
  /** Handlers by exact path. */
  routes: Record<string, Route>;
  /** Connections kept open at once. @default 128 */
  maxConnections?: number;
  /** Milliseconds for a request head to arrive whole. @default 5000 */
  headTimeoutMs?: number;
  /** Milliseconds a kept-alive connection may wait for its next request. @default 15000 */
  idleTimeoutMs?: number;
  /** Milliseconds to write a response (a client that does not read is cut). @default 10000 */
  writeTimeoutMs?: number;
  /** Largest request head (request line and headers) in bytes. @default 8192 */
  maxHeadBytes?: number;
  /** Event streams kept at once. @default 32 */
  maxStreams?: number;
  /**
   * Unsent bytes an event-stream client may fall behind by: a client that has this much queued
   * when the next event comes is dropped (so it holds at most this plus one event). @default 262144
   */
  maxStreamBufferBytes?: number;
  /** Extra headers on every response (e.g. a Content-Security-Policy). @default none */
  headers?: Record<string, string>;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
}

/** Counts of what the server did, for its own metrics and for tests. */
export interface HttpServerStats {
  /** Connections open now. */
  connections: number;
  /** Event streams open now. */
  streams: number;
  /** Requests answered (any status). */
  requests: number;
  /** Connections closed by a limit: head timeout or size, body, idle, write timeout, eviction. */
  cut: number;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  505: "HTTP Version Not Supported",
};

/** One client of an {@linkcode EventStream} (made by the server for each stream request). */
export interface StreamClient {
  /** Queues text; false when the client is too far behind and was dropped. */
  write(text: string): boolean;
  /** Drops the client. */
  close(): void;
}

/** Options of {@linkcode EventStream}. */
export interface EventStreamOptions {
  /**
   * Events a joining client gets first (e.g. a snapshot), formatted with
   * {@linkcode formatEvent}. @default none
   */
  onConnect?: () => string;
  /** Milliseconds between keep-alive comments, which also find dead clients. @default 15000 */
  keepAliveMs?: number;
}

/**
 * Formats one server-sent event: `event:` (when given) and one `data:` line per line of `data`.
 *
 * @param event event name, or undefined for a plain message
 * @param data the data (may span lines)
 * @returns the event text, ending in a blank line
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatEvent } from "./http.ts";
 * assertEquals(formatEvent("services", "[]"), "event: services\ndata: []\n\n");
 * ```
 */
export function formatEvent(event: string | undefined, data: string): string {
  const head = event === undefined ? "" : `event: ${event.replace(/[\r\n]/g, "")}\n`;
  return head + data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join("") + "\n";
}

/**
 * A server-sent event channel: every client joined by a route answering `{ stream }` gets each
 * {@linkcode EventStream.send}. Costs nothing while nobody listens ({@linkcode EventStream.clients}
 * is 0: skip building events then).
 *
 * @example
 * ```ts
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * import { EventStream, HttpServer } from "./http.ts";
 * const stream = new EventStream({ onConnect: () => "event: hello\ndata: {}\n\n" });
 * await using server = HttpServer.listen({ routes: { "/events": () => ({ stream }) } });
 * const res = await fetch(new URL("/events", server.url));
 * const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
 * let text = "";
 * const readUntil = async (what: string) => {
 *   while (!text.includes(what)) {
 *     const { value, done } = await reader.read();
 *     if (done) throw new Error(`stream ended before ${what}`);
 *     text += value;
 *   }
 * };
 * await readUntil("event: hello"); // joined
 * assertEquals(stream.clients, 1);
 * stream.send("tick", "1");
 * await readUntil("event: tick");
 * assertStringIncludes(text, "event: tick\ndata: 1\n\n");
 * stream.close(); // disconnects the client
 * await reader.cancel();
 * ```
 */
export class EventStream {
  readonly #clients = new Set<StreamClient>();
  readonly #onConnect: (() => string) | undefined;
  readonly #keepAliveMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Creates a channel.
   *
   * @param options first events of a joining client, keep-alive interval
   */
  constructor(options: EventStreamOptions = {}) {
    this.#onConnect = options.onConnect;
    this.#keepAliveMs = options.keepAliveMs ?? 15_000;
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /**
   * Sends an event to every client (clients too far behind are dropped).
   *
   * @param event event name
   * @param data event data (JSON text, usually)
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { EventStream } from "./http.ts";
   * const stream = new EventStream();
   * stream.send("x", "{}"); // nobody listens: nothing happens
   * assertEquals(stream.clients, 0);
   * ```
   */
  send(event: string, data: string): void {
    if (!this.#clients.size) return;
    const text = formatEvent(event, data);
    for (const c of [...this.#clients]) c.write(text);
  }

  /** Adds a client (called by the server). @ignore */
  join(client: StreamClient): void {
    if (this.#closed) {
      client.close();
      return;
    }
    this.#clients.add(client);
    if (!client.write("retry: 3000\n\n" + (this.#onConnect?.() ?? ""))) return;
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        for (const c of [...this.#clients]) c.write(": keep-alive\n\n");
      }, this.#keepAliveMs);
    }
  }

  /** Removes a client (called by the server). @ignore */
  leave(client: StreamClient): void {
    this.#clients.delete(client);
    if (!this.#clients.size && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Disconnects every client; later joins are refused.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { EventStream } from "./http.ts";
   * const stream = new EventStream();
   * stream.close();
   * assertEquals(stream.clients, 0); // and later joins are refused
   * ```
   */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#clients]) c.close();
    this.#clients.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

type Phase = "head" | "idle" | "writing" | "stream";

interface Connection {
  conn: Deno.Conn;
  phase: Phase;
  closed: boolean;
  stream?: EventStream;
  client?: StreamClient;
  /** Wakes a stream's writer (to notice the connection closed). */
  wake?: () => void;
  /** Whether the client has sent anything yet. */
  spoke: boolean;
}

function indexOfHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/**
 * The hardened HTTP/1.1 server (see the module documentation for its limits).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HttpServer } from "./http.ts";
 * const server = HttpServer.listen({ routes: {} });
 * assertEquals(server.port > 0, true);
 * await server.close();
 * ```
 */
export class HttpServer implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #routes: Record<string, Route>;
  readonly #maxConnections: number;
  readonly #headTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #maxHeadBytes: number;
  readonly #maxStreams: number;
  readonly #maxStreamBuffer: number;
  readonly #extraHeaders: string;
  readonly #connections = new Set<Connection>();
  readonly #streams = new Set<Connection>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  readonly #stats = { requests: 0, cut: 0 };
  #closed = false;

  private constructor(listener: Deno.Listener, options: HttpServerOptions) {
    this.#listener = listener;
    this.#routes = options.routes;
    this.#maxConnections = positive(options.maxConnections ?? 128, "maxConnections");
    this.#headTimeoutMs = positive(options.headTimeoutMs ?? 5_000, "headTimeoutMs");
    this.#idleTimeoutMs = positive(options.idleTimeoutMs ?? 15_000, "idleTimeoutMs");
    this.#writeTimeoutMs = positive(options.writeTimeoutMs ?? 10_000, "writeTimeoutMs");
    this.#maxHeadBytes = positive(options.maxHeadBytes ?? 8192, "maxHeadBytes");
    this.#maxStreams = positive(options.maxStreams ?? 32, "maxStreams");
    this.#maxStreamBuffer = positive(options.maxStreamBufferBytes ?? 262_144, "maxStreamBuffer");
    this.#extraHeaders = Object.entries(options.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`).join("");
    this.#accepting = this.#accept();
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /**
   * Listens and starts serving.
   *
   * @param options address, routes, limits
   * @returns the running server
   * @throws {Deno.errors.AddrInUse} when the port is taken (and other listen errors)
   * @throws {RangeError} for a limit that is not a positive number
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { HttpServer } from "./http.ts";
   * await using server = HttpServer.listen({ port: 0, routes: { "/": () => ({ body: "hi" }) } });
   * const res = await fetch(server.url);
   * assertEquals([res.status, await res.text()], [200, "hi"]);
   * ```
   */
  static listen(options: HttpServerOptions): HttpServer {
    const listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
    });
    return new HttpServer(listener, options);
  }

  /** The bound address. */
  get hostname(): string {
    return (this.#listener.addr as Deno.NetAddr).hostname;
  }

  /** The bound port. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** `http://host:port/` (IPv6 in brackets; a wildcard address as loopback). */
  get url(): string {
    let h = this.hostname;
    if (h === "0.0.0.0") h = "127.0.0.1";
    if (h === "::") h = "::1";
    return `http://${h.includes(":") ? `[${h}]` : h}:${this.port}/`;
  }

  /** What the server holds and did so far. */
  get stats(): HttpServerStats {
    return {
      connections: this.#connections.size,
      streams: this.#streams.size,
      requests: this.#stats.requests,
      cut: this.#stats.cut,
    };
  }

  async #accept(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        continue; // EMFILE and the like: keep accepting
      }
      if (this.#connections.size >= this.#maxConnections) {
        // let the reads already under way land first, so that a client that did send its request
        // is not taken for an idle one (accepts from a full backlog resolve back to back)
        await new Promise((r) => setTimeout(r, 0));
        this.#evict();
      }
      const c: Connection = { conn, phase: "head", closed: false, spoke: false };
      this.#connections.add(c);
      const task = this.#serve(c).finally(() => {
        this.#drop(c);
        this.#tasks.delete(task);
      });
      this.#tasks.add(task);
    }
  }

  /**
   * Makes room: closes the oldest connection that never sent a byte, else the oldest one that is
   * not streaming, else the oldest stream.
   */
  #evict(): void {
    let victim: Connection | undefined;
    let idle: Connection | undefined;
    for (const c of this.#connections) {
      if (!c.spoke && c.phase === "head") {
        victim = c;
        break;
      }
      if (!idle && c.phase !== "stream") idle = c;
    }
    victim ??= idle;
    victim ??= this.#connections.values().next().value;
    if (victim) this.#cut(victim);
  }

  #cut(c: Connection): void {
    if (!c.closed) this.#stats.cut++;
    this.#drop(c);
  }

  #drop(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    this.#connections.delete(c);
    this.#streams.delete(c);
    if (c.stream && c.client) c.stream.leave(c.client);
    c.wake?.();
    try {
      c.conn.close();
    } catch { /* closed already */ }
  }

  async #serve(c: Connection): Promise<void> {
    const scratch = new Uint8Array(4096);
    let buf = new Uint8Array(0);
    let first = true;
    while (!c.closed) {
      c.phase = first ? "head" : "idle";
      // the whole head must arrive within the limit; a kept-alive connection gets idleTimeoutMs
      const timer = setTimeout(
        () => this.#cut(c),
        first ? this.#headTimeoutMs : this.#idleTimeoutMs,
      );
      let end = indexOfHeadEnd(buf, 0);
      try {
        while (end < 0) {
          if (buf.length > this.#maxHeadBytes) {
            clearTimeout(timer);
            await this.#respondError(c, 431);
            return;
          }
          let n: number | null;
          try {
            n = await c.conn.read(scratch);
          } catch {
            return;
          }
          if (n === null || c.closed) return;
          c.spoke = true;
          const grown = new Uint8Array(buf.length + n);
          grown.set(buf);
          grown.set(scratch.subarray(0, n), buf.length);
          const from = buf.length;
          buf = grown;
          end = indexOfHeadEnd(buf, from);
        }
      } finally {
        clearTimeout(timer);
      }
      first = false;
      if (end > this.#maxHeadBytes) {
        await this.#respondError(c, 431);
        return;
      }
      const head = decoder.decode(buf.subarray(0, end));
      buf = buf.slice(end + 4);
      const keepAlive = await this.#handle(c, head);
      if (!keepAlive) return;
    }
  }

  /** Answers one request; returns whether the connection stays open for another. */
  async #handle(c: Connection, head: string): Promise<boolean> {
    const lines = head.split("\r\n");
    const m = /^([A-Z]+) (\S+) HTTP\/(1\.[01])$/.exec(lines[0]);
    if (!m) {
      await this.#respondError(c, /^[A-Z]+ \S+ HTTP\/\d/.test(lines[0]) ? 505 : 400);
      return false;
    }
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      if (colon <= 0) {
        await this.#respondError(c, 400);
        return false;
      }
      headers.set(lines[i].slice(0, colon).trim().toLowerCase(), lines[i].slice(colon + 1).trim());
    }
    const length = headers.get("content-length");
    if (headers.has("transfer-encoding") || (length !== undefined && length !== "0")) {
      // no route takes a body: refuse it rather than read it
      await this.#respondError(c, 413);
      return false;
    }
    const conn = (headers.get("connection") ?? "").toLowerCase();
    const keepAlive = m[3] === "1.1" ? !conn.includes("close") : conn.includes("keep-alive");
    const method = m[1];
    if (method !== "GET" && method !== "HEAD") {
      await this.#respond(
        c,
        { status: 405, body: "only GET and HEAD\n", headers: { Allow: "GET, HEAD" } },
        method,
        false,
      );
      return false;
    }
    const q = m[2].indexOf("?");
    const path = q < 0 ? m[2] : m[2].slice(0, q);
    const route = Object.hasOwn(this.#routes, path) ? this.#routes[path] : undefined;
    let res: HttpResponse;
    if (!route) res = { status: 404, body: "not found\n" };
    else {
      try {
        res = await route({
          method,
          path,
          query: new URLSearchParams(q < 0 ? "" : m[2].slice(q + 1)),
          headers,
          remoteAddress: (c.conn.remoteAddr as Deno.NetAddr).hostname ?? "",
        });
      } catch (e) {
        res = { status: 500, body: `internal error: ${(e as Error).message}\n` };
      }
    }
    if ("stream" in res) {
      if (method === "HEAD") {
        return await this.#respond(
          c,
          {
            contentType: "text/event-stream",
            body: "",
          },
          method,
          keepAlive,
        );
      }
      await this.#startStream(c, res.stream);
      return false;
    }
    return await this.#respond(c, res, method, keepAlive);
  }

  async #respondError(c: Connection, status: number): Promise<void> {
    await this.#respond(c, { status, body: `${REASONS[status] ?? "error"}\n` }, "GET", false);
  }

  async #respond(
    c: Connection,
    res: HttpBody,
    method: string,
    keepAlive: boolean,
  ): Promise<boolean> {
    const status = res.status ?? 200;
    const body = typeof res.body === "string" ? encoder.encode(res.body) : res.body;
    let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n` +
      `Content-Type: ${res.contentType ?? "text/plain; charset=utf-8"}\r\n` +
      `Content-Length: ${body.length}\r\n` +
      `Connection: ${keepAlive ? "keep-alive" : "close"}\r\n` + this.#extraHeaders;
    for (const [k, v] of Object.entries(res.headers ?? {})) head += `${k}: ${v}\r\n`;
    const headBytes = encoder.encode(head + "\r\n");
    this.#stats.requests++;
    c.phase = "writing";
    const timer = setTimeout(() => this.#cut(c), this.#writeTimeoutMs);
    try {
      await writeAll(c.conn, headBytes);
      if (method !== "HEAD" && body.length) await writeAll(c.conn, body);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
    return keepAlive && !c.closed;
  }

  async #startStream(c: Connection, stream: EventStream): Promise<void> {
    this.#stats.requests++;
    if (this.#streams.size >= this.#maxStreams) {
      const oldest = this.#streams.values().next().value;
      if (oldest) this.#cut(oldest);
    }
    c.phase = "stream";
    this.#streams.add(c);
    const queue: Uint8Array[] = [];
    let queued = 0;
    let wake: (() => void) | undefined;
    const limit = this.#maxStreamBuffer;
    const client: StreamClient = {
      write: (text) => {
        if (c.closed) return false;
        if (queued >= limit) {
          this.#cut(c); // too far behind: a client that does not read
          wake?.();
          return false;
        }
        const bytes = encoder.encode(text);
        queue.push(bytes);
        queued += bytes.length;
        wake?.();
        return true;
      },
      close: () => {
        this.#drop(c);
        wake?.();
      },
    };
    c.stream = stream;
    c.client = client;
    client.write(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n" +
        `Connection: close\r\n${this.#extraHeaders}\r\n`,
    );
    stream.join(client);
    // one writer per client: a client that does not read holds at most `limit` bytes here
    while (!c.closed) {
      const next = queue.shift();
      if (!next) {
        await new Promise<void>((r) => wake = c.wake = r);
        wake = c.wake = undefined;
        continue;
      }
      try {
        await writeAll(c.conn, next);
      } catch {
        return;
      }
      queued -= next.length;
    }
  }

  /**
   * Stops accepting and closes every connection and stream (idempotent).
   *
   * @example
   * ```ts
   * import { assertRejects } from "@std/assert";
   * import { HttpServer } from "./http.ts";
   * const server = HttpServer.listen({ routes: {} });
   * const url = server.url;
   * await server.close();
   * await assertRejects(() => fetch(url)); // nobody listens any more
   * ```
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#listener.close();
      } catch { /* closed */ }
      for (const c of [...this.#connections]) this.#drop(c);
    }
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }

  /** Same as {@linkcode close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function positive(v: number, name: string): number {
  if (!(v > 0) || !Number.isFinite(v)) {
    throw new RangeError(`HttpServer: ${name} must be a positive number, got ${v}`);
  }
  return v;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

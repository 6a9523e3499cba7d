/**
 * One connection to a Kafka broker for the producer's wire path: TCP (`Deno.connect`) or TLS
 * (`Deno.connectTls` with the CA of `ssl_ca_location`), size-prefixed requests with correlation
 * ids, several requests in flight (the broker answers in order), a deadline per request.
 *
 * A request fails with a {@linkcode BrokerConnectionError}: retriable when the connection broke,
 * was refused or a request got no answer in time (the connection is then closed with every
 * request on it), not retriable for TLS failures. Frames larger than 64 MiB end the connection.
 *
 * @module
 */
import { BrokerConnectionError, tlsFailed } from "../errors.ts";
import { KafkaReader } from "./codec.ts";

/** Where and how to connect. */
export interface BrokerAddress {
  /** Host name or address. */
  host: string;
  /** Port. */
  port: number;
  /** TLS with these CA certificates (PEM; empty: the system's), or none. */
  tls?: { caCerts?: string[] };
}

/** Settings shared by a client's connections. */
export interface ConnectionSettings {
  /** Client id in every request header. */
  clientId: string;
  /** Deadline for connecting (TLS handshake included), in ms. */
  connectTimeoutMs: number;
  /** Deadline for each answer, in ms. */
  timeoutMs: number;
  /** `host:port` named in errors (the cluster's first bootstrap broker). */
  broker: string;
}

/** Largest response frame accepted. */
const MAX_FRAME = 64 * 1024 * 1024;

const enc = new TextEncoder();

interface Pending {
  id: number;
  api: string;
  /** Response header with tagged fields (flexible versions; never for ApiVersions). */
  flexible: boolean;
  resolve: (r: KafkaReader) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Bytes before a request body: the size prefix and the request header (v1, or v2 with an empty
 * tagged-field section for flexible versions).
 *
 * @param clientId the client id
 * @param flexible a flexible request version
 * @returns the byte count
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { requestHeadSize } from "./connection.ts";
 * assertEquals(requestHeadSize("ab", true), 4 + 2 + 2 + 4 + 2 + 2 + 1);
 * ```
 */
export function requestHeadSize(clientId: string, flexible: boolean): number {
  return 4 + 2 + 2 + 4 + 2 + enc.encode(clientId).length + (flexible ? 1 : 0);
}

/**
 * A connection to one broker.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { BrokerConnection } from "./connection.ts";
 * import { BrokerConnectionError } from "../errors.ts";
 * await assertRejects(
 *   () => BrokerConnection.open({ host: "127.0.0.1", port: 1 }, {
 *     clientId: "x", connectTimeoutMs: 2000, timeoutMs: 2000, broker: "127.0.0.1:1",
 *   }),
 *   BrokerConnectionError,
 * );
 * ```
 */
export class BrokerConnection {
  readonly #conn: Deno.Conn;
  readonly #settings: ConnectionSettings;
  readonly #clientId: Uint8Array;
  readonly #pending: Pending[] = [];
  #nextId = 1;
  #failure: Error | undefined;
  #writing: Promise<void> = Promise.resolve();

  private constructor(conn: Deno.Conn, settings: ConnectionSettings) {
    this.#conn = conn;
    this.#settings = settings;
    this.#clientId = enc.encode(settings.clientId);
    this.#readLoop();
  }

  /**
   * Connects (and completes the TLS handshake) within the settings' deadline.
   *
   * @param address where
   * @param settings client id, deadline, broker name for errors
   * @returns the connection
   * @throws BrokerConnectionError (retriable when refused or late; not for TLS failures)
   */
  static async open(
    address: BrokerAddress,
    settings: ConnectionSettings,
  ): Promise<BrokerConnection> {
    const { host, port, tls } = address;
    const broker = settings.broker;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    const opening = (async () => {
      let conn: Deno.Conn;
      try {
        conn = tls
          ? await Deno.connectTls({
            hostname: host,
            port,
            ...(tls.caCerts?.length ? { caCerts: tls.caCerts } : {}),
          })
          : await Deno.connect({ hostname: host, port });
      } catch (e) {
        throw new BrokerConnectionError(
          broker,
          `cannot reach Kafka broker ${broker}: ${(e as Error).message} (${host}:${port})`,
          { cause: e },
        );
      }
      if (late) {
        conn.close();
        throw new Error("late");
      }
      if (tls) {
        try {
          await (conn as Deno.TlsConn).handshake();
        } catch (e) {
          try {
            conn.close();
          } catch { /* closed */ }
          throw tlsFailed(broker, (e as Error).message, e);
        }
      }
      if (!tls) (conn as Deno.TcpConn).setNoDelay(true);
      return conn;
    })();
    try {
      const conn = await Promise.race([
        opening,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            late = true;
            reject(
              new BrokerConnectionError(
                broker,
                `cannot reach Kafka broker ${broker}: no connection to ${host}:${port} within ` +
                  `${settings.connectTimeoutMs} ms`,
              ),
            );
          }, settings.connectTimeoutMs);
        }),
      ]);
      return new BrokerConnection(conn, settings);
    } finally {
      clearTimeout(timer);
      opening.catch(() => {});
    }
  }

  /** Whether the connection failed or was closed (requests fail at once). */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Sends one request and resolves with a reader of the response body (after its header).
   *
   * @param apiKey the API key
   * @param version the API version
   * @param flexible whether the request header is v2 (flexible versions)
   * @param body the request body; with `headRoom` the `requestHeadSize()` bytes before it in its
   *   buffer are overwritten with the size and header (no copy of a large body)
   * @param options `api`: the name used in errors; `headRoom`: as above; `flexibleResponse`:
   *   the response header has tagged fields (default `flexible`; ApiVersions' never has)
   * @returns the response body
   * @throws BrokerConnectionError when the connection fails or no answer comes in time
   */
  request(
    apiKey: number,
    version: number,
    flexible: boolean,
    body: Uint8Array,
    options: { api: string; headRoom?: boolean; flexibleResponse?: boolean },
  ): Promise<KafkaReader> {
    if (this.#failure) return Promise.reject(this.#failure);
    const head = 4 + 2 + 2 + 4 + 2 + this.#clientId.length + (flexible ? 1 : 0);
    let frame: Uint8Array;
    if (options.headRoom) {
      if (body.byteOffset < head) throw new RangeError("no room for the request header");
      frame = new Uint8Array(body.buffer, body.byteOffset - head, head + body.length);
    } else {
      frame = new Uint8Array(head + body.length);
      frame.set(body, head);
    }
    const id = this.#nextId;
    this.#nextId = id === 0x7fffffff ? 1 : id + 1;
    const v = new DataView(frame.buffer, frame.byteOffset, head);
    v.setInt32(0, frame.length - 4);
    v.setInt16(4, apiKey);
    v.setInt16(6, version);
    v.setInt32(8, id);
    v.setInt16(12, this.#clientId.length);
    frame.set(this.#clientId, 14);
    if (flexible) frame[head - 1] = 0;
    return new Promise<KafkaReader>((resolve, reject) => {
      const ms = this.#settings.timeoutMs;
      const timer = setTimeout(() => {
        const broker = this.#settings.broker;
        this.#fail(
          new BrokerConnectionError(
            broker,
            `cannot reach Kafka broker ${broker}: no answer to ${options.api} within ${ms} ms`,
          ),
        );
      }, ms);
      this.#pending.push({
        id,
        api: options.api,
        flexible: options.flexibleResponse ?? flexible,
        resolve,
        reject,
        timer,
      });
      this.#writing = this.#writing.then(() => this.#write(frame));
    });
  }

  async #write(frame: Uint8Array): Promise<void> {
    if (this.#failure) return;
    try {
      let at = 0;
      while (at < frame.length) at += await this.#conn.write(frame.subarray(at));
    } catch (e) {
      this.#fail(this.#lost(e));
    }
  }

  #lost(e: unknown): BrokerConnectionError {
    const broker = this.#settings.broker;
    return new BrokerConnectionError(
      broker,
      `cannot reach Kafka broker ${broker}: connection lost (${(e as Error)?.message ?? e})`,
      { cause: e },
    );
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    let buf = new Uint8Array(0);
    try {
      while (true) {
        const n = await this.#conn.read(chunk);
        if (n === null) throw new Error("closed by the broker");
        if (buf.length === 0) buf = chunk.slice(0, n);
        else {
          const next = new Uint8Array(buf.length + n);
          next.set(buf);
          next.set(chunk.subarray(0, n), buf.length);
          buf = next;
        }
        let at = 0;
        while (buf.length - at >= 4) {
          const size = new DataView(buf.buffer, buf.byteOffset + at, 4).getInt32(0);
          if (size < 4 || size > MAX_FRAME) throw new Error(`a response frame of ${size} bytes`);
          if (buf.length - at < 4 + size) {
            if (4 + size > chunk.length) {
              // a large frame (a fetch answer): read its rest into its own buffer, not in
              // 64 KiB pieces each copied onto what came before
              const frame = new Uint8Array(size);
              frame.set(buf.subarray(at + 4));
              let have = buf.length - at - 4;
              while (have < size) {
                const m = await this.#conn.read(frame.subarray(have));
                if (m === null) throw new Error("closed by the broker");
                have += m;
              }
              at = buf.length;
              this.#answer(frame);
            }
            break;
          }
          this.#answer(buf.subarray(at + 4, at + 4 + size));
          at += 4 + size;
        }
        buf = at === buf.length ? new Uint8Array(0) : buf.subarray(at);
      }
    } catch (e) {
      if (!this.#failure) this.#fail(this.#lost(e));
    }
  }

  #answer(frame: Uint8Array): void {
    const r = new KafkaReader(frame);
    const id = r.int32();
    const p = this.#pending[0];
    if (!p || p.id !== id) {
      throw new Error(`an answer with correlation id ${id}, expected ${p?.id ?? "none"}`);
    }
    this.#pending.shift();
    clearTimeout(p.timer);
    try {
      if (p.flexible) r.skipTags();
      p.resolve(r);
    } catch (e) {
      p.reject(e as Error);
    }
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  /** Closes the connection; requests in flight fail. Idempotent. */
  close(): void {
    const broker = this.#settings.broker;
    this.#fail(new BrokerConnectionError(broker, `connection to ${broker} closed`));
  }
}

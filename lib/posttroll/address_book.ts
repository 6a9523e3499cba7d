/**
 * The nameserver's protocol logic, free of I/O: the address book an address receiver keeps
 * (announcements in, expiry after `max_age`, re-publications out) and the reply to a nameserver
 * request. Sockets live in `address_receiver.ts` and `nameserver.ts`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AddressBook, nameserverReply } from "./address_book.ts";
 * import { Message } from "./message.ts";
 * const book = new AddressBook({ maxAgeMs: 600_000 });
 * const announce = new Message("/address/pub", "info", { URI: "tcp://127.0.0.1:40000", service: ["pub"] });
 * book.receive(announce.encode());
 * const reply = nameserverReply(new Message("/oper/ns", "request", { service: "pub" }).encode(), book);
 * const [address] = Message.decode(reply.reply).data as Array<Record<string, unknown>>;
 * assertEquals([address.URI, address.service], ["tcp://127.0.0.1:40000", ["pub"]]);
 * ```
 * @module
 */
import { Message, versionNeeded } from "./message.ts";
import { PyDateTime } from "./pytime.ts";
export { NameserverReplyError } from "./errors.ts";

/** One entry of the address book, as the nameserver returns it. */
export interface AddressRecord {
  /** Publisher address, e.g. `tcp://10.0.0.1:40000`. */
  URI: string;
  /** Service names (`[name, ...aliases]`), or a single string from old publishers. */
  service: unknown;
  /** Always true while listed. */
  status: boolean;
  /** Second component of the announcement subject (`"address"` for `/address/<name>`). */
  name: string;
  /** When the last announcement arrived (UTC, aware). */
  receive_time: PyDateTime;
  /** Other fields announced (`supported_message_version`, `backend`, ...). */
  [key: string]: unknown;
}

/** Anything that answers `get(name)` with a list of address records (an {@linkcode AddressBook}, a Map...). */
export interface AddressSource {
  /** Records matching `name` (`""`: all). */
  get(name: string): unknown;
}

/** Options of {@linkcode AddressBook}. */
export interface AddressBookOptions {
  /** Entries not refreshed for longer than this are removed. @default 600000 (10 minutes) */
  maxAgeMs?: number;
  /**
   * Entries kept at most; a new one beyond it replaces the entry announced least recently (live
   * publishers re-announce every few seconds, so what goes is what stopped announcing).
   * @default 10000
   */
  maxEntries?: number;
  /**
   * Largest entry, in bytes of its JSON as a reply carries it (`ensure_ascii`: 6 bytes for each
   * control or non-ASCII character); larger announcements are refused. @default 8192
   */
  maxEntrySize?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Outcome of {@linkcode AddressBook.receive}. */
export interface ReceiveResult {
  /** What happened to the datagram/request ("refused": over `maxEntrySize`). */
  status: "added" | "refreshed" | "ignored" | "invalid" | "refused";
  /** The announcement to re-publish (first time a URI is seen), encoded with the minimal version. */
  republish?: string;
  /** Why an input was ignored, invalid or refused. */
  reason?: string;
  /** The announced URI (added or refreshed). */
  uri?: string;
  /** Removal notice of the entry that made room for this one (at `maxEntries`). */
  evicted?: string;
}

/** Bytes between two records in a reply (`", "`). */
const SEPARATOR = 2;

/**
 * Does a record match a requested service name? `""` matches everything, otherwise the name must
 * be one of the record's services (a plain-string service matches as a substring, which is what
 * Python's `in` does on a string).
 *
 * @param name requested name
 * @param service the record's `service` field
 * @returns whether it matches
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { serviceMatches } from "./address_book.ts";
 * assert(serviceMatches("b", ["a", "b"]));
 * ```
 */
export function serviceMatches(name: string, service: unknown): boolean {
  if (name === "") return true;
  if (Array.isArray(service)) return service.includes(name);
  if (typeof service === "string") return service.includes(name);
  return false;
}

/**
 * The address book of an address receiver.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AddressBook } from "./address_book.ts";
 * const book = new AddressBook({ maxAgeMs: 1000 });
 * assertEquals(book.get(""), []);
 * ```
 */
export class AddressBook implements AddressSource {
  /** Entries in the order of their last announcement (oldest first). */
  readonly #entries = new Map<
    string,
    { meta: AddressRecord; at: number; size: number; rawLength: number }
  >();
  readonly #now: () => number;
  #bytes = 0;
  /** Maximum age of an entry in ms. */
  readonly maxAgeMs: number;
  /** Most entries kept. */
  readonly maxEntries: number;
  /** Largest entry in bytes. */
  readonly maxEntrySize: number;
  /** Entries that made room for newer ones (at `maxEntries`). */
  evicted = 0;
  /** Announcements refused for their size. */
  refused = 0;

  /**
   * Creates an empty address book.
   *
   * @param options max age, limits and clock
   */
  constructor(options: AddressBookOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxEntrySize = options.maxEntrySize ?? 8192;
    this.#now = options.now ?? Date.now;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Bytes of the JSON list of the records matching `name` (`""`: all), as a reply would carry
   * them, without encoding it.
   *
   * @param name service name
   * @returns bytes
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressBook } from "./address_book.ts";
   * assertEquals(new AddressBook().replySize(""), 2); // "[]"
   * ```
   */
  replySize(name = ""): number {
    if (name === "") return 2 + this.#bytes;
    let n = 2;
    for (const { meta, size } of this.#entries.values()) {
      if (serviceMatches(name, meta.service)) n += size + SEPARATOR;
    }
    return n;
  }

  /** URIs listed. */
  get uris(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Records whose services match `name` (`""`: all), with `receive_time` as an ISO string with
   * `+00:00`, as posttroll's `AddressReceiver.get` returns them.
   *
   * @param name service name
   * @returns copies of the records
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressBook } from "./address_book.ts";
   * assertEquals(new AddressBook().get("some_service"), []);
   * ```
   */
  get(name = ""): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const { meta } of this.#entries.values()) {
      if (serviceMatches(name, meta.service)) {
        out.push({ ...meta, receive_time: meta.receive_time.isoformat() });
      }
    }
    return out;
  }

  /**
   * Handles one announcement (a datagram or a direct registration): `info` messages whose subject
   * starts with `/address` (case-insensitive) and whose data has a string `URI` are recorded
   * with `status: true`; everything else is ignored. Never throws on bad input.
   *
   * @param raw the encoded message
   * @returns what happened, and the message to re-publish the first time a URI is seen
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressBook } from "./address_book.ts";
   * const r = new AddressBook().receive("garbage");
   * assertEquals(r.status, "invalid");
   * ```
   */
  receive(raw: string | Uint8Array): ReceiveResult {
    let msg: Message;
    try {
      msg = Message.decode(raw);
    } catch (e) {
      return { status: "invalid", reason: `undecodable: ${(e as Error).message}` };
    }
    const parts = msg.subject.split("/");
    if (parts.length < 2) return { status: "ignored", reason: `subject ${msg.subject}` };
    const name = parts[1];
    if (msg.type !== "info" || !msg.subject.toLowerCase().startsWith("/address")) {
      return {
        status: "ignored",
        reason: `not an address announcement: ${msg.subject} ${msg.type}`,
      };
    }
    const data = msg.data;
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      return { status: "invalid", reason: "announcement data is not a dict" };
    }
    const dict = data as Record<string, unknown>;
    const uri = dict.URI;
    if (typeof uri !== "string") return { status: "invalid", reason: "announcement has no URI" };
    dict.status = true;
    const meta: AddressRecord = {
      ...dict,
      URI: uri,
      service: dict.service,
      status: true,
      name,
      receive_time: PyDateTime.now(),
    };
    const old = this.#entries.get(uri);
    const rawLength = raw.length;
    let size: number;
    let republish: string | undefined;
    if (old && old.rawLength === rawLength) {
      size = old.size; // a publisher re-sends the very announcement it encoded once
    } else {
      // the announcement re-encoded (as it is re-published) measures the entry: its data are
      // the record's fields, its header stands for "name" and "receive_time"
      try {
        msg.version = versionNeeded(dict, false);
        republish = msg.encode();
      } catch (e) {
        // too large to encode at all (V8's string limit) or not encodable
        this.refused++;
        return { status: "refused", reason: `announcement cannot be encoded: ${e}`, uri };
      }
      size = republish.length;
      if (size > this.maxEntrySize) {
        this.refused++;
        return {
          status: "refused",
          reason: `entry of ${size} bytes exceeds address_book_max_entry_size ${this.maxEntrySize}`,
          uri,
        };
      }
      if (old) republish = undefined; // re-published the first time a URI is seen only
    }
    let evicted: string | undefined;
    if (!old) {
      if (this.#entries.size >= this.maxEntries) evicted = this.#evictOldest();
    } else {
      // moved to the end: the map stays ordered by last announcement
      this.#entries.delete(uri);
      this.#bytes -= old.size + SEPARATOR;
    }
    this.#entries.set(uri, { meta, at: this.#now(), size, rawLength });
    this.#bytes += size + SEPARATOR;
    return { status: old ? "refreshed" : "added", republish, uri, evicted };
  }

  #evictOldest(): string | undefined {
    for (const [uri, e] of this.#entries) {
      this.#entries.delete(uri);
      this.#bytes -= e.size + SEPARATOR;
      this.evicted++;
      return removalNotice(uri, e.meta);
    }
    return undefined;
  }

  /**
   * Removes entries older than `maxAgeMs` and returns the removal notices to publish:
   * `/address/<name> info {"status": false, "URI": ..., "service": ...}`.
   *
   * @returns encoded removal messages
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { AddressBook } from "./address_book.ts";
   * assertEquals(new AddressBook().expire(), []);
   * ```
   */
  expire(): string[] {
    const now = this.#now();
    const out: string[] = [];
    for (const [uri, { meta, at, size }] of this.#entries) {
      if (now - at > this.maxAgeMs) {
        out.push(removalNotice(uri, meta));
        this.#entries.delete(uri);
        this.#bytes -= size + SEPARATOR;
      }
    }
    return out;
  }
}

/** `/address/<name> info {"status": false, "URI": ..., "service": ...}` for a removed entry. */
function removalNotice(uri: string, meta: AddressRecord): string {
  return new Message("/address/" + meta.name, "info", {
    status: false,
    URI: uri,
    service: meta.service,
  }).encode();
}

function lookup(source: AddressSource | Record<string, unknown>, name: string): unknown {
  if (typeof (source as AddressSource).get === "function") {
    return (source as AddressSource).get(name);
  }
  return (source as Record<string, unknown>)[name];
}

/**
 * The reply to an address source lookup: `/oper/ns info <addresses>` in `version`, or a
 * header-only reply when nothing matches (posttroll's `get_active_address`).
 *
 * @param name the service asked for
 * @param source the address book (or any `get(name)`, or a plain object of lists)
 * @param version message version of the reply
 * @returns the reply message
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getActiveAddress } from "./address_book.ts";
 * assertEquals(getActiveAddress("svc", { svc: ["tcp://127.0.0.1:1"] }, "v1.01").data, ["tcp://127.0.0.1:1"]);
 * ```
 */
export function getActiveAddress(
  name: string,
  source: AddressSource | Record<string, unknown>,
  version: string,
): Message {
  const addrs = lookup(source, name);
  const empty = addrs === undefined || addrs === null || addrs === "" ||
    (Array.isArray(addrs) && addrs.length === 0);
  return new Message("/oper/ns", "info", empty ? "" : addrs, { version });
}

/** Result of {@linkcode nameserverReply}: the encoded reply and what was asked. */
export interface NameserverReply {
  /** Encoded reply to send back. */
  reply: string;
  /** The service asked for, or undefined for an invalid request. */
  service?: string;
  /** Why the request was invalid, or why it got an error reply, if it did. */
  error?: string;
  /** Whether the reply lists at least one address. */
  found?: boolean;
  /** What kind of failure: an invalid request, or a reply over the size limit. */
  kind?: "invalid" | "too-large";
}

/** Options of {@linkcode nameserverReply}. */
export interface NameserverReplyOptions {
  /**
   * Largest reply in bytes: a larger one becomes an error reply (`/oper/ns error`, no data:
   * Python clients read it as "no address", ours raise {@linkcode NameserverReplyError}).
   * @default unlimited
   */
  maxReplySize?: number;
}

/**
 * The error reply: a header-only `/oper/ns error` message. Python posttroll's `get_pub_address`
 * returns its empty data (no address); ours raise {@linkcode NameserverReplyError}.
 *
 * @param version message version of the reply
 * @returns the encoded reply
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { errorReply } from "./address_book.ts";
 * import { Message } from "./message.ts";
 * const m = Message.decode(errorReply("v1.01"));
 * assertEquals([m.type, m.data], ["error", ""]);
 * ```
 */
export function errorReply(version: string): string {
  return new Message("/oper/ns", "error", "", { version }).encode();
}

/**
 * Answers one nameserver request (`/oper/ns request {"service": name}`) in the request's version.
 * An invalid request (undecodable, no `service`) gets a header-only `/oper/ns info` reply, so a
 * REP socket stays in step and the nameserver keeps serving (Python posttroll stops answering).
 * A reply that would exceed `maxReplySize` (or cannot be built at all) becomes an
 * {@linkcode errorReply}. Never throws.
 *
 * @param raw the encoded request
 * @param source the address book
 * @param options the reply size limit
 * @returns the encoded reply
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { nameserverReply } from "./address_book.ts";
 * assert(nameserverReply("garbage", { get: () => [] }).error !== undefined);
 * ```
 */
export function nameserverReply(
  raw: string | Uint8Array,
  source: AddressSource | Record<string, unknown>,
  options: NameserverReplyOptions = {},
): NameserverReply {
  let msg: Message;
  try {
    msg = Message.decode(raw);
  } catch (e) {
    return {
      reply: new Message("/oper/ns", "info", "", { version: "v1.01" }).encode(),
      error: `undecodable request: ${(e as Error).message}`,
      kind: "invalid",
    };
  }
  const data = msg.data as Record<string, unknown> | undefined;
  const service = data && typeof data === "object" && !Array.isArray(data)
    ? data.service
    : undefined;
  if (typeof service !== "string") {
    return {
      reply: new Message("/oper/ns", "info", "", { version: msg.version }).encode(),
      error: "request without a string service",
      kind: "invalid",
    };
  }
  const max = options.maxReplySize ?? Infinity;
  const tooLarge = (n: number) => ({
    reply: errorReply(msg.version),
    service,
    error: `reply to ${JSON.stringify(service).slice(0, 80)} of ${n} bytes exceeds ${max}`,
    kind: "too-large" as const,
  });
  if (source instanceof AddressBook) {
    const estimate = source.replySize(service);
    if (estimate > max) return tooLarge(estimate);
  }
  let reply: string;
  let found: boolean;
  try {
    const m = getActiveAddress(service, source, msg.version);
    found = m.data !== "";
    reply = m.encode();
  } catch (e) {
    // beyond V8's string limit, or records that cannot be encoded
    return { ...tooLarge(NaN), error: `reply cannot be built: ${(e as Error).message}` };
  }
  if (reply.length > max) return tooLarge(reply.length);
  return { reply, service, found };
}

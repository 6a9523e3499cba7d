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
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Outcome of {@linkcode AddressBook.receive}. */
export interface ReceiveResult {
  /** What happened to the datagram/request. */
  status: "added" | "refreshed" | "ignored" | "invalid";
  /** The announcement to re-publish (first time a URI is seen), encoded with the minimal version. */
  republish?: string;
  /** Why an input was ignored or invalid. */
  reason?: string;
  /** The announced URI (added or refreshed). */
  uri?: string;
}

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
  readonly #entries = new Map<string, { meta: AddressRecord; at: number }>();
  readonly #now: () => number;
  /** Maximum age of an entry in ms. */
  readonly maxAgeMs: number;

  /**
   * Creates an empty address book.
   *
   * @param options max age and clock
   */
  constructor(options: AddressBookOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 600_000;
    this.#now = options.now ?? Date.now;
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
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
    const isNew = !this.#entries.has(uri);
    let republish: string | undefined;
    if (isNew) {
      msg.version = versionNeeded(dict, false);
      republish = msg.encode();
    }
    this.#entries.set(uri, { meta, at: this.#now() });
    return { status: isNew ? "added" : "refreshed", republish, uri };
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
    for (const [uri, { meta, at }] of this.#entries) {
      if (now - at > this.maxAgeMs) {
        out.push(
          new Message("/address/" + meta.name, "info", {
            status: false,
            URI: uri,
            service: meta.service,
          }).encode(),
        );
        this.#entries.delete(uri);
      }
    }
    return out;
  }
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
  /** Why the request was invalid, if it was. */
  error?: string;
  /** Whether the reply lists at least one address. */
  found?: boolean;
}

/**
 * Answers one nameserver request (`/oper/ns request {"service": name}`) in the request's version.
 * An invalid request (undecodable, no `service`) gets a header-only `/oper/ns info` reply, so a
 * REP socket stays in step and the nameserver keeps serving (Python posttroll stops answering).
 *
 * @param raw the encoded request
 * @param source the address book
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
): NameserverReply {
  let msg: Message;
  try {
    msg = Message.decode(raw);
  } catch (e) {
    return {
      reply: new Message("/oper/ns", "info", "", { version: "v1.01" }).encode(),
      error: `undecodable request: ${(e as Error).message}`,
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
    };
  }
  const reply = getActiveAddress(service, source, msg.version);
  return { reply: reply.encode(), service, found: reply.data !== "" };
}

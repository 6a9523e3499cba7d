/**
 * The Kafka record of a forwarded posttroll message, in hop-client's format so hop consumers (and
 * `igwn-alert`-style tools) read it: the message bytes unchanged as the value (hop `blob`), keyed
 * by the subject, with hop's headers (`_id` = the message identity, `_sender` = the Kafka
 * username, `_format` = `blob`) after the bridge's own (`posttroll_subject`, `posttroll_type`,
 * `posttroll_origin`).
 *
 * @module
 */
import { RepeatedText } from "../_util/utf8.ts";
import type { HopHeader } from "../hop/models.ts";
import { messageIdentity } from "./identity.ts";

/** Header naming the posttroll subject. */
export const SUBJECT_HEADER = "posttroll_subject";
/** Header naming the posttroll message type. */
export const TYPE_HEADER = "posttroll_type";
/** Header naming the site whose bridge produced the record. */
export const ORIGIN_HEADER = "posttroll_origin";

/** A record ready for the producer. */
export interface BridgeRecord {
  /** The subject (UTF-8): records of one subject share a partition. */
  key: Uint8Array;
  /** The posttroll message bytes. */
  value: Uint8Array;
  /** Headers in order. */
  headers: Array<[string, Uint8Array]>;
  /** The message identity (also the `_id` header). */
  id: Uint8Array;
}

const enc = new TextEncoder();

/**
 * Header pairs of recurring texts (subjects, types, site names, the sender), by header: each is
 * encoded once and the same pair goes into every record that carries it (never modified).
 */
const pairs = new Map<string, Map<string, [string, Uint8Array]>>();

/** The shared `[name, UTF-8 bytes of text]` pair. */
function pair(name: string, text: string): [string, Uint8Array] {
  let byText = pairs.get(name);
  if (byText === undefined) pairs.set(name, byText = new Map());
  let p = byText.get(text);
  if (p === undefined) {
    p = [name, enc.encode(text)];
    if (byText.size >= 4096) byText.clear();
    byText.set(text, p);
  }
  return p;
}

/** Where {@linkcode recordHeaders} puts the `_id` pair. */
export const ID_HEADER_INDEX = 3;

/** hop's format header of a blob. */
const FORMAT_BLOB: [string, Uint8Array] = ["_format", enc.encode("blob")];

/**
 * Builds the record for one message: what hop's `pack` makes of the message bytes as a `Blob`
 * with the bridge's headers first, built without intermediate arrays (one array and one pair
 * per record beside the shared pairs: this runs for every forwarded message).
 *
 * @param raw the message bytes as received
 * @param subject its subject
 * @param type its type
 * @param origin the producing site's name
 * @param sender the Kafka username (hop's `_sender`), if authenticated
 * @param id the message identity @default messageIdentity(raw)
 * @returns key, value, headers and identity (the key, the header pairs other than `_id` and
 *   their values are shared between records of the same texts: do not modify them)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { buildRecord } from "./record.ts";
 * const raw = new TextEncoder().encode("pytroll://a/b info u@h 2020-01-01T00:00:00 v1.01");
 * const r = buildRecord(raw, "/a/b", "info", "site-a");
 * assertEquals(r.headers.map(([k]) => k), ["posttroll_subject", "posttroll_type", "posttroll_origin", "_id", "_format"]);
 * ```
 */
export function buildRecord(
  raw: Uint8Array,
  subject: string,
  type: string,
  origin: string,
  sender?: string,
  id: Uint8Array = messageIdentity(raw),
): BridgeRecord {
  const headers = recordHeaders(subject, type, origin, sender, id);
  return { key: headers[0][1], value: raw, headers, id };
}

/**
 * The headers of a forwarded message's record (see {@linkcode buildRecord}), built without
 * intermediate arrays: one array and the `_id` pair per record beside the shared pairs. The
 * first pair is the subject's, whose value is also the record's key.
 *
 * @param subject the message's subject
 * @param type its type
 * @param origin the producing site's name
 * @param sender the Kafka username (hop's `_sender`), if authenticated
 * @param id the message identity
 * @returns the header pairs (shared except `_id` and the array: do not modify them)
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { recordHeaders } from "./record.ts";
 * const h = recordHeaders("/a/b", "info", "site-a", undefined, new Uint8Array(16));
 * assertEquals(new TextDecoder().decode(h[0][1]), "/a/b"); // also the record's key
 * ```
 */
export function recordHeaders(
  subject: string,
  type: string,
  origin: string,
  sender: string | undefined,
  id: Uint8Array,
): Array<[string, Uint8Array]> {
  const s = pair(SUBJECT_HEADER, subject);
  const t = pair(TYPE_HEADER, type);
  const o = pair(ORIGIN_HEADER, origin);
  return sender === undefined
    ? [s, t, o, ["_id", id], FORMAT_BLOB]
    : [s, t, o, ["_id", id], pair("_sender", sender), FORMAT_BLOB];
}

/** Header texts (site names, types: the same few again and again). */
const headerTexts = new RepeatedText();

/** A consumed record's headers: pairs in order, or a mapping (repeated names as arrays). */
export type ConsumedHeaders = HopHeader[] | Record<string, unknown> | undefined;

/** The last value of a header (hop's rule for repeated names); text values are encoded. */
function lastHeader(headers: ConsumedHeaders, name: string): Uint8Array | undefined {
  let v: unknown;
  if (Array.isArray(headers)) {
    for (const [k, b] of headers) if (k === name) v = b;
  } else {
    v = headers?.[name];
    if (Array.isArray(v)) v = v[v.length - 1];
  }
  if (typeof v === "string") return enc.encode(v);
  return v instanceof Uint8Array ? v : undefined;
}

/**
 * The record's hop `_id` when it is a 16-byte id (the last, if repeated).
 *
 * @param headers the record's headers: pairs in order, or a mapping (repeated names as arrays)
 * @returns the id, or undefined
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { headerId } from "./record.ts";
 * assertEquals(headerId([["_id", new Uint8Array(16)]])?.length, 16);
 * ```
 */
export function headerId(headers: ConsumedHeaders): Uint8Array | undefined {
  const v = lastHeader(headers, "_id");
  return v && v.length === 16 ? v : undefined;
}

/**
 * Reads one header of a consumed record as text (the last, for repeated names, as in hop).
 *
 * @param headers the record's headers: pairs in order, or a mapping (repeated names as arrays)
 * @param name header name
 * @returns the text, or undefined
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { headerText } from "./record.ts";
 * assertEquals(headerText([["posttroll_origin", new TextEncoder().encode("a")]], "posttroll_origin"), "a");
 * ```
 */
export function headerText(headers: ConsumedHeaders, name: string): string | undefined {
  const v = lastHeader(headers, name);
  return v === undefined ? undefined : headerTexts.text(v);
}

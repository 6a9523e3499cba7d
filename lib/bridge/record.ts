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
import { Blob, type HopHeader, pack } from "../hop/models.ts";
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

/** Subjects, types and site names recur from message to message: each is encoded once. */
const texts = new Map<string, Uint8Array>();

/** The UTF-8 bytes of a recurring text (shared between records: never modified). */
function textBytes(s: string): Uint8Array {
  let b = texts.get(s);
  if (b === undefined) {
    b = enc.encode(s);
    if (texts.size >= 4096) texts.clear();
    texts.set(s, b);
  }
  return b;
}

/**
 * Builds the record for one message.
 *
 * @param raw the message bytes as received
 * @param subject its subject
 * @param type its type
 * @param origin the producing site's name
 * @param sender the Kafka username (hop's `_sender`), if authenticated
 * @param id the message identity @default messageIdentity(raw)
 * @returns key, value, headers and identity (the key and the subject, type and origin header
 *   values are shared between records of the same texts: do not modify them)
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
  const key = textBytes(subject);
  const { value, headers } = pack(new Blob(raw), {
    id,
    sender,
    headers: [
      [SUBJECT_HEADER, key],
      [TYPE_HEADER, textBytes(type)],
      [ORIGIN_HEADER, textBytes(origin)],
    ],
  });
  return { key, value, headers, id };
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

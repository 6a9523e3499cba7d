/**
 * hop-client's message models and its Kafka wire format (hop-client 0.13): what a hop producer puts
 * in a record's value and headers, and how a hop consumer turns a record back into a model.
 * Pure functions, no I/O.
 *
 * Producer headers, after any user headers, in hop's order: `_id` (16 raw bytes of a random UUID),
 * `_sender` (the username, only when authenticated), `_test` (`true`, only for test messages),
 * `_format` (the model's format name).
 *
 * @module
 */
import { parseJsonBytes, pyJsonBytes } from "./pyjson.ts";
import { type AvroContainer, readAvroContainer } from "./avro.ts";
import { utf8Text } from "../_util/utf8.ts";
import type { ByteMemory } from "../_util/byte_arena.ts";

export type { ByteMemory };

const enc = new TextEncoder();
const lenient = new TextDecoder();

/** A Kafka record header as hop writes it: a name and raw bytes. */
export type HopHeader = [name: string, value: Uint8Array];

/** What a model serialises to. */
export interface SerializedModel {
  /** hop's format name (the `_format` header). */
  format: string;
  /** The record value. */
  content: Uint8Array;
}

/** Common shape of every hop message model. */
export interface HopModel {
  /** hop's format name. */
  readonly format: string;
  /**
   * Encodes the model for the wire; a model may take the value's memory from `memory` (the
   * caller gives it back once the record was sent).
   */
  serialize(memory?: ByteMemory): SerializedModel;
}

/**
 * hop's `JSONBlob` (`_format: json`): any JSON value; the value is `json.dumps(content)`.
 * A string alert (what GraceDB and igwn-alert publish) is a JSONBlob whose content is the string.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { JSONBlob } from "./models.ts";
 * assertEquals(new TextDecoder().decode(new JSONBlob("hi").serialize().content), '"hi"');
 * ```
 */
export class JSONBlob implements HopModel {
  /** Always `"json"`. */
  readonly format = "json";
  /** The JSON value (a string for igwn-alert alerts). */
  readonly content: unknown;
  /**
   * Wraps a JSON value.
   *
   * @param content any JSON value
   */
  constructor(content: unknown) {
    this.content = content;
  }
  /**
   * Encodes the model for the wire.
   *
   * @param memory where a string's bytes are taken from (see {@linkcode PackOptions.memory})
   * @returns `json.dumps(content)` as UTF-8
   */
  serialize(memory?: ByteMemory): SerializedModel {
    return { format: this.format, content: pyJsonBytes(this.content, memory) };
  }
}

/**
 * A model whose record value is its raw bytes, kept as received (VOEvent, GCNTextNotice, AvroBlob):
 * `serialize()` writes them unchanged.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RawModel, VOEvent } from "./models.ts";
 * const m: RawModel = new VOEvent("<x/>");
 * assertEquals(m.serialize().content, new TextEncoder().encode("<x/>"));
 * ```
 */
export abstract class RawModel implements HopModel {
  /** hop's format name. */
  abstract readonly format: string;
  /** The record value. */
  readonly raw: Uint8Array;
  /**
   * Keeps the bytes (UTF-8 encoded when given as text).
   *
   * @param raw the record value
   */
  constructor(raw: Uint8Array | string) {
    this.raw = typeof raw === "string" ? enc.encode(raw) : raw;
  }
  /**
   * Encodes the model for the wire.
   *
   * @returns the bytes unchanged
   */
  serialize(): SerializedModel {
    return { format: this.format, content: this.raw };
  }
}

/**
 * hop's `Blob` (`_format: blob`): opaque bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Blob } from "./models.ts";
 * assertEquals(new Blob(new Uint8Array([1, 2])).serialize().format, "blob");
 * ```
 */
export class Blob implements HopModel {
  /** Always `"blob"`. */
  readonly format = "blob";
  /** The bytes. */
  readonly content: Uint8Array;
  /**
   * Wraps opaque bytes.
   *
   * @param content the bytes
   */
  constructor(content: Uint8Array) {
    this.content = content;
  }
  /**
   * Encodes the model for the wire.
   *
   * @returns the bytes unchanged
   */
  serialize(): SerializedModel {
    return { format: this.format, content: this.content };
  }
}

/**
 * hop's `VOEvent` (`_format: voevent`): the original XML document (not parsed here).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { VOEvent } from "./models.ts";
 * assertEquals(new VOEvent("<voe:VOEvent/>").xml, "<voe:VOEvent/>");
 * ```
 */
export class VOEvent extends RawModel {
  /** Always `"voevent"`. */
  readonly format = "voevent";
  /** Fields of a legacy JSON-encoded VOEvent (hop < 0.6), when the record was one. */
  readonly fields?: Record<string, unknown>;
  /**
   * Wraps a VOEvent XML document (UTF-8 encoded when given as text).
   *
   * @param raw the XML document
   * @param fields legacy JSON fields
   */
  constructor(raw: Uint8Array | string, fields?: Record<string, unknown>) {
    super(raw);
    this.fields = fields;
  }
  /** The XML as text. @returns the decoded document */
  get xml(): string {
    return new TextDecoder().decode(this.raw);
  }
}

/**
 * hop's `GCNCircular` (`_format: circular`): JSON `{"header": {...}, "body": "..."}`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GCNCircular } from "./models.ts";
 * assertEquals(new GCNCircular({ title: "T" }, "text").serialize().format, "circular");
 * ```
 */
export class GCNCircular implements HopModel {
  /** Always `"circular"`. */
  readonly format = "circular";
  /** Header fields (lower-case names). */
  readonly header: Record<string, string>;
  /** The circular's text. */
  readonly body: string;
  /**
   * Creates a circular from its header fields and text.
   *
   * @param header header fields
   * @param body text
   */
  constructor(header: Record<string, string>, body: string) {
    this.header = header;
    this.body = body;
  }
  /**
   * Encodes the model for the wire.
   *
   * @returns `json.dumps({"header": ..., "body": ...})`
   */
  serialize(): SerializedModel {
    return {
      format: this.format,
      content: pyJsonBytes({ header: this.header, body: this.body }),
    };
  }
}

/**
 * hop's `GCNTextNotice` (`_format: gcntextnotice`): plain text with `KEY: value` lines.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GCNTextNotice } from "./models.ts";
 * assertEquals(new GCNTextNotice("TITLE: GCN\nTRIGGER_NUM: 7").fields["trigger_num"], "7");
 * ```
 */
export class GCNTextNotice extends RawModel {
  /** Always `"gcntextnotice"`. */
  readonly format = "gcntextnotice";
  /** Parsed fields, keys lower-cased, continuation lines joined with `\n` (as hop does). */
  readonly fields: Record<string, string>;
  /**
   * Parses a text notice's `KEY: value` lines into lower-cased fields.
   *
   * @param raw the notice text
   */
  constructor(raw: Uint8Array | string) {
    super(raw);
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const line of new TextDecoder().decode(this.raw).trim().split(/\r\n|\r|\n/)) {
      const m = /^([^:]*): *(.*)/.exec(line);
      if (!m) {
        if (last !== undefined) fields[last] += "\n" + line.trimStart();
        continue;
      }
      last = m[1].trim().toLowerCase();
      const value = m[2].trim();
      fields[last] = last in fields ? fields[last] + "\n" + value : value;
    }
    this.fields = fields;
  }
}

/**
 * hop's `AvroBlob` (`_format: avro`): an Avro object container file (raw bytes; `read()` decodes
 * it).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AvroBlob } from "./models.ts";
 * assertEquals(new AvroBlob(new Uint8Array([0x4f, 0x62, 0x6a, 1])).format, "avro");
 * ```
 */
export class AvroBlob extends RawModel {
  /** Always `"avro"`. */
  readonly format = "avro";
  /**
   * Wraps an Avro object container file without decoding it.
   *
   * @param raw the Avro object container file
   */
  constructor(raw: Uint8Array) {
    super(raw);
  }
  /**
   * Decodes the container: writer schema and records (hop's `content` is `records[0]` for a
   * single-record message).
   *
   * @returns schema, codec and records
   * @throws HopFormatError when the bytes are not a readable Avro container
   */
  read(): AvroContainer {
    return readAvroContainer(this.raw);
  }
}

/**
 * hop's `ExternalMessage` (`_format: external`): JSON `{"url": ...}` for offloaded messages.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ExternalMessage } from "./models.ts";
 * assertEquals(new ExternalMessage("https://x/msg/1").url, "https://x/msg/1");
 * ```
 */
export class ExternalMessage implements HopModel {
  /** Always `"external"`. */
  readonly format = "external";
  /** Where the real message is stored. */
  readonly url: string;
  /**
   * Creates a reference to a message stored elsewhere.
   *
   * @param url the offload URL
   */
  constructor(url: string) {
    this.url = url;
  }
  /**
   * Encodes the model for the wire.
   *
   * @returns `json.dumps({"url": url})`
   */
  serialize(): SerializedModel {
    return { format: this.format, content: pyJsonBytes({ url: this.url }) };
  }
}

/** Every model the wire format knows. */
export type AnyHopModel =
  | JSONBlob
  | Blob
  | VOEvent
  | GCNCircular
  | GCNTextNotice
  | AvroBlob
  | ExternalMessage;

/**
 * The format names hop knows (lower case, as in `_format`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { KNOWN_FORMATS } from "./models.ts";
 * assert(KNOWN_FORMATS.includes("json"));
 * ```
 */
export const KNOWN_FORMATS: readonly string[] = [
  "voevent",
  "gcntextnotice",
  "circular",
  "blob",
  "json",
  "avro",
  "external",
];

/** Options of {@linkcode pack}. */
export interface PackOptions {
  /** User headers, written first (a mapping or a list of pairs). */
  headers?: Record<string, string | Uint8Array> | Array<[string, string | Uint8Array]>;
  /** Mark as a test message (`_test: true`). @default false */
  test?: boolean;
  /** Username of the authenticated sender (`_sender`); none when unauthenticated. */
  sender?: string;
  /** The 16-byte message id; a random UUID v4 when absent. */
  id?: Uint8Array;
  /**
   * Memory for the value (a string alert's JSON text is written into a piece of it): give
   * `value` back to it once the record was sent. @default a new array
   */
  memory?: ByteMemory;
}

/** A packed hop record: the Kafka value and headers. */
export interface PackedMessage {
  /** Record value. */
  value: Uint8Array;
  /** Record headers in hop's order. */
  headers: HopHeader[];
}

/**
 * Random bytes for ids, drawn 4 KiB at a time; each id is a view into it (no ArrayBuffer per id:
 * a publisher holds an id per alert until it is acknowledged), and a used pool is never refilled.
 */
let idPool = new Uint8Array(0);
let idPoolAt = 0;

/** A random (version 4) UUID's 16 bytes, as Python's `uuid.uuid4().bytes`. */
function uuid4Bytes(): Uint8Array {
  if (idPoolAt === idPool.length) {
    idPool = crypto.getRandomValues(new Uint8Array(4096));
    idPoolAt = 0;
  }
  const out = idPool.subarray(idPoolAt, idPoolAt + 16);
  idPoolAt += 16;
  out[6] = (out[6] & 0x0f) | 0x40;
  out[8] = (out[8] & 0x3f) | 0x80;
  return out;
}

/** Header values that recur (format names, `true`, a sender's name), encoded once. */
const headerBytes = new Map<string, Uint8Array>();

/** The UTF-8 bytes of a recurring header value (shared: never modify them). */
function headerValue(s: string): Uint8Array {
  let b = headerBytes.get(s);
  if (b === undefined) {
    b = enc.encode(s);
    if (headerBytes.size < 64) headerBytes.set(s, b);
  }
  return b;
}

function isModel(m: unknown): m is HopModel {
  return typeof m === "object" && m !== null &&
    typeof (m as HopModel).serialize === "function" && typeof (m as HopModel).format === "string";
}

/**
 * Packs a message like hop's `Producer.pack`: a model serialises itself; any other JSON value is
 * sent as a JSONBlob; raw bytes as a Blob.
 *
 * @param message a model, a JSON value (a string alert stays a string), or bytes
 * @param options headers, test flag, sender
 * @returns the record value and headers
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pack } from "./models.ts";
 * const { value, headers } = pack('{"uid": "S1"}', { sender: "alice" });
 * assertEquals(headers.map(([k]) => k), ["_id", "_sender", "_format"]);
 * assertEquals(new TextDecoder().decode(value), '"{\\"uid\\": \\"S1\\"}"');
 * ```
 */
export function pack(message: unknown, options: PackOptions = {}): PackedMessage {
  const headers: HopHeader[] = [];
  const user = options.headers;
  if (user) {
    const pairs = Array.isArray(user) ? user : Object.entries(user);
    for (const [k, v] of pairs) headers.push([k, typeof v === "string" ? enc.encode(v) : v]);
  }
  headers.push(["_id", options.id ?? uuid4Bytes()]);
  if (options.sender !== undefined) headers.push(["_sender", headerValue(options.sender)]);
  if (options.test) headers.push(["_test", headerValue("true")]);
  let model: HopModel;
  if (isModel(message)) model = message;
  else if (message instanceof Uint8Array) model = new Blob(message);
  else model = new JSONBlob(message);
  const s = model.serialize(options.memory);
  headers.push(["_format", headerValue(s.format)]);
  return { value: s.content, headers };
}

/** A record as the consumer sees it: value and headers (pairs in order, or a mapping). */
export interface RawRecord {
  /** Record value (null for a tombstone). */
  value: Uint8Array | null;
  /** Headers as a list of pairs, or a mapping (repeated names as arrays). */
  headers?:
    | HopHeader[]
    | Record<string, Uint8Array | string | Array<Uint8Array | string> | undefined>;
}

/** A warning produced while decoding (hop logs these). */
export type DecodeWarning = (message: string) => void;

/**
 * Normalises record headers into a list of `[name, bytes]` pairs.
 *
 * @param headers list of pairs or a mapping
 * @returns the pairs in order
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { headerList } from "./models.ts";
 * assertEquals(headerList({ _format: "json" })[0][0], "_format");
 * ```
 */
export function headerList(headers: RawRecord["headers"]): HopHeader[] {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers;
  const out: HopHeader[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      out.push([k, typeof one === "string" ? enc.encode(one) : one]);
    }
  }
  return out;
}

/**
 * True when the record carries a `_test` header (hop's `Consumer.is_test`); listeners skip these.
 *
 * @param record the record
 * @returns whether it is a test message
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isTest, pack } from "./models.ts";
 * assert(isTest(pack("x", { test: true })));
 * ```
 */
export function isTest(record: RawRecord): boolean {
  return headerList(record.headers).some(([k]) => k === "_test");
}

function fromFormat(
  data: Uint8Array,
  format: string,
  warn: DecodeWarning,
): AnyHopModel {
  const name = format.toUpperCase();
  switch (name) {
    case "JSON":
      return new JSONBlob(parseJsonBytes(data));
    case "BLOB":
      return new Blob(data);
    case "VOEVENT":
      return new VOEvent(data);
    case "GCNTEXTNOTICE":
      return new GCNTextNotice(data);
    case "AVRO":
      return new AvroBlob(data);
    case "CIRCULAR": {
      const o = JSON.parse(utf8Text(data));
      return new GCNCircular(o.header, o.body);
    }
    case "EXTERNAL":
      return new ExternalMessage(JSON.parse(utf8Text(data)).url);
  }
  warn(`Message format ${name} not recognized; returning a Blob`);
  return new Blob(data);
}

function fromLegacy(content: unknown, format: string, warn: DecodeWarning): AnyHopModel {
  const name = format.toUpperCase();
  const c = (content ?? {}) as Record<string, unknown>;
  switch (name) {
    case "JSON":
      return new JSONBlob(c.content);
    case "BLOB":
      return new Blob(c.content as Uint8Array);
    case "CIRCULAR":
      return new GCNCircular(c.header as Record<string, string>, c.body as string);
    case "EXTERNAL":
      return new ExternalMessage(c.url as string);
    case "VOEVENT":
      return new VOEvent(new Uint8Array(), c);
    case "GCNTEXTNOTICE":
      return new GCNTextNotice(String(c.raw ?? ""));
    case "AVRO":
      return new AvroBlob(new Uint8Array());
  }
  warn(`Message format ${name} not recognized; returning a Blob`);
  return new Blob(pyJsonBytes(content));
}

/**
 * Decodes a record like hop's `Deserializer.deserialize`:
 * - a `_format` header selects the model (case-insensitive); an unknown name gives a warning and
 *   a Blob of the raw bytes;
 * - without a `_format` header (hop < 0.6): UTF-8 JSON; a mapping with `format` and `content` is
 *   the legacy wrapper (`"blob"` was the old label for JSON); other valid JSON is a JSONBlob;
 *   anything else is a Blob of the raw bytes.
 *
 * Where hop would raise (a `_format: json` record that is not JSON), this warns and returns a Blob.
 *
 * @param record the Kafka record
 * @param warn receives hop's warnings
 * @returns the model
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { JSONBlob, pack, unpack } from "./models.ts";
 * const m = unpack(pack('{"uid": "S1"}'));
 * assertEquals(m instanceof JSONBlob && m.content, '{"uid": "S1"}');
 * ```
 */
export function unpack(record: RawRecord, warn: DecodeWarning = () => {}): AnyHopModel {
  const value = record.value ?? new Uint8Array();
  const fmt = headerList(record.headers).find(([k]) => k === "_format");
  if (fmt) {
    const format = utf8Text(fmt[1]);
    try {
      return fromFormat(value, format, warn);
    } catch (e) {
      warn(
        `Message labelled ${format} could not be decoded (${(e as Error).message}); ` +
          "returning a Blob",
      );
      return new Blob(value);
    }
  }
  let old: unknown;
  try {
    old = parseJsonBytes(value);
  } catch {
    return new Blob(value);
  }
  if (
    typeof old === "object" && old !== null && !Array.isArray(old) && "format" in old &&
    "content" in old
  ) {
    const o = old as { format: unknown; content: unknown };
    if (o.format === "blob") return new JSONBlob(o.content);
    return fromLegacy(o.content, String(o.format), warn);
  }
  return new JSONBlob(old);
}

/** hop's per-record metadata headers, decoded. */
export interface HopHeaderInfo {
  /** `_id` as a UUID string, when present and 16 bytes long. */
  id?: string;
  /** `_sender`, when present. */
  sender?: string;
  /** Whether `_test` is present. */
  test: boolean;
  /** `_format`, when present. */
  format?: string;
}

/**
 * Reads hop's own headers (`_id`, `_sender`, `_test`, `_format`) from a record.
 *
 * @param record the record
 * @returns the decoded header values
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { hopHeaders, pack } from "./models.ts";
 * assertEquals(hopHeaders(pack("x", { sender: "bob" })).sender, "bob");
 * ```
 */
export function hopHeaders(record: RawRecord): HopHeaderInfo {
  const info: HopHeaderInfo = { test: false };
  for (const [k, v] of headerList(record.headers)) {
    if (k === "_id" && v.length === 16) info.id = uuidText(v);
    else if (k === "_sender") info.sender = lenient.decode(v);
    else if (k === "_test") info.test = true;
    else if (k === "_format") info.format = lenient.decode(v);
  }
  return info;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** 16 bytes as a UUID's text (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`). */
function uuidText(v: Uint8Array): string {
  const h = (from: number, to: number) => {
    let s = "";
    for (let i = from; i < to; i++) s += HEX[v[i]];
    return s;
  };
  return `${h(0, 4)}-${h(4, 6)}-${h(6, 8)}-${h(8, 10)}-${h(10, 16)}`;
}

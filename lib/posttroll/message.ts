/**
 * PostTroll message codec, byte-compatible with Python posttroll 1.16 `posttroll.message` in both
 * directions. Pure protocol logic: no I/O.
 *
 * Wire format: `pytroll:/<subject> <type> <sender> <time> <version>[ <mime type> <data>]`.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { Message, PyDateTime } from "./message.ts";
 * const msg = new Message("/oper/polar/direct_readout", "file", {
 *   uri: "/data/hrpt.l1b",
 *   start_time: PyDateTime.fromisoformat("2026-06-22T12:00:00+00:00"),
 * });
 * const raw = msg.encode(); // "pytroll://oper/polar/direct_readout file user@host … v1.2 application/json {…}"
 * assert(raw.startsWith("pytroll://oper/polar/direct_readout file "));
 * const back = Message.decode(raw);
 * assertEquals([back.subject, back.version], ["/oper/polar/direct_readout", "v1.2"]);
 * ```
 *
 * @module
 */
import { hostname, userInfo } from "node:os";
import {
  applyDatetimeDecoder,
  isoformatOf,
  isoformatWallOf,
  pyDumpsInfo,
  PyFloat,
  pyLoadsAt,
} from "./pyjson.ts";
import { PyDateTime, tryFromisoformatAt } from "./pytime.ts";

export { PyDateTime } from "./pytime.ts";
import { MessageError } from "./errors.ts";
export { MessageError, PosttrollError } from "./errors.ts";
export {
  PY_KEY_ORDER,
  pyDict,
  pyDumps,
  type PyDumpsOptions,
  PyFloat,
  pyFloatRepr,
  PyJsonError,
  pyJsonString,
  pyKeys,
  pyLoads,
  type PyLoadsOptions,
  type PyLoadsTuning,
} from "./pyjson.ts";

/**
 * The prefix of every PostTroll message (posttroll's `_MAGICK`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAGICK, Message } from "./message.ts";
 * assert(new Message("/a", "info").encode().startsWith(MAGICK));
 * ```
 */
export const MAGICK = "pytroll:/";

/**
 * Newest message version this codec reads and writes (posttroll's `CURRENT_MESSAGE_VERSION`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { CURRENT_MESSAGE_VERSION, Message } from "./message.ts";
 * const msg = new Message("/a", "info", null, { version: CURRENT_MESSAGE_VERSION });
 * assertEquals(Message.decode(msg.encode()).version, "v1.2");
 * ```
 */
export const CURRENT_MESSAGE_VERSION = "v1.2";

/** Codec-wide defaults, set by the configuration layer (see {@linkcode setCodecDefaults}). */
export interface CodecDefaults {
  /**
   * Version written when a message has no explicit version (posttroll's `message_version`
   * setting, `POSTTROLL_MESSAGE_VERSION`). Empty/`null` means automatic (v1.2 when the data holds
   * a datetime, else v1.01).
   * @default null
   */
  messageVersion?: string | null;
  /**
   * Sender written by new messages. Absent means `<login>@<hostname>` like posttroll (looked up
   * once, on first use).
   */
  sender?: string;
}

let codecDefaults: CodecDefaults = {};
let cachedSender: string | undefined;

/**
 * Sets codec-wide defaults (merged into the current ones; `undefined` fields are left unchanged,
 * `null` clears `messageVersion`). The codec never reads the environment itself: the
 * configuration module passes `POSTTROLL_MESSAGE_VERSION` in here.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Message, setCodecDefaults } from "./message.ts";
 * setCodecDefaults({ messageVersion: "v1.01" });
 * assertEquals(new Message("/a", "info", { x: 1 }).encode().split(" ")[4], "v1.01");
 * setCodecDefaults({ messageVersion: null });
 * ```
 */
export function setCodecDefaults(defaults: CodecDefaults): void {
  const next = { ...codecDefaults };
  if (defaults.messageVersion !== undefined) next.messageVersion = defaults.messageVersion;
  if (defaults.sender !== undefined) next.sender = defaults.sender;
  codecDefaults = next;
}

/**
 * The current codec-wide defaults.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getCodecDefaults, setCodecDefaults } from "./message.ts";
 * setCodecDefaults({ messageVersion: "v1.01" });
 * assertEquals(getCodecDefaults().messageVersion, "v1.01");
 * setCodecDefaults({ messageVersion: null }); // back to automatic
 * assertEquals(getCodecDefaults().messageVersion, null);
 * ```
 */
export function getCodecDefaults(): Readonly<CodecDefaults> {
  return codecDefaults;
}

/**
 * The default sender, `<login>@<hostname>` (posttroll's `_getsender`), computed once; the
 * {@linkcode CodecDefaults.sender} override wins.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { defaultSender } from "./message.ts";
 * assertEquals(defaultSender().includes("@"), true);
 * ```
 */
export function defaultSender(): string {
  if (codecDefaults.sender) return codecDefaults.sender;
  if (cachedSender === undefined) {
    let user = "unknown";
    let host = "localhost";
    try {
      user = userInfo().username || user;
    } catch { /* no permission or no passwd entry */ }
    try {
      host = hostname() || host;
    } catch { /* no permission */ }
    cachedSender = `${user}@${host}`;
  }
  return cachedSender;
}

/**
 * Python's code-point string comparison `a <= b` (posttroll compares versions this way).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { versionLessOrEqual } from "./message.ts";
 * assertEquals([versionLessOrEqual("v1.10", "v1.2"), versionLessOrEqual("v1.3", "v1.2")], [true, false]);
 * ```
 */
export function versionLessOrEqual(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y;
    if (x > 0xffff) i++;
  }
  return a.length <= b.length;
}

function nonEmptyString(obj: unknown): boolean {
  return typeof obj === "string" && obj.length > 0;
}

/**
 * posttroll `is_valid_subject`: a non-empty string.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isValidSubject } from "./message.ts";
 * assertEquals([isValidSubject("/a"), isValidSubject("")], [true, false]);
 * ```
 */
export function isValidSubject(obj: unknown): boolean {
  return nonEmptyString(obj);
}

/**
 * posttroll `is_valid_type`: a non-empty string.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isValidType } from "./message.ts";
 * assertEquals(isValidType("info"), true);
 * ```
 */
export function isValidType(obj: unknown): boolean {
  return nonEmptyString(obj);
}

/**
 * posttroll `is_valid_sender`: a non-empty string.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isValidSender } from "./message.ts";
 * assertEquals(isValidSender("user@host"), true);
 * ```
 */
export function isValidSender(obj: unknown): boolean {
  return nonEmptyString(obj);
}

/**
 * Python truthiness of a data value (`""`, `0`, `false`, `null`, `[]`, `{}`, empty `Map`,
 * `PyFloat(0)` are false; NaN is true as in Python).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyTruthy } from "./message.ts";
 * assertEquals([pyTruthy({}), pyTruthy(NaN), pyTruthy([0])], [false, true, true]);
 * ```
 */
export function pyTruthy(v: unknown): boolean {
  switch (typeof v) {
    case "string":
      return v.length > 0;
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "boolean":
      return v;
    case "undefined":
      return false;
    case "object": {
      if (v === null) return false;
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof PyFloat) return v.value !== 0;
      if (v instanceof Map || v instanceof Set) return v.size > 0;
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        for (const k in v) if (Object.hasOwn(v, k)) return true;
        return false;
      }
      return true;
    }
    default:
      return true;
  }
}

function containsDatetime(data: unknown, depth = 0): boolean {
  if (data === null || typeof data !== "object" || depth > 1500) return false;
  if (data instanceof PyDateTime || data instanceof Date) return true;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) if (containsDatetime(data[i], depth + 1)) return true;
    return false;
  }
  if (data instanceof Map) {
    for (const v of data.values()) if (containsDatetime(v, depth + 1)) return true;
    return false;
  }
  const proto = Object.getPrototypeOf(data);
  if (proto === Object.prototype || proto === null) {
    const o = data as Record<string, unknown>;
    for (const k of Object.keys(o)) if (containsDatetime(o[k], depth + 1)) return true;
  }
  return false;
}

/**
 * posttroll `version_needed`: `v1.01` for binary data, `v1.2` when the data holds a datetime at
 * any depth, else `v1.01`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PyDateTime, versionNeeded } from "./message.ts";
 * assertEquals(versionNeeded({ t: [PyDateTime.now()] }, false), "v1.2");
 * ```
 */
export function versionNeeded(data: unknown, binary: boolean): string {
  if (binary) return "v1.01";
  return containsDatetime(data) ? CURRENT_MESSAGE_VERSION : "v1.01";
}

/**
 * posttroll `render_version`: the explicit version, else the configured default, else
 * {@linkcode versionNeeded}. (Empty strings count as absent, as in Python.)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { renderVersion } from "./message.ts";
 * assertEquals(renderVersion(undefined, "text", false), "v1.01");
 * ```
 */
export function renderVersion(
  version: string | null | undefined,
  data: unknown,
  binary: boolean,
): string {
  return version || codecDefaults.messageVersion || versionNeeded(data, binary);
}

function dtFormatterFor(version: string): (dt: PyDateTime) => string {
  return versionLessOrEqual(version, "v1.01") ? isoNoOffset : isoFull;
}

const isoFull = isoformatOf;
const isoNoOffset = isoformatWallOf;

/**
 * posttroll `datetime_encoder` with the version rule applied: the isoformat of a datetime, with
 * its offset dropped under versions `<= "v1.01"`.
 * @throws {MessageError} when `obj` is not a datetime ("... is not JSON serializable")
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { datetimeEncoder, PyDateTime } from "./message.ts";
 * const t = PyDateTime.fromisoformat("2020-01-01T00:00:00+00:00");
 * assertEquals(datetimeEncoder(t), "2020-01-01T00:00:00+00:00");
 * assertEquals(datetimeEncoder(t, "v1.01"), "2020-01-01T00:00:00");
 * ```
 */
export function datetimeEncoder(obj: unknown, version: string = CURRENT_MESSAGE_VERSION): string {
  const f = dtFormatterFor(version);
  if (obj instanceof PyDateTime) return f(obj);
  if (obj instanceof Date) return f(PyDateTime.fromDate(obj));
  throw new MessageError(`${String(obj)} is not JSON serializable`);
}

/**
 * posttroll `datetime_decoder`: converts in place every string inside a decoded dict or list
 * (recursively) that `datetime.fromisoformat` accepts into a {@linkcode PyDateTime}.
 *
 * @example
 * ```ts
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 * import { datetimeDecoder, PyDateTime } from "./message.ts";
 * const d: Record<string, unknown> = datetimeDecoder({
 *   start_time: "2008-04-11T22:13:22.123000",
 *   orbit: "12",
 * });
 * assertInstanceOf(d.start_time, PyDateTime);
 * assertEquals(d.orbit, "12");
 * ```
 */
// deno-lint-ignore no-explicit-any
export function datetimeDecoder<T extends Record<string, any> | unknown[]>(container: T): T {
  return applyDatetimeDecoder(container);
}

/**
 * Parses an ISO 8601 time the way posttroll does (`datetime.fromisoformat`). Older posttroll
 * releases named this `strp_isoformat`; 1.16 uses `fromisoformat` directly.
 * @throws {RangeError} `Invalid isoformat string: '...'`
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { strpIsoformat } from "./message.ts";
 * assertEquals(strpIsoformat("2020-01-01T12:00:00Z").isoformat(), "2020-01-01T12:00:00+00:00");
 * ```
 */
export function strpIsoformat(s: string): PyDateTime {
  return PyDateTime.fromisoformat(s);
}

function describe(data: unknown): string {
  try {
    if (typeof data === "string") return data;
    const s = String(data);
    return s.length > 200 ? s.slice(0, 200) + "…" : s;
  } catch {
    return Object.prototype.toString.call(data);
  }
}

/** What follows the header of an encoded message, and the version the header must name. */
interface EncodedData {
  /** `" <mime type> "`. */
  mime: string;
  /** The payload: the data's text. */
  payload: string;
  /** The version: the explicit one, else the one the data needs. */
  version: string;
}

/** `" <mime type> "` and the payload of `data` (what follows the header) and its version. */
function encodeData(data: unknown, binary: boolean, version: string | undefined): EncodedData {
  if (binary) {
    if (typeof data !== "string") {
      throw new MessageError("Message binary data should be a string");
    }
    return { mime: " binary/octet-stream ", payload: data, version: version || "v1.01" };
  }
  if (typeof data === "string") {
    return { mime: " text/ascii ", payload: data, version: version || "v1.01" };
  }
  try {
    if (version) {
      const r = pyDumpsInfo(data, { datetime: dtFormatterFor(version) });
      return { mime: " application/json ", payload: r.text, version };
    }
    // automatic version in one pass: datetimes are written in full (v1.2) form, and the version is
    // v1.2 exactly when one was written
    const r = pyDumpsInfo(data, { datetime: isoFull });
    return {
      mime: " application/json ",
      payload: r.text,
      version: r.sawDatetime ? CURRENT_MESSAGE_VERSION : "v1.01",
    };
  } catch (e) {
    throw new MessageError(
      `Invalid data: data is not JSON serializable: ${describe(data)}`,
      { cause: e },
    );
  }
}

/**
 * True when `data` certainly encodes (strings, numbers, booleans, null, naive datetimes, arrays and
 * plain objects of those, not too deep): the constructor then skips the trial encoding. False
 * means "not sure": the full encoder decides (and gives the exact error).
 */
function surelyEncodable(data: unknown, binary: boolean): boolean {
  if (binary || typeof data === "string") return typeof data === "string";
  // plainJson's for-in takes every enumerable key, inherited ones too: with Object.prototype
  // polluted it cannot tell them apart (without an own-key check per key): not sure then
  for (const _ in Object.prototype) return false;
  try {
    return plainJson(data, 0);
  } catch {
    return false; // stack overflow: let the encoder report it
  }
}

function plainJson(v: unknown, depth: number): boolean {
  return typeof v === "object" ? v === null || plainObject(v, depth) : plainScalar(v);
}

/** True for a string, number or boolean. */
function plainScalar(x: unknown): boolean {
  const t = typeof x;
  return t === "string" || t === "number" || t === "boolean";
}

/**
 * {@linkcode plainJson} of an object other than null; items that are not objects are checked in
 * place (no call per item: ~70 instead of ~140 ns for the file event's 20 fields).
 */
function plainObject(v: object, depth: number): boolean {
  if (depth >= 64) return false;
  if (v instanceof PyDateTime) return v.offsetMicroseconds === null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === "object" ? x !== null && !plainObject(x, depth + 1) : !plainScalar(x)) {
        return false;
      }
    }
    return true;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  // (Object.prototype has no enumerable keys: surelyEncodable checked)
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (
      typeof x === "object"
        ? x !== null && !plainObject(x, depth + 1)
        : x !== undefined && !plainScalar(x)
    ) return false;
  }
  return true;
}

// `pytroll:/<subject> <type> <sender> ` of the last encoded message (a publisher sends the same
// subject, type and sender again and again)
let lastSubject = "";
let lastType = "";
let lastSender = "";
let lastPrefix = "";

function headPrefix(subject: string, type: string, sender: string): string {
  if (subject !== lastSubject || type !== lastType || sender !== lastSender) {
    lastSubject = subject;
    lastType = type;
    lastSender = sender;
    lastPrefix = MAGICK + subject + " " + type + " " + sender + " ";
    lastPrefix.charCodeAt(0); // flattened once, not at every send
  }
  return lastPrefix;
}

/** Options for a new {@linkcode Message}. */
export interface MessageOptions {
  /** Send `data` (a string) as `binary/octet-stream`. @default false */
  binary?: boolean;
  /**
   * Message version to write. @default the configured version, else automatic (v1.2 when the
   * data holds a datetime, else v1.01; binary: v1.01)
   */
  version?: string;
  /** Header time. @default PyDateTime.now() (aware, UTC) */
  time?: PyDateTime;
  /** Sender `user@host`. @default defaultSender() */
  sender?: string;
}

/**
 * posttroll `is_valid_data`: whether `data` can be encoded (JSON-serializable, or a string when
 * binary).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isValidData } from "./message.ts";
 * assertEquals([isValidData({ a: 1 }), isValidData({ f: () => 1 })], [true, false]);
 * ```
 */
export function isValidData(
  data: unknown,
  options: { version?: string; binary?: boolean } = {},
): boolean {
  if (!pyTruthy(data)) return true;
  const binary = options.binary ?? false;
  try {
    encodeData(data, binary, options.version || codecDefaults.messageVersion || undefined);
    return true;
  } catch {
    return false;
  }
}

// set by Message.decode so the constructor skips defaults and validation it does itself
let trusted = false;
// field boundaries of the message being decoded (start, end pairs)
const decodeBounds: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** Field `k` of the message being decoded (see `decodeBounds`). */
function fieldOf(s: string, k: number): string {
  return s.slice(decodeBounds[2 * k], decodeBounds[2 * k + 1]);
}

/** Whitespace of Python's `\s` other than the space: the one definition (isWs uses it too). */
// deno-lint-ignore no-control-regex
const OTHER_WS = /[\t-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Whether UTF-16 unit `c` is whitespace of Python's `\s` (what posttroll's header split uses). */
function isWs(c: number): boolean {
  return c === 32 || ((c < 32 || c > 0x84) && OTHER_WS.test(String.fromCharCode(c)));
}

/**
 * The common case of the header split: seven fields separated by single spaces, none holding
 * other whitespace. Fills `decodeBounds` and returns 7, or returns 0 (the exact split decides).
 */
function splitAtSpaces(s: string): number {
  const bounds = decodeBounds;
  let i = MAGICK.length;
  for (let k = 0; k < 12; k += 2) {
    const sp = s.indexOf(" ", i);
    if (sp < 0) return 0;
    bounds[k] = i;
    bounds[k + 1] = sp;
    i = sp + 1;
    // a run of whitespace, the end, or a character from U+0085 on: the exact split
    const c = s.charCodeAt(i);
    if (!(c > 32 && c < 0x85)) return 0;
  }
  if (OTHER_WS.test(s.slice(MAGICK.length, i))) return 0;
  bounds[12] = i;
  bounds[13] = s.length;
  return 7;
}

/** First `n` code points of `s` (Python `s[:n]`). */
function cpHead(s: string, n: number): string {
  let i = 0;
  let k = 0;
  while (i < s.length && k < n) {
    const c = s.charCodeAt(i);
    const d = c >= 0xd800 && c <= 0xdbff ? s.charCodeAt(i + 1) : 0;
    i += d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
    k++;
  }
  return s.slice(0, i);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Loose = new TextDecoder("utf-8", { ignoreBOM: true });

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + 8192) as unknown as number[],
    );
  }
  return out;
}

/**
 * Decodes raw message bytes like posttroll: UTF-8, or ISO-8859-1 when that fails.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeRaw } from "./message.ts";
 * assertEquals(decodeRaw(new Uint8Array([0x70, 0xf6])), "pö"); // not UTF-8: ISO-8859-1
 * ```
 */
export function decodeRaw(bytes: Uint8Array): string {
  // the replacing decoder is several times faster than the fatal one; only text that holds
  // U+FFFD (invalid UTF-8, or a real U+FFFD) needs the strict decision
  const s = utf8Loose.decode(bytes);
  if (s.indexOf("\uFFFD") < 0) return s;
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/**
 * A PostTroll message (posttroll's `Message`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Message, PyDateTime } from "./message.ts";
 * const m = new Message("/test/whatup/doc", "info", "not much to say", {
 *   sender: "ras@hawaii",
 *   time: PyDateTime.fromisoformat("2008-04-11T22:13:22.123000+00:00"),
 * });
 * assertEquals(
 *   m.encode(),
 *   "pytroll://test/whatup/doc info ras@hawaii 2008-04-11T22:13:22.123000 v1.01 text/ascii not much to say",
 * );
 * assertEquals(Message.decode(m.encode()).data, "not much to say");
 * ```
 */
export class Message {
  /** Subject, e.g. `/oper/polar/direct_readout`. */
  subject: string;
  /** Message type, e.g. `file`, `info`, `beat`. */
  type: string;
  /** Sender, `user@host`. */
  sender: string;
  /** Header time. */
  time: PyDateTime;
  /** Payload: a string (text or binary) or JSON data (see `pyjson.ts` for the value mapping). */
  data: unknown;
  /** Whether `data` is sent as `binary/octet-stream`. */
  binary: boolean;
  #version: string | undefined;

  /**
   * Creates a message (posttroll `Message(subject, atype, data, binary=…, version=…)`).
   * @throws {MessageError} on an empty subject, type or sender, or data that cannot be encoded
   */
  constructor(subject: string, type: string, data: unknown = "", options: MessageOptions = {}) {
    this.subject = subject;
    this.type = type;
    this.data = data;
    this.binary = options.binary ?? false;
    this.#version = options.version;
    if (trusted) {
      trusted = false;
      this.sender = options.sender!;
      this.time = options.time!;
      return;
    }
    this.sender = options.sender ?? defaultSender();
    this.time = options.time ?? PyDateTime.now();
    this.#validate(true);
  }

  #validate(checkData: boolean): void {
    if (!isValidSubject(this.subject)) {
      throw new MessageError(`Invalid subject: '${this.subject}'`);
    }
    if (!isValidType(this.type)) throw new MessageError(`Invalid type: '${this.type}'`);
    if (!isValidSender(this.sender)) throw new MessageError(`Invalid sender: '${this.sender}'`);
    if (!(this.time instanceof PyDateTime)) {
      throw new MessageError(`Invalid time: ${String(this.time)} (expected a PyDateTime)`);
    }
    if (checkData && !surelyEncodable(this.data, this.binary) && pyTruthy(this.data)) {
      encodeData(
        this.data,
        this.binary,
        this.#version || codecDefaults.messageVersion || undefined,
      );
    }
  }

  /**
   * The version: as given or decoded, else the one {@linkcode Message.encode} will write.
   * Assign `undefined` to go back to automatic.
   */
  get version(): string {
    return this.#version ?? renderVersion(undefined, this.data, this.binary);
  }
  set version(v: string | undefined) {
    this.#version = v;
  }

  /** The mime type `encode()` writes, or `undefined` when the data is empty. */
  get mimeType(): string | undefined {
    if (!pyTruthy(this.data)) return undefined;
    if (this.binary) return "binary/octet-stream";
    return typeof this.data === "string" ? "text/ascii" : "application/json";
  }

  /** The part of `sender` before the first `@` (`""` without `@`). */
  get user(): string {
    const i = this.sender.indexOf("@");
    return i < 0 ? "" : this.sender.slice(0, i);
  }

  /** The part of `sender` after the first `@` (`""` without `@`). */
  get host(): string {
    const i = this.sender.indexOf("@");
    return i < 0 ? "" : this.sender.slice(i + 1);
  }

  /** The encoded header (message without mime type and data). */
  get head(): string {
    this.#validate(false);
    return this.#header(renderVersion(this.#version, this.data, false));
  }

  #header(version: string): string {
    const t = versionLessOrEqual(version, "v1.01") ? isoNoOffset(this.time) : this.time.isoformat();
    return headPrefix(this.subject, this.type, this.sender) + t + " " + version;
  }

  /**
   * Encodes the message to its wire string (send it as UTF-8).
   * @throws {MessageError} when a field is invalid or the data cannot be encoded
   */
  encode(): string {
    const parts = this.encodeParts(); // (indexed: destructuring allocates an iterator)
    return parts[0] + parts[1];
  }

  /**
   * The encoded message in two parts whose concatenation is {@linkcode Message.encode}'s text:
   * the header up to the space after the mime type, and the payload (`""` without data). A
   * sender that converts the parts to UTF-8 one after the other never builds the joined string
   * (for a long payload: no copy of it, see the publisher's `send(Message)`).
   * @throws {MessageError} when a field is invalid or the data cannot be encoded
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { Message } from "./message.ts";
   * const m = new Message("/a", "file", "x".repeat(65536), { binary: true });
   * const [head, payload] = m.encodeParts();
   * assertEquals(head.endsWith(" v1.01 binary/octet-stream "), true);
   * assertEquals(payload, m.data);
   * assertEquals(head + payload, m.encode());
   * ```
   */
  encodeParts(): [head: string, payload: string] {
    this.#validate(false);
    const explicit = this.#version || codecDefaults.messageVersion || undefined;
    if (!pyTruthy(this.data)) {
      return [this.#header(explicit ?? versionNeeded(this.data, this.binary)), ""];
    }
    const { mime, payload, version } = encodeData(this.data, this.binary, explicit);
    return [this.#header(version) + mime, payload];
  }

  /** Same as {@linkcode Message.encode} (Python `str(msg)`). */
  toString(): string {
    return this.encode();
  }

  /**
   * Decodes a wire message (string, or bytes: UTF-8 falling back to ISO-8859-1).
   * @throws {MessageError} for every malformed input
   */
  static decode(raw: string | Uint8Array): Message {
    let s: string;
    let bytes: Uint8Array | undefined;
    if (typeof raw === "string") s = raw;
    else if (raw instanceof Uint8Array) s = decodeRaw(bytes = raw);
    else throw new MessageError("Message.decode expects a string or a Uint8Array");
    // posttroll treats an empty raw string as "no raw string" and builds an empty message
    if (s.length === 0) throw new MessageError("Invalid subject: ''");
    if (!s.startsWith(MAGICK)) {
      throw new MessageError(`This is not a '${MAGICK}' message (wrong magick word)`);
    }
    // re.split(r"\s+", s, maxsplit=6) on the text after the magic word: field k spans
    // [starts[k], ends[k]); the last field runs to the end
    const n = s.length;
    const bounds = decodeBounds;
    let count = splitAtSpaces(s);
    let start = MAGICK.length;
    let i = start;
    while (count < 6) {
      let c = s.charCodeAt(i);
      // fast skip over ordinary characters (printable ASCII and most of the BMP)
      while (i < n && (c > 32 && c < 0x85 || !isWs(c))) c = s.charCodeAt(++i);
      if (i >= n) break;
      bounds[2 * count] = start;
      bounds[2 * count + 1] = i;
      count++;
      do i++; while (i < n && isWs(s.charCodeAt(i)));
      start = i;
    }
    if (count < 7) {
      bounds[2 * count] = start;
      bounds[2 * count + 1] = n;
      count++;
    }
    if (count < 5) {
      throw new MessageError(
        `Could not decode raw string: '${cpHead(s.slice(MAGICK.length), 36)} ...'`,
      );
    }
    const version = fieldOf(s, 4);
    if (!versionLessOrEqual(version, CURRENT_MESSAGE_VERSION)) {
      throw new MessageError(`Invalid Message version: '${version}'`);
    }
    const subject = fieldOf(s, 0);
    const type = fieldOf(s, 1);
    const sender = fieldOf(s, 2);
    // read in place: a slice of the message is a sliced string, slower to read char by char
    const time = tryFromisoformatAt(s, bounds[6], bounds[7]);
    if (time === undefined) {
      throw new MessageError(
        `Invalid time: '${cpHead(fieldOf(s, 3), 40)}' is not an ISO 8601 time`,
      );
    }
    let data: unknown = "";
    let binary = false;
    if (count >= 6) {
      const ms = bounds[10];
      const ml = bounds[11] - ms;
      let mime: string;
      if (ml === 16 && s.startsWith("application/json", ms)) mime = "application/json";
      else if (ml === 10 && s.startsWith("text/ascii", ms)) mime = "text/ascii";
      else if (ml === 19 && s.startsWith("binary/octet-stream", ms)) mime = "binary/octet-stream";
      else mime = fieldOf(s, 5).toLowerCase();
      if (count < 7) {
        throw new MessageError(
          mime === ""
            ? "Trailing whitespace after the version"
            : `Mime type '${mime}' without data`,
        );
      }
      const dataStart = bounds[12];
      if (mime === "application/json") {
        try {
          data = pyLoadsAt(s, dataStart, { datetimes: true }, bytes);
        } catch (e) {
          throw new MessageError(`JSON decode failed on '${cpHead(fieldOf(s, 6), 36)} ...'`, {
            cause: e,
          });
        }
      } else if (mime === "text/ascii") {
        data = fieldOf(s, 6);
      } else if (mime === "binary/octet-stream") {
        data = fieldOf(s, 6);
        binary = true;
      } else {
        throw new MessageError(`Unknown mime-type '${mime}'`);
      }
    }
    trusted = true;
    const msg = new Message(subject, type, data, { binary, version, sender, time });
    msg.#validate(false);
    return msg;
  }

  /**
   * Same as {@linkcode Message.decode} (posttroll `Message.from_string`).
   * @throws {MessageError} for every malformed input
   */
  static fromString(raw: string | Uint8Array): Message {
    return Message.decode(raw);
  }
}

/**
 * The one Python-JSON core: text exactly as Python's `json` module writes and reads it with
 * default settings, for the posttroll codec (`lib/posttroll/pyjson.ts`: PyFloat, datetimes,
 * key order) and hop's JSON (`lib/hop/pyjson.ts`: number lexemes, indent).
 *
 * - Key order: objects keep Python dict order even for integer-like keys (which JS objects move to
 *   the front): the decoder records the order under the non-enumerable symbol
 *   {@linkcode PY_KEY_ORDER} when it differs from JS order, {@linkcode pyDict} builds such
 *   objects, the encoder follows it.
 * - Numbers, decoding: `int` → `number` when safe, else `bigint`; `float` → `number`, or a
 *   {@linkcode PyFloat} when integral (so `1.0` stays a float); or, in lexeme mode, every number
 *   as a {@linkcode PyNumber} keeping its text (`1e-05` written back as `1e-05`).
 * - Numbers, encoding: integral `number`s and `bigint`s as ints (up to `intLimit`), others in
 *   Python's float `repr`; PyFloat and PyNumber as themselves.
 * - Strings: `ensure_ascii` escapes; separators `", "` and `": "`, or `indent`.
 * - Hooks: a `strings` hook on decoding (posttroll's `datetime_decoder`), an `objects` hook on
 *   encoding (datetimes), each owned by the format that needs it.
 * - Limits: nesting {@linkcode MAX_DEPTH}; ints of at most 4300 digits, as Python.
 *
 * The decoder has two paths: V8's `JSON.parse` followed by one checking walk (fast), and an exact
 * parser that decides whenever the fast path cannot tell Python's values apart.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { dumps, loads, PyFloat } from "./core.ts";
 * assertEquals(dumps({ a: new PyFloat(1), b: "ö" }), '{"a": 1.0, "b": "\\u00f6"}');
 * assert(loads('{"x": 1.0}').x instanceof PyFloat);
 * ```
 *
 * @module
 */
import { mayHaveIntegralFloatBytes } from "./float_marks.ts";

/** Deepest nesting of lists/dicts accepted by {@linkcode loads} and {@linkcode dumps}. */
export const MAX_DEPTH = 1500;

/**
 * Error raised by {@linkcode loads} (like Python's `json.JSONDecodeError`) and
 * {@linkcode dumps} (like Python's `TypeError`/`ValueError`). A `SyntaxError`, as parsers'
 * errors are.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { loads, PyJsonError } from "./core.ts";
 * assertThrows(() => loads("[1,"), PyJsonError);
 * ```
 */
export class PyJsonError extends SyntaxError {
  /** Offset in the input where decoding failed (-1 for encoding errors). */
  readonly pos: number;
  /**
   * Creates a parse error, optionally with the offending character position.
   *
   * @param message reason
   * @param pos offset in the input
   */
  constructor(message: string, pos = -1, options?: ErrorOptions) {
    super(message, options);
    this.name = "PyJsonError";
    this.pos = pos;
  }
}

/**
 * A Python float whose value is integral (or any number the caller wants written as a float):
 * `new PyFloat(1)` is written `1.0`, `new PyFloat(1e16)` is written `1e+16`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dumps, PyFloat } from "./core.ts";
 * assertEquals(dumps([new PyFloat(3), 3]), "[3.0, 3]");
 * assertEquals(new PyFloat(2).valueOf() + 1, 3);
 * ```
 */
export class PyFloat {
  /** The float value. */
  readonly value: number;
  /**
   * Marks a number as a Python float.
   *
   * @param value the float value
   */
  constructor(value: number) {
    this.value = +value;
  }
  /** The number, so arithmetic works. */
  valueOf(): number {
    return this.value;
  }
  /** Python `repr(float)`. */
  toString(): string {
    return pyFloatRepr(this.value);
  }
  /** Used by `JSON.stringify`. */
  toJSON(): number {
    return this.value;
  }
}

/**
 * A JSON number kept as its original text: what {@linkcode loads} gives in lexeme mode, so that
 * re-serialising JSON text written by Python (`1.0`, `1e-05`) gives back the same characters.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PyNumber } from "./core.ts";
 * assertEquals(new PyNumber("2.0").valueOf(), 2);
 * ```
 */
export class PyNumber {
  /** The number's JSON text, e.g. `"2.0"` or `"1e-05"`. */
  readonly text: string;
  /**
   * Keeps a JSON number as its original text.
   *
   * @param text the JSON number text
   */
  constructor(text: string) {
    this.text = text;
  }
  /** The number's value as a JS number. @returns the parsed value */
  valueOf(): number {
    return Number(this.text);
  }
}

/**
 * Symbol under which decoded objects keep their Python key order when it differs from the JS
 * property order (integer-like keys). The value is a `string[]`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { loads, PY_KEY_ORDER } from "./core.ts";
 * const o = loads('{"b": 1, "2": 2}') as Record<string | symbol, unknown>;
 * assertEquals(Object.keys(o), ["2", "b"]); // JS order
 * assertEquals(o[PY_KEY_ORDER], ["b", "2"]); // the document's order
 * ```
 */
export const PY_KEY_ORDER: unique symbol = Symbol.for("posttroll.pyKeyOrder");

function isIndexKey(k: string): boolean {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  if (k.length > 10) return false;
  if (c === 48) return k.length === 1;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return +k < 4294967295;
}

function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else o[k] = v;
}

/**
 * A plain object holding `entries` in this exact key order when encoded (Python dict order),
 * even for integer-like keys.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dumps, pyDict } from "./core.ts";
 * assertEquals(dumps(pyDict([["b", 1], ["1", 2]])), '{"b": 1, "1": 2}');
 * ```
 */
export function pyDict(entries: Iterable<readonly [string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const order: string[] = [];
  let needOrder = false;
  for (const [k, v] of entries) {
    if (!Object.hasOwn(o, k)) {
      order.push(k);
      if (isIndexKey(k)) needOrder = true;
    }
    setOwn(o, k, v);
  }
  if (needOrder) {
    Object.defineProperty(o, PY_KEY_ORDER, { value: order, enumerable: false, writable: true });
  }
  return o;
}

/**
 * The keys of `o` in Python dict order: the recorded {@linkcode PY_KEY_ORDER} (keys still present),
 * then any others in JS order.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyDict, pyKeys } from "./core.ts";
 * assertEquals(pyKeys(pyDict([["b", 1], ["1", 2]])), ["b", "1"]);
 * ```
 */
export function pyKeys(o: object): string[] {
  const keys = Object.keys(o);
  const order = (o as { [PY_KEY_ORDER]?: string[] })[PY_KEY_ORDER];
  if (!Array.isArray(order)) return keys;
  const out: string[] = [];
  const seen = new Set<string>();
  for (const k of order) {
    if (Object.hasOwn(o, k) && !seen.has(k)) {
      out.push(k);
      seen.add(k);
    }
  }
  for (const k of keys) if (!seen.has(k)) out.push(k);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Python `repr(float)` (shortest round-trip digits; exponent form below 1e-4 and from 1e16).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyFloatRepr } from "./core.ts";
 * assertEquals([pyFloatRepr(1), pyFloatRepr(1e16), pyFloatRepr(1e-5)], ["1.0", "1e+16", "1e-05"]);
 * ```
 */
export function pyFloatRepr(x: number): string {
  if (x !== x) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const ax = x < 0 ? -x : x;
  if (ax >= 1e-4 && ax < 1e16) {
    const s = "" + x;
    // JS uses fixed notation in this range too; integral values need ".0"
    return s.indexOf(".") < 0 ? s + ".0" : s;
  }
  const e = x.toExponential(); // shortest digits, e.g. "1.5e-7", "1e+21"
  const ei = e.indexOf("e");
  const mant = e.slice(0, ei);
  const expSign = e.charCodeAt(ei + 1) === 45 ? "-" : "+";
  let exp = e.slice(ei + 2);
  if (exp.length < 2) exp = "0" + exp;
  return mant + "e" + expSign + exp;
}

function intRepr(x: number): string {
  if (x === 0) return "0";
  if (x < 1e21 && x > -1e21) return "" + x;
  return BigInt(x).toString();
}

// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u007f-\uffff]/;
const NON_ASCII = /[\u007f-\uffff]/g;

function escapeNonAscii(ch: string): string {
  const c = ch.charCodeAt(0);
  return c < 0x1000 ? (c < 0x100 ? "\\u00" : "\\u0") + c.toString(16) : "\\u" + c.toString(16);
}

/**
 * Python `json.dumps(s)` of a string with `ensure_ascii=True`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyJsonString } from "./core.ts";
 * assertEquals(pyJsonString("norrköping 😀"), '"norrk\\u00f6ping \\ud83d\\ude00"');
 * ```
 */
export function pyJsonString(s: string): string {
  return plain(s) ? '"' + s + '"' : escapeString(s);
}

/**
 * Dict keys written recently, as `"key": ` and as `, "key": ` (keys repeat from message to
 * message), each a flat string: one piece of the output instead of three.
 */
const keyCache = new Map<string, string>();
const nextKeyCache = new Map<string, string>();
const KEY_CACHE_MAX = 4096;

function keyPrefix(k: string): string {
  return keyCache.get(k) ?? cacheKey(k, keyCache, "");
}

function nextKeyPrefix(k: string): string {
  return nextKeyCache.get(k) ?? cacheKey(k, nextKeyCache, ", ");
}

const keyQuoteCache = new Map<string, string>();
const nextKeyQuoteCache = new Map<string, string>();

function keyQuote(k: string): string {
  return keyQuoteCache.get(k) ?? cacheKey(k, keyQuoteCache, "", '"');
}

function nextKeyQuote(k: string): string {
  return nextKeyQuoteCache.get(k) ?? cacheKey(k, nextKeyQuoteCache, ", ", '"');
}

// after a string value whose closing quote is not written yet: `", "key": ` and `", "key": "`
const closeKeyCache = new Map<string, string>();
const closeKeyQuoteCache = new Map<string, string>();

function closeKeyPrefix(k: string): string {
  return closeKeyCache.get(k) ?? cacheKey(k, closeKeyCache, '", ');
}

function closeKeyQuote(k: string): string {
  return closeKeyQuoteCache.get(k) ?? cacheKey(k, closeKeyQuoteCache, '", ', '"');
}

/**
 * Strings from this length on are checked with {@linkcode NEEDS_ESCAPE} (~0.7 ns per character
 * against ~1.5 for the scan below, whose lower cost per call wins under ~10 characters).
 */
const PLAIN_SCAN_MAX = 10;

/** True when `s` needs no escape in JSON (printable ASCII without `"` and `\`). */
function plain(s: string): boolean {
  if (s.length >= PLAIN_SCAN_MAX) return !NEEDS_ESCAPE.test(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) return false;
  }
  return true;
}

function cacheKey(k: string, cache: Map<string, string>, sep: string, quote = ""): string {
  const p = sep + pyJsonString(k) + ": " + quote;
  if (k.length <= 256) {
    if (cache.size >= KEY_CACHE_MAX) cache.clear();
    p.charCodeAt(0); // flattens it once
    cache.set(k, p);
  }
  return p;
}

function escapeString(s: string): string {
  // JSON.stringify escapes the same control characters with the same spellings as Python
  // (\b \f \n \r \t, else \u00XX) and writes lone surrogates as \udXXX; Python additionally
  // escapes everything from U+007F up.
  const j = JSON.stringify(s);
  NON_ASCII.lastIndex = 0;
  return NON_ASCII.test(j) ? j.replace(NON_ASCII, escapeNonAscii) : j;
}

/** Options of {@linkcode dumps}. */
export interface DumpOptions {
  /** Like Python's `indent`: pretty-print with this many spaces per level. @default undefined */
  indent?: number;
  /**
   * Integral JS numbers at least this large (in magnitude) are written as floats (`1e+16`).
   * @default Infinity (every integral number is an int)
   */
  intLimit?: number;
  /**
   * JSON text for objects that are neither plain objects, arrays, Maps, PyFloat nor PyNumber
   * (Python's `default=` hook, e.g. datetimes); undefined: not serializable.
   */
  objects?: (v: object) => string | undefined;
  /**
   * The text of objects written as a JSON string whose characters need no escape (printable ASCII
   * without `"` and `\`, e.g. a datetime's isoformat), or undefined; consulted first for every
   * object within the nesting limit (before the encoder's own types and `objects`).
   */
  plainTexts?: (v: object) => string | undefined;
}

/** No enumerable key on Object.prototype (checked at the start of every dumps). */
let cleanPrototype = true;

class Encoder {
  readonly indent: number | undefined;
  readonly limit: number;
  readonly objects: ((v: object) => string | undefined) | undefined;
  readonly plainTexts: ((v: object) => string | undefined) | undefined;
  constructor(o: DumpOptions) {
    this.indent = o.indent;
    this.limit = o.intLimit ?? Infinity;
    this.objects = o.objects;
    this.plainTexts = o.plainTexts;
  }

  number(v: number): string {
    return Number.isInteger(v) && v < this.limit && v > -this.limit ? intRepr(v) : pyFloatRepr(v);
  }

  /** Newline and indentation before an item at `depth`, or "" without indent. */
  nl(depth: number): string {
    return this.indent === undefined ? "" : "\n" + " ".repeat(this.indent * depth);
  }

  value(v: unknown, depth: number): string {
    switch (typeof v) {
      case "string":
        return pyJsonString(v);
      case "number":
        return this.number(v);
      case "boolean":
        return v ? "true" : "false";
      case "bigint":
        return v.toString();
      case "undefined":
        return "null";
      case "object":
        break;
      default:
        throw new PyJsonError(`Object of type ${typeof v} is not JSON serializable`);
    }
    if (v === null) return "null";
    if (depth >= MAX_DEPTH) {
      throw new PyJsonError("data nested too deeply (or circular reference)");
    }
    const text = this.plainTexts?.(v);
    if (text !== undefined) return '"' + text + '"';
    if (Array.isArray(v)) {
      const n = v.length;
      if (n === 0) return "[]";
      if (this.indent !== undefined) {
        const nl = this.nl(depth + 1);
        let out = "[" + nl + this.value(v[0], depth + 1);
        for (let i = 1; i < n; i++) out += "," + nl + this.value(v[i], depth + 1);
        return out + this.nl(depth) + "]";
      }
      let out = "[" + this.value(v[0], depth + 1);
      for (let i = 1; i < n; i++) out += ", " + this.value(v[i], depth + 1);
      return out + "]";
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) {
      return this.dict(v as Record<string, unknown>, depth);
    }
    if (v instanceof PyFloat) return pyFloatRepr(v.value);
    if (v instanceof PyNumber) return v.text;
    const custom = this.objects?.(v);
    if (custom !== undefined) return custom;
    if (v instanceof Map) return this.map(v, depth);
    if (v instanceof String || v instanceof Number || v instanceof Boolean) {
      return this.value(v.valueOf(), depth);
    }
    const name = (v as { constructor?: { name?: string } }).constructor?.name ?? "object";
    throw new PyJsonError(`Object of type ${name} is not JSON serializable`);
  }

  /** `{` items `}` with Python's separators or indent. */
  items(parts: string[], depth: number): string {
    if (parts.length === 0) return "{}";
    if (this.indent === undefined) return "{" + parts.join(", ") + "}";
    const nl = this.nl(depth + 1);
    return "{" + nl + parts.join("," + nl) + this.nl(depth) + "}";
  }

  dict(o: Record<string, unknown>, depth: number): string {
    const order = (o as { [PY_KEY_ORDER]?: string[] })[PY_KEY_ORDER];
    let out = "{";
    let first = true;
    if (this.indent === undefined && !order && cleanPrototype) {
      // for-in takes the own keys in Object.keys order here (no inherited enumerable keys),
      // without building that array
      // a plain string value (or a plainTexts text) is `"key": "` + its text, its closing quote
      // written with what follows (`", "next": ` or `"}`): two pieces per item instead of three
      let open = false;
      const texts = this.plainTexts;
      for (const k in o) {
        const v = o[k];
        if (v === undefined) continue;
        let text: string | undefined;
        if (typeof v === "string") {
          if (v.length <= 256 && plain(v)) text = v;
        } else if (
          texts !== undefined && typeof v === "object" && v !== null && depth + 1 < MAX_DEPTH
        ) text = texts(v);
        if (text !== undefined) {
          out += first ? keyQuote(k) : open ? closeKeyQuote(k) : nextKeyQuote(k);
          out += text;
          open = true;
        } else {
          out += (first ? keyPrefix(k) : open ? closeKeyPrefix(k) : nextKeyPrefix(k)) +
            this.value(v, depth + 1);
          open = false;
        }
        first = false;
      }
      return out + (open ? '"}' : "}");
    }
    const keys = order ? pyKeys(o) : Object.keys(o);
    if (this.indent !== undefined) {
      const parts: string[] = [];
      for (const k of keys) {
        const v = o[k];
        if (v !== undefined) parts.push(keyPrefix(k) + this.value(v, depth + 1));
      }
      return this.items(parts, depth);
    }
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = o[k];
      if (v === undefined) continue;
      out += (first ? keyPrefix(k) : nextKeyPrefix(k)) + this.value(v, depth + 1);
      first = false;
    }
    return out + "}";
  }

  map(m: Map<unknown, unknown>, depth: number): string {
    const parts: string[] = [];
    for (const [k, v] of m) {
      if (v === undefined) continue;
      let key: string;
      if (typeof k === "string") key = k;
      else if (typeof k === "number") key = this.number(k);
      else if (typeof k === "bigint") key = k.toString();
      else if (k instanceof PyFloat) key = pyFloatRepr(k.value);
      else if (typeof k === "boolean") key = k ? "true" : "false";
      else if (k === null) key = "null";
      else {
        throw new PyJsonError(
          `keys must be str, int, float, bool or None, not ${typeof k}`,
        );
      }
      parts.push(pyJsonString(key) + ": " + this.value(v, depth + 1));
    }
    return this.items(parts, depth);
  }
}

/**
 * Python `json.dumps(value)` (with `indent=` when asked) with default settings otherwise.
 * @throws {PyJsonError} for values Python could not serialize (functions, class instances the
 *   `objects` hook does not take, symbols, nesting deeper than {@linkcode MAX_DEPTH} or circular)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dumps } from "./core.ts";
 * assertEquals(
 *   dumps({ station: "norrköping", n: [1, 2.5, NaN] }),
 *   '{"station": "norrk\\u00f6ping", "n": [1, 2.5, NaN]}',
 * );
 * assertEquals(dumps([1], { indent: 2 }), "[\n  1\n]");
 * ```
 */
export function dumps(value: unknown, options: DumpOptions = {}): string {
  cleanPrototype = true;
  for (const _ in Object.prototype) cleanPrototype = false;
  const enc = new Encoder(options);
  try {
    return enc.value(value, 0);
  } catch (e) {
    if (e instanceof PyJsonError) throw e;
    if (e instanceof RangeError) {
      throw new PyJsonError("data nested too deeply (or circular reference)", -1, { cause: e });
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Options of {@linkcode loads}. */
export interface LoadOptions {
  /**
   * Applied to every string that has a JSON object among its ancestors (posttroll's
   * `datetime_decoder` object hook); what it returns replaces the string.
   */
  strings?: (s: string) => unknown;
  /** Every number as a {@linkcode PyNumber} keeping its text (hop's pretty-printing). @default false */
  lexemes?: boolean;
  /** Skip the JSON.parse fast path (the exact parser decides alone; for tests). @default false */
  exactOnly?: boolean;
  /**
   * The bytes the source text was decoded from (UTF-8, or ISO-8859-1 byte for character; bytes
   * around the JSON text may be there too): the fast path's scan for integral float tokens looks
   * at them first, in WebAssembly (see `float_marks.ts`).
   */
  bytes?: Uint8Array;
}

let src = "";
let pos = 0;
/** The strings hook of the running decode, if any. */
let strHook: ((s: string) => unknown) | undefined;
/** Numbers as lexemes in the running exact decode. */
let lexemes = false;

function fail(msg: string, at: number = pos): never {
  throw new PyJsonError(`${msg}: line ${lineOf(at)} column ${colOf(at)} (char ${at})`, at);
}

function lineOf(at: number): number {
  let n = 1;
  for (let i = 0; i < at && i < src.length; i++) if (src.charCodeAt(i) === 10) n++;
  return n;
}

function colOf(at: number): number {
  const nl = src.lastIndexOf("\n", at - 1);
  return at - nl;
}

function skipWs(): void {
  let c = src.charCodeAt(pos);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = src.charCodeAt(++pos);
}

function parseValue(depth: number, conv: boolean): unknown {
  const c = src.charCodeAt(pos);
  switch (c) {
    case 34: { // "
      const s = parseString();
      return conv ? strHook!(s) : s;
    }
    case 123: // {
      return parseObject(depth + 1);
    case 91: // [
      return parseArray(depth + 1, conv);
    case 110: // n
      return literal("null", null);
    case 116: // t
      return literal("true", true);
    case 102: // f
      return literal("false", false);
    case 78: // N
      return literal("NaN", lexemes ? new PyNumber("NaN") : NaN);
    case 73: // I
      return literal("Infinity", lexemes ? new PyNumber("Infinity") : Infinity);
    case 45: // -
      if (src.charCodeAt(pos + 1) === 73) {
        return literal("-Infinity", lexemes ? new PyNumber("-Infinity") : -Infinity);
      }
      return parseNumber();
    default:
      if (c >= 48 && c <= 57) return parseNumber();
  }
  fail("Expecting value");
}

/** The value of the word `text` at `pos` (null, true, false, NaN, Infinity, -Infinity). */
function literal(text: string, value: unknown): unknown {
  if (!src.startsWith(text, pos)) fail("Expecting value");
  pos += text.length;
  return value;
}

function parseNumber(): unknown {
  const start = pos;
  let c = src.charCodeAt(pos);
  let neg = false;
  if (c === 45) {
    neg = true;
    c = src.charCodeAt(++pos);
  }
  if (c === 48) {
    c = src.charCodeAt(++pos);
  } else if (c >= 49 && c <= 57) {
    do c = src.charCodeAt(++pos); while (c >= 48 && c <= 57);
  } else {
    fail("Expecting value", start);
  }
  let isFloat = false;
  if (c === 46) {
    const d = src.charCodeAt(pos + 1);
    if (d >= 48 && d <= 57) {
      isFloat = true;
      pos += 1;
      do c = src.charCodeAt(++pos); while (c >= 48 && c <= 57);
    }
  }
  if (c === 101 || c === 69) {
    let q = pos + 1;
    let d = src.charCodeAt(q);
    if (d === 43 || d === 45) d = src.charCodeAt(++q);
    if (d >= 48 && d <= 57) {
      isFloat = true;
      pos = q;
      do c = src.charCodeAt(++pos); while (c >= 48 && c <= 57);
    }
  }
  if (lexemes) return new PyNumber(src.slice(start, pos));
  if (!isFloat) {
    const ndig = pos - start - (neg ? 1 : 0);
    if (ndig <= 15) {
      let v = 0;
      for (let i = start + (neg ? 1 : 0); i < pos; i++) v = v * 10 + src.charCodeAt(i) - 48;
      return neg ? (v === 0 ? 0 : -v) : v;
    }
    if (ndig > 4300) {
      throw new PyJsonError(
        `Exceeds the limit (4300 digits) for integer string conversion: value has ${ndig} digits`,
        start,
      );
    }
    const text = src.slice(start, pos);
    const n = +text;
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  const f = +src.slice(start, pos);
  return Number.isInteger(f) ? new PyFloat(f) : f;
}

function parseString(): string {
  // pos at opening quote
  const start = ++pos;
  let c = 0;
  for (;;) {
    c = src.charCodeAt(pos);
    if (c === 34) {
      return src.slice(start, pos++);
    }
    if (c === 92 || c < 32 || c !== c) break;
    pos++;
  }
  // slow path: escapes
  let out = src.slice(start, pos);
  for (;;) {
    c = src.charCodeAt(pos);
    if (c === 34) {
      pos++;
      return out;
    }
    if (c !== c) fail("Unterminated string starting at", start - 1);
    if (c < 32) fail("Invalid control character at");
    if (c === 92) {
      const e = src.charCodeAt(pos + 1);
      switch (e) {
        case 34:
          out += '"';
          break;
        case 92:
          out += "\\";
          break;
        case 47:
          out += "/";
          break;
        case 98:
          out += "\b";
          break;
        case 102:
          out += "\f";
          break;
        case 110:
          out += "\n";
          break;
        case 114:
          out += "\r";
          break;
        case 116:
          out += "\t";
          break;
        case 117: {
          const u = hex4(pos + 2);
          if (u < 0) fail("Invalid \\uXXXX escape", pos + 1);
          out += String.fromCharCode(u);
          pos += 6;
          continue;
        }
        default:
          if (e !== e) fail("Unterminated string starting at", start - 1);
          fail("Invalid \\escape", pos);
      }
      pos += 2;
      continue;
    }
    // run of plain characters
    const runStart = pos;
    do c = src.charCodeAt(++pos); while (c !== 34 && c !== 92 && c >= 32);
    out += src.slice(runStart, pos);
  }
}

function hex4(at: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = src.charCodeAt(at + i);
    let d;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

// parseObject and parseArray open their container with the same few lines on purpose: one shared
// enter() helper measured 3-6 % fewer exact-parser decodes per CPU-second (#22, 2026-12-07)
function parseObject(depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) fail("Nesting too deep");
  const o: Record<string, unknown> = {};
  let order: string[] | undefined;
  let needOrder = false;
  pos++;
  skipWs();
  if (src.charCodeAt(pos) === 125) {
    pos++;
    return o;
  }
  for (;;) {
    if (src.charCodeAt(pos) !== 34) {
      fail("Expecting property name enclosed in double quotes");
    }
    const k = parseString();
    skipWs();
    if (src.charCodeAt(pos) !== 58) fail("Expecting ':' delimiter");
    pos++;
    skipWs();
    const v = parseValue(depth, strHook !== undefined);
    const kc = k.charCodeAt(0);
    if (kc >= 48 && kc <= 57 && !needOrder && isIndexKey(k)) {
      needOrder = true;
      order = Object.keys(o);
    }
    if (order !== undefined && !Object.hasOwn(o, k)) order.push(k);
    if (k === "__proto__") setOwn(o, k, v);
    else o[k] = v;
    if (!nextItem(125)) break;
  }
  if (needOrder) {
    Object.defineProperty(o, PY_KEY_ORDER, { value: order, enumerable: false, writable: true });
  }
  return o;
}

function parseArray(depth: number, conv: boolean): unknown[] {
  if (depth > MAX_DEPTH) fail("Nesting too deep");
  const a: unknown[] = [];
  pos++;
  skipWs();
  if (src.charCodeAt(pos) === 93) {
    pos++;
    return a;
  }
  for (;;) {
    a.push(parseValue(depth, conv));
    if (!nextItem(93)) return a;
  }
}

/**
 * After an object member or array element: true at `,` (skipped with the space after it), false
 * at `close` (`}` or `]`, skipped); anything else is Python's "Expecting ',' delimiter".
 */
function nextItem(close: number): boolean {
  skipWs();
  const c = src.charCodeAt(pos);
  if (c === 44) {
    pos++;
    skipWs();
    return true;
  }
  if (c !== close) fail("Expecting ',' delimiter");
  pos++;
  return false;
}

// Fast path: V8's JSON.parse, then one walk that applies the datetime hook and checks that the
// result is exactly what Python's json.loads gives. JSON.parse accepts a subset of what Python
// accepts (not NaN/Infinity) and rejects the rest the same way, so any failure is retried with the
// exact parser above, which then decides. The walk gives up (exact parser again) where JS values
// lose information: integer-like keys (JS reorders them), -0 (int 0 or float -0.0?), infinities
// (huge int tokens), and, when the result holds integral numbers, any number token in the text
// that is a float with an integral value or an int beyond 2^53 - 1 (see ambiguousNumbers;
// when every integral number is a safe integer, mayHaveIntegralFloat looks at the `.`s and
// exponents only, and the full scan runs only when it finds a candidate; given the text's bytes,
// mayHaveIntegralFloatBytes looks first, and the text is scanned only when it finds one).

/**
 * Whether valid JSON `text` has a number token that JSON.parse maps to a JS number that does not
 * tell Python's int/float apart: a float token with an integral value (`1.0`, `1e3`), an int token
 * beyond 2^53 - 1 (17+ digits, or 16 above the largest safe integer), or `-0`. Strings are skipped
 * with indexOf.
 */
function ambiguousNumbers(text: string, from: number): boolean {
  const n = text.length;
  for (let k = from; k < n; k++) {
    let c = text.charCodeAt(k);
    if (c === 34) {
      // skip the string starting at k
      let j = k;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return false;
        if (text.charCodeAt(j - 1) !== 92) break;
        let b = 1;
        while (text.charCodeAt(j - 1 - b) === 92) b++;
        if ((b & 1) === 0) break;
      }
      k = j;
      continue;
    }
    if (c > 57 || (c < 48 && c !== 45)) continue;
    const start = k;
    if (c === 45) c = text.charCodeAt(++k);
    const intStart = k;
    while (c >= 48 && c <= 57) c = text.charCodeAt(++k);
    const intDigits = k - intStart;
    let isFloat = false;
    // without exponent and with at most 15 digits, a float is integral exactly when its fraction
    // digits are all 0 (more digits may round to an integer: those are converted)
    let zeroFraction = true;
    if (c === 46) {
      isFloat = true;
      c = text.charCodeAt(++k);
      while (c >= 48 && c <= 57) {
        if (c !== 48) zeroFraction = false;
        c = text.charCodeAt(++k);
      }
    }
    let exponent = false;
    if (c === 101 || c === 69) {
      isFloat = true;
      exponent = true;
      c = text.charCodeAt(++k);
      if (c === 43 || c === 45) c = text.charCodeAt(++k);
      while (c >= 48 && c <= 57) c = text.charCodeAt(++k);
    }
    if (isFloat) {
      if (exponent || k - intStart > 16) {
        if (Number.isInteger(+text.slice(start, k))) return true;
      } else if (zeroFraction) return true;
    } else if (
      // 16 digits are exact up to 2^53 - 1 (microsecond timestamps): only larger ones may round
      intDigits > 16 ||
      (intDigits === 16 && !Number.isSafeInteger(+text.slice(intStart, k))) ||
      (intDigits === 1 && start !== intStart && text.charCodeAt(intStart) === 48)
    ) {
      return true;
    }
    k--;
  }
  return false;
}

/**
 * Where an integral float token may be, after a digit: an exponent (`e` or `E`), a fraction of
 * zeros only (`.0`, `.000` not followed by another digit), or a `.` with at least 8 digits after
 * it or before it. Only a token of 16 digits and more can have a fraction that is not zero and
 * still round to an integral double (every decimal of at most 15 significant digits survives a
 * round trip through a double), and one of its two parts then has 8 digits or more. So every
 * integral float token holds a match, while the `.`s of times, addresses and ordinary floats do
 * not (a file event's data: 1 match instead of 8 for a digit followed by `.`, `e` or `E`).
 */
const FLOAT_MARK = /\d(?:[eE]|\.(?:0+(?![0-9])|\d{8}|(?<=\d{8}\.)))/g;

// whether `c` may be part of a number token: a digit, `.`, `e`, `E`, `+` or `-`
function inToken(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45;
}

/**
 * A quick test before {@linkcode ambiguousNumbers}, for a text whose integral numbers are all
 * safe integers (so every int token was read exactly, a microsecond timestamp's 16 digits too):
 * then only a token with a `.` or an exponent can be an integral float, and every such token
 * holds a {@linkcode FLOAT_MARK} match, found in one regular expression pass instead of a walk
 * over every string. Around each match the characters a number token may hold are taken as one
 * token (in JSON a number token is delimited by characters it cannot hold, so from anywhere
 * inside a token this finds exactly that token); it counts when JSON's delimiters (or the text's
 * ends) surround it and its value is integral. So false means no integral float token; true
 * (which `"1.0"` as a string also gives) leaves the decision to the full scan.
 */
function mayHaveIntegralFloat(text: string, from: number): boolean {
  const re = FLOAT_MARK;
  re.lastIndex = from;
  // test(), not exec(): no match array; a match lies in one run of token characters, which
  // holds its last character
  while (re.test(text)) {
    let k = re.lastIndex;
    let s = k - 1;
    while (s > from && inToken(text.charCodeAt(s - 1))) s--;
    while (inToken(text.charCodeAt(k))) k++;
    re.lastIndex = k;
    if (
      (s === from || starts(text.charCodeAt(s - 1))) && ends(text.charCodeAt(k)) &&
      Number.isInteger(+text.slice(s, k))
    ) return true;
  }
  return false;
}

// whether `c` may follow a number token in JSON: whitespace, `,`, `]`, `}` or the end (NaN)
function ends(c: number): boolean {
  return c === 44 || c === 93 || c === 125 || c === 32 || c === 10 || c === 13 || c === 9 ||
    c !== c;
}

// whether `c` may come right before the digits of a number token: `-`, `[`, `,`, `:`, whitespace
function starts(c: number): boolean {
  return c === 45 || c === 91 || c === 44 || c === 58 || c === 32 || c === 10 || c === 13 ||
    c === 9;
}

const GIVE_UP = 1;
const HAS_INTEGRAL = 2;
/**
 * An integral number beyond 2^53 - 1 in magnitude: maybe an int token that JSON.parse rounded (16
 * digits above 2^53 - 1, or 17 and more). Every int token of a safe integer was read exactly.
 */
const BIG_INTEGRAL = 4;
let walkFlags = 0;

function checkNumber(v: number): void {
  if (Number.isInteger(v)) {
    if (v === 0 && 1 / v < 0) walkFlags |= GIVE_UP;
    walkFlags |= v <= Number.MAX_SAFE_INTEGER && v >= -Number.MAX_SAFE_INTEGER
      ? HAS_INTEGRAL
      : HAS_INTEGRAL | BIG_INTEGRAL;
  } else if (v === Infinity || v === -Infinity) walkFlags |= GIVE_UP;
}

/** The strings hook of the running fast decode, if any. */
let walkHook: ((s: string) => unknown) | undefined;

// walks an object (the strings hook, when given, applies to everything below it)
function walkObject(o: Record<string, unknown>, depth: number): void {
  const conv = walkHook !== undefined;
  if (depth >= MAX_DEPTH) {
    walkFlags |= GIVE_UP;
    return;
  }
  let first = true;
  // for-in on JSON.parse results: own enumerable keys in JS order (fast enum cache path)
  for (const k in o) {
    if (first) {
      first = false;
      if (isIndexKey(k)) {
        walkFlags |= GIVE_UP;
        return;
      }
    }
    const x = o[k];
    if (typeof x !== "string") walkValue(x, conv, depth + 1);
    else if (conv) {
      const y = walkHook!(x);
      if (y !== x) {
        if (k === "__proto__") setOwn(o, k, y);
        else o[k] = y;
      }
    }
  }
}

function walkArray(a: unknown[], conv: boolean, depth: number): void {
  if (depth >= MAX_DEPTH) {
    walkFlags |= GIVE_UP;
    return;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== "string") walkValue(x, conv, depth + 1);
    else if (conv) a[i] = walkHook!(x);
  }
}

// a value other than a string (an object's member or an array's item: the caller stores converted
// strings): numbers are checked, objects and arrays walked
function walkValue(x: unknown, conv: boolean, depth: number): void {
  if (typeof x === "number") checkNumber(x);
  else if (typeof x === "object" && x !== null) {
    if (Array.isArray(x)) walkArray(x, conv, depth);
    else walkObject(x as Record<string, unknown>, depth);
  }
}

let fastValue: unknown;

// true when JSON.parse's result (in fastValue) is exactly Python's
// `source` is scanned from `start` (a flat string scans faster than a slice of it)
function fastLoads(
  text: string,
  hook: ((s: string) => unknown) | undefined,
  source: string,
  start: number,
  bytes: Uint8Array | undefined,
): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  walkFlags = 0;
  walkHook = hook;
  // the walk uses for-in: give up if something made Object.prototype enumerable-polluted
  for (const _ in Object.prototype) return false;
  if (typeof v === "number") checkNumber(v);
  else if (typeof v === "object" && v !== null) {
    if (Array.isArray(v)) walkArray(v, false, 1);
    else walkObject(v as Record<string, unknown>, 1);
  }
  if (walkFlags & GIVE_UP) return false;
  if (
    (walkFlags & HAS_INTEGRAL) &&
    ((walkFlags & BIG_INTEGRAL) ||
      ((bytes === undefined || mayHaveIntegralFloatBytes(bytes)) &&
        mayHaveIntegralFloat(source, start))) &&
    ambiguousNumbers(source, start)
  ) return false;
  fastValue = v;
  return true;
}

/**
 * Python `json.loads(text)`, with an optional strings hook (posttroll's `datetime_decoder`) or
 * numbers kept as lexemes.
 * @throws {PyJsonError} where Python raises `ValueError` (JSONDecodeError, int digit limit), or
 *   when nesting exceeds {@linkcode MAX_DEPTH}
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { dumps, loads } from "./core.ts";
 * const v = loads('{"b": 1, "2": [1.5, NaN]}');
 * assertEquals(v, { "2": [1.5, NaN], b: 1 });
 * assertEquals(dumps(v), '{"b": 1, "2": [1.5, NaN]}'); // key order kept for dumps
 * ```
 */
// deno-lint-ignore no-explicit-any
export function loads(text: string, options: LoadOptions = {}): any {
  return loadsAt(text, 0, options);
}

/**
 * {@linkcode loads} of `source.slice(start)`, for callers holding the JSON inside a larger string
 * (the posttroll codec passes the whole message and the offset of its data part).
 * @throws {PyJsonError} like {@linkcode loads}
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { loadsAt } from "./core.ts";
 * assertEquals(loadsAt("data: [1, 2]", 6), [ 1, 2 ]);
 * ```
 */
export function loadsAt(source: string, start: number, options: LoadOptions = {}): unknown {
  const text = start === 0 ? source : source.slice(start);
  if (!options.exactOnly && !options.lexemes) {
    if (fastLoads(text, options.strings, source, start, options.bytes)) {
      const v = fastValue;
      fastValue = undefined;
      return v;
    }
  }
  return exactLoads(text, options.strings, options.lexemes ?? false);
}

function exactLoads(
  text: string,
  hook: ((s: string) => unknown) | undefined,
  numbersAsLexemes: boolean,
): unknown {
  src = text;
  pos = 0;
  strHook = hook;
  lexemes = numbersAsLexemes;
  try {
    if (text.charCodeAt(0) === 0xfeff) {
      fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    }
    skipWs();
    const v = parseValue(0, false);
    skipWs();
    if (pos !== src.length) fail("Extra data");
    return v;
  } catch (e) {
    if (e instanceof PyJsonError) throw e;
    if (e instanceof RangeError) {
      throw new PyJsonError("Nesting too deep", pos, { cause: e });
    }
    throw e;
  } finally {
    src = "";
    strHook = undefined;
    lexemes = false;
  }
}

/**
 * JSON text exactly as Python's `json.dumps` writes it (`ensure_ascii=True`, separators `", "`
 * and `": "`, or `indent=N`), and a parser that keeps number lexemes and key order so that
 * re-serialising JSON text written by Python (`1.0`, `1e-05`, `{"3": 1, "1": 2}`) gives back the
 * same characters. Both are the Python-JSON core (`lib/pyjson/core.ts`) in hop's modes. Pure
 * functions, no I/O.
 *
 * @module
 */
import { dumps, loads } from "../pyjson/core.ts";
import { decodeStringLiteral } from "../pyjson/json_string.ts";
import { asciiBytes, utf8Bytes, utf8Text } from "../_util/utf8.ts";
import type { ByteMemory } from "../_util/byte_arena.ts";

export { PyNumber } from "../pyjson/core.ts";

/** Options of {@linkcode pyJsonDumps}. */
export interface PyJsonDumpsOptions {
  /** Like Python's `indent`: pretty-print with this many spaces per level. @default undefined */
  indent?: number;
}

/**
 * Serialises `value` the way Python's `json.dumps(value)` (or `json.dumps(value, indent=N)`) does:
 * non-ASCII escaped as `\uXXXX`, `", "` and `": "` separators, floats in Python's `repr` form
 * (an integral JS number from 1e16 on is written as a float, as JSON text from JS reads in Python).
 *
 * @param value a JSON-compatible value ({@linkcode PyNumber} keeps a number's original text)
 * @param options indentation
 * @returns the JSON text
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyJsonDumps } from "./pyjson.ts";
 * assertEquals(pyJsonDumps({ a: [1, "é"] }), '{"a": [1, "\\u00e9"]}');
 * assertEquals(pyJsonDumps('{"uid": "S1"}'), '"{\\"uid\\": \\"S1\\"}"');
 * ```
 */
export function pyJsonDumps(value: unknown, options: PyJsonDumpsOptions = {}): string {
  return dumps(value, { indent: options.indent, intLimit: 1e16 });
}

/**
 * Parses JSON text like Python's `json.loads` (also accepting `NaN`, `Infinity`, `-Infinity`),
 * keeping every number as a {@linkcode PyNumber} and objects' key order, so
 * {@linkcode pyJsonDumps} reproduces it.
 *
 * @param text the JSON text
 * @returns the parsed value (objects, arrays, strings, booleans, null, PyNumber)
 * @throws SyntaxError (a `PyJsonError`) when the text is not valid JSON
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyJsonDumps, pyJsonParse } from "./pyjson.ts";
 * assertEquals(pyJsonDumps(pyJsonParse('{"x":2.0}'), { indent: 4 }), '{\n    "x": 2.0\n}');
 * assertEquals(pyJsonDumps(pyJsonParse('{"3": 1, "1": 2}')), '{"3": 1, "1": 2}');
 * ```
 */
export function pyJsonParse(text: string): unknown {
  return loads(text, { lexemes: true });
}

/**
 * `json.dumps(value)` as UTF-8 bytes (the value hop writes for a JSON message): the same bytes as
 * `new TextEncoder().encode(pyJsonDumps(value))`, produced without the general encoder for a
 * string made of ASCII characters (an igwn-alert alert is the JSON text of GraceDB's alert, sent
 * as a JSON string): `JSON.stringify` writes such a string exactly as Python does.
 *
 * With `memory`, a string's text is written into memory taken from it (to be given back by the
 * caller once the bytes are no longer read): a publisher holding its alerts until Kafka
 * acknowledged them then reuses that memory instead of leaving an array per alert to the garbage
 * collector (see bench/README.md, "igwn-alert publisher memory").
 *
 * @param value a JSON-compatible value
 * @param memory where a string's bytes are taken from @default a new array
 * @returns the UTF-8 bytes of its Python JSON text
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyJsonBytes } from "./pyjson.ts";
 * assertEquals(new TextDecoder().decode(pyJsonBytes('{"uid": "S1"}')), '"{\\"uid\\": \\"S1\\"}"');
 * ```
 */
export function pyJsonBytes(value: unknown, memory?: ByteMemory): Uint8Array {
  if (typeof value === "string") {
    // Python escapes U+007F and everything above it (ensure_ascii); JSON.stringify escapes the
    // same control characters with the same spellings and leaves those alone
    const j = JSON.stringify(value);
    if (j.indexOf("\x7f") < 0) {
      const b = asciiBytes(j, memory);
      if (b) return b;
    }
  }
  return utf8Bytes(pyJsonDumps(value));
}

/** Below this length a string literal goes to `JSON.parse` at once (the fast path costs more). */
const FAST_LITERAL_MIN = 4096;

/**
 * `JSON.parse` of UTF-8 bytes (invalid UTF-8 throws a `TypeError`, a leading byte-order mark is
 * dropped), with a fast path for a large JSON string literal (an igwn-alert alert), decoded from
 * the bytes in one pass (`decodeStringLiteral`, lib/pyjson/json_string.ts).
 *
 * @param bytes UTF-8 JSON text
 * @returns the parsed value
 * @throws TypeError for invalid UTF-8, SyntaxError for invalid JSON
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseJsonBytes, pyJsonBytes } from "./pyjson.ts";
 * assertEquals(parseJsonBytes(pyJsonBytes('{"uid": "S1"}')), '{"uid": "S1"}');
 * ```
 */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  const s = bytes.length >= FAST_LITERAL_MIN ? decodeStringLiteral(bytes) : undefined;
  return s !== undefined ? s : JSON.parse(utf8Text(bytes));
}

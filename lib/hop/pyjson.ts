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

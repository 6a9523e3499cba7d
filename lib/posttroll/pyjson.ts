/**
 * JSON exactly as Python's `json` module writes and reads it, for the PostTroll codec: the
 * Python-JSON core (`lib/pyjson/core.ts`) with posttroll's datetimes.
 *
 * Value mapping (Python → TypeScript):
 * - `dict` → plain object. Key order is kept even for integer-like keys (which JS objects would
 *   otherwise move to the front): the decoder records the order under the non-enumerable symbol
 *   {@linkcode PY_KEY_ORDER} when it differs from JS order; {@linkcode pyDict} builds such objects.
 *   `Map`s with str/int/float/bool/None keys are encoded as dicts too.
 * - `list` → array; `str` → string; `bool` → boolean; `None` → `null`.
 * - `int` → `number` when it is a safe integer, else `bigint`; every integral `number` and every
 *   `bigint` is written as a Python int.
 * - `float` → `number` when it is not integral (also NaN, ±Infinity), else a {@linkcode PyFloat}
 *   (`1.0`, `-0.0`, `1e+16` stay floats when re-encoded). Wrap a number in `PyFloat` to write it
 *   as a float.
 * - `datetime` → {@linkcode PyDateTime} (JS `Date`s are accepted when encoding, as aware UTC).
 * - `undefined` is skipped in objects and written as `null` in arrays (like `JSON.stringify`).
 *
 * Output bytes follow `json.dumps` defaults: `", "` and `": "` separators, `ensure_ascii`
 * (`\u00f6`, surrogate pairs for astral characters), Python float `repr`, `NaN`/`Infinity`.
 * The decoder follows `json.loads`: NaN/Infinity/-Infinity, duplicate keys (last value wins, first
 * position kept), lone surrogate escapes, ints of at most 4300 digits, nesting limited to
 * {@linkcode MAX_DEPTH}.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyDumps, pyLoads, PyFloat } from "./pyjson.ts";
 * assertEquals(
 *   pyDumps({ a: new PyFloat(1), b: "ö", c: [1e16, 2n ** 64n] }),
 *   '{"a": 1.0, "b": "\\u00f6", "c": [10000000000000000, 18446744073709551616]}',
 * );
 * assertEquals(pyLoads('{"x": 1.0}').x instanceof PyFloat, true);
 * ```
 *
 * @module
 */
import { dumps, loadsAt, MAX_DEPTH, PyJsonError, pyJsonString } from "../pyjson/core.ts";
import { PyDateTime } from "./pytime.ts";

export {
  MAX_DEPTH,
  PY_KEY_ORDER,
  pyDict,
  PyFloat,
  pyFloatRepr,
  PyJsonError,
  pyJsonString,
  pyKeys,
} from "../pyjson/core.ts";

/** Options of {@linkcode pyDumps}. */
export interface PyDumpsOptions {
  /**
   * How datetimes are written (Python's `default=` hook); the result is written as a JSON string.
   * @default isoformat()
   */
  datetime?: (dt: PyDateTime) => string;
}

/** Result of {@linkcode pyDumpsInfo}. */
export interface PyDumpsResult {
  /** The JSON text. */
  text: string;
  /** Whether a datetime (PyDateTime or Date) was written. */
  sawDatetime: boolean;
}

/**
 * Python's `isoformat()` of a datetime (the default of {@linkcode PyDumpsOptions.datetime}).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isoformatOf } from "./pyjson.ts";
 * import { PyDateTime } from "./pytime.ts";
 * assertEquals(isoformatOf(PyDateTime.fromisoformat("2020-01-01T00:00Z")), "2020-01-01T00:00:00+00:00");
 * ```
 */
export const isoformatOf = (dt: PyDateTime): string => dt.isoformat();

/**
 * `isoformat()` without the offset (what posttroll writes under message versions up to v1.01).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { isoformatWallOf } from "./pyjson.ts";
 * import { PyDateTime } from "./pytime.ts";
 * assertEquals(isoformatWallOf(PyDateTime.fromisoformat("2020-01-01T00:00Z")), "2020-01-01T00:00:00");
 * ```
 */
export const isoformatWallOf = (dt: PyDateTime): string => dt.isoformatWithoutOffset();

/** `dumps(text)` of a datetime hook's result (a string, unless the hook is mistyped). */
function jsonText(text: unknown): string {
  return typeof text === "string" ? pyJsonString(text) : dumps(text);
}

/** The datetime `v` stands for (a PyDateTime, or a Date as one), else undefined. */
function datetimeOf(v: object): PyDateTime | undefined {
  return v instanceof PyDateTime ? v : v instanceof Date ? PyDateTime.fromDate(v) : undefined;
}

/**
 * {@linkcode pyDumps} that also tells whether the value held a datetime (one pass over the data
 * instead of two when choosing the message version).
 * @throws {PyJsonError} like {@linkcode pyDumps}
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyDumpsInfo } from "./pyjson.ts";
 * assertEquals(pyDumpsInfo({ a: 1 }).sawDatetime, false);
 * ```
 */
export function pyDumpsInfo(value: unknown, options: PyDumpsOptions = {}): PyDumpsResult {
  const dt = options.datetime ?? isoformatOf;
  let sawDatetime = false;
  // this module's isoformat functions write text that needs no escape: written as a string value
  // without the escape scan (in a dict like a plain string: no quoting pieces of its own)
  const text = dt === isoformatOf || dt === isoformatWallOf
    ? dumps(value, {
      plainTexts: (v) => {
        const d = datetimeOf(v);
        if (d === undefined) return undefined;
        sawDatetime = true;
        return dt(d);
      },
    })
    : dumps(value, {
      objects: (v) => {
        const d = datetimeOf(v);
        if (d === undefined) return undefined;
        sawDatetime = true;
        return jsonText(dt(d));
      },
    });
  return { text, sawDatetime };
}

/**
 * Python `json.dumps(value, default=…)` with default settings.
 * @throws {PyJsonError} for values Python could not serialize (functions, class instances,
 *   symbols, nesting deeper than {@linkcode MAX_DEPTH} or circular)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyDumps } from "./pyjson.ts";
 * assertEquals(
 *   pyDumps({ station: "norrköping", n: [1, 2.5, NaN] }),
 *   String.raw`{"station": "norrk\u00f6ping", "n": [1, 2.5, NaN]}`,
 * );
 * ```
 */
export function pyDumps(value: unknown, options: PyDumpsOptions = {}): string {
  return pyDumpsInfo(value, options).text;
}

/** Options of {@linkcode pyLoads}. */
export interface PyLoadsOptions {
  /**
   * Apply posttroll's `datetime_decoder` object hook: every string that has a JSON object among
   * its ancestors and that `datetime.fromisoformat` accepts becomes a {@linkcode PyDateTime}.
   * @default false
   */
  datetimes?: boolean;
}

/** Options of {@linkcode pyLoads} that only matter for testing. */
export interface PyLoadsTuning {
  /** Skip the JSON.parse fast path (the exact parser decides alone). @default false */
  exactOnly?: boolean;
}

/** posttroll's `datetime_decoder` for one string: a PyDateTime when `fromisoformat` takes it. */
function dtOrString(v: string): unknown {
  if (v.length >= 7) {
    const f = v.charCodeAt(0);
    if (f >= 48 && f <= 57) {
      const d = PyDateTime.tryFromisoformat(v);
      if (d !== undefined) return d;
    }
  }
  return v;
}

/**
 * Python `json.loads(text)` (optionally with posttroll's `datetime_decoder` object hook).
 * @throws {PyJsonError} where Python raises `ValueError` (JSONDecodeError, int digit limit), or
 *   when nesting exceeds {@linkcode MAX_DEPTH}
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyLoads } from "./pyjson.ts";
 * const v = pyLoads('{"t": ["2020-01-01T00:00:00"], "n": NaN}', { datetimes: true });
 * assertEquals(v.t[0].isoformat(), "2020-01-01T00:00:00");
 * assertEquals(v.n, NaN);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function pyLoads(text: string, options: PyLoadsOptions & PyLoadsTuning = {}): any {
  return loadsAt(text, 0, {
    strings: options.datetimes ? dtOrString : undefined,
    exactOnly: options.exactOnly,
  });
}

/**
 * {@linkcode pyLoads} of `source.slice(start)`, for callers holding the JSON inside a larger
 * string (the codec passes the whole message and the offset of its data part), and maybe the
 * bytes `source` was decoded from (UTF-8, or ISO-8859-1 byte for character: a quicker scan for
 * integral floats looks at them first).
 * @throws {PyJsonError} like {@linkcode pyLoads}
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyLoadsAt } from "./pyjson.ts";
 * assertEquals(pyLoadsAt("data: [1, 2]", 6), [ 1, 2 ]);
 * const bytes = new TextEncoder().encode("data: [1, 2.0]");
 * assertEquals(String(pyLoadsAt("data: [1, 2.0]", 6, {}, bytes)), "1,2.0");
 * ```
 */
export function pyLoadsAt(
  source: string,
  start: number,
  options: PyLoadsOptions = {},
  bytes?: Uint8Array,
): unknown {
  return loadsAt(source, start, { strings: options.datetimes ? dtOrString : undefined, bytes });
}

/**
 * posttroll's `datetime_decoder` applied to an already decoded container: converts, in place,
 * every string inside `value` (recursively through lists and dicts) that `fromisoformat` accepts
 * into a {@linkcode PyDateTime}, and returns `value`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { applyDatetimeDecoder } from "./pyjson.ts";
 * const d = applyDatetimeDecoder({ a: ["2020-01-01", "12"] });
 * assertEquals(String(d.a[0]), "2020-01-01 00:00:00"); // a PyDateTime now
 * assertEquals(d.a[1], "12"); // not a date: unchanged
 * ```
 */
export function applyDatetimeDecoder<T>(value: T, depth = 0): T {
  if (depth > MAX_DEPTH) throw new PyJsonError("Nesting too deep");
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = convertOne(value[i], depth);
  } else if (value !== null && typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const o = value as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const v = convertOne(o[k], depth);
        if (v !== o[k]) {
          if (k === "__proto__") {
            Object.defineProperty(o, k, {
              value: v,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else o[k] = v;
        }
      }
    }
  }
  return value;
}

function convertOne(v: unknown, depth: number): unknown {
  if (typeof v === "string") return PyDateTime.tryFromisoformat(v) ?? v;
  if (v !== null && typeof v === "object") return applyDatetimeDecoder(v, depth + 1);
  return v;
}

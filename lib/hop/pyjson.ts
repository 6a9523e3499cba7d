/**
 * JSON text exactly as Python's `json.dumps` writes it (`ensure_ascii=True`, separators `", "` and
 * `": "`, or `indent=N`), and a parser that keeps number lexemes so that re-serialising JSON text
 * written by Python (`1.0`, `1e-05`) gives back the same characters. Pure functions, no I/O.
 *
 * @module
 */

/**
 * A JSON number kept as its original text (what {@linkcode pyJsonParse} produces for numbers).
 *
 * @example
 * ```ts
 * import { PyNumber } from "./pyjson.ts";
 * new PyNumber("2.0").valueOf(); // 2
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

/** Options of {@linkcode pyJsonDumps}. */
export interface PyJsonDumpsOptions {
  /** Like Python's `indent`: pretty-print with this many spaces per level. @default undefined */
  indent?: number;
}

// what Python's ensure_ascii escapes: '"', '\\' and everything outside ' '..'~'
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

function escapeString(s: string): string {
  // fast path for long plain-ASCII text (GraceDB alerts): one regex scan, no per-character work
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/** Python's `float.__repr__` for a finite number that is not an integer-valued safe integer. */
function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (Object.is(n, -0)) return "-0.0";
  // Shortest round-trip digits, then Python's layout rule: scientific when exp < -4 or >= 16.
  const [mant, expText] = n.toExponential().split("e");
  const exp = Number(expText);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) {
    body = `0.${"0".repeat(-exp - 1)}${digits}`;
  } else if (digits.length > exp + 1) {
    body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    body = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  }
  return (neg ? "-" : "") + body;
}

function dumpNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16 && !Object.is(n, -0)) return String(n);
  return pyFloatRepr(n);
}

function dump(v: unknown, indent: number | undefined, level: number): string {
  if (v === null || v === undefined) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return escapeString(v);
  if (typeof v === "number") return dumpNumber(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyNumber) return v.text;
  const nl = indent === undefined ? "" : "\n" + " ".repeat(indent * (level + 1));
  const end = indent === undefined ? "" : "\n" + " ".repeat(indent * level);
  const sep = indent === undefined ? ", " : ",";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return "[" + nl + v.map((x) => dump(x, indent, level + 1)).join(sep + nl) + end + "]";
  }
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return "{}";
    return "{" + nl +
      entries.map(([k, x]) => escapeString(k) + ": " + dump(x, indent, level + 1)).join(sep + nl) +
      end + "}";
  }
  throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
}

/**
 * Serialises `value` the way Python's `json.dumps(value)` (or `json.dumps(value, indent=N)`) does:
 * non-ASCII escaped as `\uXXXX`, `", "` and `": "` separators, floats in Python's `repr` form.
 *
 * @param value a JSON-compatible value ({@linkcode PyNumber} keeps a number's original text)
 * @param options indentation
 * @returns the JSON text
 * @example
 * ```ts
 * import { pyJsonDumps } from "./pyjson.ts";
 * pyJsonDumps({ a: [1, "é"] }); // '{"a": [1, "\\u00e9"]}'
 * pyJsonDumps('{"uid": "S1"}'); // '"{\\"uid\\": \\"S1\\"}"'
 * ```
 */
export function pyJsonDumps(value: unknown, options: PyJsonDumpsOptions = {}): string {
  return dump(value, options.indent, 0);
}

const NUM = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
// deno-lint-ignore no-control-regex
const STR = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;

/**
 * Parses JSON text like Python's `json.loads` (also accepting `NaN`, `Infinity`, `-Infinity`),
 * keeping every number as a {@linkcode PyNumber} so {@linkcode pyJsonDumps} reproduces it.
 *
 * @param text the JSON text
 * @returns the parsed value (objects, arrays, strings, booleans, null, PyNumber)
 * @throws SyntaxError when the text is not valid JSON
 * @example
 * ```ts
 * import { pyJsonDumps, pyJsonParse } from "./pyjson.ts";
 * pyJsonDumps(pyJsonParse('{"x":2.0}'), { indent: 4 }); // '{\n    "x": 2.0\n}'
 * ```
 */
export function pyJsonParse(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i}`);
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      while (true) {
        ws();
        if (text[i] !== '"') fail("Expecting property name enclosed in double quotes");
        const k = str();
        ws();
        if (text[i] !== ":") fail("Expecting ':' delimiter");
        i++;
        obj[k] = value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      while (true) {
        arr.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    for (const word of ["NaN", "Infinity", "-Infinity"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return new PyNumber(word);
      }
    }
    NUM.lastIndex = i;
    const m = NUM.exec(text);
    if (!m) fail("Expecting value");
    i += m![0].length;
    return new PyNumber(m![0]);
  };
  const str = (): string => {
    STR.lastIndex = i;
    const m = STR.exec(text);
    if (!m) fail("Invalid string");
    i += m![0].length;
    return JSON.parse(m![0]);
  };
  const v = value();
  ws();
  if (i !== text.length) fail("Extra data");
  return v;
}

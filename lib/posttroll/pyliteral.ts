/**
 * A small, safe parser for Python literals, the equivalent of Python's `ast.literal_eval` as
 * donfig uses it to read `POSTTROLL_*` environment variables.
 *
 * Supported: integers (decimal, `0x`, `0o`, `0b`, `_` separators, unary `+`/`-`), floats
 * (`1.5`, `.5`, `1e3`), strings (single, double and triple quotes, `r`/`u`/`b` prefixes, the
 * escapes `\n \t \\ \' \" \xNN \uNNNN \UNNNNNNNN \N{...}` (only a few names) and octal),
 * adjacent string concatenation, `True`, `False`, `None`, lists, tuples, dicts, sets and `set()`,
 * parentheses, `#` comments.
 *
 * Mapping to TypeScript: `int` -> `number` (or `bigint` beyond 2^53), `float` -> `number`,
 * `str` -> `string`, `bytes` -> `Uint8Array`, `True`/`False` -> `boolean`, `None` -> `null`,
 * `list` and `tuple` -> arrays, `set` -> `Set`, `dict` -> plain object whose keys are the
 * Python `str()` of the keys (`{1: 2}` -> `{"1": 2}`). Complex numbers are not supported (a
 * {@linkcode PyLiteralError} is thrown, so {@linkcode parsePythonLiteralOrString} keeps the raw
 * text).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parsePythonLiteral } from "./pyliteral.ts";
 * assertEquals(parsePythonLiteral("[1, 'a', True, None]"), [1, "a", true, null]);
 * ```
 * @module
 */

/** A value produced by {@linkcode parsePythonLiteral}. */
export type PyLiteral =
  | number
  | bigint
  | string
  | boolean
  | null
  | Uint8Array
  | PyLiteral[]
  | Set<PyLiteral>
  | { [key: string]: PyLiteral };

/**
 * Raised when text is not a Python literal (Python raises `SyntaxError` or `ValueError`).
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { parsePythonLiteral, PyLiteralError } from "./pyliteral.ts";
 * assertThrows(() => parsePythonLiteral("localhost"), PyLiteralError);
 * ```
 */
export class PyLiteralError extends SyntaxError {
  /** Offset in the input where parsing failed. */
  readonly offset: number;
  /**
   * @param message what was wrong
   * @param offset where in the text
   */
  constructor(message: string, offset: number) {
    super(`${message} (at offset ${offset})`);
    this.name = "PyLiteralError";
    this.offset = offset;
  }
}

const NAMED_CHARS: Record<string, string> = {
  "BULLET": "\u2022",
  "SPACE": " ",
  "NO-BREAK SPACE": "\u00a0",
  "DEGREE SIGN": "\u00b0",
  "EM DASH": "\u2014",
  "EN DASH": "\u2013",
  "HORIZONTAL ELLIPSIS": "\u2026",
};

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(msg: string): never {
    throw new PyLiteralError(msg, this.pos);
  }

  skipWs(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") this.pos++;
      else if (c === "\\" && (s[this.pos + 1] === "\n")) this.pos += 2;
      else if (c === "#") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      } else break;
    }
  }

  peek(): string {
    return this.src[this.pos] ?? "";
  }

  parseTop(): PyLiteral {
    this.skipWs();
    if (this.pos >= this.src.length) this.fail("empty input");
    const v = this.parseExpr();
    this.skipWs();
    if (this.pos < this.src.length) this.fail(`unexpected ${JSON.stringify(this.peek())}`);
    return v;
  }

  parseExpr(): PyLiteral {
    this.skipWs();
    const c = this.peek();
    if (c === "+" || c === "-") {
      this.pos++;
      const v = this.parseExpr();
      if (typeof v === "number") return c === "-" ? -v : v;
      if (typeof v === "bigint") return c === "-" ? -v : v;
      this.fail("unary sign on a non-number");
    }
    if (c === "[") return this.parseSeq("[", "]");
    if (c === "(") return this.parseParen();
    if (c === "{") return this.parseBrace();
    if (c === "'" || c === '"') return this.parseStrings();
    if (/[0-9.]/.test(c)) return this.parseNumber();
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos))!;
      const word = m[0];
      const after = this.src[this.pos + word.length];
      if ((after === "'" || after === '"') && /^(r|u|b|br|rb)$/i.test(word)) {
        return this.parseStrings();
      }
      this.pos += word.length;
      if (word === "True") return true;
      if (word === "False") return false;
      if (word === "None") return null;
      if (word === "set") {
        this.skipWs();
        if (this.peek() === "(") {
          this.pos++;
          this.skipWs();
          if (this.peek() === ")") {
            this.pos++;
            return new Set();
          }
        }
      }
      this.pos -= word.length;
      this.fail(`malformed node or string: name ${JSON.stringify(word)}`);
    }
    this.fail(`invalid syntax at ${JSON.stringify(c)}`);
  }

  parseItems(close: string): { items: PyLiteral[]; trailingComma: boolean } {
    const items: PyLiteral[] = [];
    let trailingComma = false;
    this.skipWs();
    while (this.peek() !== close) {
      if (this.pos >= this.src.length) this.fail(`missing ${close}`);
      items.push(this.parseExpr());
      trailingComma = this.separator(close);
    }
    this.pos++;
    return { items, trailingComma };
  }

  /** After an item: skips a comma (true) or stops before `close`; anything else is an error. */
  separator(close: string): boolean {
    this.skipWs();
    if (this.peek() === ",") {
      this.pos++;
      this.skipWs();
      return true;
    }
    if (this.peek() !== close) this.fail(`expected , or ${close}`);
    return false;
  }

  parseSeq(_open: string, close: string): PyLiteral[] {
    this.pos++;
    return this.parseItems(close).items;
  }

  parseParen(): PyLiteral {
    this.pos++;
    const { items, trailingComma } = this.parseItems(")");
    if (items.length === 1 && !trailingComma) return items[0];
    return items; // tuple
  }

  parseBrace(): PyLiteral {
    this.pos++;
    this.skipWs();
    if (this.peek() === "}") {
      this.pos++;
      return {};
    }
    const first = this.parseExpr();
    this.skipWs();
    if (this.peek() === ":") {
      const out: { [key: string]: PyLiteral } = {};
      let key = first;
      while (true) {
        this.pos++; // ':'
        const value = this.parseExpr();
        out[pyStr(key, this)] = value;
        this.separator("}");
        if (this.peek() === "}") {
          this.pos++;
          return out;
        }
        key = this.parseExpr();
        this.skipWs();
        if (this.peek() !== ":") this.fail("expected :");
      }
    }
    const set = new Set<PyLiteral>([first]);
    while (true) {
      this.separator("}");
      if (this.peek() === "}") {
        this.pos++;
        return set;
      }
      set.add(this.parseExpr());
    }
  }

  parseNumber(): number | bigint {
    const rest = this.src.slice(this.pos);
    let m = /^0[xX](?:_?[0-9a-fA-F])+|^0[oO](?:_?[0-7])+|^0[bB](?:_?[01])+/.exec(rest);
    if (m) {
      this.pos += m[0].length;
      this.noIdentAfter();
      return toInt(BigInt(m[0].replace(/_/g, "")));
    }
    m = /^(?:\d(?:_?\d)*)?(?:\.(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?/.exec(rest);
    const text = m?.[0] ?? "";
    if (!text || text === "." || /^\.[eE]/.test(text)) this.fail("invalid number");
    this.pos += text.length;
    if (this.peek() === "j" || this.peek() === "J") this.fail("complex numbers are not supported");
    this.noIdentAfter();
    const clean = text.replace(/_/g, "");
    if (/[.eE]/.test(clean)) return Number(clean);
    if (/^0+[1-9]/.test(clean)) {
      this.fail("leading zeros in decimal integer literals are not permitted");
    }
    return toInt(BigInt(clean));
  }

  noIdentAfter(): void {
    if (/[A-Za-z0-9_.]/.test(this.peek())) this.fail("invalid number");
  }

  parseStrings(): string | Uint8Array {
    let out: string | undefined;
    let bytes: number[] | undefined;
    while (true) {
      this.skipWs();
      const m = /^([rRuUbB]{0,2})(['"])/.exec(this.src.slice(this.pos));
      if (!m) break;
      const prefix = m[1].toLowerCase();
      if (prefix && !/^(r|u|b|br|rb)$/.test(prefix)) break;
      const isBytes = prefix.includes("b");
      const one = this.parseOneString(prefix.includes("r"), isBytes);
      if (isBytes) {
        if (out !== undefined) this.fail("cannot mix bytes and nonbytes literals");
        bytes = [...(bytes ?? []), ...Array.from(one, (ch) => ch.charCodeAt(0))];
      } else {
        if (bytes !== undefined) this.fail("cannot mix bytes and nonbytes literals");
        out = (out ?? "") + one;
      }
    }
    if (bytes !== undefined) return new Uint8Array(bytes);
    return out ?? "";
  }

  parseOneString(raw: boolean, isBytes: boolean): string {
    const m = /^[rRuUbB]{0,2}/.exec(this.src.slice(this.pos))!;
    this.pos += m[0].length;
    const q = this.peek();
    const triple = this.src.startsWith(q.repeat(3), this.pos);
    const delim = triple ? q.repeat(3) : q;
    this.pos += delim.length;
    let out = "";
    const s = this.src;
    while (true) {
      if (this.pos >= s.length) this.fail("unterminated string literal");
      if (s.startsWith(delim, this.pos)) {
        this.pos += delim.length;
        return out;
      }
      const c = s[this.pos];
      if (c === "\n" && !triple) this.fail("unterminated string literal");
      if (isBytes && c.charCodeAt(0) > 127) this.fail("bytes can only contain ASCII characters");
      if (c !== "\\") {
        out += c;
        this.pos++;
        continue;
      }
      if (raw) {
        out += c + (s[this.pos + 1] ?? "");
        this.pos += 2;
        continue;
      }
      this.pos++;
      const e = s[this.pos++] ?? "";
      switch (e) {
        case "\n":
          break;
        case "\\":
          out += "\\";
          break;
        case "'":
          out += "'";
          break;
        case '"':
          out += '"';
          break;
        case "a":
          out += "\x07";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "v":
          out += "\v";
          break;
        case "x":
          out += String.fromCharCode(this.hex(2));
          break;
        case "u":
          if (isBytes) out += "\\u";
          else out += String.fromCodePoint(this.hex(4));
          break;
        case "U":
          if (isBytes) out += "\\U";
          else {
            const cp = this.hex(8);
            if (cp > 0x10ffff) this.fail("illegal Unicode character");
            out += String.fromCodePoint(cp);
          }
          break;
        case "N": {
          if (isBytes) {
            out += "\\N";
            break;
          }
          const mm = /^\{([^}]*)\}/.exec(s.slice(this.pos));
          const ch = mm ? NAMED_CHARS[mm[1].toUpperCase()] : undefined;
          if (!mm || ch === undefined) this.fail("unknown or unsupported \\N{...} name");
          out += ch;
          this.pos += mm[0].length;
          break;
        }
        default:
          if (/[0-7]/.test(e)) {
            let digits = e;
            while (digits.length < 3 && /[0-7]/.test(s[this.pos] ?? "")) digits += s[this.pos++];
            out += String.fromCharCode(parseInt(digits, 8) & (isBytes ? 0xff : 0x1ff));
          } else out += "\\" + e; // unknown escapes are kept verbatim, like Python
      }
    }
  }

  hex(n: number): number {
    const h = this.src.slice(this.pos, this.pos + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) this.fail("truncated \\x/\\u escape");
    this.pos += n;
    return parseInt(h, 16);
  }
}

function toInt(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function pyStr(key: PyLiteral, p: Parser): string {
  if (typeof key === "string") return key;
  if (typeof key === "boolean") return key ? "True" : "False";
  if (key === null) return "None";
  if (typeof key === "number" || typeof key === "bigint") return String(key);
  return p.fail("unhashable or unsupported dict key");
}

/**
 * Parses `text` as a Python literal, like `ast.literal_eval`.
 *
 * @param text the literal
 * @returns the value
 * @throws {PyLiteralError} when `text` is not a literal
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parsePythonLiteral } from "./pyliteral.ts";
 * assertEquals(parsePythonLiteral("{'a': (1, 2.5)}"), { a: [1, 2.5] });
 * ```
 */
export function parsePythonLiteral(text: string): PyLiteral {
  return new Parser(text).parseTop();
}

/**
 * Parses `text` as a Python literal and returns `text` itself when it is not one, which is how
 * donfig reads environment variables (`POSTTROLL_MC_GROUP=225.0.0.1` stays a string,
 * `POSTTROLL_NAMESERVER_PORT=5557` becomes a number).
 *
 * @param text the raw value
 * @returns the parsed literal, or `text` unchanged
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { parsePythonLiteralOrString } from "./pyliteral.ts";
 * assertEquals(parsePythonLiteralOrString("localhost"), "localhost");
 * assert(parsePythonLiteralOrString("True"));
 * ```
 */
export function parsePythonLiteralOrString(text: string): PyLiteral {
  try {
    return parsePythonLiteral(text);
  } catch (e) {
    if (e instanceof PyLiteralError) return text;
    throw e;
  }
}

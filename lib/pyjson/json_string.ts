/**
 * The string a large JSON string literal stands for, decoded in a small WebAssembly module
 * (source `json_string.wat`, bytes in `json_string_wasm.ts`): the bytes between the quotes are
 * copied into the module's memory, unescaped there in place 64 bytes at a time, and decoded once.
 * For an igwn-alert alert of 64 KiB (GraceDB's alert JSON text as a JSON string, 20-30 escaped
 * quotes) this costs about 11 µs against 24 µs for the former JavaScript fast path and 40-70 µs
 * for `JSON.parse`, and makes one string instead of three (bench/README.md "Session 8 (k64, #17)").
 *
 * @module
 */
import { wasmExports } from "../_util/wasm.ts";
import { JSON_STRING_WASM_BASE64 } from "./json_string_wasm.ts";

/** Literals longer than this go to `JSON.parse` (the module's memory is kept at its largest). */
export const MAX_WASM_LITERAL = 1 << 20;

interface JsonStringModule {
  unescape: (n: number) => number;
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
}

let module: JsonStringModule | undefined;
const ascii = new TextDecoder();

function load(): JsonStringModule {
  const e = wasmExports(JSON_STRING_WASM_BASE64) as {
    unescape: JsonStringModule["unescape"];
    memory: WebAssembly.Memory;
  };
  return { unescape: e.unescape, memory: e.memory, bytes: new Uint8Array(e.memory.buffer) };
}

/**
 * The string that the JSON text `bytes` (UTF-8) stands for, when it is exactly one string literal
 * of ASCII characters from U+0020 with only the escapes `\" \\ \/ \b \f \n \r \t`; undefined for
 * anything else (other JSON, `\u` escapes, non-ASCII, whitespace around, invalid text, longer than
 * {@linkcode MAX_WASM_LITERAL}): then `JSON.parse` decides. When it returns a string, that string
 * is `JSON.parse(new TextDecoder().decode(bytes))`.
 *
 * @param bytes the JSON text
 * @returns the string, or undefined
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeStringLiteral } from "./json_string.ts";
 * const enc = new TextEncoder();
 * assertEquals(decodeStringLiteral(enc.encode('"{\\"uid\\": \\"S1\\"}"')), '{"uid": "S1"}');
 * assertEquals(decodeStringLiteral(enc.encode('"\\u00e9"')), undefined);
 * assertEquals(decodeStringLiteral(enc.encode("[1]")), undefined);
 * ```
 */
export function decodeStringLiteral(bytes: Uint8Array): string | undefined {
  const n = bytes.length;
  if (n < 2 || n - 2 > MAX_WASM_LITERAL || bytes[0] !== 0x22 || bytes[n - 1] !== 0x22) {
    return undefined;
  }
  const m = module ??= load();
  if (m.bytes.length < n - 2) {
    m.memory.grow(Math.ceil((n - 2 - m.bytes.length) / 65536));
    m.bytes = new Uint8Array(m.memory.buffer);
  }
  m.bytes.set(bytes.subarray(1, n - 1));
  const length = m.unescape(n - 2);
  // every byte written is ASCII: the lenient decoder gives the exact text
  return length < 0 ? undefined : ascii.decode(m.bytes.subarray(0, length));
}

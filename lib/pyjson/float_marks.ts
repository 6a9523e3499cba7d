/**
 * The fast decoder's scan for integral float tokens (`1.0`, `1e3`: JSON.parse makes them JS
 * integers, Python floats), done on the text's UTF-8 bytes in a small WebAssembly module (source
 * `float_marks.wat`, bytes in `float_marks_wasm.ts`), 16 bytes at a time, when the caller still
 * has them (the posttroll codec decodes received bytes): for a file event about 0.17 µs against
 * 0.32 µs for the regular expression over the text (bench/README.md "Session 11 (subcpu2, #21)").
 *
 * @module
 */
import { wasmExports } from "../_util/wasm.ts";
import { FLOAT_MARKS_WASM_BASE64 } from "./float_marks_wasm.ts";

/** Texts longer than this are left to the scan of the text (the module keeps one page). */
export const MAX_MARKS_BYTES = 65536 - 32;

let scan: ((bytes: Uint8Array) => boolean) | undefined;

/** The module's scan: copies the bytes into its memory and looks. */
function load(): (bytes: Uint8Array) => boolean {
  const e = wasmExports(FLOAT_MARKS_WASM_BASE64);
  const marks = e.marks as (n: number) => number;
  const memory = new Uint8Array((e.memory as WebAssembly.Memory).buffer);
  return (bytes) => {
    memory.set(bytes, 16);
    return marks(bytes.length) !== 0;
  };
}

/**
 * False when the JSON text whose UTF-8 (or ISO-8859-1) bytes are `bytes` certainly holds no
 * number token that is a float with an integral value; true when it may (the text's own scan then
 * decides), and for texts longer than {@linkcode MAX_MARKS_BYTES}. Other bytes around the JSON
 * text (a message's header) may make it true, never false. Every byte a number token, its marks
 * (a digit followed by `e`, `E` or `.`) and its delimiters can be is ASCII, and in UTF-8 no byte
 * of another character is, so the bytes hold such a token exactly when the text does.
 *
 * @param bytes the text's bytes
 * @returns whether an integral float token may be there
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { mayHaveIntegralFloatBytes } from "./float_marks.ts";
 * const enc = new TextEncoder();
 * assertEquals(mayHaveIntegralFloatBytes(enc.encode('{"n": 5, "f": 2.5}')), false);
 * assertEquals(mayHaveIntegralFloatBytes(enc.encode('{"n": 5, "f": 2.0}')), true);
 * assertEquals(mayHaveIntegralFloatBytes(enc.encode('{"ip": "127.0.0.1"}')), false);
 * ```
 */
export function mayHaveIntegralFloatBytes(bytes: Uint8Array): boolean {
  return bytes.length > MAX_MARKS_BYTES || (scan ??= load())(bytes);
}

/**
 * Z85 encoding (ZeroMQ RFC 32): 4 bytes to 5 printable characters, used for CURVE keys.
 *
 * @module
 */

const ALPHABET =
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes `data` (length a multiple of 4) as Z85 text.
 *
 * @param data bytes to encode; length must be a multiple of 4
 * @returns the Z85 text, 5/4 as long
 * @throws {RangeError} when the length is not a multiple of 4
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { z85Encode } from "./z85.ts";
 * const text = z85Encode(new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]));
 * assert(text === "HelloWorld");
 * ```
 */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) {
    throw new RangeError(`Z85 input length must be a multiple of 4, got ${data.length}`);
  }
  let out = "";
  for (let i = 0; i < data.length; i += 4) {
    let v = ((data[i] << 24) >>> 0) + (data[i + 1] << 16) + (data[i + 2] << 8) + data[i + 3];
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = ALPHABET[v % 85];
      v = Math.floor(v / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/**
 * Decodes Z85 `text` (length a multiple of 5) to bytes.
 *
 * @param text Z85 text
 * @returns the decoded bytes, 4/5 as long
 * @throws {SyntaxError} on a bad length or a character outside the Z85 alphabet
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { z85Decode } from "./z85.ts";
 * assert(z85Decode("HelloWorld").length === 8);
 * ```
 */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new SyntaxError(`Z85 text length must be a multiple of 5, got ${text.length}`);
  }
  const out = new Uint8Array((text.length / 5) * 4);
  let o = 0;
  for (let i = 0; i < text.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const c = text.charCodeAt(i + j);
      const d = c < 128 ? DECODE[c] : -1;
      if (d < 0) throw new SyntaxError(`invalid Z85 character ${JSON.stringify(text[i + j])}`);
      v = v * 85 + d;
    }
    if (v > 0xffffffff) throw new SyntaxError(`Z85 group ${text.slice(i, i + 5)} overflows`);
    out[o++] = v >>> 24;
    out[o++] = (v >>> 16) & 0xff;
    out[o++] = (v >>> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  return out;
}

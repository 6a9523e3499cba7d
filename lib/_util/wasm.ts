/**
 * Instantiates the small WebAssembly modules of the hot paths (CRC-32C of record batches, JSON
 * string literals of alerts) from the base64 text their generated `*_wasm.ts` files hold
 * (`scripts/gen_wasm.ts`): synchronously, once per module, without imports.
 *
 * @module
 */

/**
 * The exports of a new instance of the module whose bytes `base64` holds.
 *
 * @param base64 the module's bytes, base64
 * @returns the instance's exports
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmExports } from "./wasm.ts";
 * // (module (memory (export "memory") 1))
 * const e = wasmExports("AGFzbQEAAAAFAwEAAQcKAQZtZW1vcnkCAA==");
 * assertEquals((e.memory as WebAssembly.Memory).buffer.byteLength, 65536);
 * ```
 */
export function wasmExports(base64: string): WebAssembly.Exports {
  const raw = atob(base64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
}

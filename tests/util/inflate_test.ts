// lib/_util/inflate.ts against node:zlib's deflateRawSync (every level, stored, fixed and dynamic
// blocks, runs and long inputs) and on damaged streams.
import { assertEquals, assertThrows } from "@std/assert";
import { deflateRawSync } from "node:zlib";
import { InflateError, inflateRaw } from "../../lib/_util/inflate.ts";

function inputs(): Uint8Array[] {
  const text = new TextEncoder().encode(
    '{"superevent_id": "S240101a", "far": 1.2e-10, "labels": ["EM_READY", "ADVOK"]} '.repeat(500),
  );
  let seed = 12345;
  const random = new Uint8Array(70_000).map(() =>
    (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
  );
  const mixed = new Uint8Array(200_000);
  for (let i = 0; i < mixed.length; i++) {
    mixed[i] = i % 7 === 0 ? random[i % random.length] : 65 + (i % 13);
  }
  return [new Uint8Array(0), new Uint8Array([42]), new Uint8Array(100_000), text, random, mixed];
}

Deno.test("inflateRaw gives back what zlib's deflateRaw compressed, at every level", () => {
  for (const data of inputs()) {
    for (const level of [0, 1, 6, 9]) {
      const packed = new Uint8Array(deflateRawSync(data, { level }));
      assertEquals(inflateRaw(packed), data, `${data.length} bytes at level ${level}`);
    }
    // fixed Huffman blocks only
    const fixed = new Uint8Array(deflateRawSync(data, { strategy: 4 }));
    assertEquals(inflateRaw(fixed), data, `${data.length} bytes, fixed codes`);
  }
});

Deno.test("inflateRaw throws an InflateError for damaged or truncated streams", () => {
  const packed = new Uint8Array(deflateRawSync(inputs()[3]));
  assertThrows(() => inflateRaw(packed.subarray(0, packed.length >> 1)), InflateError);
  assertThrows(() => inflateRaw(new Uint8Array([0x07])), InflateError); // block type 3
  // a stored block whose length check fails
  assertThrows(
    () => inflateRaw(new Uint8Array([0x01, 0x02, 0x00, 0x00, 0x00, 1, 2])),
    InflateError,
  );
  // a distance before the start of the output (fixed block: length 3 at distance 1 first)
  assertThrows(() => inflateRaw(new Uint8Array([0x03, 0x02, 0x00])), InflateError);
});

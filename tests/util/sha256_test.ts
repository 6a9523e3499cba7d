// lib/_util/sha256.ts against node:crypto's SHA-256 (OpenSSL): every length around the block and
// padding boundaries, large inputs, views into larger buffers, and data followed by a suffix.
import { assertEquals, assertThrows } from "@std/assert";
import { createHash } from "node:crypto";
import { sha256 } from "../../lib/_util/sha256.ts";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function reference(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** Bytes that differ from position to position and from length to length. */
function bytes(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  let x = (n * 2654435761 + seed + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

Deno.test("sha256: the FIPS 180-4 examples", () => {
  const enc = new TextEncoder();
  assertEquals(
    hex(sha256(new Uint8Array(0))),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(
    hex(sha256(enc.encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    hex(sha256(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assertEquals(
    hex(sha256(new Uint8Array(1_000_000).fill(0x61))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("sha256: every length from 0 to 300 and large ones, as node:crypto", () => {
  const lengths = [...Array.from({ length: 301 }, (_, i) => i), 511, 512, 513, 1000, 4096, 65_535];
  lengths.push(65_536, 100_000, 1_048_577);
  for (const n of lengths) {
    const b = bytes(n);
    assertEquals(hex(sha256(b)), reference(b), `length ${n}`);
  }
  // the boundaries named in the padding rule, with all-0xff bytes too (sign bits of every word)
  for (const n of [0, 55, 56, 63, 64, 65, 119, 120, 127, 128]) {
    const b = new Uint8Array(n).fill(0xff);
    assertEquals(hex(sha256(b)), reference(b), `0xff x ${n}`);
  }
});

Deno.test("sha256: a view hashes only its bytes; out is filled and returned; calls do not interfere", () => {
  const big = bytes(1000, 7);
  for (const [start, end] of [[0, 0], [1, 56], [3, 67], [17, 145], [999, 1000], [64, 1000]]) {
    const view = big.subarray(start, end);
    assertEquals(hex(sha256(view)), reference(view.slice()), `view ${start}..${end}`);
  }
  const out = new Uint8Array(32);
  const a = sha256(bytes(77), undefined, out);
  assertEquals(a, out);
  assertEquals(hex(out), reference(bytes(77)));
  const first = sha256(bytes(10));
  sha256(bytes(200));
  assertEquals(hex(first), reference(bytes(10)), "a returned digest is its own array");
});

Deno.test("sha256: data followed by a suffix of 0-55 bytes, as node:crypto over both", () => {
  for (const n of [0, 1, 8, 46, 47, 54, 55, 56, 63, 64, 65, 100, 127, 128, 129, 132, 1000]) {
    for (let s = 0; s <= 55; s++) {
      const d = bytes(n, 3), suffix = bytes(s, 11);
      assertEquals(hex(sha256(d, suffix)), reference(d, suffix), `data ${n}, suffix ${s}`);
    }
  }
  assertThrows(() => sha256(bytes(3), new Uint8Array(56)), RangeError, "at most 55");
});

// The fast paths of hop's JSON record values (pyJsonBytes, parseJsonBytes, utf8Text) against the
// plain computations they replace, on chosen edge cases and on random strings.
import { assertEquals, assertThrows } from "@std/assert";
import { parseJsonBytes, pyJsonBytes, pyJsonDumps } from "../../lib/hop/pyjson.ts";
import { asciiBytes, RepeatedText, utf8Bytes, utf8Text } from "../../lib/_util/utf8.ts";
import { ByteArena } from "../../lib/_util/byte_arena.ts";
import { rng } from "../_rng.ts";

const enc = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** What parseJsonBytes replaces: the value, or the error's class and message. */
function reference(b: Uint8Array): unknown {
  try {
    return { value: JSON.parse(strict.decode(b)) };
  } catch (e) {
    return { error: (e as Error).constructor.name, message: (e as Error).message };
  }
}

function actual(b: Uint8Array): unknown {
  try {
    return { value: parseJsonBytes(b) };
  } catch (e) {
    return { error: (e as Error).constructor.name, message: (e as Error).message };
  }
}

const TRICKY = [
  '"',
  "\\",
  "/",
  "\b",
  "\f",
  "\n",
  "\r",
  "\t",
  "\x00",
  "\x1f",
  "\x7f",
  "\x80",
  "é",
  "\u2028",
  "\ud83d\ude00",
  "\ud800",
  "\udfff",
  "\ufeff",
  "\ufffd",
  "a",
  "Z",
  " ",
  "{",
  ":",
  "u",
  "0",
];

function randomString(r: () => number, n: number, tricky: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    s += r() < tricky
      ? TRICKY[Math.floor(r() * TRICKY.length)]
      : String.fromCharCode(0x20 + Math.floor(r() * 95));
  }
  return s;
}

Deno.test("pyJsonBytes writes the UTF-8 bytes of pyJsonDumps", () => {
  const values: unknown[] = [
    "",
    "plain ascii",
    '{"uid": "S1", "far": 1e-10}',
    'tab\tnew\nline\\quote"/slash',
    "control \x00\x01\x1f and DEL \x7f",
    "é and \u2028 and \ud83d\ude00 and lone \ud800",
    "\ufeffbom",
    { a: [1, 2.5, null], b: "é" },
    [1e-5, 0.1, 100],
    null,
    true,
    42,
  ];
  const r = rng(17);
  for (let i = 0; i < 300; i++) values.push(randomString(r, Math.floor(r() * 200), r() * 0.5));
  values.push(randomString(r, 70_000, 0.001));
  for (const v of values) assertEquals(pyJsonBytes(v), enc.encode(pyJsonDumps(v)), String(v));
});

Deno.test("pyJsonBytes with memory: an ASCII string's text is written into a piece of it, any other value is not", () => {
  const memory = new ByteArena(4096);
  const b = pyJsonBytes('{"uid": "S1"}', memory);
  assertEquals(b, enc.encode(pyJsonDumps('{"uid": "S1"}')));
  assertEquals(b.buffer.byteLength, 4096); // a view into the arena's block
  assertEquals(memory.blocksInUse, 1);
  memory.release(b);
  // non-ASCII and U+007F: the piece taken goes back, the bytes are an array of their own
  for (const v of ["é", "del \x7f", { a: 1 }]) {
    const out = pyJsonBytes(v, memory);
    assertEquals(out, enc.encode(pyJsonDumps(v)), String(v));
    assertEquals(out.buffer.byteLength, out.length);
  }
  // everything went back: the block is used from its start again
  assertEquals(pyJsonBytes('"x"', memory).byteOffset, 0);
});

Deno.test("parseJsonBytes parses like JSON.parse of strictly decoded UTF-8", () => {
  const texts: Array<string | Uint8Array> = [
    '""',
    '"abc"',
    '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
    '"\\u0041\\u00e9\\ud83d\\ude00\\ud800"',
    '"\\x41"',
    '"\\',
    '"abc',
    'abc"',
    '"a"b"',
    '"tab\there"',
    '"del\x7fhere"',
    '"é raw"',
    ' "leading space"',
    '"trailing space" ',
    '"\\"',
    '"\\\\"',
    '"ends with backslash\\\\\\"',
    '\ufeff"bom"',
    "[1, 2]",
    '{"a": "b"}',
    "3",
    "NaN",
    "",
    '"',
    '"\\' + "u12",
    new Uint8Array([0x22, 0xff, 0x22]),
    new Uint8Array([0x22, 0xc3, 0x22]),
    new Uint8Array([0x22, 0xef, 0xbf, 0xbd, 0x22]),
  ];
  // many escapes (beyond the fast path's limit) and long strings with few
  texts.push(JSON.stringify('"'.repeat(5000)));
  texts.push(JSON.stringify("x".repeat(70_000) + '"\\\n'));
  const r = rng(23);
  for (let i = 0; i < 400; i++) {
    // short ones, and long ones with few escapes (the fast path's)
    const s = i < 300
      ? randomString(r, Math.floor(r() * 300), r() * 0.5)
      : randomString(r, 4000 + Math.floor(r() * 6000), r() * 0.01);
    texts.push(enc.encode(pyJsonDumps(s)), JSON.stringify(s));
    // and damaged: a byte changed at random
    const b = enc.encode(JSON.stringify(s));
    if (b.length > 2) b[1 + Math.floor(r() * (b.length - 2))] = [0x22, 0x5c, 0x0a, 0x80][i % 4];
    texts.push(b);
  }
  for (const t of texts) {
    const b = typeof t === "string" ? enc.encode(t) : t;
    assertEquals(actual(b), reference(b), typeof t === "string" ? t.slice(0, 80) : String(t));
  }
});

Deno.test("utf8Text is strict; utf8Bytes and asciiBytes encode", () => {
  assertEquals(utf8Text(enc.encode("hé \ufffd")), "hé \ufffd");
  assertEquals(utf8Text(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "a");
  assertThrows(() => utf8Text(new Uint8Array([0x61, 0xff])), TypeError);
  assertThrows(() => utf8Text(new Uint8Array([0xc3])), TypeError);
  for (const s of ["", "abc", "é", "a\ud800b", "\ud83d\ude00", "x".repeat(1000) + "é"]) {
    assertEquals(utf8Bytes(s), enc.encode(s));
  }
  assertEquals(asciiBytes("abc\x7f"), new Uint8Array([0x61, 0x62, 0x63, 0x7f]));
  assertEquals(asciiBytes("abé"), undefined);
  assertEquals(asciiBytes("\ud800"), undefined);
});

Deno.test("RepeatedText gives the lenient decoder's text for repeated and colliding byte strings", () => {
  const lenient = new TextDecoder();
  const names = new RepeatedText(4); // few slots: most names collide
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const pool = Array.from({ length: 40 }, (_, i) => {
    const b = new Uint8Array(i % 37); // 0 to 36 bytes: over the 32-byte limit too
    for (let j = 0; j < b.length; j++) b[j] = rnd(8) === 0 ? 0x80 + rnd(128) : 0x20 + rnd(95);
    return b;
  });
  for (let k = 0; k < 2000; k++) {
    const b = pool[rnd(pool.length)].slice(); // a new buffer with the same bytes
    assertEquals(names.text(b), lenient.decode(b));
  }
});

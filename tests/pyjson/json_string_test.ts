// decodeStringLiteral (the WebAssembly fast path of large JSON string literals) against
// JSON.parse: every string it gives is JSON.parse's, on edge cases around its 64- and 16-byte
// blocks and on random literals, valid and damaged; anything it does not take is left to JSON.parse.
import { assertEquals } from "@std/assert";
import { decodeStringLiteral, MAX_WASM_LITERAL } from "../../lib/pyjson/json_string.ts";
import { rng } from "../_rng.ts";

const enc = new TextEncoder();

function parsed(b: Uint8Array): string | undefined {
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b));
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

const PIECES = [
  '\\"',
  "\\\\",
  "\\/",
  "\\b",
  "\\f",
  "\\n",
  "\\r",
  "\\t",
  "\\u0041",
  "\\x",
  "\\",
  '"',
  "\x00",
  "\x1f",
  "\t",
  "\x7f",
  "é",
  "\u2028",
];

function check(b: Uint8Array, label: string): boolean {
  const got = decodeStringLiteral(b);
  if (got !== undefined) assertEquals(got, parsed(b), label);
  return got !== undefined;
}

Deno.test("decodeStringLiteral gives JSON.parse's string or leaves the text to it", () => {
  const taken = [
    '""',
    '"abc"',
    '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
    '"del\x7fhere"',
    JSON.stringify("x".repeat(70_000) + '"\\\n'),
  ];
  for (const t of taken) assertEquals(decodeStringLiteral(enc.encode(t)), JSON.parse(t), t);
  const left = [
    "",
    '"',
    '"\\"',
    '"abc',
    'abc"',
    '"a"b"',
    '"tab\there"',
    '"é raw"',
    '"\\u0041"',
    '"\\x41"',
    ' "space"',
    '"space" ',
    "[1]",
    "3",
  ];
  for (const t of left) assertEquals(decodeStringLiteral(enc.encode(t)), undefined, t);
  assertEquals(decodeStringLiteral(new Uint8Array([0x22, 0xff, 0x22])), undefined);
  // a special character at every position of the 64-byte and 16-byte blocks and of the tail
  for (const piece of PIECES) {
    for (let at = 0; at < 150; at++) {
      const t = `"${"a".repeat(at)}${piece}${"b".repeat(150 - at)}"`;
      check(enc.encode(t), JSON.stringify(t));
    }
  }
  // too long for the module: left to JSON.parse
  const long = JSON.stringify("y".repeat(MAX_WASM_LITERAL + 1));
  assertEquals(decodeStringLiteral(enc.encode(long)), undefined);
});

Deno.test("decodeStringLiteral agrees with JSON.parse on random literals", () => {
  const r = rng(17);
  let taken = 0;
  for (let i = 0; i < 3000; i++) {
    const n = Math.floor(r() * (i < 2500 ? 200 : 9000));
    const special = r() * 0.2;
    let s = "";
    for (let k = 0; k < n; k++) {
      s += r() < special
        ? PIECES[Math.floor(r() * PIECES.length)]
        : String.fromCharCode(0x20 + Math.floor(r() * 95));
    }
    const t = r() < 0.5 ? JSON.stringify(s) : `"${s}"`;
    if (check(enc.encode(t), t.slice(0, 80))) taken++;
  }
  // most of the stringified ones (those without non-ASCII) take the fast path
  assertEquals(taken > 500, true, `taken ${taken}`);
});

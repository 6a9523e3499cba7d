// Every MessageError case (compared with what Python posttroll does with the same input, including
// the inputs where Python leaks IndexError/ValueError/RecursionError), a seeded differential fuzz
// against Python, a local fuzz where only MessageError may escape, and a linearity check in CPU time.
import process from "node:process";
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  isValidData,
  Message,
  MessageError,
  PyDateTime,
  pyDict,
  PyFloat,
} from "../../lib/posttroll/message.ts";
import { type MsgCanon, randValue, runPy, toCanon } from "./_interop.ts";
import { Rng } from "../_rng.ts";

type Outcome = MsgCanon | { error: string; msg: string };

function decodeCanon(raw: string | Uint8Array): Outcome {
  try {
    const m = Message.decode(raw);
    return {
      subject: m.subject,
      type: m.type,
      sender: m.sender,
      time: m.time.isoformat(),
      version: m.version,
      binary: m.binary,
      data: toCanon(m.data),
    };
  } catch (e) {
    if (e instanceof MessageError) return { error: "MessageError", msg: e.message };
    throw new Error(`non-MessageError escaped for ${JSON.stringify(raw).slice(0, 200)}`, {
      cause: e,
    });
  }
}

const T = "2020-01-01T00:00:00";
const H = `pytroll://a/b info u@h ${T}`;

const CASES: string[] = [
  "",
  "pytroll:",
  "pytroll:/",
  "PYTROLL://a info u@h 2020-01-01T00:00:00 v1.2",
  "xpytroll://a info u@h 2020-01-01T00:00:00 v1.2",
  "pytroll://a info u@h",
  "pytroll://a info u@h 2020-01-01",
  `${H} v1.3`,
  `${H} v2`,
  `${H} v1.2.1`,
  `${H} v1.10`,
  `${H} V1.01`,
  `${H} abc`,
  `${H} v1.01`,
  `${H} \u00e9`,
  `${H} `,
  `${H}  \t `,
  `${H} v1.2 `,
  `${H} v1.2 text/ascii`,
  `${H} v1.2 text/ascii `,
  `${H} v1.2 TEXT/ASCII hello`,
  `${H} v1.2 application/json`,
  `${H} v1.2 application/json `,
  `${H} v1.2 application/xml <a/>`,
  `${H} v1.2 \u212aelvin x`,
  `${H} v1.2 application/json {"a": 1`,
  `${H} v1.2 application/json {"a": 1} x`,
  `${H} v1.2 application/json {'a': 1}`,
  `${H} v1.2 application/json \ufeff{}`,
  `${H} v1.2 application/json {"a": NaN, "b": -Infinity, "c": Infinity}`,
  `${H} v1.2 application/json {"a": -NaN}`,
  `${H} v1.2 application/json {"a": 1, "a": 2, "b": 3}`,
  `${H} v1.2 application/json {"a": "\\ud800", "b": "\\udc00\\ud800"}`,
  `${H} v1.2 application/json {"a": "\\x41"}`,
  `${H} v1.2 application/json {"a": "tab\there"}`,
  `${H} v1.2 application/json {"a": 01}`,
  `${H} v1.2 application/json {"a": 1.}`,
  `${H} v1.2 application/json {"a": .5}`,
  `${H} v1.2 application/json {"a": 1e400, "b": -1e400, "c": 1E+2, "d": 1e-400}`,
  `${H} v1.2 application/json {"a": ${"9".repeat(4300)}}`,
  `${H} v1.2 application/json {"a": ${"9".repeat(4301)}}`,
  `${H} v1.2 application/json {"a": -${"9".repeat(4300)}.5}`,
  `${H} v1.2 application/json {"a": 123456789012345678901234567890}`,
  `${H} v1.2 application/json ["2020-01-01", {"a": ["2020-01-01", ["2020-01-01"]]}]`,
  `${H} v1.2 application/json "2020-01-01"`,
  `${H} v1.2 application/json {"2020-01-01": "x"}`,
  `${H} v1.2 application/json {"b": 1, "10": 2, "2": 3, "a": 4, "__proto__": {"x": 1}}`,
  `${H} v1.2 application/json  \t {"a": 1} \n\r\t `,
  `${H} v1.2 application/json {"a": 1}\u00a0`,
  `${H} v1.2 application/json ${"[".repeat(600)}${"]".repeat(600)}`,
  `${H} v1.2 application/json ${'{"a": '.repeat(3000)}1${"}".repeat(3000)}`,
  `${H} v1.2 application/json ${"[".repeat(100000)}`,
  `${H} v1.2 application/json 0`,
  `${H} v1.2 application/json ""`,
  `${H} v1.2 application/json null`,
  `${H} v1.2 binary/octet-stream \u0000\u00ff raw  bytes `,
  `${H} v1.2 text/ascii   hello  world `,
  `pytroll://a  info\tu@h\u3000${T}\u2028v1.01\u00a0text/ascii\u0085x`,
  // single spaces between the fields, other whitespace inside one (the split's quick path)
  `pytroll://a info u@h\u001cx ${T} v1.2 text/ascii x`,
  `pytroll://a\u0085b info u@h ${T} v1.01 text/ascii x  y`,
  `pytroll://a info u@h ${T} v1.01 text/ascii\u3000x y`,
  `pytroll://a info u@h ${T} v1.01\ttext/ascii x y`,
  `pytroll:/ a info u@h ${T} v1.2`,
  `pytroll://a info u@h 2020-13-01T00:00:00 v1.2`,
  `pytroll://a info u@h yesterday v1.2`,
  `pytroll://a info u@h 20200101T000000Z v1.2`,
  `pytroll://a info @ 2020-W01-1 v1.2`,
  `pytroll://\u00f6 \u{1F600} \u00e9@\u00e8 ${T}+05:30 v1.2 text/ascii \u{1F600}`,
];

Deno.test("codec errors: every malformed input raises MessageError; Python agrees", async () => {
  const py = await runPy<Outcome[]>(
    `out = [decode_or_error(r) for r in tasks]`,
    CASES,
  );
  const leaks: string[] = [];
  CASES.forEach((raw, i) => {
    const ours = decodeCanon(raw);
    const theirs = py[i];
    if ("error" in theirs) {
      assert("error" in ours, `case ${i} ${raw.slice(0, 80)}: Python failed, we accepted`);
      if (theirs.error === "MessageError") {
        assertEquals(ours.msg, theirs.msg, `case ${i}`);
      } else leaks.push(`${theirs.error}: ${raw.slice(0, 70)}`);
    } else {
      // compared as text: deepStrictEqual recurses too deep on the nested cases
      assertEquals(JSON.stringify(ours), JSON.stringify(theirs), `case ${i}: ${raw.slice(0, 80)}`);
    }
  });
  // the cases where Python leaks something other than MessageError are covered
  assert(leaks.some((l) => l.startsWith("IndexError")), leaks.join("\n"));
  assert(leaks.some((l) => l.startsWith("ValueError")), leaks.join("\n"));
  assert(leaks.some((l) => l.startsWith("RecursionError")), leaks.join("\n"));
});

Deno.test("codec errors: messages for the cases Python leaks", () => {
  assertThrows(() => Message.decode(`${H} v1.2`.replace(T, "nope")), MessageError, "Invalid time");
  assertThrows(() => Message.decode(`${H} v1.2 text/ascii`), MessageError, "without data");
  assertThrows(() => Message.decode(`${H} v1.2 `), MessageError, "Trailing whitespace");
  assertThrows(
    () => Message.decode(`${H} v1.2 application/json ${"[".repeat(5000)}`),
    MessageError,
    "JSON decode failed on '[[[[",
  );
  assertThrows(() => Message.decode(42 as unknown as string), MessageError);
  assertThrows(() => Message.decode(`${H} v1.3`), MessageError, "Invalid Message version: 'v1.3'");
  assertThrows(
    () => Message.decode(`${H} v1.2 application/json {"a": 1`),
    MessageError,
    `JSON decode failed on '{"a": 1 ...'`,
  );
});

Deno.test("codec errors: construction and encoding", () => {
  assertThrows(() => new Message("", "info"), MessageError, "Invalid subject: ''");
  assertThrows(() => new Message("/a", ""), MessageError, "Invalid type: ''");
  assertThrows(() => new Message("/a", "b", "", { sender: "" }), MessageError, "Invalid sender");
  assertThrows(
    () => new Message("/a", "b", { f: () => 1 }),
    MessageError,
    "Invalid data: data is not JSON serializable",
  );
  assertThrows(() => new Message("/a", "b", { s: Symbol("x") }), MessageError);
  assertThrows(() => new Message("/a", "b", { s: new Set([1]) }), MessageError);
  assertThrows(() => new Message("/a", "b", new Map([[{}, 1]])), MessageError);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assertThrows(() => new Message("/a", "b", cyc), MessageError, "not JSON serializable");
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assertThrows(() => new Message("/a", "b", deep), MessageError);
  const bin = new Message("/a", "b", "x", { binary: true });
  bin.data = new Uint8Array([1]);
  assertThrows(() => bin.encode(), MessageError, "binary data should be a string");
  const m = new Message("/a", "b", "x");
  m.subject = "";
  assertThrows(() => m.encode(), MessageError, "Invalid subject");
  assertThrows(() => m.head, MessageError, "Invalid subject");
  assertEquals(isValidData({ f: () => 1 }), false);
  assertEquals(isValidData(""), true);
  assertEquals(isValidData(new Uint8Array(1), { binary: true }), false);
  // accepted oddities: Date (aware UTC), Map with Python-convertible keys, boxed primitives
  const t = PyDateTime.fromisoformat("2020-01-01T00:00:00+00:00");
  const ok = new Message(
    "/a",
    "b",
    {
      d: new Date(0),
      m: new Map<unknown, unknown>([[1, "i"], [1.5, "f"], [true, "b"], [null, "n"]]),
      s: new String("s"),
      u: undefined,
      l: [undefined],
      o: pyDict([["2", 1], ["1", 2]]),
      f: new PyFloat(-0),
    },
    { time: t, sender: "u@h" },
  );
  assertEquals(
    ok.encode(),
    'pytroll://a b u@h 2020-01-01T00:00:00+00:00 v1.2 application/json {"d": "1970-01-01T00:00:00+00:00", "m": {"1": "i", "1.5": "f", "true": "b", "null": "n"}, "s": "s", "l": [null], "o": {"2": 1, "1": 2}, "f": -0.0}',
  );
});

function mutate(r: Rng, s: string): string {
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) {
    const p = r.int(s.length + 1);
    const k = r.int(6);
    const junk = r.pick([
      " ",
      "\t",
      "\u00a0",
      "{",
      "}",
      '"',
      "\\",
      "[",
      "]",
      ",",
      ":",
      "0",
      "e",
      "-",
      "+",
      ".",
      "\u0000",
      "\ud800",
      "\u{1F600}",
      "Z",
      "T",
      "W",
      "/",
      "N",
      "aN",
      "null",
    ]);
    if (k === 0) s = s.slice(0, p) + s.slice(p + 1);
    else if (k === 1) s = s.slice(0, p) + junk + s.slice(p);
    else if (k === 2) s = s.slice(0, p) + junk + s.slice(p + 1);
    else if (k === 3) s = s.slice(0, p) + s.slice(p, p + r.int(20)) + s.slice(p);
    else if (k === 4) s = s.slice(0, p);
    else s = s.slice(0, p) + s.slice(p + r.int(10));
  }
  return s;
}

Deno.test("codec fuzz: mutated messages decode exactly as in Python", async () => {
  const r = new Rng(424242);
  const base: string[] = [];
  for (let i = 0; i < 200; i++) {
    base.push(
      new Message(
        "/fuzz/" + i,
        r.pick(["file", "info", "beat"]),
        r.chance(0.2) ? "text body" : {
          v: randValue(r),
          t: PyDateTime.fromEpochMicroseconds(r.int(2 ** 50), r.chance(0.5) ? 0 : null),
        },
        { sender: "f@z", time: PyDateTime.fromEpochMicroseconds(r.int(2 ** 50), 0) },
      ).encode(),
    );
  }
  const raws = Array.from({ length: 2500 }, () => mutate(r, r.pick(base)));
  const py = await runPy<Outcome[]>(`out = [decode_or_error(r) for r in tasks]`, raws);
  let accepted = 0;
  raws.forEach((raw, i) => {
    const ours = decodeCanon(raw);
    const theirs = py[i];
    if ("error" in theirs) {
      assert("error" in ours, `Python failed (${theirs.msg}), we accepted: ${raw}`);
      if (theirs.error === "MessageError") assertEquals(ours.msg, theirs.msg, raw);
    } else {
      accepted++;
      assertEquals(ours, theirs, raw);
    }
  });
  assert(accepted > 200 && accepted < 2400, `accepted ${accepted}`);
});

Deno.test("codec fuzz: mutated message bytes (invalid UTF-8, ISO-8859-1) decode as in Python", async () => {
  const r = new Rng(5150);
  const enc = new TextEncoder();
  const base = [
    `pytroll://oper/norrköping file u@h ${T} v1.01 application/json {"station": "norrköping", "n": 1}`,
    `pytroll://a/b info u@h ${T}+00:00 v1.2 text/ascii caf\u00e9 ok`,
    `pytroll://a/b info u@h ${T} v1.2 binary/octet-stream \u0001\u00ff\u00fe raw`,
  ].map((x) => enc.encode(x));
  const cases: number[][] = [];
  for (let i = 0; i < 600; i++) {
    const b = [...r.pick(base)];
    const muts = 1 + r.int(3);
    for (let j = 0; j < muts; j++) {
      const p = r.int(b.length + 1);
      const byte = r.pick([0x80, 0xa0, 0xc3, 0xe9, 0xf6, 0xff, 0xed, 0xf0, 0x85, 0x20, 0x09, 0x22]);
      if (r.chance(0.5)) b.splice(p, 0, byte);
      else b[Math.min(p, b.length - 1)] = byte;
    }
    cases.push(b);
  }
  const py = await runPy<Outcome[]>(`out = [decode_or_error(bytes(b)) for b in tasks]`, cases);
  cases.forEach((b, i) => {
    const ours = decodeCanon(new Uint8Array(b));
    const theirs = py[i];
    if ("error" in theirs) {
      assert("error" in ours, `Python failed (${theirs.msg}), we accepted: ${b}`);
      if (theirs.error === "MessageError") assertEquals(ours.msg, theirs.msg);
    } else {
      assertEquals(ours, theirs, String(b));
    }
  });
});

Deno.test("codec fuzz: random bytes, invalid UTF-8, huge fields, deep nesting", () => {
  const r = new Rng(99);
  const prefix = new TextEncoder().encode(H + " v1.2 application/json ");
  for (let i = 0; i < 3000; i++) {
    const n = r.int(200);
    const body = new Uint8Array(n);
    for (let j = 0; j < n; j++) body[j] = r.int(256);
    const withPrefix = r.chance(0.7);
    const buf = withPrefix ? new Uint8Array([...prefix, ...body]) : body;
    decodeCanon(buf);
    decodeCanon(new TextDecoder().decode(buf));
  }
  // invalid UTF-8 falls back to ISO-8859-1
  const iso = Message.decode(
    new Uint8Array([
      ...prefix.slice(0, -17),
      ...new TextEncoder().encode(
        "text/ascii caf",
      ),
      0xe9,
    ]),
  );
  assertEquals(iso.data, "café");
  // huge fields
  const big = "x".repeat(5_000_000);
  assertEquals(Message.decode(`pytroll://${big} t u@h ${T} v1.2`).subject.length, big.length + 1);
  assertEquals(
    (Message.decode(`${H} v1.2 application/json {"a": "${big}"}`).data as { a: string }).a.length,
    big.length,
  );
  assertThrows(() => Message.decode(`pytroll://${big}`), MessageError, "Could not decode");
  assertThrows(() => Message.decode(`pytroll://a${" ".repeat(1_000_000)}b`), MessageError);
  for (const open of ["[", '{"a": ', '{"a": [']) {
    assertThrows(
      () => Message.decode(`${H} v1.2 application/json ${open.repeat(200_000)}`),
      MessageError,
    );
  }
});

/** CPU time (user + system, ms) of `reps` decodes of `raw`. */
function cpuDecode(raw: string, reps: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    try {
      Message.decode(raw);
    } catch (e) {
      if (!(e instanceof MessageError)) throw e;
    }
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

// No decode step may be quadratic in the input: an input 8 times larger must cost less than 24
// times the CPU (linear: 8x, n log n: ~10x, quadratic: 64x; 24x is 3x per doubling, the bound this
// test always had). CPU time, not wall time, so other processes on the machine do not count; the
// best of several short measurements, so a descheduled moment (cache, frequency) does not either.
Deno.test("codec: decode time grows about linearly with input size", () => {
  const shapes: ((n: number) => string)[] = [
    (n) =>
      `${H} v1.2 application/json {"a": [${Array(n).fill('"2020-01-01T00:00:00"').join(", ")}]}`,
    (n) => `${H} v1.2 application/json {"s": "${"\\u00e9x".repeat(n * 4)}"}`,
    (n) =>
      `${H} v1.2 application/json ${"[".repeat(Math.min(n, 1400))}${"]".repeat(Math.min(n, 1400))}`,
    (n) => `${H} v1.2 binary/octet-stream ${"\u00e9 ".repeat(n * 8)}`,
    (n) => `pytroll://a${" \t".repeat(n * 8)}`,
    (n) =>
      `${H} v1.2 application/json {${
        Array.from({ length: n }, (_, i) => `"${i}": ${i}.5`).join(", ")
      }}`,
  ];
  const SMALL = 2000, FACTOR = 8;
  for (const shape of shapes) {
    const small = shape(SMALL);
    const large = shape(SMALL * FACTOR);
    // repetitions so that one decode run of the small input takes ~10 ms of CPU
    let reps = 1;
    while (cpuDecode(small, reps) < 10 && reps < 1 << 16) reps *= 2;
    cpuDecode(large, 1); // warm up
    let a = Infinity, b = Infinity;
    for (let attempt = 0; attempt < 5; attempt++) {
      a = Math.min(a, cpuDecode(small, reps * FACTOR));
      b = Math.min(b, cpuDecode(large, reps));
      if (b < a * 3) break;
    }
    // a: FACTOR x reps of the small input, b: reps of the large one; same bytes decoded in all
    assert(
      b < a * 3,
      `shape ${shapes.indexOf(shape)}: ${FACTOR}x the input cost ${(b / a * FACTOR).toFixed(1)}x ` +
        `the CPU (${(a / FACTOR).toFixed(2)} -> ${b.toFixed(2)} ms for ${reps} decodes)`,
    );
  }
});

Deno.test("codec: JSON.parse fast path and exact parser agree", async () => {
  const { pyLoads, pyLoadsAt } = await import("../../lib/posttroll/pyjson.ts");
  const enc = new TextEncoder();
  const r = new Rng(777);
  const texts = [
    '{"a": 1, "b": 1.0, "c": -0, "d": -0.0, "e": 1e2, "f": 12345678901234567, "g": 0.1}',
    '{"a": 0.99999999999999999999, "b": 123456789012345678.5, "c": 1E400, "d": ' +
    "9".repeat(400) + "}",
    '{"s": "a: 1.0, [2e5", "t": "\\" 3.0", "n": 5}',
    '{"b": 1, "2": 2, "__proto__": {"2020-01-01": "2020-01-01"}}',
    '[1, "2020-01-01", {"x": ["2020-01-01", 2.5]}]',
    '{"a": [1, 2, 3.0]}',
    "-0",
    "0",
    "1.0",
    "[-0.0, 0]",
    '{"x": 1, "x": 2.0}',
    // ints next to floats that only a token's text tells apart (the quick test before the scan)
    '{"n": 5, "f": 1E2}',
    '{"n": 5, "f": 2.50e1}',
    '{"n": 5, "f": 25e-1}',
    '{"n": 5, "f": -3e0}',
    '{"n": 5, "s": "v1.0", "f": 2.5}',
    '{"n": 5, "s": "2e5", "f": 2.5}',
    '{"n": 5, "f": 12.000000000000000001}',
    '{"n": 5, "f": 0.99999999999999999999}',
    '{"n": 5, "f": 123456789012345.6}',
    '{"n": 5, "b": 1234567890123456}',
    // 16-digit ints: exact in JS up to 2^53 - 1 (a microsecond timestamp), not above
    '{"n": 5, "t": 1796622416573751}',
    '{"t": 9007199254740991, "u": -9007199254740991}',
    '{"t": 9007199254740992}',
    '{"t": -9007199254740993}',
    "[1796622416573751, 1.0]",
    "[1796622416573751, 9999999999999999]",
    '{"n": 999999999999999, "f": 999999999999999.0}',
    "[5, -1.0]",
    "[1, 1e-5, 10.0e-1]",
    '["1.0", 7, "x5.00"]',
    // an exponent after a fraction, marks inside strings, no spaces around the tokens
    '{"n": 5, "f": 1.5e1}',
    '{"n": 5, "f": 2.5E1, "g": 0.25}',
    '{"n":5,"ip":"127.0.0.1","f":3.0}',
    '{"n":5,"s":"a1e5","f":[1.25e2]}',
    "[7,12.5e-1,1.0e0]",
    "[5, 9.99999999999999999e0]",
    // safe 16-digit ints (read exactly) next to integral floats and marks in strings
    '{"t": 1796622416573751, "f": 2.0}',
    '{"t": -9007199254740991, "f": [1e0, 3.5]}',
    '{"t": 1796622416573751, "s": "1.0", "u": "2e5"}',
    "[1796622416573751, 17966224165737510.0]",
    // zero fractions, 16 and more digits rounding to an integer, long digit runs in strings
    '{"n":5,"f":-10.00}',
    "[5,1.0]",
    '{"n": 5, "f": 9007199254740991.5}',
    '{"n": 5, "f": -0.99999999999999999}',
    '{"n": 5, "f": 4503599627370495.5}',
    '{"n":5,"u":"c20261125011017000000_x","f":7.0}',
    '{"n":5,"u":"c20261125011017000000_x","f":7.25}',
    '{"n": 5, "t": "2026-11-25T01:10:17.000123", "ip": "127.0.0.1:9079", "f": 87.25}',
    '{"n": 5, "t": "2026-11-25T01:10:17.000000", "f": 87.000001}',
    // the marks at the ends of the text and of its 16-byte blocks (the scan of the bytes)
    "[5,1.0" + " ".repeat(9) + "]",
    "[5," + " ".repeat(10) + "12345678.5, 1e0]",
    "[5," + " ".repeat(11) + "0.00000000, 3]",
    '{"n": 5, "ü": "é", "f": 3.0}',
    '{"n": 5, "f": 3.000, "ü": "é"}',
  ];
  for (let i = 0; i < 1500; i++) {
    const v = randValue(r, 0);
    texts.push(new Message("/a", "b", { v }, { sender: "a@b" }).encode().split(" ", 7)[6] ?? "{}");
  }
  for (const t of texts) {
    for (const datetimes of [true, false]) {
      let fast: unknown, exact: unknown;
      try {
        fast = JSON.stringify(toCanon(pyLoads(t, { datetimes })));
      } catch (e) {
        fast = "error " + (e as Error).name;
      }
      try {
        exact = JSON.stringify(toCanon(pyLoads(t, { datetimes, exactOnly: true })));
      } catch (e) {
        exact = "error " + (e as Error).name;
      }
      assertEquals(fast, exact, t);
      // given the UTF-8 bytes too (their scan first), and inside a longer text, as the codec does
      for (const head of ["", "v1.2 application/json "]) {
        let viaBytes: unknown;
        try {
          const text = head + t;
          viaBytes = JSON.stringify(
            toCanon(pyLoadsAt(text, head.length, { datetimes }, enc.encode(text))),
          );
        } catch (e) {
          viaBytes = "error " + (e as Error).name;
        }
        assertEquals(viaBytes, exact, t);
      }
    }
  }
});

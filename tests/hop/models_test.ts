// hop wire format: our pack/unpack against hop-client 0.13 (run as a Python peer on the same bytes).
import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import {
  AvroBlob,
  Blob,
  ExternalMessage,
  GCNCircular,
  GCNTextNotice,
  type HopHeader,
  hopHeaders,
  isTest,
  JSONBlob,
  pack,
  pyJsonDumps,
  pyJsonParse,
  unpack,
  VOEvent,
} from "../../lib/hop/mod.ts";
import { python } from "../../testing/python.ts";

const enc = new TextEncoder();
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

Deno.test("pyJsonDumps matches Python json.dumps", async () => {
  const values: unknown[] = [
    '{"uid": "S1", "x": "é\u2028\u007f"}',
    { a: [1, 2.5, { b: null }], c: "x\ud83d\ude00", d: true, e: [], f: {} },
    [1e-5, 0.1, 3.14159, 1.5e300, 2.5e-7, 123.456, 100, -7, 1e22 + 0.5],
    'tab\tnew\nline\\quote"',
  ];
  const out = await python(
    `import json,sys
for v in json.loads(sys.stdin.read()):
    print(json.dumps(v)); print(json.dumps(v, indent=4))`,
    { stdin: JSON.stringify(values) },
  );
  const ours = values.flatMap((v) => [pyJsonDumps(v), pyJsonDumps(v, { indent: 4 })]);
  assertEquals(ours.join("\n"), out.trimEnd());
  // number lexemes kept through parse -> dumps
  assertEquals(
    pyJsonDumps(pyJsonParse('{"x":2.0,"y":[1e-05]}'), { indent: 4 }),
    '{\n    "x": 2.0,\n    "y": [\n        1e-05\n    ]\n}',
  );
});

Deno.test("pack: headers in hop's order and values byte-equal to hop's Producer.pack", async () => {
  const cases: Array<[string, unknown, string]> = [
    ["str", '{"uid": "S240101a", "alert_type": "new", "n": "é"}', "json"],
    ["dict", { a: 1, b: [true, null] }, "json"],
  ];
  const py = await python(
    `import json,sys,base64
from hop.io import Producer
from hop.auth import Auth
for v in json.loads(sys.stdin.read()):
    val, hdrs = Producer.pack(v, auth=Auth("alice","x"), test=True)
    print(json.dumps([base64.b64encode(val).decode(), [[k, base64.b64encode(b).decode()] for k,b in hdrs]]))
val, hdrs = Producer.pack(b"\\x00\\x01raw")
print(json.dumps([base64.b64encode(val).decode(), [[k, base64.b64encode(b).decode()] for k,b in hdrs]]))`,
    { stdin: JSON.stringify(cases.map((c) => c[1])) },
  );
  const lines = py.trim().split("\n").map((l) => JSON.parse(l) as [string, [string, string][]]);
  for (let i = 0; i < cases.length; i++) {
    const ours = pack(cases[i][1], { sender: "alice", test: true });
    const [pv, ph] = lines[i];
    assertEquals(b64(ours.value), pv, cases[i][0]);
    assertEquals(ours.headers.map(([k]) => k), ph.map(([k]) => k));
    assertEquals(ours.headers[0][1].length, 16);
    assertEquals(unb64(ph[0][1]).length, 16);
    for (let j = 1; j < ph.length; j++) assertEquals(b64(ours.headers[j][1]), ph[j][1]);
  }
  const raw = pack(new Uint8Array([0, 1, 114, 97, 119]));
  assertEquals(b64(raw.value), lines[2][0]);
  assertEquals(raw.headers.map(([k]) => k), ["_id", "_format"]);
  assertEquals(new TextDecoder().decode(raw.headers[1][1]), "blob");
  // user headers first, then hop's
  const withUser = pack("x", { headers: { a: "1" } });
  assertEquals(withUser.headers.map(([k]) => k), ["a", "_id", "_format"]);
  assert(isTest(pack("x", { test: true })));
  assert(!isTest(pack("x")));
  const info = hopHeaders(pack("x", { sender: "bob" }));
  assertEquals(info.sender, "bob");
  assertEquals(info.format, "json");
  assert(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(info.id!));
});

Deno.test("unpack: hop's deserialize table, compared with hop's Deserializer", async () => {
  const h = (f: string): HopHeader[] => [["_format", enc.encode(f)]];
  const records: Array<{ name: string; value: Uint8Array; headers: HopHeader[] }> = [
    { name: "json", value: enc.encode('"{\\"uid\\": \\"S1\\"}"'), headers: h("json") },
    { name: "json dict", value: enc.encode('{"a": [1, 2]}'), headers: h("json") },
    { name: "blob", value: new Uint8Array([0, 255, 7]), headers: h("blob") },
    { name: "upper-case label", value: enc.encode('{"a": 1}'), headers: h("JSON") },
    {
      name: "circular",
      value: enc.encode('{"header": {"title": "T"}, "body": "B"}'),
      headers: h("circular"),
    },
    {
      name: "gcntext",
      value: enc.encode("TITLE: GCN\nNOTICE_DATE: x\n  more\n"),
      headers: h("gcntextnotice"),
    },
    { name: "external", value: enc.encode('{"url": "https://x/msg/1"}'), headers: h("external") },
    { name: "unknown", value: enc.encode("whatever"), headers: h("mystery") },
    {
      name: "legacy wrapper",
      value: enc.encode('{"format": "circular", "content": {"header": {"a": "b"}, "body": "c"}}'),
      headers: [],
    },
    {
      name: "legacy blob label",
      value: enc.encode('{"format": "blob", "content": {"k": "v"}}'),
      headers: [],
    },
    {
      name: "legacy json",
      value: enc.encode('{"format": "json", "content": {"content": [1]}}'),
      headers: [],
    },
    { name: "plain JSON", value: enc.encode('{"k": [1, 2]}'), headers: [] },
    { name: "plain JSON string", value: enc.encode('"hello"'), headers: [] },
    { name: "raw bytes", value: new Uint8Array([0xff, 0xfe, 0x00]), headers: [] },
    { name: "not json text", value: enc.encode("hello there"), headers: [] },
  ];
  const py = await python(
    `import json,sys,base64,logging
logging.disable(logging.CRITICAL)
from hop.io import Deserializer
class M:
    def __init__(s, v, h): s.v, s.h = v, h
    def value(s): return s.v
    def headers(s): return s.h
def desc(m):
    n = type(m).__name__
    if n == "JSONBlob": return [n, m.content]
    if n == "Blob": c = m.content; return [n, base64.b64encode(c if isinstance(c, bytes) else json.dumps(c).encode()).decode()]
    if n == "GCNCircular": return [n, {"header": m.header, "body": m.body}]
    if n == "GCNTextNotice": return [n, m.fields]
    if n == "ExternalMessage": return [n, m.url]
    return [n, None]
for r in json.loads(sys.stdin.read()):
    hd = [(k, base64.b64decode(v)) for k, v in r[1]] or None
    print(json.dumps(desc(Deserializer.deserialize(M(base64.b64decode(r[0]), hd)))))`,
    {
      stdin: JSON.stringify(
        records.map((r) => [b64(r.value), r.headers.map(([k, v]) => [k, b64(v)])]),
      ),
    },
  );
  const expected = py.trim().split("\n").map((l) => JSON.parse(l));
  const warnings: string[] = [];
  records.forEach((r, i) => {
    const m = unpack({ value: r.value, headers: r.headers }, (w) => warnings.push(w));
    let desc: unknown[];
    if (m instanceof JSONBlob) desc = ["JSONBlob", m.content];
    else if (m instanceof Blob) desc = ["Blob", b64(m.content)];
    else if (m instanceof GCNCircular) desc = ["GCNCircular", { header: m.header, body: m.body }];
    else if (m instanceof GCNTextNotice) desc = ["GCNTextNotice", m.fields];
    else if (m instanceof ExternalMessage) desc = ["ExternalMessage", m.url];
    else desc = [m.constructor.name, null];
    assertEquals(desc, expected[i], r.name);
  });
  assertEquals(warnings, ["Message format MYSTERY not recognized; returning a Blob"]);
  // models we keep raw
  assertInstanceOf(unpack({ value: enc.encode("<x/>"), headers: h("voevent") }), VOEvent);
  assertInstanceOf(unpack({ value: new Uint8Array([1]), headers: h("avro") }), AvroBlob);
  // kafkajs-style header mapping
  assertInstanceOf(
    unpack({ value: enc.encode("1"), headers: { _format: Uint8Array.from([98, 108, 111, 98]) } }),
    Blob,
  );
});

Deno.test("round trip of every model through pack/unpack", () => {
  const models = [
    new JSONBlob({ a: "é" }),
    new Blob(new Uint8Array([1, 2, 3])),
    new VOEvent("<voe:VOEvent ivorn='x'/>"),
    new GCNCircular({ title: "t" }, "body"),
    new GCNTextNotice("A: 1\nB: 2"),
    new AvroBlob(new Uint8Array([79, 98, 106, 1])),
    new ExternalMessage("https://example.org/msg/1"),
  ];
  for (const m of models) {
    const back = unpack(pack(m));
    assertEquals(back.constructor, m.constructor);
    assertEquals(back.serialize(), m.serialize());
  }
});

Deno.test("AvroBlob: records written by hop/fastavro (null and deflate codecs) decode", async () => {
  const py = await python(
    `import base64, io, json, fastavro
from hop.models import AvroBlob
rec = {"name": "GRB 240101A", "ra": 12.5, "dec": -3.25, "n": 7, "big": 2**40, "ok": True,
       "tags": ["a", "b"], "extra": {"k": "v"}, "maybe": None, "raw": b"\\x00\\x01"}
plain = bytes(AvroBlob(rec))
schema = {"type": "record", "name": "Alert", "namespace": "x", "fields": [
  {"name": "id", "type": "long"},
  {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
  {"name": "f", "type": "float"},
  {"name": "fx", "type": {"type": "fixed", "name": "F2", "size": 2}},
  {"name": "opt", "type": ["null", "string"]},
  {"name": "m", "type": {"type": "map", "values": "int"}}]}
buf = io.BytesIO()
fastavro.writer(buf, schema, [{"id": -5, "kind": "B", "f": 1.5, "fx": b"ab", "opt": "s", "m": {"x": 1}},
                              {"id": 9, "kind": "A", "f": -0.25, "fx": b"cd", "opt": None, "m": {}}], codec="deflate")
print(json.dumps([base64.b64encode(plain).decode(), base64.b64encode(buf.getvalue()).decode()]))`,
  );
  const [plain, deflated] = (JSON.parse(py) as string[]).map(unb64);
  const m = unpack({ value: plain, headers: [["_format", enc.encode("avro")]] });
  assertInstanceOf(m, AvroBlob);
  const { records, codec } = m.read();
  assertEquals(codec, "null");
  assertEquals(records, [{
    name: "GRB 240101A",
    ra: 12.5,
    dec: -3.25,
    n: 7,
    big: 2 ** 40,
    ok: true,
    tags: ["a", "b"],
    extra: { k: "v" },
    maybe: null,
    raw: new Uint8Array([0, 1]),
  }]);
  const d = new AvroBlob(deflated).read();
  assertEquals(d.codec, "deflate");
  assertEquals(d.records, [
    { id: -5, kind: "B", f: 1.5, fx: enc.encode("ab"), opt: "s", m: { x: 1 } },
    { id: 9, kind: "A", f: -0.25, fx: enc.encode("cd"), opt: null, m: {} },
  ]);
});

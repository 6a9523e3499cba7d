// Unit tests of the bridge's Kafka record (lib/bridge/record.ts: hop-client's `blob` format with
// posttroll headers, checked against hop's own deserializer in Python) and of the hop-style Kafka
// URL parser (lib/bridge/kafka_link.ts parseKafkaUrl, checked against hop's parse_kafka_url).
import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { Buffer } from "node:buffer";
import {
  buildRecord,
  headerText,
  ORIGIN_HEADER,
  SUBJECT_HEADER,
  TYPE_HEADER,
} from "../../lib/bridge/record.ts";
import { messageIdentity } from "../../lib/bridge/identity.ts";
import { DEFAULT_KAFKA_PORT, parseKafkaUrl } from "../../lib/bridge/kafka_link.ts";
import { BridgeOptionError } from "../../lib/bridge/errors.ts";
import { python } from "../../testing/python.ts";
import { Blob, pack } from "../../lib/hop/models.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const RAW = enc.encode(
  'pytroll://oper/polar/é file user@host 2024-05-01T12:00:00.000001 v1.2 application/json {"uri": "/d/x.nc"}',
);

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

Deno.test("record: headers in order, hop _id = messageIdentity(raw), _format blob, key = subject", () => {
  const r = buildRecord(RAW, "/oper/polar/é", "file", "site-a");
  assertEquals(r.headers.map(([k]) => k), [
    SUBJECT_HEADER,
    TYPE_HEADER,
    ORIGIN_HEADER,
    "_id",
    "_format",
  ]);
  assertEquals(SUBJECT_HEADER, "posttroll_subject");
  assertEquals(TYPE_HEADER, "posttroll_type");
  assertEquals(ORIGIN_HEADER, "posttroll_origin");
  const h = Object.fromEntries(r.headers);
  assertEquals(dec.decode(h[SUBJECT_HEADER]), "/oper/polar/é");
  assertEquals(h[SUBJECT_HEADER], enc.encode("/oper/polar/é"));
  assertEquals(dec.decode(h[TYPE_HEADER]), "file");
  assertEquals(dec.decode(h[ORIGIN_HEADER]), "site-a");
  assertEquals(h["_id"], messageIdentity(RAW));
  assertEquals(h["_id"].length, 16);
  assertEquals(r.id, messageIdentity(RAW));
  assertEquals(dec.decode(h["_format"]), "blob");
  assertEquals(r.key, enc.encode("/oper/polar/é"));
  assertEquals(r.value, RAW);
  for (const [, v] of r.headers) assert(v instanceof Uint8Array);

  // with a sender: `_sender` between `_id` and `_format`, as hop writes it
  const s = buildRecord(RAW, "/oper/polar/é", "file", "site-a", "alice");
  assertEquals(s.headers.map(([k]) => k), [
    SUBJECT_HEADER,
    TYPE_HEADER,
    ORIGIN_HEADER,
    "_id",
    "_sender",
    "_format",
  ]);
  assertEquals(dec.decode(Object.fromEntries(s.headers)["_sender"]), "alice");
  assertEquals(s.value, RAW);
  assertEquals(s.id, r.id);
  // never a `_test` header (hop consumers would skip the record)
  assert(!s.headers.some(([k]) => k === "_test"));
});

Deno.test("record: the value is the message bytes whatever they are; the id follows the bytes", () => {
  const binary = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  const r = buildRecord(binary, "/bin", "x", "b");
  assertEquals(r.value, binary);
  assertEquals(r.id, messageIdentity(binary));
  const other = binary.slice();
  other[299] ^= 1;
  assert(hex(buildRecord(other, "/bin", "x", "b").id) !== hex(r.id));
  // the same bytes from another site or type label keep the same id (duplicates are found)
  assertEquals(buildRecord(binary, "/bin", "y", "c", "bob").id, r.id);
});

Deno.test("record: headerText reads Uint8Array, Buffer, string, arrays (last wins), missing", () => {
  const headers: Record<string, unknown> = {
    a: enc.encode("alpha é"),
    b: Buffer.from("beta"),
    c: "gamma",
    d: [enc.encode("first"), "second", Buffer.from("last")],
    e: [],
    f: 42,
    g: undefined,
    h: null,
    i: ["only"],
  };
  assertEquals(headerText(headers, "a"), "alpha é");
  assertEquals(headerText(headers, "b"), "beta");
  assertEquals(headerText(headers, "c"), "gamma");
  assertEquals(headerText(headers, "d"), "last");
  assertEquals(headerText(headers, "i"), "only");
  assertStrictEquals(headerText(headers, "e"), undefined);
  assertStrictEquals(headerText(headers, "f"), undefined);
  assertStrictEquals(headerText(headers, "g"), undefined);
  assertStrictEquals(headerText(headers, "h"), undefined);
  assertStrictEquals(headerText(headers, "missing"), undefined);
  assertStrictEquals(headerText(undefined, "a"), undefined);
  assertStrictEquals(headerText({}, "a"), undefined);
  // a built record's headers, as kafkajs hands them to a consumer (a mapping of Buffers)
  const r = buildRecord(RAW, "/oper/polar/é", "file", "site-a", "alice");
  const consumed = Object.fromEntries(r.headers.map(([k, v]) => [k, Buffer.from(v)]));
  assertEquals(headerText(consumed, ORIGIN_HEADER), "site-a");
  assertEquals(headerText(consumed, SUBJECT_HEADER), "/oper/polar/é");
  assertEquals(headerText(consumed, "_sender"), "alice");
});

Deno.test("record: hop-client's deserializer turns value + headers into a Blob of the raw bytes", async () => {
  const cases: Array<{ raw: Uint8Array; subject: string; sender?: string }> = [
    { raw: RAW, subject: "/oper/polar/é" },
    { raw: RAW, subject: "/oper/polar/é", sender: "alice" },
    // not UTF-8, not JSON
    { raw: Uint8Array.from({ length: 256 }, (_, i) => 255 - i), subject: "/bin" },
    // looks like hop's old JSON envelope and like JSON: the `_format` header must win
    { raw: enc.encode('{"format": "voevent", "content": "x"}'), subject: "/json" },
    { raw: enc.encode('"just a JSON string"'), subject: "/json2" },
    { raw: new Uint8Array(0), subject: "/empty" },
  ];
  const lines = cases.map(({ raw, subject, sender }) => {
    const r = buildRecord(raw, subject, "file", "site-a", sender);
    return JSON.stringify({
      value: hex(r.value),
      headers: r.headers.map(([k, v]) => [k, hex(v)]),
    });
  });
  const program = `
import sys, json, uuid
from hop import io, models

class Record:  # what confluent_kafka hands hop's Consumer
    def __init__(self, value, headers):
        self._value, self._headers = value, headers
    def value(self):
        return self._value
    def headers(self):
        return self._headers

for line in sys.stdin:
    d = json.loads(line)
    rec = Record(bytes.fromhex(d["value"]), [(k, bytes.fromhex(v)) for k, v in d["headers"]])
    model = io.Deserializer.deserialize(rec)
    hdr = dict(rec.headers())
    print(json.dumps({
        "type": type(model).__module__ + "." + type(model).__name__,
        "content": bytes(model.content).hex() if isinstance(model.content, (bytes, bytearray)) else None,
        "bytes": bytes(model).hex(),
        "is_test": io.Consumer.is_test(rec),
        "id_version": uuid.UUID(bytes=hdr["_id"]).version,
        "sender": hdr.get("_sender", b"").decode(),
    }))
`;
  const out = (await python(program, { stdin: lines.join("\n") + "\n" })).trim().split("\n")
    .map((l) => JSON.parse(l));
  assertEquals(out.length, cases.length);
  for (let i = 0; i < cases.length; i++) {
    assertEquals(out[i].type, "hop.models.Blob", `case ${i}`);
    assertEquals(out[i].content, hex(cases[i].raw), `case ${i}: Blob.content`);
    assertEquals(out[i].bytes, hex(cases[i].raw), `case ${i}: bytes(Blob)`);
    assertEquals(out[i].is_test, false, `case ${i}`);
    assertEquals(out[i].id_version, 8, `case ${i}`);
    assertEquals(out[i].sender, cases[i].sender ?? "", `case ${i}`);
  }
});

Deno.test("kafka url: hop forms parse to brokers and a user hint", () => {
  const p = DEFAULT_KAFKA_PORT;
  assertEquals(p, 9092);
  const cases: Array<[string, string[], string | undefined]> = [
    ["kafka://kafka.example.org", [`kafka.example.org:${p}`], undefined],
    ["kafka://kafka.example.org/", [`kafka.example.org:${p}`], undefined],
    ["kafka://kafka.example.org:9093/", ["kafka.example.org:9093"], undefined],
    ["kafka://kafka.example.org:9093/igwn.gwalert", ["kafka.example.org:9093"], undefined],
    ["kafka://kafka.example.org/t1,t2", [`kafka.example.org:${p}`], undefined],
    ["kafka.example.org:9093", ["kafka.example.org:9093"], undefined],
    ["localhost", [`localhost:${p}`], undefined],
    ["  kafka://h:1/  ", ["h:1"], undefined],
    ["kafka://alice@kafka.example.org/", [`kafka.example.org:${p}`], "alice"],
    ["kafka://alice@kafka.example.org:9094/topic", ["kafka.example.org:9094"], "alice"],
    ["kafka://alice:secret@kafka.example.org/", [`kafka.example.org:${p}`], "alice"],
    ["kafka://al%20ice@h/", [`h:${p}`], "al ice"],
    ["kafka://@h/", [`h:${p}`], undefined],
    ["kafka://a:1,b:2,c/", ["a:1", "b:2", `c:${p}`], undefined],
    ["kafka://bob@a:1,b:2/x", ["a:1", "b:2"], "bob"],
    ["kafka://[::1]:9093", ["[::1]:9093"], undefined],
    ["kafka://[::1]/", [`[::1]:${p}`], undefined],
    ["127.0.0.1:65535", ["127.0.0.1:65535"], undefined],
  ];
  for (const [url, brokers, username] of cases) {
    const u = parseKafkaUrl(url);
    assertEquals(u.brokers, brokers, url);
    assertStrictEquals(u.username, username, url);
  }
});

Deno.test("kafka url: errors are BridgeOptionError", () => {
  for (
    const url of [
      "http://kafka.example.org/",
      "https://kafka.example.org:9092",
      "sasl_ssl://h:9092",
      "",
      "   ",
      "kafka://",
      "kafka:///topic",
      "kafka://alice@/",
      "kafka://h:0",
      "kafka://h:65536",
      "kafka://h:99999",
      "kafka://h:123456",
      "kafka://h:abc",
      "kafka://h:",
      "kafka://h:-1",
      "kafka://h:1:2",
      "kafka://::1:9092", // IPv6 needs brackets
      "kafka://[::1",
      "kafka://[zz::1]:1",
      "kafka://bad host/",
      "kafka://a%zz@h/", // bad percent escape in the user name
    ]
  ) {
    let thrown: unknown;
    try {
      parseKafkaUrl(url);
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof BridgeOptionError, `${JSON.stringify(url)}: ${thrown}`);
  }
  assertThrows(() => parseKafkaUrl("http://h/"), BridgeOptionError, "kafka://");
  assertThrows(() => parseKafkaUrl("kafka://h:0/"), BridgeOptionError, "bad broker address");
  assertThrows(() => parseKafkaUrl("kafka:///"), BridgeOptionError, "no broker");
});

Deno.test("kafka url: same brokers and user as hop's parse_kafka_url", async () => {
  const urls = [
    "kafka://kafka.scimma.org/",
    "kafka://alice@kafka.scimma.org:9093/igwn.gwalert",
    "kafka://alice:pw@kafka.scimma.org/",
    "kafka://a:1,b:2,c:3/t1,t2",
    "kafka://bob@a:1,b:2/",
    "kafka://[::1]:9093/",
    "kafka://localhost:9092",
  ];
  const program = `
import sys, json
from adc.kafka import parse_kafka_url
for url in sys.stdin.read().split():
    user, brokers, topics = parse_kafka_url(url)
    print(json.dumps([user, brokers]))
`;
  const out = (await python(program, { stdin: urls.join("\n") })).trim().split("\n")
    .map((l) => JSON.parse(l) as [string | null, string[]]);
  for (let i = 0; i < urls.length; i++) {
    const [user, brokers] = out[i];
    const ours = parseKafkaUrl(urls[i]);
    // hop leaves the port to librdkafka's default (9092)
    assertEquals(ours.brokers, brokers.map((b) => /:\d+$/.test(b) ? b : `${b}:9092`), urls[i]);
    assertStrictEquals(ours.username, user ?? undefined, urls[i]);
  }
});

Deno.test("record: the same value and headers as hop's pack() of the bytes as a Blob with the bridge's headers first", () => {
  const cases: Array<[Uint8Array, string, string, string, string | undefined]> = [
    [RAW, "/oper/polar/é", "file", "site-a", undefined],
    [RAW, "/oper/polar/é", "file", "site-a", "alice"],
    [enc.encode("pytroll://a info u@h 2020-01-01T00:00:00 v1.01"), "/a", "info", "b", "ü@x"],
    [new Uint8Array(0), "", "", "", ""],
  ];
  for (const [raw, subject, type, origin, sender] of cases) {
    const id = messageIdentity(raw);
    const r = buildRecord(raw, subject, type, origin, sender, id);
    const hop = pack(new Blob(raw), {
      id,
      sender,
      headers: [[SUBJECT_HEADER, enc.encode(subject)], [TYPE_HEADER, enc.encode(type)], [
        ORIGIN_HEADER,
        enc.encode(origin),
      ]],
    });
    assertEquals(r.value, hop.value, `${subject} ${sender}: value`);
    assertEquals(r.headers, hop.headers, `${subject} ${sender}: headers`);
    assertEquals(r.key, enc.encode(subject));
    // a second record of the same texts: equal headers, its own _id pair
    const again = buildRecord(raw, subject, type, origin, sender, messageIdentity(raw, 1));
    assertEquals(again.headers.length, r.headers.length);
    assert(again.headers[3] !== r.headers[3], "each record has its own _id pair");
    assertEquals(r.headers[3][1], id, "the first record's _id is unchanged");
  }
});

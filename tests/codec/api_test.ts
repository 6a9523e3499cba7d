// posttroll.message module-level names and the JSON layer, checked against Python in one process.
import { assertEquals, assertThrows } from "@std/assert";
import {
  CURRENT_MESSAGE_VERSION,
  datetimeDecoder,
  datetimeEncoder,
  defaultSender,
  isValidData,
  isValidSender,
  isValidSubject,
  isValidType,
  MAGICK,
  Message,
  MessageError,
  PyDateTime,
  pyTruthy,
  renderVersion,
  setCodecDefaults,
  strpIsoformat,
  versionLessOrEqual,
  versionNeeded,
} from "../../lib/posttroll/message.ts";
import {
  pyDumps,
  PyFloat,
  pyFloatRepr,
  pyJsonString,
  pyLoads,
} from "../../lib/posttroll/pyjson.ts";
import { runPy, toCanon } from "./_interop.ts";
import { Rng } from "../_rng.ts";

Deno.test("codec api: module-level names agree with posttroll.message", async () => {
  const r = new Rng(31337);
  const floats: number[] = [
    0.1,
    1 / 3,
    1e16,
    1e15,
    1e-4,
    1e-5,
    5e-324,
    1.7976931348623157e308,
    123456789012345680,
    -2.5e-7,
    1e21,
    1e22,
    9007199254740993,
    0.000123,
    1.5e300,
    2 ** -1074,
    100,
    -0,
  ];
  for (let i = 0; i < 1500; i++) {
    const b = new DataView(new ArrayBuffer(8));
    b.setUint32(0, r.int(2 ** 32));
    b.setUint32(4, r.int(2 ** 32));
    const x = b.getFloat64(0);
    if (Number.isFinite(x)) floats.push(x);
  }
  const strings = [
    "norrköping",
    "😀",
    "\u0000\u001f\u007f\u0080\u2028",
    '"\\/\b\f\n\r\t',
    "\ud800",
  ];
  const decoderInputs = [
    '{"a": "2020-01-01", "b": ["20200101", ["2020-W01-1"]], "c": {"d": "12"}, "2020-01-01": 1}',
    '["2020-01-01", {"x": "2020-01-01T00:00:00Z"}]',
    '"2020-01-01"',
  ];
  const py = await runPy<{
    floats: string[];
    strings: string[];
    decoded: unknown[];
    direct: unknown[];
    enc: string[];
    valid: boolean[];
    version: string[];
  }>(
    String.raw`
from posttroll import message as pm
import struct
floats = [json.dumps(struct.unpack(">d", bytes.fromhex(h))[0]) for h in tasks["floats"]]
strings = [json.dumps(s) for s in tasks["strings"]]
decoded = [to_canon(json.loads(t, object_hook=pm.datetime_decoder)) for t in tasks["decoder"]]
def direct(v):
    return pm.datetime_decoder(v) if isinstance(v, (dict, list)) else v
direct_decoded = [to_canon(direct(json.loads(t))) for t in tasks["decoder"]]
t = dt.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
enc = [pm.create_datetime_json_encoder_for_version(v)(t) for v in ["v1.01", "v1.2", "v1.1", "v1.0"]]
valid = [pm.is_valid_subject("/a"), pm.is_valid_subject(""), pm.is_valid_type("x"),
         pm.is_valid_sender(""), pm.is_valid_data({"a": 1}, None, False),
         pm.is_valid_data(object(), None, False), pm.is_valid_data("", None, False)]
version = [pm.render_version(None, {"t": [t]}, False), pm.render_version(None, "x", False),
           pm.render_version(None, {"t": t}, True), pm.render_version("v1.1", {}, False),
           pm.version_needed([[t]], False), pm.version_needed({"a": (1,)}, False),
           pm.CURRENT_MESSAGE_VERSION, pm._MAGICK]
out = {"floats": floats, "strings": strings, "decoded": decoded, "direct": direct_decoded,
       "enc": enc, "valid": valid,
       "version": version}
`,
    {
      floats: floats.map((x) => {
        const b = new DataView(new ArrayBuffer(8));
        b.setFloat64(0, x);
        return [...new Uint8Array(b.buffer)].map((v) => v.toString(16).padStart(2, "0")).join("");
      }),
      strings,
      decoder: decoderInputs,
    },
  );
  assertEquals(floats.map((x) => pyDumps(Number.isInteger(x) ? new PyFloat(x) : x)), py.floats);
  assertEquals(floats.map((x) => pyFloatRepr(x)), py.floats);
  assertEquals(strings.map(pyJsonString), py.strings);
  assertEquals(
    decoderInputs.map((t) => {
      const v = pyLoads(t);
      return toCanon(typeof v === "object" ? datetimeDecoder(v) : v);
    }),
    py.direct,
  );
  // posttroll decodes JSON data with the hook applied by json.loads: same as pyLoads(datetimes)
  assertEquals(decoderInputs.map((t) => toCanon(pyLoads(t, { datetimes: true }))), py.decoded);
  const t = PyDateTime.fromisoformat("2020-01-02T03:04:05.000006+05:30");
  assertEquals(["v1.01", "v1.2", "v1.1", "v1.0"].map((v) => datetimeEncoder(t, v)), py.enc);
  assertThrows(() => datetimeEncoder("x"), MessageError, "not JSON serializable");
  assertEquals([
    isValidSubject("/a"),
    isValidSubject(""),
    isValidType("x"),
    isValidSender(""),
    isValidData({ a: 1 }),
    isValidData(new (class X {})()),
    isValidData(""),
  ], py.valid);
  assertEquals([
    renderVersion(undefined, { t: [t] }, false),
    renderVersion(undefined, "x", false),
    renderVersion(undefined, { t }, true),
    renderVersion("v1.1", {}, false),
    versionNeeded([[t]], false),
    versionNeeded({ a: [1] }, false),
    CURRENT_MESSAGE_VERSION,
    MAGICK,
  ], py.version);
});

Deno.test("codec api: head, user/host, defaults, truthiness, version comparison", () => {
  const time = PyDateTime.fromisoformat("2008-04-11T22:13:22.123000+00:00");
  const m = new Message("/a/b", "file", { t: time }, { sender: "ras@hawaii", time });
  assertEquals(m.head, "pytroll://a/b file ras@hawaii 2008-04-11T22:13:22.123000+00:00 v1.2");
  assertEquals(m.mimeType, "application/json");
  assertEquals([m.user, m.host], ["ras", "hawaii"]);
  const n = new Message("/a", "b", "", { sender: "nobody", time });
  assertEquals([n.user, n.host, n.mimeType, n.version], ["", "", undefined, "v1.01"]);
  assertEquals(n.encode(), "pytroll://a b nobody 2008-04-11T22:13:22.123000 v1.01");
  assertEquals(defaultSender(), defaultSender());
  assertEquals(defaultSender().includes("@"), true);
  setCodecDefaults({ sender: "cfg@host" });
  try {
    assertEquals(new Message("/a", "b").sender, "cfg@host");
  } finally {
    setCodecDefaults({ sender: "" });
  }
  assertEquals(
    [0, -0, NaN, "", [], {}, new Map(), new PyFloat(0), 0n, null, undefined, false].map(pyTruthy),
    [false, false, true, false, false, false, false, false, false, false, false, false],
  );
  assertEquals(
    ["v1.01", "v1.1", "v1.10", "V1.01", "abc", "", "v1.2", "v1.3", "v2", "\u{1F600}"].map((v) =>
      versionLessOrEqual(v, "v1.2")
    ),
    [true, true, true, true, true, true, true, false, false, false],
  );
  assertEquals(strpIsoformat("20200101T000000Z").isoformat(), "2020-01-01T00:00:00+00:00");
  assertThrows(() => strpIsoformat("2020-1-1"), RangeError);
  // explicit version wins and is reported; assigning undefined goes back to automatic
  const v = new Message("/a", "b", { t: time }, { version: "v1.01", time, sender: "u@h" });
  assertEquals(
    v.encode(),
    'pytroll://a b u@h 2008-04-11T22:13:22.123000 v1.01 application/json {"t": "2008-04-11T22:13:22.123000"}',
  );
  v.version = undefined;
  assertEquals(v.version, "v1.2");
});

Deno.test("codec api: encodeParts() joined is encode(), the payload is the data's own text", () => {
  const time = PyDateTime.fromisoformat("2026-01-02T03:04:05.678901+00:00");
  const sender = "u@h";
  const cases = [
    new Message("/a", "file", "b".repeat(70_000), { binary: true, time, sender }),
    new Message("/a", "info", "some text é😀", { time, sender }),
    new Message("/a", "file", { t: time, n: [1, 2.5], s: "ö" }, { time, sender }),
    new Message("/a", "file", { t: time }, { version: "v1.01", time, sender }),
    new Message("/a", "beat", "", { time, sender }),
    new Message("/a", "beat", null, { time, sender }),
  ];
  for (const m of cases) {
    const [head, payload] = m.encodeParts();
    assertEquals(head + payload, m.encode());
    if (typeof m.data === "string" && m.data !== "") assertEquals(payload, m.data);
    if (!pyTruthy(m.data)) assertEquals(payload, "");
  }
  const bad = new Message("/a", "file", "x", { time, sender });
  bad.binary = true;
  bad.data = 1; // binary data must be a string
  assertThrows(() => bad.encodeParts(), MessageError);
});

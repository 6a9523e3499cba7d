// Message codec against Python posttroll 1.16, both ways, in one Python process per test:
// posttroll's own test_message.py cases and a few thousand seeded random messages.
import { assertEquals } from "@std/assert";
import {
  Message,
  MessageError,
  PyDateTime,
  setCodecDefaults,
} from "../../lib/posttroll/message.ts";
import {
  fromCanon,
  type MsgCanon,
  randDatetime,
  randString,
  randValue,
  runPy,
  toCanon,
} from "./_interop.ts";
import { Rng } from "../_rng.ts";

function canonOf(m: Message): MsgCanon {
  return {
    subject: m.subject,
    type: m.type,
    sender: m.sender,
    time: m.time.isoformat(),
    version: m.version,
    binary: m.binary,
    data: toCanon(m.data),
  };
}

function decodeCanon(raw: string | Uint8Array): MsgCanon | { error: string; msg: string } {
  try {
    return canonOf(Message.decode(raw));
  } catch (e) {
    if (e instanceof MessageError) return { error: "MessageError", msg: e.message };
    throw e;
  }
}

const DSTRS = ["2008-04-11T22:13:22.123000", "2008-04-11T22:13:22.123000+00:00"];

// posttroll tests/test_message.py, as raw strings that must decode and re-encode byte for byte
const POSTTROLL_RAWS = DSTRS.flatMap((d) => [
  `pytroll://test/1/2/3 info ras@hawaii ${d} v1.2 text/ascii "what's up doc"`,
  `pytroll://PPS-monitorplot/3/norrköping/utv/polar/direct_readout/ file safusr.u@lxserv1096.smhi.se ${d} v1.2 application/json {"start_time": "${d}"}`,
  `pytroll://oper/polar/direct_readout/norrköping pong sat@MERLIN ${d} v1.2 application/json {"station": "norrk\\u00f6ping"}`,
]);

Deno.test("codec interop: posttroll test_message.py cases", async () => {
  const isoRaws = DSTRS.map((d) =>
    `pytroll://oper/polar/direct_readout/norrköping pong sat@MERLIN ${d} v1.01 application/json {"station": "norrköping"}`
  );
  const isoBytes = isoRaws.map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));
  const t = PyDateTime.fromisoformat("2010-12-03T16:28:39");
  const meta = (tz: boolean) => ({
    timestamp: tz ? PyDateTime.fromisoformat("2010-12-03T16:28:39+00:00") : t,
    satellite: "metop2",
    uri: "file://data/my/path/to/hrpt/files/myfile",
    orbit: 1222,
    format: "hrpt",
    afloat: 1.2345,
  });
  const fixed = { sender: "ras@hawaii", time: PyDateTime.fromisoformat(DSTRS[1]) };
  const ours = [
    new Message("/sat/polar/smb/level1", "file", meta(false), fixed),
    new Message("/sat/polar/smb/level1", "file", meta(true), fixed),
    new Message("/test/whatup/doc", "info", "not much to say", fixed),
    new Message("a", "b", "c", { ...fixed, version: "v1.01" }),
    new Message("a", "b", { start_time: PyDateTime.now() }, { ...fixed, version: "v1.01" }),
    new Message("a", "b", { start_time: PyDateTime.now() }, fixed),
    new Message("/test/whatup/doc", "info", { sting: "Hi, Bugs" }, fixed),
    new Message("/test/whatup/doc", "info", { time: PyDateTime.fromisoformat(DSTRS[0]) }, fixed),
  ];
  const py = await runPy<{ rt: string[]; iso: unknown[]; ours: unknown[] }>(
    String.raw`
rt = [str(Message.from_string(r)) for r in tasks["raws"]]
iso = [decode_or_error(bytes(b)) for b in tasks["iso"]]
mine = [decode_or_error(r) for r in tasks["ours"]]
out = {"rt": rt, "iso": iso, "ours": mine}
`,
    { raws: POSTTROLL_RAWS, iso: isoBytes.map((b) => [...b]), ours: ours.map((m) => m.encode()) },
  );
  // test_decode / test_unicode: byte-for-byte round trip on both sides
  assertEquals(py.rt, POSTTROLL_RAWS);
  assertEquals(POSTTROLL_RAWS.map((r) => Message.decode(r).encode()), POSTTROLL_RAWS);
  // test_iso: ISO-8859-1 bytes
  assertEquals(isoBytes.map((b) => decodeCanon(b)), py.iso);
  assertEquals((Message.decode(isoBytes[0]).data as { station: string }).station, "norrköping");
  // test_metadata and version tests: Python decodes our encodings to what we decode
  assertEquals(ours.map((m) => decodeCanon(m.encode())), py.ours);
  const back = ours.map((m) => Message.decode(m.encode()));
  assertEquals(back[0].data, meta(false));
  assertEquals(back[0].version, "v1.2");
  assertEquals(toCanon(back[1].data), toCanon(meta(true)));
  assertEquals(back[2].version, "v1.01");
  assertEquals(ours[2].encode().includes(" v1.01 text/ascii not much to say"), true);
  assertEquals(back[3].version, "v1.01");
  assertEquals(ours[4].encode().includes("+00:00"), false);
  assertEquals(ours[5].encode().split(" ", 6)[3].endsWith("+00:00"), true);
  assertEquals(back[6].version, "v1.01");
  assertEquals(back[7].version, "v1.2");
  // test_message_version_does_not_change_if_set (config message_version)
  setCodecDefaults({ messageVersion: "v1.2" });
  try {
    const m = new Message("/test/whatup/doc", "info", { sting: "Hi, Bugs" });
    assertEquals(Message.decode(m.encode()).version, "v1.2");
  } finally {
    setCodecDefaults({ messageVersion: null });
  }
  // test_encode_decode: default sender and user/host
  const m = new Message("/test/whatup/doc", "info", "not much to say");
  assertEquals(`${m.user}@${m.host}`, m.sender);
  assertEquals(Message.decode(m.encode()).encode(), m.encode());
});

interface Case {
  subject: string;
  type: string;
  data: unknown;
  binary: boolean;
  version?: string;
  time: PyDateTime;
}

function randomCase(r: Rng): Case {
  const kind = r.int(10);
  let data: unknown;
  let binary = false;
  if (kind === 0) {
    data = randString(r);
  } else if (kind === 1) {
    data = randString(r) || "x";
    binary = true;
  } else if (kind === 2) {
    data = r.pick(["", 0, false, null, [], {}]);
  } else {
    data = randValue(r, 0);
    if (r.chance(0.6)) data = { payload: data, t: randDatetime(r) };
  }
  return {
    subject: randString(r, { noWs: true }) || "/s",
    type: randString(r, { noWs: true }) || "info",
    data,
    binary,
    version: r.pick([undefined, undefined, "v1.01", "v1.2", "v1.1"]),
    time: randDatetime(r),
  };
}

Deno.test("codec interop: seeded random messages through Python and back", async () => {
  const r = new Rng(1234567);
  const cases = Array.from({ length: 3000 }, () => randomCase(r));
  const sender = "usér@höst.example";
  const ourRaws = cases.map((c) =>
    new Message(c.subject, c.type, c.data, {
      binary: c.binary,
      version: c.version,
      time: c.time,
      sender,
    }).encode()
  );
  const tasks = cases.map((c, i) => ({
    subject: c.subject,
    type: c.type,
    data: toCanon(c.data),
    binary: c.binary,
    version: c.version ?? null,
    time: c.time.isoformat(),
    ours: ourRaws[i],
  }));
  const py = await runPy<{ raw: string; pyDecoded: unknown; oursDecoded: unknown }[]>(
    String.raw`
for t in tasks:
    m = Message(t["subject"], t["type"], from_canon(t["data"]), binary=t["binary"], version=t["version"])
    m.time = dt.datetime.fromisoformat(t["time"])
    m.sender = "usér@höst.example"
    raw = m.encode()
    out.append({"raw": raw, "pyDecoded": decode_or_error(raw), "oursDecoded": decode_or_error(t["ours"])})
`,
    tasks,
  );
  let kinds = { json: 0, text: 0, binary: 0, empty: 0 };
  for (let i = 0; i < cases.length; i++) {
    const p = py[i];
    // byte equality of the encodings
    assertEquals(ourRaws[i], p.raw, `case ${i}: encodings differ`);
    // Python's decoding of our string equals our decoding of it (and of Python's)
    const mine = decodeCanon(ourRaws[i]);
    assertEquals(mine, p.oursDecoded, `case ${i}: decoded values differ`);
    assertEquals(decodeCanon(p.raw), p.pyDecoded, `case ${i}`);
    const mt = Message.decode(ourRaws[i]).mimeType;
    if (mt === "application/json") kinds.json++;
    else if (mt === "text/ascii") kinds.text++;
    else if (mt === "binary/octet-stream") kinds.binary++;
    else kinds.empty++;
  }
  assertEquals(Object.values(kinds).every((n) => n > 50), true, JSON.stringify(kinds));
  kinds = { json: 0, text: 0, binary: 0, empty: 0 };
  // values survive our own round trip exactly where no string looks like a date
  const v = fromCanon(toCanon({ a: 1.5, b: [1, 2n ** 70n], c: "x" }));
  assertEquals(toCanon(Message.decode(new Message("/a", "b", v).encode()).data), toCanon(v));
});

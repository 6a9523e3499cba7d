// PyDateTime against CPython 3.12's datetime: fromisoformat acceptance and values on a table plus
// a few thousand seeded random candidates, and isoformat of random datetimes. One Python process.
import { assertEquals, assertThrows } from "@std/assert";
import { PyDateTime } from "../../lib/posttroll/pytime.ts";
import { randDatetime, runPy } from "./_interop.ts";
import { Rng } from "../_rng.ts";

const TABLE = [
  // accepted forms
  "2020-01-01",
  "20200101",
  "2020-01-01T00:00:00",
  "2020-01-01T00:00:00Z",
  "2020-01-01T00:00:00+00:00",
  "2020-01-01T00:00:00-00:00",
  "2020-01-01T00:00:00+0100",
  "2020-01-01T00:00:00+01",
  "2020-01-01T00:00:00+01:30:15",
  "2020-01-01T00:00:00+01:30:15.5",
  "2020-01-01T00:00:00.5+01:00:00.5",
  "2020-01-01T00:00:00.5-01:00:00.5",
  // an offset under one second is UTC in CPython (written back as +00:00)
  "2020-01-01T00:00:00-00:00:00.5",
  "2020-01-01T00:00:00+00:00:00.999999",
  "2020-01-01T12:00:00.25-00:00:00.000001",
  "2020-01-01T00:00:00-00:00:01.5",
  "2020-01-01T00:00:00+00:00:59.5",
  "2020-01-01T12:00+01:99",
  "2020-01-01T12:00+23:59:59.999999",
  "2020-01-01T12:00+24:00",
  "2020-01-01 12:00",
  "2020-01-01x12:00",
  "2020-01-01\u00e912:00",
  "2020-01-01\u20ac12:00",
  "2020-01-01\u{1F600}12:00",
  "2020-01-01\ud80012:00",
  "2020-01-01T\u00e912",
  "2020-01-01T12",
  "2020-01-01T1200",
  "2020-01-01T120000",
  "2020-01-01T12:00:00,5",
  "2020-01-01T12:00:00.1",
  "2020-01-01T12:00:00.12",
  "2020-01-01T12:00:00.1234567",
  "2020-01-01T12:00:00.1234567891234",
  "2020-01-01T12:00:00.1234567+01:00",
  "2020-01-01T12:00:00.123456abcZ",
  "2020-01-01T12:00:00.123456\u0000abc",
  "2020-01-01T12:00:00.123456\u0000+01:00",
  "2020-01-01T12:00:00.12345\u0000",
  "20200101T000000Z",
  "20200101T000000.5Z",
  "2020-W01",
  "2020-W01-1",
  "2020W01",
  "2020W011",
  "2020W0112",
  "2020W01112",
  "2020W011T12",
  "2020-W01-1T12:00",
  "2020-W01T12:00",
  "2020-W0112",
  "2020-W01-1200",
  "2020-W53",
  "2020-W53-7",
  "2021-W53",
  "2015-W53-1",
  "2020-W00",
  "2020-W01-0",
  "2020-W01-8",
  "0001-W01-1",
  "9999-W52-7",
  "9999-W52-5",
  "0001-01-01",
  "9999-12-31T23:59:59.999999",
  "0000-01-01",
  "2020-02-29",
  "2021-02-29",
  "2020-01-01T24:00",
  "2020-01-01T23:60",
  "2020-01-01T23:59:60",
  // digit strings with the shape of a basic-format date but out of range
  "12345678",
  "20201301",
  "20200230",
  "1234567",
  "2020123112",
  // rejected forms
  "2020-001",
  "2020001",
  "2020-W011",
  "2020-1-1",
  "2020-01-1",
  "2020/01/01",
  "2020-0101",
  "202001-01",
  "2020-01-01T",
  "2020-01-01T1",
  "2020-01-01T12:0",
  "2020-01-01T12:00:",
  "2020-01-01T12:00:00.",
  "2020-01-01T12:00:00Z ",
  "2020-01-01T12:00:00+",
  "2020-01-01T12:00:00+1",
  "2020-01-01T12:00:00+012",
  "2020-01-01T12:00:00ZZ",
  "2020-01-01T12:0000",
  "2020-01-01T1200:00",
  "2020-01-01T12:00:00 ",
  " 2020-01-01",
  "2020-01-01 ",
  "２０２０-01-01",
  "12",
  "",
  "abcdefg",
  "2020-01",
  "2020-W",
  "2020-W1",
  "2020-W01-",
  "+2020-01-01",
  "2020-01-01T12:00:00+25:00",
  "2020-01-01T12:00:00+99",
  "2020-01-01T12:00:00-24:00",
];

const ALPHABET = "0123456789012345678901234567890123-:TWZ+.,  x\u00e9\u0000";

function candidates(r: Rng, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const base = r.pick(TABLE);
    let s = base;
    const k = r.int(4);
    if (k === 0) {
      // random string from the alphabet with a digit prefix
      s = "20" + r.int(10) + r.int(10);
      const len = r.int(24);
      for (let j = 0; j < len; j++) s += ALPHABET[r.int(ALPHABET.length)];
    } else {
      // mutate a table entry
      const muts = 1 + r.int(3);
      for (let j = 0; j < muts && s.length; j++) {
        const p = r.int(s.length);
        const c = ALPHABET[r.int(ALPHABET.length)];
        const m = r.int(3);
        if (m === 0) s = s.slice(0, p) + c + s.slice(p + 1);
        else if (m === 1) s = s.slice(0, p) + c + s.slice(p);
        else s = s.slice(0, p) + s.slice(p + 1);
      }
    }
    out.push(s);
  }
  return out;
}

Deno.test("pytime: fromisoformat and isoformat agree with CPython", async () => {
  const r = new Rng(20260622);
  const strings = [...TABLE, ...candidates(r, 4000)];
  const dts = Array.from({ length: 500 }, () => randDatetime(r));
  const py = await runPy<{ parse: (string | null)[]; iso: string[] }>(
    String.raw`
res = []
for s in tasks["strings"]:
    try:
        res.append(dt.datetime.fromisoformat(s).isoformat())
    except ValueError:
        res.append(None)
iso = []
for y, mo, d, h, mi, s, us, off in tasks["dts"]:
    tz = None if off is None else dt.timezone(dt.timedelta(microseconds=off))
    v = dt.datetime(y, mo, d, h, mi, s, us, tz)
    iso.append(v.isoformat() + "|" + v.replace(tzinfo=None).isoformat() + "|" + v.isoformat(" "))
out = {"parse": res, "iso": iso}
`,
    {
      strings,
      dts: dts.map((d) => [
        d.year,
        d.month,
        d.day,
        d.hour,
        d.minute,
        d.second,
        d.microsecond,
        d.offsetMicroseconds,
      ]),
    },
  );
  const mismatches: string[] = [];
  strings.forEach((s, i) => {
    const ours = PyDateTime.tryFromisoformat(s)?.isoformat() ?? null;
    if (ours !== py.parse[i]) {
      mismatches.push(`${JSON.stringify(s)}: ours ${ours} python ${py.parse[i]}`);
    }
  });
  assertEquals(mismatches, []);
  // the table must exercise both outcomes
  const accepted = py.parse.slice(0, TABLE.length).filter((x) => x !== null).length;
  assertEquals(accepted > 30 && accepted < TABLE.length - 30, true);
  dts.forEach((d, i) => {
    assertEquals(
      d.isoformat() + "|" + d.withoutOffset().isoformat() + "|" + d.isoformat(" "),
      py.iso[i],
    );
  });
});

Deno.test("pytime: construction, equality, conversions", () => {
  assertThrows(() => new PyDateTime({ year: 2021, month: 2, day: 29 }), RangeError);
  assertThrows(
    () => new PyDateTime({ year: 2021, month: 1, day: 1, offsetMicroseconds: 86_400e6 }),
    RangeError,
  );
  assertThrows(() => PyDateTime.fromisoformat("12"), RangeError, "Invalid isoformat string: '12'");
  const a = PyDateTime.fromisoformat("2020-01-01T01:00+01:00");
  assertEquals(a.equals(PyDateTime.fromisoformat("2020-01-01T00:00Z")), true);
  assertEquals(a.equals(PyDateTime.fromisoformat("2020-01-01T00:00")), false);
  assertEquals(a.toDate().toISOString(), "2020-01-01T00:00:00.000Z");
  assertEquals(
    PyDateTime.fromDate(new Date(Date.UTC(2001, 1, 3, 4, 5, 6, 7))).isoformat(),
    "2001-02-03T04:05:06.007000+00:00",
  );
  const now = PyDateTime.now();
  assertEquals(now.offsetMicroseconds, 0);
  assertEquals(Math.abs(now.toDate().getTime() - Date.now()) < 5000, true);
  assertEquals(
    PyDateTime.fromEpochMicroseconds(-1, null).isoformat(),
    "1969-12-31T23:59:59.999999",
  );
  assertEquals(JSON.stringify({ t: a }), '{"t":"2020-01-01T01:00:00+01:00"}');
});

// Shared helpers of the codec tests: a canonical, typed JSON form of Python values that both sides
// can produce and compare, a seeded random generator of message data, and the Python side.
import { PY_KEY_ORDER, pyDict, PyFloat, pyFloatRepr, pyKeys } from "../../lib/posttroll/pyjson.ts";
import { PyDateTime } from "../../lib/posttroll/pytime.ts";
import { python } from "../../testing/python.ts";
import type { Rng } from "../_rng.ts";

/** Typed canonical form: ["s", str] ["i", digits] ["f", json float] ["b", bool] ["n"] ["l", [...]]
 * ["d", [[k, v], ...]] ["t", isoformat]. */
export type Canon =
  | ["s", string]
  | ["i", string]
  | ["f", string]
  | ["b", boolean]
  | ["n"]
  | ["l", Canon[]]
  | ["d", [string, Canon][]]
  | ["t", string];

function intRepr(n: number): string {
  return n === 0 ? "0" : Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
}

export function toCanon(v: unknown): Canon {
  if (typeof v === "string") return ["s", v];
  if (typeof v === "number") return Number.isInteger(v) ? ["i", intRepr(v)] : ["f", pyFloatRepr(v)];
  if (typeof v === "bigint") return ["i", v.toString()];
  if (typeof v === "boolean") return ["b", v];
  if (v === null || v === undefined) return ["n"];
  if (v instanceof PyFloat) return ["f", pyFloatRepr(v.value)];
  if (v instanceof PyDateTime) return ["t", v.isoformat()];
  if (Array.isArray(v)) return ["l", v.map(toCanon)];
  const o = v as Record<string, unknown>;
  return ["d", pyKeys(o).map((k) => [k, toCanon(o[k])] as [string, Canon])];
}

export function fromCanon(c: Canon): unknown {
  switch (c[0]) {
    case "s":
      return c[1];
    case "i": {
      const b = BigInt(c[1]);
      return b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b;
    }
    case "f": {
      const x = Number(c[1]);
      return Number.isInteger(x) ? new PyFloat(x) : x;
    }
    case "b":
      return c[1];
    case "n":
      return null;
    case "l":
      return c[1].map(fromCanon);
    case "d":
      return pyDict(c[1].map(([k, v]) => [k, fromCanon(v)] as [string, unknown]));
    case "t":
      return PyDateTime.fromisoformat(c[1]);
  }
}

/** Python helpers prepended to each test file's script. */
export const PY_PRELUDE = String.raw`
import sys, json, datetime as dt, base64
from posttroll.message import Message, MessageError

def from_canon(c):
    t = c[0]
    if t == "s": return c[1]
    if t == "i": return int(c[1])
    if t == "f": return float(c[1])
    if t == "b": return c[1]
    if t == "n": return None
    if t == "l": return [from_canon(x) for x in c[1]]
    if t == "d": return {k: from_canon(v) for k, v in c[1]}
    if t == "t": return dt.datetime.fromisoformat(c[1])
    raise ValueError(t)

def to_canon(v):
    if isinstance(v, bool): return ["b", v]
    if v is None: return ["n"]
    if isinstance(v, str): return ["s", v]
    if isinstance(v, int): return ["i", str(v)]
    if isinstance(v, float): return ["f", json.dumps(v)]
    if isinstance(v, dt.datetime): return ["t", v.isoformat()]
    if isinstance(v, (list, tuple)): return ["l", [to_canon(x) for x in v]]
    if isinstance(v, dict): return ["d", [[k, to_canon(x)] for k, x in v.items()]]
    raise TypeError(type(v))

def msg_canon(m):
    return {"subject": m.subject, "type": m.type, "sender": m.sender, "time": m.time.isoformat(),
            "version": m.version, "binary": m.binary, "data": to_canon(m.data)}

def decode_or_error(raw):
    try:
        return msg_canon(Message.decode(raw))
    except MessageError as e:
        return {"error": "MessageError", "msg": str(e)}
    except Exception as e:
        return {"error": type(e).__name__, "msg": str(e)}

tasks = json.loads(sys.stdin.buffer.read().decode("ascii"))
out = []
`;

/** Runs `body` (Python, after the prelude, reading `tasks`, appending to `out`) on `tasks`. */
export async function runPy<T>(body: string, tasks: unknown): Promise<T> {
  const code = PY_PRELUDE + body +
    "\nsys.setrecursionlimit(20000)\nsys.stdout.write(json.dumps(out))\n";
  const stdin = JSON.stringify(tasks).replace(
    /[\u007f-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
  const text = await python(code, { stdin, timeoutMs: 50_000 });
  return JSON.parse(text) as T;
}

/** A message in canonical form, as `msg_canon` in Python prints it. */
export interface MsgCanon {
  subject: string;
  type: string;
  sender: string;
  time: string;
  version: string;
  binary: boolean;
  data: Canon;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

const CHUNKS = [
  "a",
  "Z",
  "0",
  "7",
  " ",
  "  ",
  "/",
  "\\",
  '"',
  "'",
  "ö",
  "é",
  "ß",
  "中文",
  "😀",
  "𝄞",
  "\n",
  "\t",
  "\u0001",
  "\u007f",
  "\u00a0",
  "\u2028",
  "\u3000",
  "-",
  ":",
  ".",
  "T",
  "Z",
  "+",
  "e",
  "{",
  "}",
  "[",
  "]",
  ",",
];

const DATE_STRINGS = [
  "2020-01-01",
  "20200101",
  "2020-01-01T12:00:00",
  "2020-01-01T12:00:00.123456+00:00",
  "2020-01-01 12:00",
  "20200101T000000Z",
  "2020-W01-1",
  "2010-12-03T16:28:39",
  "2024-02-29T23:59:59.999999-05:30",
  "12",
  "2020-13-01",
  "2020-01-01T25:00",
  "2020-01-01T12:00+01:99",
];

export function randString(
  r: Rng,
  opts: { noWs?: boolean; loneSurrogates?: boolean } = {},
): string {
  if (!opts.noWs && r.chance(0.15)) return r.pick(DATE_STRINGS);
  let s = "";
  const n = r.int(r.chance(0.1) ? 40 : 8);
  for (let i = 0; i < n; i++) {
    let c = r.pick(CHUNKS);
    if (opts.noWs && /\s/.test(c)) c = "_";
    s += c;
  }
  if (opts.loneSurrogates && r.chance(0.05)) s += r.pick(["\ud800", "\udfff"]);
  if (r.chance(0.3)) {
    s += String.fromCodePoint(0x20 + r.int(0x2fff)).replace(/[\s\ud800-\udfff]/, "x");
  }
  return s;
}

export function randFloat(r: Rng): number | PyFloat {
  const k = r.int(10);
  let x: number;
  switch (k) {
    case 0:
      x = r.int(1000) - 500; // integral float
      break;
    case 1:
      x = Math.pow(10, r.int(40) - 10) * (r.chance(0.5) ? 1 : -1);
      break;
    case 2:
      x = r.pick([
        NaN,
        Infinity,
        -Infinity,
        -0,
        0,
        1e16,
        1e15,
        1e-4,
        1e-5,
        5e-324,
        1.7976931348623157e308,
      ]);
      break;
    case 3:
      x = (r.next() - 0.5) * Math.pow(10, r.int(60) - 30);
      break;
    case 4: {
      const b = new DataView(new ArrayBuffer(8));
      b.setUint32(0, r.int(2 ** 32));
      b.setUint32(4, r.int(2 ** 32));
      x = b.getFloat64(0);
      break;
    }
    default:
      x = Math.round((r.next() - 0.5) * 1e6) / 1000;
  }
  return Number.isInteger(x) ? new PyFloat(x) : x;
}

export function randInt(r: Rng): number | bigint {
  switch (r.int(4)) {
    case 0:
      return r.int(100);
    case 1:
      return -r.int(1e9);
    case 2: {
      const big = BigInt(r.int(2 ** 30)) * 2n ** BigInt(r.int(90)) * (r.chance(0.5) ? 1n : -1n);
      return big >= -(2n ** 53n) + 1n && big <= 2n ** 53n - 1n ? Number(big) : big;
    }
    default:
      return r.int(2 ** 31);
  }
}

export function randDatetime(r: Rng, naive?: boolean): PyDateTime {
  const year = r.chance(0.1) ? 1 + r.int(9999) : 1990 + r.int(50);
  const month = 1 + r.int(12);
  const day = 1 + r.int(28);
  const isNaive = naive ?? r.chance(0.4);
  let off: number | null = null;
  if (!isNaive) {
    const k = r.int(5);
    if (k <= 1) off = 0;
    else if (k === 2) off = (r.int(48) - 24) * 1800e6;
    else if (k === 3) off = (r.int(86399) - 43199) * 1e6;
    else off = r.int(2 * 86_399_999_999) - 86_399_999_999;
  }
  return new PyDateTime({
    year,
    month,
    day,
    hour: r.int(24),
    minute: r.int(60),
    second: r.int(60),
    microsecond: r.chance(0.3) ? 0 : r.int(1_000_000),
    offsetMicroseconds: off,
  });
}

export function randKey(r: Rng): string {
  if (r.chance(0.1)) {
    return r.pick(["0", "1", "12", "007", "-1", "4294967294", "4294967295", "__proto__", ""]);
  }
  return randString(r, { loneSurrogates: true });
}

export function randValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 7 : 10);
  switch (k) {
    case 0:
      return randString(r, { loneSurrogates: true });
    case 1:
      return randInt(r);
    case 2:
      return randFloat(r);
    case 3:
      return r.pick([true, false, null]);
    case 4:
    case 5:
      return randDatetime(r);
    case 6:
      return randString(r);
    case 7: {
      const n = r.int(5);
      return Array.from({ length: n }, () => randValue(r, depth + 1));
    }
    default: {
      const n = r.int(6);
      const entries: [string, unknown][] = [];
      for (let i = 0; i < n; i++) entries.push([randKey(r), randValue(r, depth + 1)]);
      return pyDict(entries);
    }
  }
}

export { PY_KEY_ORDER };

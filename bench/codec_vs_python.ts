/**
 * Codec throughput against Python posttroll 1.16 on the same three messages, in one run:
 * `deno task bench:codec`. Prints one table: msgs/s and MB/s for both, ours/Python ratio, and
 * our decode time relative to a bare `JSON.parse` of the same payload.
 *
 * @module
 */
import { Message } from "../lib/posttroll/message.ts";
import { PythonProcess } from "../testing/python.ts";
import { binaryPayload, SENDER, type Shape, shapes, TIME_ISO } from "./_codec_shapes.ts";

/** Time per measured quantity in ms, split over the rounds (`CODEC_BENCH_MS`). */
const BUDGET_MS = Number(Deno.env.get("CODEC_BENCH_MS") ?? 1000);

function measure(fn: () => unknown, budgetMs = BUDGET_MS): number {
  // returns ops/s: warm up, then run batches until the budget is spent
  for (let i = 0; i < 200; i++) fn();
  let ops = 0;
  let batch = 16;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < budgetMs) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    t = performance.now();
    if (t - t0 < budgetMs / 10) batch *= 2;
  }
  return ops / ((t - t0) / 1000);
}

// The Python side runs as one long-lived process that measures on request, so its rounds and ours
// alternate and a busy machine slows both alike.
const PY = String.raw`
import sys, json, time, datetime as dt
from posttroll.message import Message
task = json.loads(sys.stdin.readline())
BIN = task["bin"]
def measure(fn, budget):
    for _ in range(50): fn()
    ops, batch = 0, 8
    t0 = time.perf_counter(); t = t0
    while t - t0 < budget:
        for _ in range(batch): fn()
        ops += batch
        t = time.perf_counter()
        if t - t0 < budget / 10: batch *= 2
    return ops / (t - t0)
msgs, raws, same = [], [], []
for stmt, ours in zip(task["stmts"], task["ours"]):
    ns = {"Message": Message, "dt": dt, "BIN": BIN}
    exec(stmt, ns)
    msg = ns["msg"]
    msg.time = dt.datetime.fromisoformat(task["time"])
    msg.sender = task["sender"]
    raw = msg.encode()
    msgs.append(msg); raws.append(raw); same.append(raw == ours)
print(json.dumps(same), flush=True)
for line in sys.stdin:
    i, op, budget = line.split()
    i = int(i); budget = float(budget) / 1000.0
    if op == "enc":
        r = measure(msgs[i].encode, budget)
    else:
        raw = raws[i]
        r = measure(lambda: Message.decode(raw), budget)
    print(r, flush=True)
`;

interface Row {
  shape: string;
  bytes: number;
  encOurs: number;
  encPy: number;
  decOurs: number;
  decPy: number;
  jsonParse: number;
  jsonWhole: number;
}

/** The whole message (header fields and data) as one JSON document: a second reference. */
function wholeMessageJson(m: Message): string {
  const raw = m.encode();
  const parts = raw.split(" ", 5);
  const data = m.mimeType === "application/json"
    ? raw.slice(raw.indexOf(" application/json ") + 18)
    : JSON.stringify(m.data);
  return `{"subject": ${JSON.stringify(m.subject)}, "type": ${JSON.stringify(m.type)}, ` +
    `"sender": ${JSON.stringify(m.sender)}, "time": ${JSON.stringify(parts[3])}, ` +
    `"version": ${JSON.stringify(parts[4])}, "data": ${data}}`;
}

/** Runs the measurements; `rounds` alternating rounds, best of each kept. */
export async function run(rounds = 5): Promise<Row[]> {
  const list: Shape[] = shapes();
  // decode input as a transport has it: a flat string decoded from the received bytes
  const raws = list.map((s) =>
    new TextDecoder().decode(new TextEncoder().encode(s.message.encode()))
  );
  await using py = PythonProcess.spawn(PY);
  await py.writeLine(JSON.stringify({
    bin: binaryPayload(),
    stmts: list.map((s) => s.py),
    ours: raws,
    time: TIME_ISO,
    sender: SENDER,
  }));
  const same = JSON.parse(await py.readLine(60_000)) as boolean[];
  list.forEach((s, i) => {
    if (!same[i]) throw new Error(`shape ${s.name}: Python encodes different bytes`);
  });
  const pyMeasure = async (i: number, op: string, budget: number) => {
    await py.writeLine(`${i} ${op} ${budget}`);
    return Number(await py.readLine(budget * 20 + 30_000));
  };
  const rows: Row[] = list.map((s, i) => ({
    shape: s.name,
    bytes: new TextEncoder().encode(raws[i]).length,
    encOurs: 0,
    encPy: 0,
    decOurs: 0,
    decPy: 0,
    jsonParse: 0,
    jsonWhole: 0,
  }));
  let sink = 0;
  const budget = BUDGET_MS / rounds;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      const r = rows[i];
      const raw = raws[i];
      const json = s.json;
      const whole = wholeMessageJson(s.message);
      r.encPy = Math.max(r.encPy, await pyMeasure(i, "enc", budget));
      r.encOurs = Math.max(r.encOurs, measure(() => (sink += s.message.encode().length), budget));
      r.decPy = Math.max(r.decPy, await pyMeasure(i, "dec", budget));
      r.decOurs = Math.max(
        r.decOurs,
        measure(() => (sink += Message.decode(raw).subject.length), budget),
      );
      r.jsonParse = Math.max(
        r.jsonParse,
        measure(() => (sink += JSON.parse(json) ? 1 : 0), budget),
      );
      r.jsonWhole = Math.max(
        r.jsonWhole,
        measure(() => (sink += JSON.parse(whole) ? 1 : 0), budget),
      );
    }
  }
  if (sink < 0) console.log(sink);
  return rows;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

export function table(rows: Row[]): string {
  const lines = [
    "| shape | bytes | op | ours msgs/s | ours MB/s | Python msgs/s | Python MB/s | ours/Python | decode / JSON.parse(payload) | decode / JSON.parse(whole message as JSON) |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const mb = (ops: number) => ((ops * r.bytes) / 1e6).toFixed(1);
    lines.push(
      `| ${r.shape} | ${r.bytes} | encode | ${fmt(r.encOurs)} | ${mb(r.encOurs)} | ${
        fmt(r.encPy)
      } | ${mb(r.encPy)} | ${(r.encOurs / r.encPy).toFixed(1)}x | | |`,
    );
    lines.push(
      `| ${r.shape} | ${r.bytes} | decode | ${fmt(r.decOurs)} | ${mb(r.decOurs)} | ${
        fmt(r.decPy)
      } | ${mb(r.decPy)} | ${(r.decOurs / r.decPy).toFixed(1)}x | ${
        (r.jsonParse / r.decOurs).toFixed(2)
      }x | ${(r.jsonWhole / r.decOurs).toFixed(2)}x |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const rows = await run();
  console.log(table(rows));
  const slow = rows.filter((r) => r.encOurs < 5 * r.encPy || r.decOurs < 5 * r.decPy);
  const vsJson = rows.filter((r) => r.jsonParse / r.decOurs > 3);
  console.log(
    `\ntargets: >= 5x Python on every shape: ${slow.length ? "MISSED" : "met"}; ` +
      `decode within 3x of JSON.parse of the payload: ${
        vsJson.length ? "MISSED on " + vsJson.map((r) => r.shape).join(", ") : "met"
      }`,
  );
}

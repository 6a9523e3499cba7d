/**
 * Codec throughput against Python posttroll 1.16 on the same three messages, in one run:
 * `deno task bench:codec`. Prints one table: msgs/s and MB/s for both, ours/Python ratio, and
 * our decode time relative to a bare `JSON.parse` of the same payload.
 *
 * @module
 */
import { Message } from "../lib/posttroll/message.ts";
import { python } from "../tests/harness/python.ts";
import { binaryPayload, SENDER, type Shape, shapes, TIME_ISO } from "./_codec_shapes.ts";

const BUDGET_MS = Number(Deno.env.get("CODEC_BENCH_MS") ?? 600);

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

const PY = String.raw`
import sys, json, time, datetime as dt
from posttroll.message import Message
task = json.loads(sys.stdin.read())
BIN = task["bin"]
budget = task["budget"] / 1000.0
def measure(fn):
    for _ in range(50): fn()
    ops, batch = 0, 8
    t0 = time.perf_counter(); t = t0
    while t - t0 < budget:
        for _ in range(batch): fn()
        ops += batch
        t = time.perf_counter()
        if t - t0 < budget / 10: batch *= 2
    return ops / (t - t0)
res = []
for stmt, ours in zip(task["stmts"], task["ours"]):
    ns = {"Message": Message, "dt": dt, "BIN": BIN}
    exec(stmt, ns)
    msg = ns["msg"]
    msg.time = dt.datetime.fromisoformat(task["time"])
    msg.sender = task["sender"]
    raw = msg.encode()
    res.append({"same": raw == ours, "enc": measure(msg.encode),
                "dec": measure(lambda: Message.decode(raw))})
print(json.dumps(res))
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

export async function run(): Promise<Row[]> {
  const list: Shape[] = shapes();
  const raws = list.map((s) => s.message.encode());
  const py = JSON.parse(
    await python(PY, {
      stdin: JSON.stringify({
        bin: binaryPayload(),
        budget: BUDGET_MS,
        stmts: list.map((s) => s.py),
        ours: raws,
        time: TIME_ISO,
        sender: SENDER,
      }),
      timeoutMs: 120_000,
    }),
  ) as { same: boolean; enc: number; dec: number }[];
  const rows: Row[] = [];
  list.forEach((s, i) => {
    if (!py[i].same) throw new Error(`shape ${s.name}: Python encodes different bytes`);
    const raw = raws[i];
    let sink = 0;
    const json = s.json;
    const whole = wholeMessageJson(s.message);
    // interleaved rounds, best of each, so load from other processes hits all alike
    let encOurs = 0, decOurs = 0, jsonParse = 0, jsonWhole = 0;
    for (let round = 0; round < 5; round++) {
      encOurs = Math.max(
        encOurs,
        measure(() => (sink += s.message.encode().length), BUDGET_MS / 5),
      );
      decOurs = Math.max(
        decOurs,
        measure(() => (sink += Message.decode(raw).subject.length), BUDGET_MS / 5),
      );
      jsonParse = Math.max(
        jsonParse,
        measure(() => (sink += JSON.parse(json) ? 1 : 0), BUDGET_MS / 5),
      );
      jsonWhole = Math.max(
        jsonWhole,
        measure(() => (sink += JSON.parse(whole) ? 1 : 0), BUDGET_MS / 5),
      );
    }
    if (sink < 0) console.log(sink);
    rows.push({
      shape: s.name,
      bytes: new TextEncoder().encode(raw).length,
      encOurs,
      encPy: py[i].enc,
      decOurs,
      decPy: py[i].dec,
      jsonParse,
      jsonWhole,
    });
  });
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

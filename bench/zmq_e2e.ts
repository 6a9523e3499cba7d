/**
 * End-to-end ZeroMQ benchmark: PUB->SUB throughput (64 B, 274 B, 64 KiB; NULL and CURVE) and
 * REQ/REP round-trip latency (p50/p99), for our engine (Deno) against pyzmq/libzmq (Python) and,
 * when installed in .cache/zmqjs, zeromq.js on Node. Each side runs in its own process, both
 * sides of a pair use the same implementation. Prints one Markdown table.
 *
 * Cells: throughput (messages counted by the subscriber from its first to its last measured
 * message) and the CPU time (user + system, all threads) per message of the publisher (from the
 * start of its send loop until it is told to stop, so everything it wrote is counted; divided by
 * the messages delivered, since PUB drops what finds its high-water mark reached) and of the
 * subscriber (over its measured messages): `CPU µs/msg pub + sub`, which the machine's load
 * barely moves, unlike throughput.
 *
 * Run: `deno task bench:zmq` (or `deno run -A bench/zmq_e2e.ts [--quick] [--runs N] [--only SUBSTRING]`);
 * each cell is the median of N runs (default 3, 1 with --quick).
 *
 * @module
 */
import { eachLine } from "../testing/lines.ts";
import process from "node:process";
import {
  curveKeyPair,
  PubSocket,
  RepSocket,
  ReqSocket,
  type SocketOptions,
  SubSocket,
} from "../lib/zmq/mod.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const PY = `${REPO}/.cache/venv/bin/python`;
const ZMQJS_DIR = `${REPO}/.cache/zmqjs`;

interface RoleArgs {
  role: "pub" | "sub" | "rep" | "req";
  endpoint: string;
  n: number;
  size: number;
  curve?: {
    server: { publicKey: string; secretKey: string };
    client: { publicKey: string; secretKey: string };
  };
}

// ---------------------------------------------------------------- our roles (Deno subprocess)
function curveOpts(a: RoleArgs, server: boolean): SocketOptions {
  if (!a.curve) return {};
  return server
    ? { curve: { server: true, secretKey: a.curve.server.secretKey } }
    : { curve: { serverKey: a.curve.server.publicKey, ...a.curve.client } };
}

async function readLine(): Promise<string | null> {
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  return n === null ? null : new TextDecoder().decode(buf.subarray(0, n));
}

/** Sends `frame` every 5 ms until a line arrives on stdin. */
async function sendUntilLine(pub: PubSocket, frame: Uint8Array): Promise<void> {
  let stop = false;
  const line = readLine().then(() => (stop = true));
  while (!stop) {
    await pub.send(frame);
    await new Promise((r) => setTimeout(r, 5));
  }
  await line;
}

async function oursRole(a: RoleArgs): Promise<void> {
  const out = (s: string) => console.log(s);
  if (a.role === "pub") {
    await using pub = new PubSocket(curveOpts(a, true));
    await pub.bind(a.endpoint);
    out("ready");
    await sendUntilLine(pub, new Uint8Array([115])); // "s" until the driver says go
    const payload = new Uint8Array(a.size).fill(120);
    const cpu0 = cpuUs();
    for (let i = 0; i < a.n; i++) await pub.send(payload);
    await sendUntilLine(pub, new Uint8Array([101])); // "e" until the driver saw the end
    out(JSON.stringify({ cpuUs: cpuUs() - cpu0 })); // sending and writing it all out
  } else if (a.role === "sub") {
    await using sub = new SubSocket(curveOpts(a, false));
    sub.subscribe("");
    sub.connect(a.endpoint);
    let synced = false;
    let count = 0;
    let t0 = 0;
    let bytes = 0;
    let cpu0 = 0;
    for await (const [f] of sub) {
      if (f.length === 1) {
        if (f[0] === 115 && !synced) {
          synced = true;
          out("synced");
        } else if (f[0] === 101 && count > 0) break;
        continue;
      }
      if (count === 0) {
        t0 = performance.now();
        cpu0 = cpuUs();
      }
      count++;
      bytes += f.length;
      if (count === a.n) break;
    }
    const secs = (performance.now() - t0) / 1000;
    out(JSON.stringify({ count, secs, bytes, cpuUs: cpuUs() - cpu0 }));
  } else if (a.role === "rep") {
    await using rep = new RepSocket(curveOpts(a, true));
    await rep.bind(a.endpoint);
    out("ready");
    for await (const m of rep) await rep.send(m);
  } else {
    await using req = new ReqSocket(curveOpts(a, false));
    req.connect(a.endpoint);
    const payload = new Uint8Array(a.size);
    const times: number[] = [];
    for (let i = 0; i < a.n + 500; i++) {
      const t = performance.now();
      await req.send(payload);
      await req.receive();
      if (i >= 500) times.push(performance.now() - t);
    }
    out(JSON.stringify({ times: summarize(times) }));
  }
}

/** CPU time (user + system) of this process so far, µs: CPU per message does not depend on load. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function summarize(times: number[]): { p50: number; p99: number } {
  times.sort((x, y) => x - y);
  return {
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
  };
}

// ---------------------------------------------------------------- pyzmq roles
const PY_ROLE = `
import json, sys, time, select, zmq
a = json.loads(sys.argv[1])
ctx = zmq.Context()
kind = {"pub": zmq.PUB, "sub": zmq.SUB, "rep": zmq.REP, "req": zmq.REQ}[a["role"]]
s = ctx.socket(kind)
s.linger = 0
c = a.get("curve")
if c:
    if a["role"] in ("pub", "rep"):
        s.curve_server = True
        s.curve_secretkey = c["server"]["secretKey"].encode()
        s.curve_publickey = c["server"]["publicKey"].encode()
    else:
        s.curve_serverkey = c["server"]["publicKey"].encode()
        s.curve_publickey = c["client"]["publicKey"].encode()
        s.curve_secretkey = c["client"]["secretKey"].encode()
n, size = a["n"], a["size"]
if a["role"] == "pub":
    s.bind(a["endpoint"]); print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0.005)[0]:
        s.send(b"s")
    sys.stdin.readline()
    payload = b"x" * size
    cpu0 = time.process_time()
    for i in range(n):
        s.send(payload)
    while not select.select([sys.stdin], [], [], 0.005)[0]:
        s.send(b"e")
    print(json.dumps({"cpuUs": (time.process_time() - cpu0) * 1e6}), flush=True)
elif a["role"] == "sub":
    s.setsockopt(zmq.SUBSCRIBE, b""); s.connect(a["endpoint"])
    synced = False; count = 0; t0 = 0; nbytes = 0
    while True:
        f = s.recv()
        if len(f) == 1:
            if f == b"s" and not synced:
                synced = True; print("synced", flush=True)
            elif f == b"e" and count > 0:
                break
            continue
        if count == 0: t0 = time.perf_counter(); cpu0 = time.process_time()
        count += 1; nbytes += len(f)
        if count == n: break
    print(json.dumps({"count": count, "secs": time.perf_counter() - t0, "bytes": nbytes,
                      "cpuUs": (time.process_time() - cpu0) * 1e6}), flush=True)
elif a["role"] == "rep":
    s.bind(a["endpoint"]); print("ready", flush=True)
    while True:
        s.send(s.recv())
else:
    s.connect(a["endpoint"])
    payload = b"x" * size; times = []
    for i in range(n + 500):
        t = time.perf_counter(); s.send(payload); s.recv()
        if i >= 500: times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(json.dumps({"times": {"p50": times[len(times)//2], "p99": times[int(len(times)*0.99)]}}), flush=True)
s.close(); ctx.term()
`;

// ---------------------------------------------------------------- zeromq.js roles (Node)
const NODE_ROLE = `
import * as zmq from "zeromq";
import * as readline from "node:readline";
const a = JSON.parse(process.argv[2]);
const lines = readline.createInterface({ input: process.stdin });
const lineQ = []; let lineW = null; let eof = false;
lines.on("line", (l) => { lineQ.push(l); lineW?.(); });
lines.on("close", () => { eof = true; lineW?.(); });
const hasLine = () => lineQ.length > 0 || eof;
const curve = (s, server) => {
  if (!a.curve) return;
  if (server) { s.curveServer = true; s.curveSecretKey = a.curve.server.secretKey; s.curvePublicKey = a.curve.server.publicKey; }
  else { s.curveServerKey = a.curve.server.publicKey; s.curvePublicKey = a.curve.client.publicKey; s.curveSecretKey = a.curve.client.secretKey; }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (a.role === "pub") {
  const s = new zmq.Publisher({ linger: 0 }); curve(s, true);
  await s.bind(a.endpoint); console.log("ready");
  while (!hasLine()) { await s.send("s"); await sleep(5); }
  lineQ.shift();
  const payload = Buffer.alloc(a.size, 120);
  const c0 = process.cpuUsage();
  for (let i = 0; i < a.n; i++) await s.send(payload);
  while (!hasLine()) { await s.send("e"); await sleep(5); }
  const c1 = process.cpuUsage(c0);
  console.log(JSON.stringify({ cpuUs: c1.user + c1.system }));
  s.close();
} else if (a.role === "sub") {
  const s = new zmq.Subscriber({ linger: 0 }); curve(s, false);
  s.subscribe(); s.connect(a.endpoint);
  let synced = false, count = 0, t0 = 0, bytes = 0, c0;
  for await (const [f] of s) {
    if (f.length === 1) {
      if (f[0] === 115 && !synced) { synced = true; console.log("synced"); }
      else if (f[0] === 101 && count > 0) break;
      continue;
    }
    if (count === 0) { t0 = performance.now(); c0 = process.cpuUsage(); }
    count++; bytes += f.length;
    if (count === a.n) break;
  }
  const c1 = process.cpuUsage(c0);
  console.log(JSON.stringify({ count, secs: (performance.now() - t0) / 1000, bytes, cpuUs: c1.user + c1.system }));
  s.close();
} else if (a.role === "rep") {
  const s = new zmq.Reply({ linger: 0 }); curve(s, true);
  await s.bind(a.endpoint); console.log("ready");
  for await (const m of s) await s.send(m);
} else {
  const s = new zmq.Request({ linger: 0 }); curve(s, false);
  s.connect(a.endpoint);
  const payload = Buffer.alloc(a.size); const times = [];
  for (let i = 0; i < a.n + 500; i++) {
    const t = performance.now(); await s.send(payload); await s.receive();
    if (i >= 500) times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  console.log(JSON.stringify({ times: { p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] } }));
  s.close();
}
process.exit(0);
`;

// ---------------------------------------------------------------- orchestration
type Impl = "ours" | "pyzmq" | "zeromq.js";

class Proc {
  readonly child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  #wait: (() => void) | null = null;
  #ended = false;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly done: Promise<void>;
  constructor(cmd: string, args: string[], cwd?: string) {
    const child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      cwd,
    })
      .spawn();
    this.child = child;
    this.#writer = child.stdin.getWriter();
    this.done = eachLine(child.stdout, (line) => {
      this.#lines.push(line);
      this.#wait?.();
    }).then(() => {
      this.#ended = true;
      this.#wait?.();
    });
  }
  async line(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#lines.length) {
      if (this.#ended) throw new Error("process ended");
      if (Date.now() > deadline) throw new Error("timeout waiting for a line");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.#wait = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.#lines.shift()!;
  }
  async write(s: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(s + "\n"));
  }
  async stop(): Promise<void> {
    try {
      await this.#writer.close();
    } catch { /* closed */ }
    const t = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 3000);
    await this.child.status;
    clearTimeout(t);
    await this.done;
  }
}

function spawn(impl: Impl, a: RoleArgs): Proc {
  const json = JSON.stringify(a);
  if (impl === "ours") {
    return new Proc(Deno.execPath(), [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--role",
      json,
    ]);
  }
  if (impl === "pyzmq") return new Proc(PY, ["-c", PY_ROLE, json]);
  return new Proc("node", [`${ZMQJS_DIR}/zmq_bench_role.mjs`, json], ZMQJS_DIR);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

async function pubsub(impl: Impl, size: number, n: number, curve?: RoleArgs["curve"]) {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const pub = spawn(impl, { role: "pub", endpoint, n, size, curve });
  await pub.line();
  const sub = spawn(impl, { role: "sub", endpoint, n, size, curve });
  try {
    while ((await sub.line()) !== "synced") { /* wait */ }
    await pub.write("go");
    const r = JSON.parse(await sub.line(120_000)) as {
      count: number;
      secs: number;
      bytes: number;
      cpuUs: number;
    };
    await pub.write("stop");
    const p = JSON.parse(await pub.line(120_000)) as { cpuUs: number };
    return {
      msgs: r.count / r.secs,
      mb: r.bytes / r.secs / 1e6,
      lost: n - r.count,
      pubCpu: p.cpuUs / Math.max(1, r.count), // per delivered message (PUB drops at its HWM)
      subCpu: r.cpuUs / Math.max(1, r.count),
    };
  } finally {
    await pub.write("stop").catch(() => {});
    await sub.stop();
    await pub.stop();
  }
}

async function reqrep(impl: Impl, n: number, curve?: RoleArgs["curve"]) {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const rep = spawn(impl, { role: "rep", endpoint, n, size: 64, curve });
  await rep.line();
  const req = spawn(impl, { role: "req", endpoint, n, size: 64, curve });
  try {
    return (JSON.parse(await req.line(120_000)) as { times: { p50: number; p99: number } }).times;
  } finally {
    await req.stop();
    try {
      rep.child.kill("SIGTERM");
    } catch { /* gone */ }
    await rep.stop();
  }
}

async function main(args: string[]): Promise<number> {
  const roleIdx = args.indexOf("--role");
  if (roleIdx >= 0) {
    await oursRole(JSON.parse(args[roleIdx + 1]) as RoleArgs);
    return 0;
  }
  const quick = args.includes("--quick");
  const onlyIdx = args.indexOf("--only");
  const only = onlyIdx >= 0 ? args[onlyIdx + 1] : "";
  const impls: Impl[] = ["ours", "pyzmq"];
  let zmqjsNote = "";
  try {
    Deno.statSync(`${ZMQJS_DIR}/node_modules/zeromq/package.json`);
    Deno.writeTextFileSync(`${ZMQJS_DIR}/zmq_bench_role.mjs`, NODE_ROLE);
    impls.push("zeromq.js");
  } catch {
    zmqjsNote = "zeromq.js column skipped: `npm install zeromq@6.8.0` in .cache/zmqjs to enable";
  }
  const scale = quick ? 0.2 : 1;
  const runsIdx = args.indexOf("--runs");
  const runs = runsIdx >= 0 ? Math.max(1, Number(args[runsIdx + 1]) || 1) : quick ? 1 : 3;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const curve = { server: curveKeyPair(), client: curveKeyPair() };
  const rows: Array<{ name: string; cells: string[]; ratio: number[] }> = [];
  const cases: Array<[string, number, number, RoleArgs["curve"]?]> = [
    ["PUB->SUB 64 B", 64, 300_000],
    ["PUB->SUB 274 B", 274, 300_000],
    ["PUB->SUB 64 KiB", 65536, 10_000],
    ["PUB->SUB 274 B CURVE", 274, 100_000, curve],
    ["PUB->SUB 64 KiB CURVE", 65536, 3_000, curve],
  ];
  for (const [name, size, n, c] of cases) {
    if (!name.includes(only)) continue;
    const vals: number[] = [];
    const cells: string[] = [];
    const res = new Map<Impl, { msgs: number; mb: number; pubCpu: number; subCpu: number }[]>(
      impls.map((i) => [i, []]),
    );
    for (let run = 0; run < runs; run++) {
      for (const impl of impls) {
        const r = await pubsub(impl, size, Math.round(n * scale), c);
        res.get(impl)!.push(r);
        console.error(
          `${name} ${impl} run ${run + 1}: ${Math.round(r.msgs)} msg/s, ${
            r.mb.toFixed(1)
          } MB/s (lost ${r.lost}), CPU µs/msg pub ${r.pubCpu.toFixed(2)} sub ${
            r.subCpu.toFixed(2)
          }`,
        );
      }
    }
    for (const impl of impls) {
      const msgs = median(res.get(impl)!.map((r) => r.msgs));
      const mb = median(res.get(impl)!.map((r) => r.mb));
      const pc = median(res.get(impl)!.map((r) => r.pubCpu));
      const sc = median(res.get(impl)!.map((r) => r.subCpu));
      vals.push(msgs);
      cells.push(
        `${Math.round(msgs).toLocaleString("en")} msg/s, ${mb.toFixed(1)} MB/s; CPU µs/msg ${
          pc.toFixed(2)
        } + ${sc.toFixed(2)}`,
      );
    }
    rows.push({ name, cells, ratio: [vals[0] / vals[1]] });
  }
  for (
    const [name, c] of [["REQ/REP round trip 64 B", undefined], [
      "REQ/REP round trip 64 B CURVE",
      curve,
    ]] as const
  ) {
    if (!name.includes(only)) continue;
    const cells: string[] = [];
    const p50s: number[] = [];
    const res = new Map<Impl, { p50: number; p99: number }[]>(impls.map((i) => [i, []]));
    for (let run = 0; run < runs; run++) {
      for (const impl of impls) {
        const t = await reqrep(impl, Math.round(10_000 * scale), c);
        res.get(impl)!.push(t);
        console.error(
          `${name} ${impl} run ${run + 1}: p50 ${t.p50.toFixed(3)} p99 ${t.p99.toFixed(3)}`,
        );
      }
    }
    for (const impl of impls) {
      const p50 = median(res.get(impl)!.map((t) => t.p50));
      const p99 = median(res.get(impl)!.map((t) => t.p99));
      p50s.push(p50);
      cells.push(`p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`);
    }
    rows.push({ name, cells, ratio: [p50s[1] / p50s[0]] });
  }
  const head = [
    "case",
    ...impls.map((i) =>
      i === "ours" ? "ours (Deno)" : i === "pyzmq" ? "pyzmq (libzmq)" : "zeromq.js (Node 20)"
    ),
    "ours / pyzmq",
  ];
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.cells.join(" | ")} | ${(r.ratio[0] * 100).toFixed(0)}% |`);
  }
  if (zmqjsNote) console.log(`\n${zmqjsNote}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * The posttroll codec of two (or more) checkouts in one process, interleaved: per-message time of
 * what the end-to-end bench's peers do with the file event and the 64 KiB message (best of many
 * rounds, so a busy machine slows every tree alike), and, with `--expose-gc` (and a young
 * generation large enough that no scavenge runs while counting), the heap allocated per call.
 *
 * ```sh
 * git worktree add /tmp/codec-before <commit>
 * deno run -A --v8-flags=--expose-gc,--max-semi-space-size=64,--min-semi-space-size=64 \
 *   bench/codec_compare.ts /tmp/codec-before .
 * ```
 *
 * @module
 */

const trees = Deno.args.length ? Deno.args : ["."];
const enc = new TextEncoder();
type Case = [calls: number, fn: () => unknown];
const sides: Record<string, Case>[] = [];
for (const tree of trees) {
  const root = new URL(tree.endsWith("/") ? tree : tree + "/", `file://${Deno.cwd()}/`);
  const { Message, PyDateTime } = await import(new URL("lib/posttroll/message.ts", root).href);
  const shapes = JSON.parse(await Deno.readTextFile(new URL("bench/e2e/shapes.json", root)));
  const fe = shapes.file_event;
  const data: Record<string, unknown> = { ...fe.data };
  for (const k of fe.datetimes) data[k] = PyDateTime.fromisoformat(data[k] as string);
  const b = shapes.binary64k;
  const bin = b.alphabet.repeat(Math.ceil(b.size / b.alphabet.length)).slice(0, b.size);
  const feBytes = enc.encode(new Message(fe.subject, fe.type, data).encode());
  const binBytes = enc.encode(new Message(b.subject, b.type, bin, { binary: true }).encode());
  const out = new Uint8Array(4096);
  sides.push({
    "file event: new Message(...)": [1000, () => new Message(fe.subject, fe.type, data)],
    "file event: new Message(...).encode() + UTF-8 into a buffer": [
      1000,
      () => enc.encodeInto(new Message(fe.subject, fe.type, data).encode(), out),
    ],
    "file event: Message.decode(bytes)": [1000, () => Message.decode(feBytes)],
    "64 KiB: new Message(...).encode() + UTF-8": [
      100,
      () => enc.encode(new Message(b.subject, b.type, bin, { binary: true }).encode()),
    ],
    "64 KiB: Message.decode(bytes)": [100, () => Message.decode(binBytes)],
  });
}

const names = Object.keys(sides[0]);
const best = names.map(() => sides.map(() => Infinity));
for (let round = 0; round < 150; round++) {
  for (let j = 0; j < names.length; j++) {
    for (let k = 0; k < sides.length; k++) {
      const [n, fn] = sides[k][names[j]];
      const t = performance.now();
      for (let i = 0; i < n; i++) fn();
      best[j][k] = Math.min(best[j][k], ((performance.now() - t) * 1000) / n);
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
function heapPerCall(fn: () => unknown): string {
  if (!gc) return "–";
  // with the default young generation a scavenge may run during the loop: a lower bound then
  for (let i = 0; i < 2000; i++) fn();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < 2000; i++) fn();
  return `${Math.round((Deno.memoryUsage().heapUsed - before) / 2000)} B`;
}

const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
console.log(`best of 150 rounds per call, trees loaded in this order; load average ${load}\n`);
console.log(`| per message | ${trees.map((t) => `${t} | heap`).join(" | ")} |`);
console.log(`| --- | ${trees.map(() => "---: | ---:").join(" | ")} |`);
for (let j = 0; j < names.length; j++) {
  const cells = sides.map((s, k) => `${best[j][k].toFixed(2)} µs | ${heapPerCall(s[names[j]][1])}`);
  console.log(`| ${names[j]} | ${cells.join(" | ")} |`);
}

/**
 * Memory of a posttroll subscriber whose application is slower than the network: our Publisher in
 * a child process sends `--count` 64 KiB messages as fast as `await send()` lets it; the
 * Subscriber here awaits a 1 ms timer (the application's I/O) every `--await-every` messages.
 * Prints one JSON line: messages received, the rate, the subscriber process's peak RSS (VmHWM)
 * and the largest `queuedBytes` seen.
 *
 * ```sh
 * deno run -A --v8-flags=--max-semi-space-size=2 bench/e2e/posttroll_slow_reader.ts \
 *   [--count 3000] [--await-every 4] [--max-queued-bytes N]
 * ```
 *
 * The V8 flag is the `posttroll` executable's (cli/binaries.ts). To compare with a tree from
 * before `maxQueuedBytes`, copy this file into a worktree of that commit (`queuedBytes` then
 * reads 0).
 *
 * @module
 */
import { Message } from "../../lib/posttroll/message.ts";
import { Publisher } from "../../lib/posttroll/publisher.ts";
import { Subscriber } from "../../lib/posttroll/subscriber.ts";

function opt(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}
const PAD = "x".repeat(65536);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publish(count: number): Promise<void> {
  await using pub = await new Publisher("tcp://127.0.0.1:0").start();
  console.log(`port ${pub.portNumber}`);
  const stdin = Deno.stdin.readable.getReader();
  let go = false;
  const started = stdin.read().then(() => (go = true));
  while (!go) {
    pub.send(new Message("/sync", "info"));
    await sleep(20);
  }
  await started;
  for (let i = 0; i < count; i++) await pub.send(new Message("/big", "info", { i, pad: PAD }));
  for (let k = 0; k < 500; k++) {
    pub.send(new Message("/end", "info"));
    await sleep(20);
  }
}

async function subscribe(count: number, awaitEvery: number, maxQueuedBytes?: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--publish", String(count)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let head = "";
  while (!head.includes("\n")) head += (await out.read()).value ?? "";
  const port = Number(/port (\d+)/.exec(head)![1]);
  const sub = new Subscriber(
    [`tcp://127.0.0.1:${port}`],
    maxQueuedBytes ? { maxQueuedBytes } : {},
  );
  const writer = child.stdin.getWriter();
  let received = 0, t0 = 0, maxQueued = 0, synced = false;
  for await (const msg of sub.recv(5)) {
    if (msg === null) break;
    if (msg.subject === "/sync") {
      if (!synced) await writer.write(new TextEncoder().encode("go\n"));
      synced = true;
      continue;
    }
    if (msg.subject === "/end") break;
    if (received++ === 0) t0 = performance.now();
    maxQueued = Math.max(maxQueued, (sub as { queuedBytes?: number }).queuedBytes ?? 0);
    if (received % awaitEvery === 0) await sleep(1); // the application's I/O
  }
  const seconds = (performance.now() - t0) / 1000;
  const hwm = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1];
  console.log(JSON.stringify({
    received,
    sent: count,
    rate: Math.round(received / seconds),
    subPeakMiB: +(Number(hwm) / 1024).toFixed(1),
    maxQueuedKiB: Math.round(maxQueued / 1024),
  }));
  await sub.close();
  try {
    child.kill();
  } catch { /* gone */ }
  await child.status;
}

if (Deno.args[0] === "--publish") {
  await publish(Number(Deno.args[1]));
  Deno.exit(0);
}
await subscribe(
  Number(opt("count", "3000")),
  Number(opt("await-every", "4")),
  Number(opt("max-queued-bytes", "0")) || undefined,
);
Deno.exit(0);

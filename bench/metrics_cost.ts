/**
 * What the nameserver's metrics cost: our client's sequential getPubAddress look-ups per second
 * against our nameserver (`--no-multicast`, one service registered) in four variants, run in
 * alternating rounds so that load drifting on a shared machine hits all alike:
 *
 * - `before`: the nameserver as it was before metrics existed (a `git worktree` of `--before REF`,
 *   default the commit before the metrics hooks landed);
 * - `off`: this tree, no `--metrics` (the hooks are absent: nothing to call);
 * - `on`: this tree with `--metrics`, scraped once a second (a Prometheus scrape interval is
 *   usually 15-60 s: this is far more often);
 * - `on, 10 Hz + page`: scraped ten times a second with the web view open (an event stream).
 *
 * ```
 * flock /work/locks/bench.lock deno run -A bench/metrics_cost.ts [--rounds 5] [--seconds 5] [--before REF]
 * ```
 *
 * Prints a markdown table: median look-ups/s per variant, ratio to `off`, p50/p99 latency.
 *
 * @module
 */
import { freePort } from "../testing/net.ts";
import { binaryPermissions, DENO, Peer, ROOT } from "./e2e/_peer.ts";
import { median } from "./e2e/_table.ts";
import { type LookupResult, lookups, nsEnv } from "./e2e/_nameserver.ts";

const args = Deno.args;
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const rounds = Number(opt("rounds", "5"));
const seconds = Number(opt("seconds", "5"));
// the last commit before the nameserver's metrics hooks (7a16483 "posttroll CLI ... --metrics")
const before = opt("before", "7a16483^");

type Variant = "before" | "off" | "on" | "on, 10 Hz + page";
const VARIANTS: Variant[] = ["before", "off", "on", "on, 10 Hz + page"];

function git(...a: string[]): string {
  const out = new Deno.Command("git", { args: a, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success) throw new Error(`git ${a.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

type Run = LookupResult;

async function once(variant: Variant, tree: string): Promise<Run> {
  const ports = { ns: freePort(), broadcast: freePort(), addressPublish: freePort() };
  const env = nsEnv(ports);
  const metricsPort = freePort();
  const extra = variant === "on" || variant === "on, 10 Hz + page"
    ? ["--metrics", `127.0.0.1:${metricsPort}`]
    : [];
  const server = Peer.spawn(DENO, [
    "run",
    ...await binaryPermissions("nameserver"),
    `${tree}/cli/nameserver.ts`,
    "--no-multicast",
    ...extra,
  ], { env, label: `${variant} nameserver` });
  const stop = new AbortController();
  const loads: Array<Promise<void>> = [];
  try {
    const reg = Peer.python("ns_client.py", ["register", "--port", String(ports.broadcast)], {
      env,
    });
    try {
      const r = await reg.next("result", 30_000);
      if (r.reply !== "ok") throw new Error(`registration reply ${JSON.stringify(r.reply)}`);
    } finally {
      await reg.close(2000);
    }
    if (extra.length) {
      const every = variant === "on" ? 1000 : 100;
      loads.push((async () => {
        while (!stop.signal.aborted) {
          await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: stop.signal })
            .then((r) => r.text()).catch(() => {});
          await new Promise((r) => setTimeout(r, every));
        }
      })());
      if (variant !== "on") {
        loads.push(
          fetch(`http://127.0.0.1:${metricsPort}/events`, { signal: stop.signal })
            .then(async (r) => {
              for await (const _ of r.body!) { /* read the page's events */ }
            }).catch(() => {}),
        );
      }
    }
    return await lookups("ours", ports, { lookups: 1_000_000, seconds });
  } finally {
    stop.abort();
    await Promise.allSettled(loads);
    server.kill("SIGTERM");
    await server.close(3000);
  }
}

const beforeTree = await Deno.makeTempDir({ prefix: "ns-before-" });
git("worktree", "add", "--detach", beforeTree, before);
const beforeCommit = git("-C", beforeTree, "rev-parse", "--short", "HEAD");
try {
  const runs = new Map<Variant, Run[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    // rotate the order each round
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
    for (const v of order) {
      const r = await once(v, v === "before" ? beforeTree : ROOT);
      runs.get(v)!.push(r);
      console.error(`round ${round + 1} ${v}: ${Math.round(r.rate)} lookups/s`);
    }
  }
  const off = median(runs.get("off")!.map((r) => r.rate));
  const load = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(
    `\nnameserver look-ups, our client -> our nameserver, ${rounds} alternating rounds of ${seconds} s, ` +
      `medians; load average at the end ${load}; before = ${beforeCommit}\n`,
  );
  console.log("| variant | look-ups/s | vs off | p50 ms | p99 ms | runs (look-ups/s) |");
  console.log("|---|--:|--:|--:|--:|---|");
  for (const v of VARIANTS) {
    const rs = runs.get(v)!;
    const rate = median(rs.map((r) => r.rate));
    console.log(
      `| ${v} | ${Math.round(rate).toLocaleString("en")} | ${(rate / off).toFixed(3)} | ${
        median(rs.map((r) => r.p50)).toFixed(2)
      } | ${median(rs.map((r) => r.p99)).toFixed(2)} | ${
        rs.map((r) => Math.round(r.rate)).join(", ")
      } |`,
    );
  }
} finally {
  git("worktree", "remove", "--force", beforeTree);
}

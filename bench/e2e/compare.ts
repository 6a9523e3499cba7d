/**
 * Two commits through the end-to-end bench in one run: a `git worktree` of each (sharing this
 * checkout's `.cache/`; its compile caches filled first), `bench/e2e/run.ts` of each tree
 * alternately for `--rounds` rounds, then one table of the "ours" column: median, best and worst
 * per commit, and the median ratio (the worst round shows an outlier such as a peak RSS reached one
 * round in four). Alternating makes a busy spell hit both sides; the best of several rounds is the
 * closest to a quiet machine.
 *
 * ```sh
 * flock /work/locks/bench.lock deno run -A bench/e2e/compare.ts --before c9c585e [--after HEAD] \
 *   [--rounds 5] -- --quick --only posttroll,nameserver
 * ```
 *
 * Arguments after `--` go to `bench/e2e/run.ts`. The load average is printed with the table, and
 * the Python column's median over every round of both trees beside each row that has one (a
 * target such as "p99 ≤ Python's" is checked against the same runs).
 *
 * @module
 */
import { warmCompileCaches } from "./_peer.ts";
import { median } from "./_table.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function opt(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

function git(...args: string[]): string {
  const o = new Deno.Command("git", { args, cwd: ROOT, stderr: "inherit" }).outputSync();
  if (!o.success) throw new Error(`git ${args.join(" ")} failed`);
  return new TextDecoder().decode(o.stdout).trim();
}

function loadavg(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

/** The ours and Python values of a table line: metric → [ours, unit, Python]. */
function parseTable(md: string): Map<string, [number, string, number | undefined]> {
  const out = new Map<string, [number, string, number | undefined]>();
  const num = (cell: string) => /^([\d,.]+)\s*(\S+)/.exec(cell);
  for (const line of md.split("\n")) {
    const c = line.split("|").map((s) => s.trim());
    if (c.length < 6 || c[1] === "group" || c[1].startsWith("---")) continue;
    const m = num(c[3]);
    if (!m || c[3].includes("MB/s")) continue;
    const py = num(c[4]);
    out.set(`${c[1]}: ${c[2]}`, [
      Number(m[1].replaceAll(",", "")),
      m[2],
      py && py[2] === m[2] ? Number(py[1].replaceAll(",", "")) : undefined,
    ]);
  }
  return out;
}

const dash = Deno.args.indexOf("--");
const benchArgs = dash >= 0 ? Deno.args.slice(dash + 1) : ["--quick"];
const rounds = Number(opt("rounds", "5"));
const sides = [
  { name: "before", ref: opt("before", "") },
  { name: "after", ref: opt("after", "HEAD") },
];
if (!sides[0].ref) {
  console.error("usage: compare.ts --before REF [--after REF] [--rounds N] [-- run.ts args]");
  Deno.exit(2);
}

const trees: string[] = [];
try {
  const runs = new Map<string, Map<string, [number, string, number | undefined]>[]>();
  const commits: string[] = [];
  for (const s of sides) {
    const tree = await Deno.makeTempDir({ prefix: `e2e-${s.name}-` });
    git("worktree", "add", "--detach", tree, s.ref);
    trees.push(tree);
    await Deno.symlink(`${ROOT}/.cache`, `${tree}/.cache`);
    commits.push(git("-C", tree, "rev-parse", "--short", "HEAD"));
    // a tree from before run.ts did this itself would otherwise start cold (section "Session 9
    // (pubmem, #21)" of bench/README.md)
    await warmCompileCaches((line) => console.error(`${s.name}: ${line}`), tree);
    runs.set(s.name, []);
  }
  const start = `${new Date().toISOString().slice(0, 16)} UTC, load ${loadavg()}`;
  for (let r = 1; r <= rounds; r++) {
    for (const [i, s] of sides.entries()) {
      console.error(`round ${r}/${rounds}: ${s.name} (${commits[i]}), load ${loadavg()}`);
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "bench/e2e/run.ts", ...benchArgs],
        cwd: trees[i],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!o.success) console.error(`  exit ${o.code}: this round of ${s.name} is left out`);
      else runs.get(s.name)!.push(parseTable(new TextDecoder().decode(o.stdout)));
    }
  }
  const before = runs.get("before")!, after = runs.get("after")!;
  console.log(
    `before = ${commits[0]}, after = ${commits[1]}; ${before.length}/${after.length} rounds of ` +
      `\`bench/e2e/run.ts ${
        benchArgs.join(" ")
      }\`, alternating; from ${start} to load ${loadavg()}\n`,
  );
  console.log(
    "| row | unit | before median | after median | after/before | before best | after best | " +
      "before worst | after worst | Python median |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const fmt = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 2 });
  for (const [metric, [, unit]] of before[0] ?? []) {
    const b = before.map((t) => t.get(metric)?.[0]).filter((x) => x !== undefined) as number[];
    const a = after.map((t) => t.get(metric)?.[0]).filter((x) => x !== undefined) as number[];
    if (!a.length || !b.length) continue;
    const higher = unit.endsWith("/s");
    const best = (xs: number[]) => (higher ? Math.max(...xs) : Math.min(...xs));
    const worst = (xs: number[]) => (higher ? Math.min(...xs) : Math.max(...xs));
    const py = [...before, ...after].map((t) => t.get(metric)?.[2]).filter((x) =>
      x !== undefined
    ) as number[];
    console.log(
      `| ${metric} | ${unit} | ${fmt(median(b))} | ${fmt(median(a))} | ${
        (median(a) / median(b)).toFixed(2)
      } | ${fmt(best(b))} | ${fmt(best(a))} | ${fmt(worst(b))} | ${fmt(worst(a))} | ${
        py.length ? fmt(median(py)) : "–"
      } |`,
    );
  }
} finally {
  for (const t of trees) {
    try {
      git("worktree", "remove", "--force", t);
    } catch { /* already gone */ }
  }
}

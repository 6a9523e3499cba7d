/**
 * Start-up: `igwn-alert --version` (ours with `deno run` and the binary's permissions, the compiled
 * dist/igwn-alert when present, Python's `igwn-alert -V`) and the nameserver's ready-to-serve time.
 *
 * @module
 */
import { binaryPermissions, DENO, landed, Peer, PYTHON, ROOT } from "./_peer.ts";
import type { Plans } from "./_peer.ts";
import { nameserverReady } from "./_nameserver.ts";
import { type Cell, cell, median, missing, type Row, val } from "./_table.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

interface Timing {
  ms: number[];
  rss_kb: number[];
  code: number;
  out: string;
}

/**
 * The start-up group's sizes: timed runs of each `igwn-alert --version` command (and its floors),
 * and timed nameserver starts (spawn -> first answered request).
 */
export const STARTUP_PLANS: Plans<{ runs: number; readyRuns: number }> = {
  quick: { runs: 3, readyRuns: 3 },
  full: { runs: 7, readyRuns: 7 },
};

/** Runs the start-up group and returns its rows. */
export async function startupGroup(
  plan: { runs: number; readyRuns: number },
  log: (s: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const cmds: Record<string, string[]> = {
    py: [`${ROOT}/.cache/venv/bin/igwn-alert`, "-V"],
    floor: [DENO, "run", `${ROOT}/bench/e2e/ts/_empty.ts`],
    pyfloor: [PYTHON, "-c", "pass"],
  };
  const oursLanded = landed(["cli/igwn_alert.ts"]);
  if (oursLanded) {
    cmds.ours = [
      DENO,
      "run",
      ...await binaryPermissions("igwn-alert"),
      `${ROOT}/cli/igwn_alert.ts`,
      "--version",
    ];
  }
  const bin = `${ROOT}/dist/igwn-alert`;
  if (exists(bin)) cmds.bin = [bin, "--version"];
  log(`start-up: ${Object.keys(cmds).join(", ")} x${plan.runs}`);
  const peer = Peer.python("startup.py", [String(plan.runs), JSON.stringify(cmds)]);
  let res: Record<string, Timing> = {};
  let err: Cell | undefined;
  try {
    res = (await peer.next("result", 120_000)) as unknown as Record<string, Timing>;
  } catch (e) {
    err = missing(`n/a (error: ${(e as Error).message.split("\n")[0].slice(0, 60)})`);
  } finally {
    await peer.close(2000);
  }
  const get = (k: string, f: (t: Timing) => number): Cell => {
    if (err) return err;
    const t = res[k];
    if (!t) return missing(k === "bin" ? "n/a (no dist/igwn-alert)" : "n/a (not built)");
    if (t.code !== 0) return missing(`n/a (exit ${t.code}: ${t.out.slice(0, 50)})`);
    return cell(f(t));
  };
  for (const [k, t] of Object.entries(res)) {
    if (typeof t === "object" && t && "ms" in t) {
      log(`  ${k}: ${t.ms.map((x) => x.toFixed(0)).join(", ")} ms, "${t.out}"`);
    }
  }
  const medMs = (t: Timing) => median(t.ms);
  const target = {
    text: "< 150 ms",
    check: (r: Row) => {
      const o = val(r.ours);
      return o === undefined ? undefined : o < 150;
    },
  };
  rows.push({
    group: "start-up",
    metric:
      `igwn-alert --version, deno run with the binary's permissions (raw: empty module under deno run), median of ${plan.runs}`,
    unit: "ms",
    higherIsBetter: false,
    ours: get("ours", medMs),
    py: get("py", medMs),
    raw: get("floor", medMs),
    target,
  });
  rows.push({
    group: "start-up",
    metric:
      `igwn-alert --version, compiled dist/igwn-alert (raw: python -c pass), median of ${plan.runs}`,
    unit: "ms",
    higherIsBetter: false,
    ours: get("bin", medMs),
    py: get("py", medMs),
    raw: get("pyfloor", medMs),
    target,
  });
  rows.push({
    group: "start-up",
    metric: "peak RSS (ru_maxrss) of igwn-alert --version, deno run (raw: empty module)",
    unit: "MiB",
    higherIsBetter: false,
    ours: get("ours", (t) => Math.max(...t.rss_kb) / 1024),
    py: get("py", (t) => Math.max(...t.rss_kb) / 1024),
    raw: get("floor", (t) => Math.max(...t.rss_kb) / 1024),
  });
  if (res.bin) {
    rows.push({
      group: "start-up",
      metric: "peak RSS (ru_maxrss) of igwn-alert --version, compiled",
      unit: "MiB",
      higherIsBetter: false,
      ours: get("bin", (t) => Math.max(...t.rss_kb) / 1024),
      py: get("py", (t) => Math.max(...t.rss_kb) / 1024),
      raw: missing("–"),
    });
  }
  rows.push(...await nameserverReady(plan.readyRuns, log));
  return rows;
}

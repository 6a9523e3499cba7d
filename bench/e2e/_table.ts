/**
 * Result rows and the markdown table of the end-to-end bench.
 *
 * @module
 */

/** One measured value: a number with a unit, or the reason there is none. */
export type Cell = { value: number; note?: string } | { missing: string };

/** How a row is judged. */
export interface Target {
  /** Text shown in the target column. */
  text: string;
  /** PASS when this returns true; undefined result = no verdict. */
  check: (row: Row) => boolean | undefined;
}

/** One row of the table. */
export interface Row {
  group: string;
  metric: string;
  unit: string;
  /** Whether a larger value is better (ratios are still ours / other). */
  higherIsBetter: boolean;
  ours: Cell;
  py: Cell;
  raw: Cell;
  target?: Target;
}

/** Nearest-rank percentile of ascending-sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Median of values (any order). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return percentile(s, 50);
}

/** The value of a cell, or undefined. */
export function val(c: Cell): number | undefined {
  return "value" in c ? c.value : undefined;
}

/** ours / other, or undefined. */
export function ratio(a: Cell, b: Cell): number | undefined {
  const x = val(a), y = val(b);
  if (x === undefined || y === undefined || y === 0) return undefined;
  return x / y;
}

function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function fmtCell(c: Cell, unit: string): string {
  if ("missing" in c) return c.missing;
  return `${fmtNum(c.value)} ${unit}${c.note ? ` (${c.note})` : ""}`.trim();
}

function fmtRatio(r: number | undefined): string {
  if (r === undefined) return "–";
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/** Renders the rows as one markdown table. */
export function renderTable(rows: Row[]): string {
  const head = [
    "group",
    "metric",
    "ours",
    "Python",
    "raw transport",
    "ours/Python",
    "ours/raw",
    "target",
    "result",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    let verdict = "";
    if (r.target) {
      const ok = "missing" in r.ours ? undefined : r.target.check(r);
      verdict = ok === undefined ? "–" : ok ? "PASS" : "**FAIL**";
    }
    lines.push(
      `| ${
        [
          r.group,
          r.metric,
          fmtCell(r.ours, r.unit),
          fmtCell(r.py, r.unit),
          fmtCell(r.raw, r.unit),
          fmtRatio(ratio(r.ours, r.py)),
          fmtRatio(ratio(r.ours, r.raw)),
          r.target?.text ?? "",
          verdict,
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

/** A cell for a value that was not measured because `why`. */
export function missing(why: string): Cell {
  return { missing: why };
}

/** A cell holding `value`. */
export function cell(value: number, note?: string): Cell {
  return note ? { value, note } : { value };
}

/** #21's memory target: resident memory at most 1.5 times Python's for the same process kind. */
export const MEMORY_TARGET: Target = {
  text: "≤1.5× Python",
  check: (r) => {
    const o = val(r.ours), p = val(r.py);
    return o === undefined || p === undefined ? undefined : o <= 1.5 * p;
  },
};

/**
 * Resident memory (kB) seen per run, for a publisher and a subscribing process: peak (VmHWM at the
 * end of the run) and idle (VmRSS once both were ready, before the run; see `RunEvents.idleKb`).
 */
export interface PeakMemory {
  pub: number[];
  sub: number[];
  /** VmRSS of the publisher when ready. */
  pubIdle?: number[];
  /** VmRSS of the subscribing process when ready. */
  subIdle?: number[];
}

/** An empty {@linkcode PeakMemory} for each of `keys`. */
export function peakMemories<K extends string>(keys: readonly K[]): Record<K, PeakMemory> {
  const mem = {} as Record<K, PeakMemory>;
  for (const k of keys) mem[k] = { pub: [], sub: [] };
  return mem;
}

/** Adds one run's memory figures (undefined ones skipped) to `mem`. */
export function recordMemory(
  mem: PeakMemory,
  peak: { pub?: number; sub?: number },
  idle?: { pub: number | undefined; receiver: number | undefined },
): void {
  if (peak.pub) mem.pub.push(peak.pub);
  if (peak.sub) mem.sub.push(peak.sub);
  if (idle?.pub) (mem.pubIdle ??= []).push(idle.pub);
  if (idle?.receiver) (mem.subIdle ??= []).push(idle.receiver);
}

/**
 * The memory rows of a group, in MiB: "idle RSS of the publisher / <subscriber> process when
 * ready, max over runs" and "peak RSS ..., max over runs"; `available(impl)` says whether that
 * implementation ran at all.
 */
export function peakRssRows(
  group: string,
  subscriberName: string,
  mem: Record<"ours" | "py" | "raw", PeakMemory>,
  available: (impl: "ours" | "py" | "raw") => boolean,
  notBuilt: Cell,
): Row[] {
  const rows: Row[] = [];
  for (const kind of ["idle", "peak"] as const) {
    for (const role of ["pub", "sub"] as const) {
      const pick = (impl: "ours" | "py" | "raw"): Cell => {
        if (!available(impl)) return notBuilt;
        const m = mem[impl];
        const v = kind === "peak" ? m[role] : (role === "pub" ? m.pubIdle : m.subIdle) ?? [];
        return v.length ? cell(Math.max(...v) / 1024) : missing("n/a");
      };
      const who = role === "pub" ? "publisher" : subscriberName;
      rows.push({
        group,
        metric: kind === "peak"
          ? `peak RSS (VmHWM) of the ${who} process, max over runs`
          : `idle RSS (VmRSS) of the ${who} process, ready before a run, max over runs`,
        unit: "MiB",
        higherIsBetter: false,
        ours: pick("ours"),
        py: pick("py"),
        raw: pick("raw"),
        target: MEMORY_TARGET,
      });
    }
  }
  return rows;
}

/** A cell for a run that failed: the error's first line (and the whole error on stderr). */
export function errCell(e: unknown): Cell {
  const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
  console.error(`  error: ${e instanceof Error ? e.message : e}`);
  return missing(`n/a (error: ${msg.slice(0, 60)})`);
}

/** The p50, p99 and max of one latency run, in ms. */
export interface LatencyCells {
  p50: Cell;
  p99: Cell;
  max: Cell;
}

/** The same cell for p50, p99 and max (not built, failed). */
export function sameLatency(c: Cell): LatencyCells {
  return { p50: c, p99: c, max: c };
}

/**
 * The latency cells of a run's latencies (µs), the note (losses) on p50, and the log line.
 *
 * @param latenciesUs the latencies, in any order
 * @param note shown with p50
 * @param log where the summary line goes
 * @param extra appended to the summary line
 */
export function latencyCells(
  latenciesUs: number[],
  note: string | undefined,
  log: (s: string) => void,
  extra = "",
): LatencyCells {
  const s = [...latenciesUs].sort((a, b) => a - b);
  log(
    `  n=${s.length} p50=${percentile(s, 50)} µs p99=${percentile(s, 99)} µs max=${
      s[s.length - 1]
    } µs${extra}`,
  );
  return {
    p50: cell(percentile(s, 50) / 1000, note),
    p99: cell(percentile(s, 99) / 1000),
    max: cell(s[s.length - 1] / 1000),
  };
}

/**
 * The p50, p99 and max rows of a latency measurement (ms, lower is better), with a target for
 * the statistics named in `limits` (ours below the limit).
 */
export function latencyRows(
  group: string,
  metric: (k: "p50" | "p99" | "max") => string,
  lat: Record<"ours" | "py" | "raw", LatencyCells>,
  limits: Partial<Record<"p50" | "p99" | "max", number>> = {},
): Row[] {
  return (["p50", "p99", "max"] as const).map((k) => {
    const limit = limits[k];
    return {
      group,
      metric: metric(k),
      unit: "ms",
      higherIsBetter: false,
      ours: lat.ours[k],
      py: lat.py[k],
      raw: lat.raw[k],
      target: limit === undefined ? undefined : {
        text: `< ${limit} ms`,
        check: (row: Row) => {
          const o = val(row.ours);
          return o === undefined ? undefined : o < limit;
        },
      },
    };
  });
}

/**
 * The latency run of each implementation in `impls`, in order: the cells `run` returns, the
 * error's cell when it throws; those named in `skip` do not run and show that cell.
 */
export async function latencyByImpl<I extends string>(
  impls: readonly I[],
  skip: Partial<Record<I, Cell>>,
  run: (impl: I) => Promise<LatencyCells>,
): Promise<Record<I, LatencyCells>> {
  const lat = {} as Record<I, LatencyCells>;
  for (const impl of impls) {
    const skipped = skip[impl];
    if (skipped !== undefined) {
      lat[impl] = sameLatency(skipped);
      continue;
    }
    try {
      lat[impl] = await run(impl);
    } catch (e) {
      lat[impl] = sameLatency(errCell(e));
    }
  }
  return lat;
}

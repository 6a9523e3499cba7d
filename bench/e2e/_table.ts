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

/** Peak resident memory (VmHWM, kB) seen per run, for a publisher and a subscribing process. */
export interface PeakMemory {
  pub: number[];
  sub: number[];
}

/**
 * The two "peak RSS of the publisher / <subscriber> process, max over runs" rows of a group, in
 * MiB; `available(impl)` says whether that implementation ran at all.
 */
export function peakRssRows(
  group: string,
  subscriberName: string,
  mem: Record<"ours" | "py" | "raw", PeakMemory>,
  available: (impl: "ours" | "py" | "raw") => boolean,
  notBuilt: Cell,
): Row[] {
  return (["pub", "sub"] as const).map((role) => {
    const pick = (impl: "ours" | "py" | "raw"): Cell => {
      if (!available(impl)) return notBuilt;
      const v = mem[impl][role];
      return v.length ? cell(Math.max(...v) / 1024) : missing("n/a");
    };
    return {
      group,
      metric: `peak RSS (VmHWM) of the ${
        role === "pub" ? "publisher" : subscriberName
      } process, max over runs`,
      unit: "MiB",
      higherIsBetter: false,
      ours: pick("ours"),
      py: pick("py"),
      raw: pick("raw"),
    };
  });
}

/**
 * Runs the fault suite (tests/faults/) with `FAULT_SUMMARY` set and prints a markdown table of the
 * faults injected, inputs tried and messages lost. `--from <file.jsonl>` renders an existing file
 * without running the tests.
 *
 * Usage: `deno task faults:summary [--from file.jsonl] [--write docs/FAULTS.md] [--write README.md]`
 * (`--write` replaces the full table between the `<!-- fault-summary:start/end -->` markers, the
 * per-area totals between the `<!-- fault-totals:start/end -->` markers and the attack figures
 * between the `<!-- attack-table:start/end -->` markers of that file, whichever it has).
 *
 * @module
 */
import type { AttackSide, FaultRecord } from "./_record.ts";

/**
 * Merges records with the same area and fault and renders the table.
 *
 * @param records the JSON-line records
 * @returns markdown
 * @example
 * ```ts
 * renderTable([{ area: "codec", fault: "random bytes", inputs: 10, lost: 0 }]);
 * ```
 */
export function renderTable(records: FaultRecord[]): string {
  const merged = new Map<string, FaultRecord & { runs: number }>();
  for (const r of records) {
    const key = `${r.area}\u0000${r.fault}`;
    const m = merged.get(key);
    if (m) {
      m.inputs += r.inputs;
      m.lost += r.lost;
      m.runs++;
      if (r.notes && !m.notes?.includes(r.notes)) {
        m.notes = [m.notes, r.notes].filter(Boolean).join("; ");
      }
    } else merged.set(key, { ...r, runs: 1 });
  }
  const rows = [...merged.values()].sort((a, b) =>
    a.area === b.area ? 0 : a.area < b.area ? -1 : 1
  );
  const lines = [
    "| area | fault injected | inputs tried | messages lost | notes |",
    "| --- | --- | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    const esc = (s: string) => s.replaceAll("|", "\\|");
    lines.push(
      `| ${r.area} | ${esc(r.fault)} | ${r.inputs} | ${r.lost} | ${esc(r.notes ?? "")} |`,
    );
  }
  const total = rows.reduce((n, r) => n + r.inputs, 0);
  const lost = rows.reduce((n, r) => n + r.lost, 0);
  lines.push(`| **total** | ${rows.length} faults | ${total} | ${lost} | |`);
  return lines.join("\n");
}

const START = "<!-- fault-summary:start -->";
const END = "<!-- fault-summary:end -->";
const TOTALS_START = "<!-- fault-totals:start -->";
const TOTALS_END = "<!-- fault-totals:end -->";
const ATTACKS_START = "<!-- attack-table:start -->";
const ATTACKS_END = "<!-- attack-table:end -->";

/** One row per area (faults injected, inputs tried, messages lost) for the README. */
export function renderTotals(records: FaultRecord[]): string {
  const areas = new Map<string, { faults: number; inputs: number; lost: number }>();
  for (const r of records) {
    const a = areas.get(r.area) ?? { faults: 0, inputs: 0, lost: 0 };
    a.faults++;
    a.inputs += r.inputs;
    a.lost += r.lost;
    areas.set(r.area, a);
  }
  const rows = [...areas].sort(([a], [b]) => a.localeCompare(b));
  const total = rows.reduce(
    (t, [, a]) => ({
      faults: t.faults + a.faults,
      inputs: t.inputs + a.inputs,
      lost: t.lost + a.lost,
    }),
    { faults: 0, inputs: 0, lost: 0 },
  );
  return [
    "| area | faults injected | inputs tried | messages lost |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map(([area, a]) => `| ${area} | ${a.faults} | ${a.inputs} | ${a.lost} |`),
    `| **total** | ${total.faults} | ${total.inputs} | ${total.lost} |`,
  ].join("\n");
}

const MiB = 1024 * 1024;

function growth(a: AttackSide): string {
  const g = Math.max(0, a.rssPeak - a.rssBefore);
  return `${(a.rssBefore / MiB).toFixed(0)} → ${(a.rssPeak / MiB).toFixed(0)} (+${
    (g / MiB).toFixed(1)
  })`;
}

function served(a: AttackSide): string {
  const life = a.alive ? "" : "**died**; ";
  return `${life}${a.during[0]}/${a.during[1]} (worst ${(a.worstMs / 1000).toFixed(1)} s); ` +
    `${a.after[0]}/${a.after[1]}`;
}

/**
 * The attack table: one row per attack on a listening process with what ours was sent, RSS before
 * → peak (growth) in MiB with the bound for ours, and the probes answered within 2 s during and
 * after the attack, for ours and Python's (libzmq).
 *
 * @param records the JSON-line records (those without `attack` are skipped)
 * @returns markdown
 */
export function renderAttacks(records: FaultRecord[]): string {
  const lines = [
    "| target | attack | sent to ours | ours: RSS MiB before → peak (growth) | bound for ours | ours: answered during; after | Python/libzmq: RSS MiB | Python/libzmq: answered during; after |",
    "| --- | --- | --- | ---: | ---: | --- | ---: | --- |",
  ];
  for (const { attack: a } of records) {
    if (!a) continue;
    const esc = (s: string) => s.replaceAll("|", "\\|");
    const g = Math.max(0, a.ours.rssPeak - a.ours.rssBefore);
    const bound = a.perInput
      ? `${(a.bound / 1024).toFixed(0)} KiB each (measured ${
        (g / 1024 / Math.max(1, a.inputs)).toFixed(1)
      })`
      : `+${(a.bound / MiB).toFixed(0)}`;
    const note = a.duringRequired ? "" : " (during: not required, no descriptor left)";
    const extra = [a.ours.extra, a.python?.extra ? `Python: ${a.python.extra}` : ""]
      .filter(Boolean).join("; ");
    lines.push(
      `| ${esc(a.target)} | ${esc(a.attack)}${note}${extra ? ` — ${esc(extra)}` : ""} | ${
        esc(a.sent)
      } | ${growth(a.ours)} | ${bound} | ${a.probe}: ${served(a.ours)} | ${
        a.python ? growth(a.python) : "—"
      } | ${a.python ? `${a.probe}: ${served(a.python)}` : "no Python peer"} |`,
    );
  }
  return lines.join("\n");
}

/** Replaces the text between `start` and `end` markers of `md` with `body`. */
function replaceBetween(md: string, start: string, end: string, body: string): string | undefined {
  const i = md.indexOf(start), j = md.indexOf(end);
  if (i < 0 || j < i) return undefined;
  return md.slice(0, i + start.length) + "\n" + body + "\n" + md.slice(j);
}

async function main(args: string[]): Promise<number> {
  let file: string;
  const from = args.indexOf("--from");
  let code = 0;
  if (from >= 0) {
    file = args[from + 1];
  } else {
    file = await Deno.makeTempFile({ prefix: "fault-summary-", suffix: ".jsonl" });
    const dir = new URL(".", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", dir],
      env: { FAULT_SUMMARY: file },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    code = out.code;
  }
  const text = await Deno.readTextFile(file);
  const records = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as FaultRecord);
  const table = renderTable(records);
  console.log(table);
  if (records.some((r) => r.attack)) console.log("\n" + renderAttacks(records));
  // --write FILE (repeatable): the full table between the fault-summary markers and/or the
  // per-area totals between the fault-totals markers, whichever markers FILE has.
  const docs = args.flatMap((a, i) => (a === "--write" ? [args[i + 1]] : []));
  for (const doc of docs) {
    let md = await Deno.readTextFile(doc);
    const full = replaceBetween(md, START, END, table);
    if (full !== undefined) md = full;
    const totals = replaceBetween(md, TOTALS_START, TOTALS_END, renderTotals(records));
    if (totals !== undefined) md = totals;
    const attacks = replaceBetween(md, ATTACKS_START, ATTACKS_END, renderAttacks(records));
    if (attacks !== undefined) md = attacks;
    if (full === undefined && totals === undefined && attacks === undefined) {
      throw new Error(
        `${doc} has none of ${START} ... ${END}, ${TOTALS_START} ... ${TOTALS_END}, ` +
          `${ATTACKS_START} ... ${ATTACKS_END}`,
      );
    }
    await Deno.writeTextFile(doc, md);
    await new Deno.Command(Deno.execPath(), { args: ["fmt", doc], stderr: "null" }).output();
    console.error(`table written to ${doc}`);
  }
  if (code !== 0) console.error(`fault suite failed (exit ${code}); the table shows what ran`);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
